-- Hosted checkouts (concise/url/get): priced in USD, the payer picks the coin
-- and network on the page, which then creates the order (kind 'hosted').
CREATE TABLE checkouts (
    checkout_key      TEXT PRIMARY KEY NOT NULL,
    app_id            TEXT NOT NULL REFERENCES merchants (app_id),
    merchant_order_id TEXT NOT NULL,
    fingerprint       TEXT NOT NULL,
    product_price     TEXT NOT NULL,
    product_name      TEXT NOT NULL,
    return_url        TEXT,
    notify_url        TEXT,
    custom_value      TEXT,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    order_id          TEXT,
    UNIQUE (app_id, merchant_order_id)
) STRICT;
