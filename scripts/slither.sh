#!/usr/bin/env bash
# Static analysis of contracts/src with slither (PyPI `slither-analyzer`, pinned), in a virtualenv
# local to the checkout (toolchain/.venv). Slither drives `forge build`, so the solc shim serves it.
# Findings that are understood and accepted are explained in slither.config.json / docs/SLITHER.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/toolchain/.venv"
version="0.11.6"

if [[ ! -x "$venv/bin/slither" ]] || [[ "$("$venv/bin/slither" --version)" != "$version" ]]; then
  echo "slither: installing slither-analyzer $version into toolchain/.venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "slither-analyzer==$version"
fi

cd "$root"
export PATH="$root/toolchain/.bin:$PATH"
exec "$venv/bin/slither" . --config-file slither.config.json "$@"
