-- Withdrawals (decisions §6). Accepting one reserves its debit in the same DB
-- transaction that stores it; it then resolves exactly once: posted when the
-- chain confirms it, voided (the reservation returned) when it fails.
-- Withdrawals to a Cwallet id are posted at once.
CREATE TABLE withdrawals (
    order_id          TEXT PRIMARY KEY NOT NULL,
    record_id         TEXT NOT NULL UNIQUE,
    app_id            TEXT NOT NULL REFERENCES merchants (app_id),
    merchant_order_id TEXT NOT NULL,
    fingerprint       TEXT NOT NULL,
    token_id          TEXT NOT NULL,
    coin_id           TEXT NOT NULL,
    chain             TEXT NOT NULL,
    to_address        TEXT NOT NULL,
    memo              TEXT NOT NULL,
    -- Base units of the coin.
    value             TEXT NOT NULL,
    network_fee       TEXT NOT NULL,
    net_receivable    TEXT NOT NULL,
    -- What leaves the merchant's balance: value, plus the fee if it pays it.
    debit             TEXT NOT NULL,
    merchant_pays_fee INTEGER NOT NULL,
    to_cwallet        INTEGER NOT NULL,
    -- pending: reserved, not sent; processing: sent, confirming.
    status            TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'successful', 'failed')),
    txid              TEXT NOT NULL,
    block_height      INTEGER,
    created_at        INTEGER NOT NULL,
    resolved_at       INTEGER,
    UNIQUE (app_id, merchant_order_id)
) STRICT;

CREATE INDEX withdrawals_open ON withdrawals (status) WHERE status IN ('pending', 'processing');

-- `ccgate devnet fail-next-withdrawal`: how many next sends on a chain fail.
CREATE TABLE devnet_send_failures (
    chain     TEXT PRIMARY KEY NOT NULL,
    remaining INTEGER NOT NULL CHECK (remaining >= 0)
) STRICT;
