-- Each account's traffic and reward in a registered reward round, read from the round file
-- (`round-<N>.json`) beside its Merkle dump: bytes and IPs this round and over the campaign.
-- Not from the chain: never rolled back.
CREATE TABLE round_traffic (
    round BIGINT NOT NULL,
    account TEXT NOT NULL,
    ips BIGINT NOT NULL,
    bytes TEXT NOT NULL,
    round_ips BIGINT NOT NULL,
    round_bytes TEXT NOT NULL,
    round_amount TEXT NOT NULL,
    cumulative TEXT NOT NULL,
    PRIMARY KEY (round, account)
);
CREATE INDEX round_traffic_by_account ON round_traffic (account, round);
