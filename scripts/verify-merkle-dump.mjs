// Loads a Merkle dump with OpenZeppelin's own StandardMerkleTree.load (which rebuilds and checks
// every node and every value's leaf), checks its root, and verifies every value's proof with
// StandardMerkleTree.verify. Optionally also verifies proofs computed elsewhere (the Rust SDK).
//
// usage: node scripts/verify-merkle-dump.mjs <dump.json> <expected-root> [proofs.json]
//   proofs.json: [[account, amount, [proof...]], ...]
// Prints `verified N values` and exits 0, or prints the reason and exits 1.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../toolchain/package.json', import.meta.url));
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

const [dumpPath, expectedRoot, proofsPath] = process.argv.slice(2);
if (!dumpPath || !expectedRoot) {
  console.error('usage: node scripts/verify-merkle-dump.mjs <dump.json> <expected-root> [proofs.json]');
  process.exit(2);
}
const fail = (why) => {
  console.error(`verify-merkle-dump: ${why}`);
  process.exit(1);
};

const tree = StandardMerkleTree.load(JSON.parse(readFileSync(dumpPath, 'utf8')));
if (tree.root !== expectedRoot.toLowerCase()) fail(`root ${tree.root} != expected ${expectedRoot}`);
let count = 0;
for (const [i, value] of tree.entries()) {
  const proof = tree.getProof(i);
  if (!StandardMerkleTree.verify(tree.root, tree.leafEncoding, value, proof)) fail(`value ${i} does not verify`);
  count++;
}
if (proofsPath) {
  for (const [account, amount, proof] of JSON.parse(readFileSync(proofsPath, 'utf8'))) {
    if (!StandardMerkleTree.verify(tree.root, ['address', 'uint256'], [account, amount], proof)) {
      fail(`the given proof for ${account} does not verify`);
    }
    const ours = tree.getProof([account, amount]);
    if (JSON.stringify(ours) !== JSON.stringify(proof)) fail(`the given proof for ${account} differs from OpenZeppelin's`);
  }
}
console.log(`verified ${count} values, root ${tree.root}`);
