#!/usr/bin/env bash
# Installs the system packages the indexer's tests need, when missing: PostgreSQL (initdb and
# pg_ctl under /usr/lib/postgresql/*/bin, the `postgres` user) and Chromium (headless, for the web
# page test). Debian as root (CI); elsewhere it says what is missing and exits non-zero.
# Usage: scripts/install-postgres-chromium.sh [postgresql] [chromium]   (default: both)
set -euo pipefail

wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(postgresql chromium)

missing=()
for package in "${wanted[@]}"; do
  case "$package" in
    postgresql)
      if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || ! id postgres >/dev/null 2>&1; then
        missing+=(postgresql)
      fi ;;
    chromium)
      command -v chromium >/dev/null 2>&1 || missing+=(chromium) ;;
    *) echo "install-postgres-chromium.sh: unknown package '$package' (expected postgresql or chromium)" >&2; exit 2 ;;
  esac
done

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-postgres-chromium.sh: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]}) or run as root on Debian" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
