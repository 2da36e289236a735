#!/usr/bin/env bash
# `make gas`: runs contracts/script/GasReport.s.sol against a fresh local anvil (started and stopped here),
# moving anvil's clock between the phases, then prints each operation's receipt gasUsed beside SONM's figure
# and the target (scripts/gas-table.mjs) and writes the table to docs/GAS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
FORGE=${FORGE:-toolchain/.bin/forge}
ANVIL=${SNM_ANVIL:-toolchain/.bin/anvil}
CAST=${CAST:-toolchain/.bin/cast}
export FOUNDRY_DISABLE_NIGHTLY_WARNING=1

port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
rpc="http://127.0.0.1:${port}"
log=$(mktemp)
"$ANVIL" --port "$port" >"$log" 2>&1 &
anvil_pid=$!
trap 'kill "$anvil_pid" 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 1 100); do
  "$CAST" block-number --rpc-url "$rpc" >/dev/null 2>&1 && break
  sleep 0.1
done
"$CAST" block-number --rpc-url "$rpc" >/dev/null || { echo "gas: anvil did not start:" >&2; cat "$log" >&2; exit 1; }

phase() {
  "$FORGE" script contracts/script/GasReport.s.sol:GasReport --sig "$1()" --rpc-url "$rpc" --broadcast --slow \
    >/dev/null || { echo "gas: phase $1 failed" >&2; exit 1; }
}
advance() {
  "$CAST" rpc --rpc-url "$rpc" evm_increaseTime "$1" >/dev/null
  "$CAST" rpc --rpc-url "$rpc" evm_mine >/dev/null
}

phase prepare
advance 1800
phase settleFirst
advance 600
phase settleRepeat
advance 600
phase finish
advance 1200
phase finishSigned

node scripts/gas-table.mjs broadcast/GasReport.s.sol/31337 >docs/GAS.md
cat docs/GAS.md
