-- v2 `addressUnbinding` (docs/decisions.md §16): an unbound permanent
-- address keeps its row (payments to it are still credited to the merchant
-- and its user) but no longer answers for its (merchant, user, chain), so
-- the next request for that user and chain derives a new address.
ALTER TABLE deposit_addresses ADD COLUMN unbound_at INTEGER;

DROP INDEX deposit_addresses_per_user;
CREATE UNIQUE INDEX deposit_addresses_per_user
    ON deposit_addresses (app_id, user_id, chain)
    WHERE user_id IS NOT NULL AND unbound_at IS NULL;

-- The unbinding looks a merchant's address up by its text on any chain.
CREATE INDEX deposit_addresses_by_merchant_address ON deposit_addresses (app_id, address);
