-- The best fitting ask among a million open asks (issue 14: p99 <= 10 ms).
--
-- `asks_fit` walks the open asks in price order and holds every column the filter compares, so
-- an ask that does not fit is skipped inside the index without reading its row (SQLite defers
-- the row seek; the row is read only for the asks returned). The keyset `(price_key, id) > (…)`
-- is a range of this index on both databases.
--
-- The `valid_to` indexes become partial (closed rows only): every open row had the same NULL
-- entry, which made SQLite's planner take "valid_to IS NULL" for a selective equality and scan a
-- million rows through it before sorting them. Rolling back only looks for `valid_to > block`,
-- which implies NOT NULL on both databases; and an open row no longer costs an entry there.
DROP INDEX asks_open_by_price;
CREATE INDEX asks_fit ON asks (
    price_key, id, cpu_milli_cores, ram_bytes, flags, region, storage_bytes, gpu_count,
    gpu_mem_bytes, net_up_bps, net_down_bps
) WHERE valid_to IS NULL;
CREATE INDEX asks_open_by_master_price ON asks (master, price_key, id) WHERE valid_to IS NULL;
DROP INDEX asks_by_master;

DROP INDEX asks_valid_to;
CREATE INDEX asks_closed ON asks (valid_to) WHERE valid_to IS NOT NULL;
DROP INDEX bids_valid_to;
CREATE INDEX bids_closed ON bids (valid_to) WHERE valid_to IS NOT NULL;
DROP INDEX deals_valid_to;
CREATE INDEX deals_closed ON deals (valid_to) WHERE valid_to IS NOT NULL;
DROP INDEX workers_valid_to;
CREATE INDEX workers_closed ON workers (valid_to) WHERE valid_to IS NOT NULL;
DROP INDEX blacklists_valid_to;
CREATE INDEX blacklists_closed ON blacklists (valid_to) WHERE valid_to IS NOT NULL;
DROP INDEX reward_rounds_valid_to;
CREATE INDEX reward_rounds_closed ON reward_rounds (valid_to) WHERE valid_to IS NOT NULL;
