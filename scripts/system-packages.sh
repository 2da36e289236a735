#!/usr/bin/env bash
# Installs the Debian packages some tests need, only when missing (CI is a fresh Debian machine as
# root): `docker` gives dockerd (docker.io) and a static busybox (busybox-static) for the Docker
# runtime's tests, which build their images from it with `docker import`.
#
#   scripts/system-packages.sh docker
set -euo pipefail

install() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "system-packages: '$*' missing and not root: install them with apt-get (sudo apt-get install -y $*)" >&2
    exit 1
  fi
  command -v apt-get >/dev/null || { echo "system-packages: no apt-get here: install $* by hand" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null; }
}

for set in "$@"; do
  case "$set" in
    docker)
      missing=()
      command -v dockerd >/dev/null || missing+=(docker.io)
      # The images are a busybox alone: it must need no library (ldd lists none, no "=>").
      if [[ ! -x /bin/busybox ]] || ldd /bin/busybox 2>&1 | grep -q "=>"; then missing+=(busybox-static); fi
      command -v ip >/dev/null || missing+=(iproute2)
      command -v nsenter >/dev/null || missing+=(util-linux)
      if ((${#missing[@]})); then install "${missing[@]}"; fi
      ;;
    *) echo "system-packages: unknown set '$set' (known: docker)" >&2; exit 1 ;;
  esac
done
