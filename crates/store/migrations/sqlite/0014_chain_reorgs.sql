-- Following chains through reorganisations (crates/store/src/reorgs.rs); credits
-- in replaced blocks are reported in reorg_incidents.
-- The block a seen payment was in, so a reorganisation can drop it (NULL for
-- payments seen before this migration).
ALTER TABLE seen_transfers ADD COLUMN block_height INTEGER;
-- The payment, so one a reorganisation removes can still be notified `failed`
-- (NULL for payments seen before this migration: those are dropped silently).
ALTER TABLE seen_transfers ADD COLUMN from_address TEXT;
ALTER TABLE seen_transfers ADD COLUMN to_address TEXT;
ALTER TABLE seen_transfers ADD COLUMN memo TEXT;
ALTER TABLE seen_transfers ADD COLUMN token_id TEXT;
ALTER TABLE seen_transfers ADD COLUMN amount TEXT;

-- The hashes of each chain's recent blocks.
CREATE TABLE chain_block_links (
    chain        TEXT NOT NULL,
    height       INTEGER NOT NULL,
    hash         TEXT NOT NULL,
    parent_hash  TEXT NOT NULL,
    PRIMARY KEY (chain, height)
) STRICT;
