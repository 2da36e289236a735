#!/usr/bin/env bash
# Builds the metered proxy as a container image, locally (no registry): `snm-proxy` linked
# statically (the gnu target with crt-static: its dependencies are Rust and ring's C, no system
# library), with a static busybox for the shell of its command, imported with `docker import`.
#
#   scripts/proxy-image.sh [tag]          # default tag: snm-proxy:local; DOCKER_HOST is honoured
#
# The image serves on port 3128 (the Docker runtime's default `port`), with the deal's
# SNM_CONFIG_HASH (set by the agent) as the proxy's --auth-hash and its stats in /tmp.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tag="${1:-snm-proxy:local}"
target="$(rustc -vV | sed -n 's/^host: //p')"
"$root/scripts/system-packages.sh" docker

RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --quiet -p snm-proxy --bin snm-proxy \
  --target "$target" --manifest-path "$root/Cargo.toml"
binary="$root/target/$target/release/snm-proxy"
if ldd "$binary" 2>&1 | grep -q "=>"; then
  echo "proxy-image: $binary is not static" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp"
cp "$binary" "$work/rootfs/snm-proxy"
cp /bin/busybox "$work/rootfs/bin/busybox"
ln -s busybox "$work/rootfs/bin/sh"
tar -C "$work/rootfs" -cf "$work/proxy.tar" .
docker import \
  -c 'CMD ["/bin/sh", "-c", "exec /snm-proxy --listen 0.0.0.0:3128 --stats /tmp/stats.json --deal \"${SNM_DEAL:-0}\" ${SNM_CONFIG_HASH:+--auth-hash \"$SNM_CONFIG_HASH\"} ${SNM_STATE_DIR:+--tls-dir \"$SNM_STATE_DIR/tls\"}"]' \
  -c 'EXPOSE 3128' \
  "$work/proxy.tar" "$tag"
echo "proxy-image: $tag ($(du -h "$binary" | cut -f1) proxy)"
