// Prints the root OpenZeppelin's StandardMerkleTree.of computes for (address, uint256) values:
// how the known-answer roots in sdk/tests/fixtures/rewards/expected.json were obtained.
//
// usage: node scripts/oz-merkle-root.mjs '<json [[account, amount], ...]>'
import { createRequire } from 'node:module';

const require = createRequire(new URL('../toolchain/package.json', import.meta.url));
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

const values = JSON.parse(process.argv[2]);
console.log(StandardMerkleTree.of(values, ['address', 'uint256']).root);
