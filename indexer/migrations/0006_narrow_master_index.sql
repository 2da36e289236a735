-- Ingestion of a million asks (issue 14: >= 20,000 events/s): the index of one master's open asks
-- was keyed (master, price_key, id), so every placement inserted a 100-byte entry at a random
-- place of a second price-ordered tree beside `asks_fit`, dirtying a page of it per ask (a third
-- of the CPU of an ingestion in a 300,000-ask trial). Keyed by master alone, a master's entries
-- are ordered by row (SQLite's rowid, PostgreSQL's heap position), so a new ask is appended at the
-- end of its master's run: a few hot pages instead of one per ask. A master's asks are few beside
-- the whole book; the per-master query reads them through this index and sorts them by price.
DROP INDEX asks_open_by_master_price;
CREATE INDEX asks_open_by_master ON asks (master) WHERE valid_to IS NULL;
