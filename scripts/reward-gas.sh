#!/usr/bin/env bash
# Measures RewardDistributor claim gas as receipts (21,000 base and calldata included) on a fresh
# anvil: starts toolchain/.bin/anvil (or $ANVIL) on a free port, broadcasts
# contracts/script/RewardGas.s.sol, reads gasUsed from the broadcast receipts and prints a table
# beside the published figures; writes the same table to docs/REWARD_GAS.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
FORGE="${FORGE:-toolchain/.bin/forge}"
ANVIL="${ANVIL:-toolchain/.bin/anvil}"
export FOUNDRY_DISABLE_NIGHTLY_WARNING=1

port="$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
log="$(mktemp)"
"$ANVIL" --port "$port" --silent >"$log" 2>&1 &
anvil_pid=$!
trap 'kill "$anvil_pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  if node -e "require('net').connect($port,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))" 2>/dev/null; then
    break
  fi
  sleep 0.1
done

"$FORGE" script contracts/script/RewardGas.s.sol:RewardGas --rpc-url "http://127.0.0.1:$port" \
  --broadcast --slow --quiet >/dev/null

node scripts/reward-gas-table.mjs broadcast/RewardGas.s.sol/31337/run-latest.json "$("$ANVIL" --version | head -1)" \
  | tee docs/REWARD_GAS.md
