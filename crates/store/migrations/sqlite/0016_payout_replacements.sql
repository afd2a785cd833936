-- A payout stuck in the mempool is signed again with the same nonce and
-- higher fees (crates/store/src/payouts.rs): `evm_payouts` holds the newest
-- transaction and how many replaced it; the ones replaced stay here, since
-- any of them may still be the one mined.
ALTER TABLE evm_payouts ADD COLUMN replacements INTEGER NOT NULL DEFAULT 0;

CREATE TABLE evm_payout_replaced (
    chain          TEXT NOT NULL,
    payout_id      TEXT NOT NULL,
    round          INTEGER NOT NULL,
    txid           TEXT NOT NULL,
    raw_tx         TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (chain, payout_id, round)
);
