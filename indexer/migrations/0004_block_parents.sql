-- Every applied block is stored with its parent's hash (issue 14: "stores the hash of every block
-- it applied"): a reorganisation shows as a first parent hash that differs from the newest stored
-- block, and the common ancestor is the newest stored block whose hash the chain still has.
ALTER TABLE blocks ADD COLUMN parent_hash TEXT;
