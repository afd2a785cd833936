-- Payment orders (native checkout; hosted checkout to come). merchant_order_id
-- is idempotent per merchant and endpoint (decisions §5): the fingerprint of
-- the first request decides whether a repeat is the same order.
CREATE TABLE orders (
    order_id             TEXT PRIMARY KEY NOT NULL,
    app_id               TEXT NOT NULL REFERENCES merchants (app_id),
    merchant_order_id    TEXT NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('native', 'hosted')),
    fingerprint          TEXT NOT NULL,
    token_id             TEXT NOT NULL,
    coin_id              TEXT NOT NULL,
    chain                TEXT NOT NULL,
    pay_address          TEXT NOT NULL,
    product_price        TEXT NOT NULL,
    product_name         TEXT NOT NULL,
    denominated_currency TEXT NOT NULL,
    -- Locked at creation (decisions §5).
    fiat_rate            TEXT NOT NULL,
    token_rate           TEXT NOT NULL,
    -- Base units of the coin.
    order_amount         TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL,
    notify_url           TEXT,
    custom_value         TEXT,
    remark               TEXT,
    UNIQUE (app_id, merchant_order_id, kind)
) STRICT;

ALTER TABLE deposit_addresses ADD COLUMN order_id TEXT;
ALTER TABLE deposits ADD COLUMN order_id TEXT;
CREATE INDEX deposits_by_order ON deposits (order_id) WHERE order_id IS NOT NULL;

-- When a transfer's block was made: a payment counts for an order if it was
-- made before the order expired, however long its confirmations took.
ALTER TABLE devnet_transfers ADD COLUMN block_time_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deposits ADD COLUMN block_time_ms INTEGER NOT NULL DEFAULT 0;
