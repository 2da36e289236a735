-- SQLite's own step of version 7 (PostgreSQL's is `../postgres/`; the migrator runs the shared
-- migrations beside this folder and its backend's, in version order: `db::migrator`). SQLite
-- compares text bytewise already (BINARY), so only the `events` row changes.
--
-- Ingestion of a million asks (issue 14: >= 20,000 events/s): the `events` row kept its topics
-- and data as hexadecimal text, twice their size: now bytes (BLOB), the topics concatenated
-- (each is 32 bytes, so the list splits again). SQLite changes no column's type in place: the
-- table is copied, converting each row (`unhex`, SQLite 3.41 and later).
CREATE TABLE events_bytes (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    tx_hash TEXT NOT NULL,
    contract TEXT NOT NULL,
    name TEXT NOT NULL,
    topics BLOB NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (block, log_index)
);
INSERT INTO events_bytes (block, log_index, tx_hash, contract, name, topics, data)
SELECT block, log_index, tx_hash, contract, name,
       unhex(replace(replace(topics, '0x', ''), ',', '')), unhex(substr(data, 3))
FROM events;
DROP TABLE events;
ALTER TABLE events_bytes RENAME TO events;
