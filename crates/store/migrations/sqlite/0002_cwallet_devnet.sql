-- Cwallet ids: accounts inside this gateway that withdrawals can pay instantly
-- (decisions §8).
CREATE TABLE cwallet_accounts (
    c_id       TEXT PRIMARY KEY NOT NULL,
    nickname   TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- The simulated chains: a chain's height is derived from when it started, its
-- block time and the blocks mined on demand, so it survives restarts and needs
-- no background writer.
CREATE TABLE devnet_chains (
    chain           TEXT PRIMARY KEY NOT NULL,
    genesis_unix_ms INTEGER NOT NULL,
    mined_blocks    INTEGER NOT NULL CHECK (mined_blocks >= 0)
) STRICT;
