-- Signed asks relayed by `POST /v1/asks` (issue 16): offers signed off chain by their master,
-- checked when posted, served beside the placed asks, dropped when their worker's ask nonce moves
-- on or they expire. Not versioned by block: they are no chain state, and a reorganisation only
-- changes the worker's nonce, which the relay reads again.
--
-- One ask per worker and nonce: a newer one (a new price) replaces the older.
CREATE TABLE signed_asks (
    worker TEXT NOT NULL,
    nonce BIGINT NOT NULL,
    master TEXT NOT NULL,
    price_key TEXT NOT NULL,
    expiry BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (worker, nonce)
);
CREATE INDEX signed_asks_by_price ON signed_asks (price_key, worker);
CREATE INDEX signed_asks_by_expiry ON signed_asks (expiry);
