#!/usr/bin/env node
// The SDK's bindings are generated from sdk/artifacts/*.json (ABI + bytecode), committed so that a
// user of the SDK needs no Solidity toolchain. This script writes them from forge's `out/`
// (`write`), or checks that the committed ones equal a fresh build (`check`).
// Usage: node scripts/artifacts.mjs write|check   (after `forge build`)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = path.join(root, 'contracts', 'src');
const outDir = path.join(root, process.env.FOUNDRY_OUT ?? 'out');
const artifactsDir = path.join(root, 'sdk', 'artifacts');
const mode = process.argv[2];

if (mode !== 'write' && mode !== 'check') {
  console.error('usage: node scripts/artifacts.mjs write|check');
  process.exit(2);
}

// Deployable contracts: every contract with bytecode in a source file of contracts/src.
function sources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.sol') ? [full] : [];
  });
}

const fresh = new Map();
for (const file of sources(srcDir)) {
  const folder = path.join(outDir, path.basename(file));
  if (!fs.existsSync(folder)) {
    console.error(`artifacts: ${path.relative(root, folder)} is missing; run forge build first`);
    process.exit(1);
  }
  for (const name of fs.readdirSync(folder)) {
    const built = JSON.parse(fs.readFileSync(path.join(folder, name), 'utf8'));
    const contractName = path.basename(name, '.json');
    const bytecode = built.bytecode?.object ?? '0x';
    // Interfaces have no bytecode; libraries of internal functions have no ABI: neither is deployed.
    if (bytecode === '0x' || !built.abi || built.abi.length === 0) continue;
    const artifact = {
      contractName,
      sourceName: path.relative(root, file),
      abi: built.abi,
      bytecode: { object: bytecode },
      deployedBytecode: { object: built.deployedBytecode?.object ?? '0x' },
    };
    fresh.set(`${contractName}.json`, JSON.stringify(artifact, null, 2) + '\n');
  }
}

fs.mkdirSync(artifactsDir, { recursive: true });
const committed = new Set(fs.readdirSync(artifactsDir).filter((name) => name.endsWith('.json')));

if (mode === 'write') {
  for (const name of committed) if (!fresh.has(name)) fs.rmSync(path.join(artifactsDir, name));
  for (const [name, text] of fresh) fs.writeFileSync(path.join(artifactsDir, name), text);
  console.log(`artifacts: wrote ${fresh.size} files to sdk/artifacts/`);
  process.exit(0);
}

const problems = [];
for (const [name, text] of fresh) {
  if (!committed.has(name)) problems.push(`${name} is not committed`);
  else if (fs.readFileSync(path.join(artifactsDir, name), 'utf8') !== text) problems.push(`${name} differs from a fresh forge build`);
}
for (const name of committed) if (!fresh.has(name)) problems.push(`${name} has no contract in contracts/src any more`);
if (problems.length > 0) {
  console.error('artifacts: the SDK artifacts in sdk/artifacts/ are out of date:');
  for (const problem of problems) console.error(`  - ${problem}`);
  console.error('artifacts: regenerate them with `make artifacts` and commit the result.');
  process.exit(1);
}
console.log(`artifacts: ${fresh.size} SDK artifacts match a fresh forge build`);
