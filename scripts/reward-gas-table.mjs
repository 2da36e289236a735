#!/usr/bin/env node
// Prints the RewardDistributor receipt-gas table (Markdown) from a forge broadcast file written by
// contracts/script/RewardGas.s.sol. Called by scripts/reward-gas.sh.
// Usage: node scripts/reward-gas-table.mjs <run-latest.json> <anvil version>
import fs from 'node:fs';

const [file, anvilVersion = 'anvil'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/reward-gas-table.mjs <run-latest.json> [anvil version]');
  process.exit(2);
}
const run = JSON.parse(fs.readFileSync(file, 'utf8'));
const receipts = new Map(run.receipts.map((r) => [r.transactionHash, r]));

// Figures to beat, copied from the project's anchors (receipt gas, 21,000 base included).
const UNISWAP = '78,598 average, 95,256 first (Uniswap merkle-distributor, 100k leaves)';
const SOLADY = '87,547 (Merkle + Solady + mapping, 1,000 leaves, forge --isolate)';
const FLOOR = 'about 53k to 87k (floor at depth 20)';
const PUSH = 'about 25,500 per recipient (GasliteDrop push airdrop, new holders)';
const TARGET_FIRST = 75_000;
const TARGET_BATCH = 45_000;


// Calldata cost under EIP-7623 (Prague): standard 4/16 gas per zero/non-zero byte; floor 10 gas
// per token, tokens = zero bytes + 4 * non-zero bytes.
function calldata(input) {
  const bytes = Buffer.from(input.replace(/^0x/, ''), 'hex');
  let zero = 0;
  for (const b of bytes) if (b === 0) zero++;
  const nonZero = bytes.length - zero;
  return { length: bytes.length, standard: 4 * zero + 16 * nonZero, floor: 21000 + 10 * (zero + 4 * nonZero) };
}

const fmt = (n) => n.toLocaleString('en-US');
const rows = [
  { name: 'claim, first, depth 20, account already holds SNM', per: 1, target: TARGET_FIRST, anchor: `${UNISWAP}; ${SOLADY}; ${FLOOR}` },
  { name: 'claim, first, depth 20, new holder', per: 1, target: null, anchor: UNISWAP },
  { name: 'claimMany, 10 accounts holding SNM, depth 20', per: 10, target: TARGET_BATCH, anchor: PUSH },
  { name: 'claimMany, 10 new holders, depth 20', per: 10, target: null, anchor: PUSH },
  { name: 'claimMany, 100 accounts holding SNM, depth 20', per: 100, target: TARGET_BATCH, anchor: PUSH },
  { name: 'claim, later round, depth 20, account holds SNM and claimed before (its `claimed` slot is written)', per: 1, target: null, anchor: UNISWAP },
  { name: 'claimMultiproof, 10 holders at adjacent leaves of 2^20 (a sweep in tree order)', per: 10, target: TARGET_BATCH, anchor: PUSH },
  { name: 'claimMultiproof, 10 holders at random leaves of 2^20', per: 10, target: TARGET_BATCH, anchor: PUSH },
  { name: 'claimMultiproof, 100 holders at adjacent leaves of 2^20 (a sweep in tree order)', per: 100, target: TARGET_BATCH, anchor: PUSH },
];

const claims = run.transactions.filter((t) => t.transactionType === 'CALL' && /^claim/.test(t.function ?? ''));
if (claims.length !== rows.length) {
  console.error(`reward-gas: expected ${rows.length} claim transactions in ${file}, found ${claims.length}`);
  process.exit(1);
}

