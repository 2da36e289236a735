#!/usr/bin/env bash
# Installs the pinned Solidity toolchain into toolchain/ (local to this checkout), from the npm
# registry only: forge, anvil and cast 1.7.1, solcjs 0.8.30 (served to forge by toolchain/bin/solc),
# forge-std and OpenZeppelin. Idempotent: when toolchain/package-lock.json has not changed since the
# last install, it does nothing.
#
# Foundry of your own: set FORGE and ANVIL (and SNM_ANVIL for the Rust SDK) to its binaries; forge-std,
# OpenZeppelin and solcjs still come from here.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/toolchain"
stamp="$dir/node_modules/.snm-installed"

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "toolchain: '$tool' is required (Node.js 18+ with npm)" >&2; exit 1; }
done

want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

# A checkout whose toolchain/node_modules is a link to another checkout's install (git worktrees
# sharing one toolchain) must not reinstall through the link: `npm ci` would empty the shared
# directory under every other checkout. Install from the checkout that owns it instead.
if [[ -L "$dir/node_modules" ]]; then
  echo "toolchain: toolchain/node_modules links to a shared install ($(readlink "$dir/node_modules")) made from another lock file; not reinstalling through the link (run make toolchain in the checkout that owns it)" >&2
  exit 0
fi

echo "toolchain: installing pinned forge/anvil/cast 1.7.1, solcjs 0.8.30, forge-std and OpenZeppelin into toolchain/"
# The Foundry packages' install scripts only print hints; the platform binaries need none.
npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error

mkdir -p "$dir/.bin"
for tool in forge anvil cast; do
  binary="$dir/node_modules/@foundry-rs/$tool-linux-amd64/bin/$tool"
  if [[ -x "$binary" ]]; then
    # Relative, so that the link stays right when toolchain/ is moved or shared.
    ln -sf "../node_modules/@foundry-rs/$tool-linux-amd64/bin/$tool" "$dir/.bin/$tool"
  else
    echo "toolchain: no pinned $tool for $(uname -s)-$(uname -m) (the registry has Linux x86-64 builds only); set $(echo "$tool" | tr a-z A-Z) to your own" >&2
  fi
done
"$dir/bin/solc" --version >/dev/null
echo "$want" >"$stamp"
echo "toolchain: ready"
