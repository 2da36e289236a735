#!/usr/bin/env bash
# `make coverage`: forge coverage of contracts/src (every test but the gas snapshots), printed; fails when
# Market.sol, MarketLogic.sol, MarketSignedAsks.sol, Escrow.sol, PriceOracle.sol, MoneyMath.sol, RewardDistributor.sol or SettleBatcher.sol is below 95 % of lines or of branches, and writes
# docs/COVERAGE.md (scripts/coverage-table.mjs). `scripts/coverage.sh --check` (run by `make test`) checks
# without writing the report.
set -euo pipefail
cd "$(dirname "$0")/.."
FORGE=${FORGE:-toolchain/.bin/forge}
export FOUNDRY_DISABLE_NIGHTLY_WARNING=1
mode=write
if [[ "${1:-}" == "--check" ]]; then mode=check; fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$SECONDS
# The gas tests are left out: instrumented, unoptimised code costs more than their targets allow, and they
# would rewrite snapshots/ with those figures.
if ! "$FORGE" coverage --report summary --no-match-path 'contracts/test/**/*.gas.t.sol' \
  --no-match-coverage '^(contracts/(test|script)|toolchain)/' >"$out" 2>&1; then
  cat "$out"
  echo "coverage: forge coverage failed (above)" >&2
  exit 1
fi
grep '^[|╭╰]' "$out"
echo "coverage: forge coverage took $((SECONDS - start)) s"
node scripts/coverage-table.mjs "$mode" "$out"
