-- Balance reconciliation of EVM deposit addresses (crates/store/src/reconciliations.rs):
-- per address, the confirmed height up to which the node's native balance and
-- the books agreed (any surplus there credited as a deposit), and the
-- shortfall last found, if the node held less than the books: an incident
-- for `ccgate doctor`, never corrected silently. Amounts in base units.
CREATE TABLE evm_reconciliations (
    chain            TEXT NOT NULL,
    address          TEXT NOT NULL,
    checked_height   BIGINT,
    checked_at_ms    BIGINT NOT NULL,
    shortfall        TEXT,
    shortfall_height BIGINT,
    PRIMARY KEY (chain, address)
);

CREATE INDEX evm_reconciliations_shortfalls ON evm_reconciliations (chain) WHERE shortfall IS NOT NULL;
CREATE INDEX deposits_by_address ON deposits (chain, address);
