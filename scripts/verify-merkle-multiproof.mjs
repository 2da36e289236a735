// Checks multiproofs computed elsewhere (the Rust SDK) against OpenZeppelin's own: loads a Merkle
// dump with StandardMerkleTree.load, and for each given multiproof asks the library for
// getMultiProof(valueIndexes), requires the same leaves (values, in order), proof and flags, and
// requires verifyMultiProof (the tree's and the static one under the dump's root) to accept ours.
//
// usage: node scripts/verify-merkle-multiproof.mjs <dump.json> <multiproofs.json>
//   multiproofs.json: [{"indexes": [valueIndex...], "leaves": [[account, amount]...], "proof": [...], "flags": [...]}, ...]
// Prints `verified N multiproofs` and exits 0, or prints the first difference and exits 1.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../toolchain/package.json', import.meta.url));
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

const [dumpPath, multiproofsPath] = process.argv.slice(2);
if (!dumpPath || !multiproofsPath) {
  console.error('usage: node scripts/verify-merkle-multiproof.mjs <dump.json> <multiproofs.json>');
  process.exit(2);
}
const fail = (why) => {
  console.error(`verify-merkle-multiproof: ${why}`);
  process.exit(1);
};
// Addresses may differ in case only (EIP-55 or lowercase); amounts are decimal strings.
const canonical = (x) => JSON.stringify(x).toLowerCase();

const tree = StandardMerkleTree.load(JSON.parse(readFileSync(dumpPath, 'utf8')));
let count = 0;
for (const given of JSON.parse(readFileSync(multiproofsPath, 'utf8'))) {
  const ours = { leaves: given.leaves, proof: given.proof, proofFlags: given.flags };
  const theirs = tree.getMultiProof([...given.indexes]);
  const what = `multiproof of indexes [${given.indexes}]`;
  if (canonical(ours.leaves) !== canonical(theirs.leaves)) {
    fail(`${what}: leaves ${canonical(ours.leaves)} != OpenZeppelin's ${canonical(theirs.leaves)}`);
  }
  if (canonical(ours.proof) !== canonical(theirs.proof)) fail(`${what}: proof differs from OpenZeppelin's`);
  if (canonical(ours.proofFlags) !== canonical(theirs.proofFlags)) fail(`${what}: flags differ from OpenZeppelin's`);
  if (!tree.verifyMultiProof(ours)) fail(`${what}: the tree's verifyMultiProof refuses it`);
  if (!StandardMerkleTree.verifyMultiProof(tree.root, tree.leafEncoding, ours)) {
    fail(`${what}: StandardMerkleTree.verifyMultiProof refuses it under root ${tree.root}`);
  }
  count++;
}
console.log(`verified ${count} multiproofs, root ${tree.root}`);
