-- Sweeps of deposit addresses into the hot wallet (crates/store/src/sweeps.rs):
-- one signed chain_tx per sweep id, stored before the broadcast; the nonce is
-- unique per address, so two instances never sign two chain_txs with one.
-- outcome (succeeded | reverted), gas_cost and settled_at_ms are NULL while
-- in flight; gas_cost is in the native coin's base units, what was posted to
-- the journal when the sweep settled.
CREATE TABLE evm_sweeps (
    chain            TEXT NOT NULL,
    sweep_id         TEXT NOT NULL,
    from_address     TEXT NOT NULL,
    to_address       TEXT NOT NULL,
    token_id         TEXT NOT NULL,
    amount           TEXT NOT NULL,
    nonce            INTEGER NOT NULL,
    txid             TEXT NOT NULL,
    raw_tx           TEXT NOT NULL,
    top_up_payout_id TEXT,
    created_at_ms    INTEGER NOT NULL,
    outcome          TEXT,
    gas_cost         TEXT,
    settled_at_ms    INTEGER,
    PRIMARY KEY (chain, sweep_id),
    UNIQUE (chain, from_address, nonce)
) STRICT;

CREATE INDEX evm_sweeps_open ON evm_sweeps (chain, created_at_ms) WHERE settled_at_ms IS NULL;

-- A sweep's gas top-up is a payout of the hot wallet to a deposit address:
-- the deposit watcher finds it by its txid, to leave it uncredited.
CREATE INDEX evm_payouts_by_txid ON evm_payouts (chain, txid);
