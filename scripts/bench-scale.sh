#!/usr/bin/env bash
# `make bench-scale`: the main job (quickstart) at 20, 100, 200, 500 and 1,000 suppliers, release
# build, 1 MB per proxy (the traffic is not what is measured). For each: time, peak memory of the
# story and of the node (anvil), RPC requests per supplier per minute, transactions sent and
# reverted on chain; then the same per supplier, as a ratio to the 100-supplier run (flat means
# within 2x). Each size runs twice: with the market data service beside the story (`make demo`'s
# way: the agents sign their asks, no gas to publish) and with `--without-indexer` (every ask placed
# on chain). Fails when any transaction reverted. SUPPLIERS="20 100" picks other sizes,
# MODES="signed" or MODES="placed" one of the two, BLOCK_MS=N passes `--block-ms N` to every run.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO="${CARGO:-cargo}"
SIZES="${SUPPLIERS:-20 100 200 500 1000}"
MODES="${MODES:-signed placed}"
extra=()
if [ -n "${BLOCK_MS:-}" ]; then extra=(--block-ms "$BLOCK_MS"); fi
$CARGO build --release --quiet -p snm-proxy -p snm-indexer -p snm-examples --bin quickstart --bin snm-proxy --bin snm-indexer
# The story raises its soft open-files limit to the hard one and says when that is too low.
echo "open files: soft $(ulimit -Sn), hard $(ulimit -Hn)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for mode in $MODES; do
  case "$mode" in
    signed) flag=() ;;
    placed) flag=(--without-indexer) ;;
    *) echo "MODES: unknown mode '$mode' (signed, placed)" >&2; exit 1 ;;
  esac
  for n in $SIZES; do
    echo "quickstart --suppliers $n ${flag[*]} ..."
    if ! target/release/quickstart --suppliers "$n" --traffic-mb 1 --dir "$out/story-$mode-$n" "${flag[@]}" "${extra[@]}" >"$out/$mode-$n.log" 2>&1; then
      tail -20 "$out/$mode-$n.log" >&2
      echo "quickstart --suppliers $n ${flag[*]} failed (log above)" >&2
      exit 1
    fi
    grep '^scale:' "$out/$mode-$n.log" | tail -1 >>"$out/lines-$mode"
    # Seconds/requests per step, to see which step grows faster than the suppliers.
    echo "  $(grep '^steps:' "$out/$mode-$n.log" | tail -1) (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    # The story's descriptors at the traffic's end, and any accept error its echo server went on after.
    echo "  $(grep -o 'open files at the traffic.*' "$out/$mode-$n.log" | tail -1)"
  done
done
status=0
for mode in $MODES; do
echo
case "$mode" in
  signed) echo "with the market data service (asks signed, as make demo):" ;;
  placed) echo "without it (--without-indexer: every ask placed on chain):" ;;
esac
awk '
  function field(name,   i, kv) { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] } return 0 }
  {
    n[NR] = field("suppliers"); t[NR] = field("seconds"); sm[NR] = field("story_peak_mib"); nm[NR] = field("node_peak_mib")
    rq[NR] = field("requests_per_supplier_minute"); tx[NR] = field("transactions"); rv[NR] = field("reverted")
    if (n[NR] == 100) base = NR
    reverted += rv[NR]
  }
  END {
    if (!base) base = 1
    printf "%9s %9s %10s %10s %12s %8s %8s | %9s %11s %11s | %s\n", "suppliers", "time s", "story MiB", "anvil MiB", "req/sup/min", "txs", "reverted", "s/sup", "story/sup", "anvil/sup", "per supplier vs " n[base] " (time, story, anvil)"
    for (i = 1; i <= NR; i++) {
      ts = t[i] / n[i]; ss = sm[i] / n[i]; as = nm[i] / n[i]
      tb = t[base] / n[base]; sb = sm[base] / n[base]; ab = nm[base] / n[base]
      printf "%9d %9.1f %10.0f %10.0f %12.0f %8d %8d | %9.3f %9.2fMB %9.2fMB | %.2fx %.2fx %.2fx\n", n[i], t[i], sm[i], nm[i], rq[i], tx[i], rv[i], ts, ss, as, ts / tb, ss / sb, as / ab
    }
    if (reverted > 0) { print reverted " transactions reverted on chain" > "/dev/stderr"; exit 1 }
  }' "$out/lines-$mode" || status=1
done
exit "$status"
