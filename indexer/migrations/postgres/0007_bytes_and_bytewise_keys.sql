-- PostgreSQL's own step of version 7 (SQLite's is `../sqlite/`; the migrator runs the shared
-- migrations beside this folder and its backend's, in version order: `db::migrator`).
--
-- Ingestion of a million asks (issue 14: >= 20,000 events/s): the server's cost is mostly bytes
-- written (WAL and heap). The `events` row kept its topics and data as hexadecimal text, twice
-- their size: now bytes, the topics concatenated (each is 32 bytes, so the list splits again).
-- Converted in place; an empty `data` ("0x") becomes no bytes.
ALTER TABLE events
    ALTER COLUMN topics TYPE BYTEA USING decode(replace(replace(topics, '0x', ''), ',', ''), 'hex'),
    ALTER COLUMN data TYPE BYTEA USING decode(substr(data, 3), 'hex');

-- Keys compared bytewise: every index on text keys (prices as 64 hexadecimal digits, addresses,
-- kinds) compared through the database's collation, which for a locale such as en_US.UTF-8 is
-- glibc's `strcoll`: a third of the server's samples when inserting asks in a trial (BENCHMARKS.md).
-- The keys are lowercase ASCII (hexadecimal digits, `0x`, names), whose order is the same bytewise
-- as in any such locale, so no answer changes; only the indexes are rebuilt. Equality and ranges
-- against parameters (of the default collation) take the column's collation, so the indexes serve
-- them as before.
ALTER TABLE asks
    ALTER COLUMN master TYPE TEXT COLLATE "C",
    ALTER COLUMN worker TYPE TEXT COLLATE "C",
    ALTER COLUMN price_key TYPE TEXT COLLATE "C";
ALTER TABLE bids
    ALTER COLUMN customer TYPE TEXT COLLATE "C",
    ALTER COLUMN price_key TYPE TEXT COLLATE "C";
ALTER TABLE deals
    ALTER COLUMN customer TYPE TEXT COLLATE "C",
    ALTER COLUMN master TYPE TEXT COLLATE "C";
ALTER TABLE workers
    ALTER COLUMN worker TYPE TEXT COLLATE "C",
    ALTER COLUMN master TYPE TEXT COLLATE "C";
ALTER TABLE blacklists
    ALTER COLUMN owner TYPE TEXT COLLATE "C",
    ALTER COLUMN target TYPE TEXT COLLATE "C";
ALTER TABLE settlements ALTER COLUMN master TYPE TEXT COLLATE "C";
ALTER TABLE escrow_moves ALTER COLUMN account TYPE TEXT COLLATE "C";
ALTER TABLE reward_claims ALTER COLUMN account TYPE TEXT COLLATE "C";
ALTER TABLE round_entitlements ALTER COLUMN account TYPE TEXT COLLATE "C";
ALTER TABLE round_traffic ALTER COLUMN account TYPE TEXT COLLATE "C";
ALTER TABLE signed_asks
    ALTER COLUMN worker TYPE TEXT COLLATE "C",
    ALTER COLUMN master TYPE TEXT COLLATE "C",
    ALTER COLUMN price_key TYPE TEXT COLLATE "C";
