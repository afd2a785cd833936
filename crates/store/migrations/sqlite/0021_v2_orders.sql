-- The API dialect an order, hosted checkout or permanent address was made
-- in, which its webhooks are written in; what v2 adds to them
-- (docs/decisions.md §14).
ALTER TABLE deposit_addresses ADD COLUMN dialect TEXT NOT NULL DEFAULT 'v1';
ALTER TABLE orders ADD COLUMN dialect TEXT NOT NULL DEFAULT 'v1';
ALTER TABLE orders ADD COLUMN buyer_email TEXT;
ALTER TABLE checkouts ADD COLUMN dialect TEXT NOT NULL DEFAULT 'v1';
ALTER TABLE checkouts ADD COLUMN buyer_email TEXT;
-- v1 checkouts are priced in USD; v2's in any configured fiat currency, or
-- in a coin (its id here, its symbol as the currency shown).
ALTER TABLE checkouts ADD COLUMN denominated_currency TEXT NOT NULL DEFAULT 'USD';
ALTER TABLE checkouts ADD COLUMN price_coin_id TEXT;
