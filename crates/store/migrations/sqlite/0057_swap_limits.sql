-- Swap limits (docs/decisions.md §29): the operator's switch and daily
-- limit per merchant, and what each merchant swapped per UTC day.
--
-- A row only for a merchant the operator set: disabled = 1 refuses its
-- swaps (v2 16005); daily_limit_usd (decimal text, NULL: the [swap]
-- section's default) bounds the USD value of its swaps per UTC day (16004).
CREATE TABLE merchant_swap_policies (
    app_id          TEXT PRIMARY KEY REFERENCES merchants (app_id),
    disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    daily_limit_usd TEXT
) STRICT;

-- The USD value (micro-USD, each swap's amountIn at its price, rounded up)
-- of a merchant's swaps and its users' on one UTC day (days since the
-- epoch); written in the swap's own DB transaction, by one conditional
-- upsert, so concurrent swaps cannot pass the limit together.
CREATE TABLE swap_daily_usage (
    app_id     TEXT NOT NULL REFERENCES merchants (app_id),
    day        INTEGER NOT NULL,
    usd_micros INTEGER NOT NULL CHECK (usd_micros >= 0),
    PRIMARY KEY (app_id, day)
) STRICT;
