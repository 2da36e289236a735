# The two commands of the README: `make demo` (the main job) and `make test` (every test).
# Both install the pinned toolchain into toolchain/ on first use (scripts/toolchain.sh).
# Bring your own Foundry with FORGE=/path/to/forge (and SNM_ANVIL=/path/to/anvil for the SDK).

FORGE ?= toolchain/.bin/forge
CARGO ?= cargo
export FOUNDRY_DISABLE_NIGHTLY_WARNING := 1

.PHONY: demo test toolchain system-packages build artifacts check-artifacts check-snapshots test-contracts test-rust lint slither gas reward-gas bench-rewards bench-sdk bench-agent bench-scale bench-node bench-indexer coverage check-coverage

# The proxy the suppliers' agents run (snm-proxy) and the market data service started beside the story
# (snm-indexer) are programs of their own: build them beside the story, then run it.
demo: toolchain
	$(CARGO) build --release --quiet -p snm-proxy -p snm-indexer -p snm-examples --bins
	$(CARGO) run --release --quiet -p snm-examples --bin quickstart

test: toolchain lint check-artifacts test-contracts check-snapshots check-coverage test-rust slither

toolchain:
	@scripts/toolchain.sh

# dockerd and a static busybox for the agent's Docker tests (agent/tests/docker.rs), PostgreSQL and
# Chromium for the indexer's tests, installed when missing, one after the other before the tests run
# (their own fallback would otherwise run apt-get from tests running in parallel).
system-packages:
	@scripts/system-packages.sh docker
	@scripts/install-postgres-chromium.sh postgresql chromium

build: toolchain
	$(FORGE) build

# Regenerates the ABI + bytecode JSON the SDK's bindings are built from (commit the result).
artifacts: build
	node scripts/artifacts.mjs write

# Fails, saying how to regenerate, when the committed SDK artifacts differ from a fresh build.
check-artifacts: build
	node scripts/artifacts.mjs check

test-contracts: toolchain
	$(FORGE) test

# The gas tests rewrite snapshots/*.json; gas changes only on purpose, so a difference from the committed
# snapshot fails until it is reviewed and committed.
check-snapshots:
	@changed="$$(git status --porcelain -- snapshots/)"; if [ -n "$$changed" ]; then \
	  git --no-pager diff -- snapshots/; echo "$$changed"; \
	  echo "gas snapshot changed (above): review it, then commit snapshots/" >&2; exit 1; fi

# forge coverage of contracts/src (about half a minute); fails when Market (MarketLogic, MarketSignedAsks), Escrow, PriceOracle, MoneyMath or RewardDistributor
# is below 95 % of lines or branches. `coverage` also rewrites docs/COVERAGE.md (commit it); `make test` only checks.
coverage: toolchain
	FORGE=$(FORGE) scripts/coverage.sh

check-coverage: toolchain
	FORGE=$(FORGE) scripts/coverage.sh --check

# Every crate's tests (the examples' test runs each example program against a devnet), the doc
# tests, documentation without a warning, and the SDK built bare (no devnet, no reward engine) as a
# customer who adds it with `default-features = false` gets it. Benchmarks run only through their
# `make bench-*` targets (clippy --all-targets still compiles them).
test-rust: system-packages
	$(CARGO) test --workspace --lib --bins --tests
	$(CARGO) test --workspace --doc
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --quiet
	$(CARGO) build -p snm-sdk --no-default-features --quiet
	$(CARGO) build -p snm-sdk --no-default-features --features rewards --quiet

# Receipt gas of every market operation on a fresh anvil, beside SONM's figures; writes docs/GAS.md.
gas: toolchain build
	FORGE=$(FORGE) scripts/gas.sh

lint: toolchain
	$(FORGE) fmt --check
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Static analysis; fails on any medium or high finding not explained in slither.config.json.
slither: toolchain
	scripts/slither.sh --fail-medium

# RewardDistributor claim gas as receipts on a fresh anvil; rewrites docs/REWARD_GAS.md.
reward-gas: toolchain
	FORGE=$(FORGE) scripts/reward-gas.sh

# Reward engine figures: 1M-leaf Merkle tree + proofs + dump, 10M usage records, and the operator's
# multiproof sweep of a 1M-account round on a devnet (gas per account; release build).
bench-rewards: toolchain
	$(CARGO) bench -p snm-sdk --bench rewards

# SDK figures: best ask among 100,000 asks, 1,000 deals against a devnet (deals/s, the SDK's share of
# the time), the units' decimal codec against std and alloy; release build; the figures are written
# up in sdk/BENCHMARKS.md.
bench-sdk: toolchain
	$(CARGO) bench -p snm-sdk --bench market

# Deal opened -> endpoint announced (p50/p95) and the agent's CPU per deal over 20 deals, process
# runtime beside Docker (a dockerd in a network namespace of its own; root). Figures in BENCHMARKS.md.
bench-agent: toolchain system-packages
	$(CARGO) bench -p snm-agent --bench agent
	$(CARGO) bench -p snm-agent --bench idle_requests
	$(CARGO) bench -p snm-sdk --bench units

# The main job at 20, 100, 200, 500 and 1,000 suppliers (release build): time, peak memory of the
# story and of anvil, RPC requests per supplier per minute, transactions sent and reverted, and
# the per-supplier figures against the 100-supplier run; fails if a transaction reverted. Figures
# in BENCHMARKS.md. Out of `make test`.
bench-scale: toolchain
	scripts/bench-scale.sh

# The node's (anvil's) time and memory per block as its state grows, with no project code: what
# part of bench-scale's growth per supplier is the node's; see BENCHMARKS.md.
bench-node: toolchain
	scripts/bench-node.py

# Indexer figures: 1,000,000 events ingested into SQLite and PostgreSQL, best ask among 1,000,000
# over HTTP beside the SDK's in-memory book, devnet catch-up; release build; see BENCHMARKS.md.
bench-indexer: toolchain
	scripts/install-postgres-chromium.sh postgresql
	$(CARGO) bench -p snm-indexer --bench indexer
