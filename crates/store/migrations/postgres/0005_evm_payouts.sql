-- Payouts signed for EVM chains (crates/store/src/payouts.rs): one per payout
-- id, written before the broadcast; the nonce is unique per hot wallet, so two
-- instances never sign two chain_txs with one nonce.
CREATE TABLE evm_payouts (
    chain          TEXT NOT NULL,
    payout_id      TEXT NOT NULL,
    from_address   TEXT NOT NULL,
    nonce          BIGINT NOT NULL,
    txid           TEXT NOT NULL,
    raw_tx         TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (chain, payout_id),
    UNIQUE (chain, from_address, nonce)
);