let failed = false;
const lines = [
  '# RewardDistributor claim gas',
  '',
  `Receipt \`gasUsed\` (21,000 base and calldata included) on a fresh default \`${anvilVersion}\`,`,
  'measured by `make reward-gas` (scripts/reward-gas.sh + contracts/script/RewardGas.s.sol).',
  '',
  'Tree shape: proofs of depth 20, as in a 1,000,000-leaf tree. The claimed leaves are a real',
  '128-leaf subtree; its root is hashed with 13 random siblings up to the published root (the random',
  'siblings stand for the rest of the million leaves), so the contract does the same work as in a',
  'real tree. Amounts about 1,234 SNM. Single claims are sent by the account itself; batches by the',
  'operator. "calldata" is the EIP-7623 standard cost (4/16 per zero/non-zero byte); "execution" is',
  'the receipt minus 21,000 and calldata.',
  '',
  '| operation | receipt gas | per account | calldata bytes / gas | execution | target | figures to beat |',
  '| --- | --- | --- | --- | --- | --- | --- |',
];
claims.forEach((tx, i) => {
  const receipt = receipts.get(tx.hash);
  if (!receipt) {
    console.error(`reward-gas: no receipt for ${tx.hash}`);
    process.exit(1);
  }
  if (receipt.status !== '0x1') {
    console.error(`reward-gas: ${rows[i].name} reverted`);
    process.exit(1);
  }
  const gas = Number(BigInt(receipt.gasUsed));
  const cd = calldata(tx.transaction.input);
  const per = Math.round(gas / rows[i].per);
  const target = rows[i].target;
  const ok = target === null || per <= target;
  if (!ok) failed = true;
  const targetText = target === null ? 'n/a' : `<= ${fmt(target)} ${ok ? 'met' : 'MISSED'}`;
  lines.push(
    `| ${rows[i].name} | ${fmt(gas)} | ${fmt(per)} | ${fmt(cd.length)} / ${fmt(cd.standard)} | ${fmt(gas - 21000 - cd.standard)} | ${targetText} | ${rows[i].anchor} |`,
  );
});
lines.push(
  '',
  'Multiproof rows: `claimMultiproof` takes an OpenZeppelin multiproof (`getMultiProof` /',
  '`multiProofVerify` format) of leaves of a 2^20-leaf tree whose other nodes are random. It pays',
  'off when the leaves are close in the tree, as in a sweep that pays every account in tree order',
  '(adjacent leaves share all but a few siblings); for leaves scattered over a large tree (an',
  'arbitrary set of accounts: `StandardMerkleTree` sorts leaves by hash) only the top siblings are',
  'shared (3% less calldata here, flags included) and a multiproof step, driven by a queue and a',
  'flag, costs about twice a plain proof level, so `claimMany` is the cheaper batch.',
  '',
  'Why the first-claim target of 75,000 is out of reach with this leaf format, token and ABI',
  '(measured with anvil\'s step traces): 21,000 (base) + 11,128 (772 bytes of calldata, 640 of',
  'them random proof bytes) + 2,100 (cold root slot) + 22,100 (the account\'s `claimed` slot, zero to',
  'non-zero) + 2,600 (cold token) + 12,739 (inside OpenZeppelin\'s `transfer`: two cold balance slots',
  'and its event) + 1,637 (the `Claimed` event) + 960 (23 keccak256: leaf, 20 levels, mapping slot) =',
  '74,264 before any other opcode, leaving 736 gas for dispatch and ABI decoding (625 measured),',
  'the proof loop\'s other opcodes (1,539 for 20 levels, unrolled four levels per iteration: at least',
  'two `mstore`, a comparison and a `calldataload` per level) and the payment (553). The measured',
  'floor is therefore about 76,900; the remaining levers are outside the contract\'s design: a',
  'client-side access list (EIP-2930, about 500 gas on the five cold accesses), or dropping the',
  'redundant `amount` from `Claimed` (256 gas, an event ABI change); both together still miss.',
  '',
  'The gap is the first write of the account\'s `claimed` slot. The later-round row is the same',
  'claim (same proof depth, calldata and transfer) by an account whose slot is already written: it',
  'costs exactly 17,100 less (22,100 for a fresh slot against 5,000 for a rewrite, EIP-2929 and',
  'EIP-2200 prices), 59,881. A bitmap of claimed indexes, as in Uniswap\'s distributor, shares one',
  'word among 256 claims and so pays the rewrite price nearly always; the leaf the issue and the',
  'design fix, `(account, cumulativeAmount)`, carries no index (and sorted-pair proofs do not reveal',
  'a leaf\'s position), so the claimed amount needs a slot of its own per account, written fresh on',
  'the account\'s first claim. Meeting 75,000 on a first claim needs a leaf that lets claims share',
  'storage words (an index, as in Uniswap\'s leaf).',
  '',
  'Why `claimMany` stays above 45,000 per account: each entry carries 800 bytes of calldata (about',
  '11,250 gas: account, amount, 20 siblings and three ABI words), and per account the fixed costs',
  'are 22,100 (`claimed` slot) + about 8,000 (the token\'s transfer to a warm contract: the',
  'recipient\'s cold balance slot and the event) + 1,637 (`Claimed`) + 960 (keccak256), about 44,000',
  'before the proof loop and decoding (about 2,400 per entry, after hand decoding and unrolling) and',
  'before the base and cold accesses shared by the batch (about 3,000 per account at 10 accounts,',
  '300 at 100): 46,678 at 100 accounts. Only fewer calldata bytes per account can go below 45,000,',
  'which is what `claimMultiproof` does for adjacent leaves: 34,252 per account for 100 in a sweep.',
  '',
  'Before the assembly work (commit 69d7ccd), the four `claim`/`claimMany` rows were 77,711,',
  '94,811, 50,483 and 67,579 per account.',
  '',
);
console.log(lines.join('\n'));
if (failed) console.error('reward-gas: a gas target was missed (see the table)');
