-- The dashboard's TOTP second factor (decisions §31): one row per user who
-- set one up. The secret is sealed by the master key (ChaCha20-Poly1305,
-- the user's id as associated data), never stored in the clear.
CREATE TABLE console_totp (
    user_id           BIGINT PRIMARY KEY NOT NULL REFERENCES console_users (id),
    secret_ciphertext BYTEA NOT NULL,
    -- NULL while set up but not confirmed with a code: not in force yet.
    enabled_at_ms     BIGINT,
    -- The last 30-second step whose code was accepted: a code is accepted
    -- once, and never one of an earlier step (replay).
    last_step         BIGINT,
    created_at_ms     BIGINT NOT NULL
);
