-- The indexer's schema, valid for SQLite and PostgreSQL alike (BIGINT and TEXT only; amounts are
-- exact decimal TEXT). "Current state" tables are versioned: a row holds from block `valid_from`
-- until the block `valid_to` that replaced or removed it (NULL: current), so rolling back a
-- reorganisation is two statements per table. Logs of what happened carry their `block` and are
-- deleted past the common ancestor.

CREATE TABLE sync_state (
    id BIGINT PRIMARY KEY,
    chain_id BIGINT NOT NULL,
    market TEXT NOT NULL,
    start_block BIGINT NOT NULL,
    next_block BIGINT NOT NULL
);

CREATE TABLE blocks (
    number BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    timestamp BIGINT
);

CREATE TABLE events (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    tx_hash TEXT NOT NULL,
    contract TEXT NOT NULL,
    name TEXT NOT NULL,
    topics TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);

CREATE TABLE asks (
    id BIGINT NOT NULL,
    master TEXT NOT NULL,
    worker TEXT NOT NULL,
    cpu_milli_cores BIGINT NOT NULL,
    ram_bytes BIGINT NOT NULL,
    storage_bytes BIGINT NOT NULL,
    gpu_count BIGINT NOT NULL,
    gpu_mem_bytes BIGINT NOT NULL,
    net_up_bps BIGINT NOT NULL,
    net_down_bps BIGINT NOT NULL,
    flags BIGINT NOT NULL,
    region BIGINT NOT NULL,
    price_key TEXT NOT NULL,
    body TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT
);
CREATE INDEX asks_open_by_price ON asks (price_key, id) WHERE valid_to IS NULL;
CREATE INDEX asks_by_id ON asks (id);
CREATE INDEX asks_by_master ON asks (master) WHERE valid_to IS NULL;
CREATE INDEX asks_valid_to ON asks (valid_to);
CREATE INDEX asks_valid_from ON asks (valid_from);

CREATE TABLE bids (
    id BIGINT NOT NULL,
    customer TEXT NOT NULL,
    price_key TEXT NOT NULL,
    body TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT
);
CREATE INDEX bids_open ON bids (id) WHERE valid_to IS NULL;
CREATE INDEX bids_by_id ON bids (id);
CREATE INDEX bids_valid_to ON bids (valid_to);
CREATE INDEX bids_valid_from ON bids (valid_from);

CREATE TABLE deals (
    id BIGINT NOT NULL,
    customer TEXT NOT NULL,
    master TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT
);
CREATE INDEX deals_current ON deals (id) WHERE valid_to IS NULL;
CREATE INDEX deals_by_customer ON deals (customer) WHERE valid_to IS NULL;
CREATE INDEX deals_by_master ON deals (master) WHERE valid_to IS NULL;
CREATE INDEX deals_valid_to ON deals (valid_to);
CREATE INDEX deals_valid_from ON deals (valid_from);

CREATE TABLE workers (
    worker TEXT NOT NULL,
    master TEXT NOT NULL,
    confirmed BIGINT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT
);
CREATE INDEX workers_current ON workers (worker) WHERE valid_to IS NULL;
CREATE INDEX workers_by_master ON workers (master) WHERE valid_to IS NULL;
CREATE INDEX workers_valid_to ON workers (valid_to);

CREATE TABLE blacklists (
    owner TEXT NOT NULL,
    target TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT
);
CREATE INDEX blacklists_current ON blacklists (owner, target) WHERE valid_to IS NULL;
CREATE INDEX blacklists_valid_to ON blacklists (valid_to);

CREATE TABLE reward_rounds (
    round BIGINT NOT NULL,
    root TEXT NOT NULL,
    status TEXT NOT NULL,
    total TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    uri TEXT NOT NULL,
    acceptable_at BIGINT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT
);
CREATE INDEX reward_rounds_current ON reward_rounds (round) WHERE valid_to IS NULL;
CREATE INDEX reward_rounds_valid_to ON reward_rounds (valid_to);

-- What happened, in order: (block, log_index) is the event's position.
CREATE TABLE settlements (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    deal_id BIGINT NOT NULL,
    master TEXT NOT NULL,
    amount TEXT NOT NULL,
    fee TEXT NOT NULL,
    snm_per_usd TEXT NOT NULL,
    settled_until BIGINT NOT NULL,
    final BIGINT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX settlements_by_deal ON settlements (deal_id);
CREATE INDEX settlements_by_master ON settlements (master);

CREATE TABLE escrow_moves (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    counterparty TEXT NOT NULL,
    amount TEXT NOT NULL,
    balance TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX escrow_moves_by_account ON escrow_moves (account);

CREATE TABLE oracle_rates (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    reporter TEXT NOT NULL,
    rate TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (block, log_index)
);

CREATE TABLE reward_claims (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    account TEXT NOT NULL,
    amount TEXT NOT NULL,
    cumulative TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX reward_claims_by_account ON reward_claims (account);

-- Reward round files registered with the indexer (not from the chain: never rolled back).
CREATE TABLE round_entitlements (
    round BIGINT NOT NULL,
    account TEXT NOT NULL,
    cumulative TEXT NOT NULL,
    proof TEXT NOT NULL,
    PRIMARY KEY (round, account)
);
