-- Swaps against the operator's treasury (docs/decisions.md §25). A swap
-- commits with its journal entry; amounts are base units as text, prices
-- USD decimal text as the price source gave them.
CREATE TABLE swaps (
    record_id          TEXT PRIMARY KEY NOT NULL,
    app_id             TEXT NOT NULL REFERENCES merchants (app_id),
    -- The merchant's user who swapped; '' for the merchant's own swaps.
    user_id            TEXT NOT NULL DEFAULT '',
    merchant_order_id  TEXT NOT NULL,
    coin_in            TEXT NOT NULL,
    coin_out           TEXT NOT NULL,
    amount_in          TEXT NOT NULL,
    amount_out         TEXT NOT NULL,
    fee                TEXT NOT NULL,
    net_out            TEXT NOT NULL,
    -- '' when the caller sent no amountOutMinimum.
    amount_out_minimum TEXT NOT NULL,
    price_in           TEXT NOT NULL,
    price_out          TEXT NOT NULL,
    fee_ppm            BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    -- Swaps have their own orderId namespace (v2 spec §4).
    UNIQUE (app_id, merchant_order_id)
);

-- getSwapRecordList: one merchant's swaps, newest first.
CREATE INDEX swaps_by_merchant ON swaps (app_id, created_at, record_id);

-- estimate's quotes: honoured by a swap of the same coins and amount until
-- they expire; the latest per merchant, coins and amount replaces the one
-- before.
CREATE TABLE swap_quotes (
    app_id        TEXT NOT NULL REFERENCES merchants (app_id),
    coin_in       TEXT NOT NULL,
    coin_out      TEXT NOT NULL,
    amount_in     TEXT NOT NULL,
    amount_out    TEXT NOT NULL,
    fee           TEXT NOT NULL,
    price_in      TEXT NOT NULL,
    price_out     TEXT NOT NULL,
    fee_ppm       BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    PRIMARY KEY (app_id, coin_in, coin_out, amount_in)
);

CREATE INDEX swap_quotes_expiry ON swap_quotes (expires_at_ms);
