-- The v2 wallet system (docs/decisions.md §24): a merchant's users, each a
-- ledger account `user:<appid>:<userId>`. A user exists from its first
-- deposit address or first received transfer; reading or debiting one that
-- does not is `11015 UserIdNotFound`.
CREATE TABLE wallet_users (
    app_id     TEXT NOT NULL REFERENCES merchants (app_id),
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, user_id)
);

-- A wallet user's permanent address credits the user, not the merchant; it
-- lives in its own namespace beside the merchant's own permanent addresses
-- (whose `user_id` is v1's user id or v2's referenceId).
ALTER TABLE deposit_addresses ADD COLUMN wallet_user BIGINT NOT NULL DEFAULT 0
    CHECK (wallet_user IN (0, 1));

DROP INDEX deposit_addresses_per_user;
CREATE UNIQUE INDEX deposit_addresses_per_user
    ON deposit_addresses (app_id, wallet_user, user_id, chain)
    WHERE user_id IS NOT NULL AND unbound_at IS NULL;
