#!/usr/bin/env python3
"""`make bench-node`: what one block costs the node (anvil) as its state grows, with no project code.

The scale benchmark's time per supplier grows with the suppliers partly because the node's work per
block grows with its state. This measures that alone: for each state size (accounts given a balance
with `anvil_setBalance`, which mines nothing), it sends plain ETH transfers one after the other, each
waited for (one block each, automatic mining), and prints the node's time and resident-memory growth
per block, with the time as a ratio to the smallest state's (a node whose block cost did not depend on
its state would print 1x throughout).

Two sets of flags: the devnet's (`--prune-history 64`, automatic mining; the SDK's `Devnet` mines its
periodic block with `evm_mine`) and anvil's own block timer as the devnet used before
(`--mixed-mining --block-time 1`), under which anvil 1.7.1 keeps up to 1,500 states in memory whatever
`--prune-history` says.

    scripts/bench-node.py [--sizes 1000,10000,50000] [--blocks 200] [--anvil PATH]

Talks to 127.0.0.1 only."""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAG_SETS = [
    ("devnet (--prune-history 64, automatic mining)", ["--prune-history", "64"]),
    ("anvil's block timer (--prune-history 64 --mixed-mining --block-time 1)",
     ["--prune-history", "64", "--mixed-mining", "--block-time", "1"]),
]
RECEIVER = "0x" + "ab" * 20
FIRST_FILLER = 0x100000


class Node:
    def __init__(self, anvil, flags):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [anvil, "--host", "127.0.0.1", "--port", str(self.port), "--silent", *flags],
            stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.call("eth_chainId", [])
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"bench-node: {anvil} did not start serving on {self.url}")
                time.sleep(0.05)

    def post(self, body):
        request = urllib.request.Request(self.url, json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())

    def call(self, method, params):
        out = self.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        if "error" in out:
            raise SystemExit(f"bench-node: {method} failed: {out['error']}")
        return out["result"]

    def call_many(self, calls):
        out = self.post([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)])
        for answer in out:
            if "error" in answer:
                raise SystemExit(f"bench-node: batch call failed: {answer['error']}")

    def memory_mib(self, field="VmRSS"):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        self.process.terminate()
        self.process.wait()


def measure(anvil, flags, sizes, blocks):
    node = Node(anvil, flags)
    rows = []
    try:
        sender = node.call("eth_accounts", [])[0]
        accounts = 0
        for size in sizes:
            while accounts < size:
                n = min(1000, size - accounts)
                node.call_many([("anvil_setBalance", [f"0x{FIRST_FILLER + accounts + i:040x}", "0xde0b6b3a7640000"])
                                for i in range(n)])
                accounts += n
            node.call("evm_mine", [])
            before_blocks = int(node.call("eth_blockNumber", []), 16)
            before_memory = node.memory_mib()
            start = time.perf_counter()
            for _ in range(blocks):
                tx = node.call("eth_sendTransaction", [{"from": sender, "to": RECEIVER, "value": "0x1"}])
                while node.call("eth_getTransactionReceipt", [tx]) is None:
                    pass
            took = time.perf_counter() - start
            mined = int(node.call("eth_blockNumber", []), 16) - before_blocks
            rows.append((size, 1000 * took / mined, (node.memory_mib() - before_memory) / mined, node.memory_mib()))
        peak = node.memory_mib("VmHWM")
    finally:
        node.stop()
    return rows, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="accounts in the state, comma-separated")
    parser.add_argument("--blocks", type=int, default=200, help="blocks timed at each size")
    default_anvil = os.environ.get("SNM_ANVIL") or str(ROOT / "toolchain" / ".bin" / "anvil")
    parser.add_argument("--anvil", default=default_anvil, help="the anvil binary (default: $SNM_ANVIL, else the pinned one)")
    args = parser.parse_args()
    try:
        sizes = sorted(int(s) for s in args.sizes.split(","))
    except ValueError:
        parser.error(f"--sizes {args.sizes!r}: expected whole numbers of accounts separated by commas")
    if not sizes or sizes[0] < 1 or args.blocks < 1:
        parser.error("--sizes and --blocks must be positive")
    if not Path(args.anvil).is_file():
        parser.error(f"--anvil {args.anvil}: no such file (run `make toolchain`, or set SNM_ANVIL)")
    version = subprocess.run([args.anvil, "--version"], capture_output=True, text=True).stdout.splitlines()
    print(f"node: {version[0] if version else args.anvil}; {args.blocks} blocks of one transfer each per size")
    for name, flags in FLAG_SETS:
        rows, peak = measure(args.anvil, flags, sizes, args.blocks)
        print(f"\n{name}:")
        print(f"{'accounts':>9} {'ms/block':>9} {'vs first':>9} {'accounts vs first':>18} {'MiB/block':>10} {'resident MiB':>13}")
        base_ms = rows[0][1]
        for size, ms, mib, resident in rows:
            print(f"{size:>9,} {ms:>9.2f} {ms / base_ms:>8.1f}x {size / sizes[0]:>17.0f}x {mib:>10.3f} {resident:>13.0f}")
        print(f"peak resident memory {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
