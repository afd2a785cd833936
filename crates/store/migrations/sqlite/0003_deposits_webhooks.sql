-- Secrets other than app secrets (the deposit seed), sealed with the master
-- key, their name as associated data.
CREATE TABLE sealed_secrets (
    name       TEXT PRIMARY KEY NOT NULL,
    ciphertext BLOB NOT NULL
) STRICT;

-- The next unused derivation index per chain family.
CREATE TABLE derivation_counters (
    family     TEXT PRIMARY KEY NOT NULL,
    next_index INTEGER NOT NULL
) STRICT;

-- Every address the gateway derived, and whom it belongs to.
CREATE TABLE deposit_addresses (
    chain            TEXT NOT NULL,
    address          TEXT NOT NULL,
    app_id           TEXT NOT NULL REFERENCES merchants (app_id),
    user_id          TEXT,
    notify_url       TEXT,
    derivation_index INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (chain, address)
) STRICT;

CREATE UNIQUE INDEX deposit_addresses_per_user
    ON deposit_addresses (app_id, user_id, chain) WHERE user_id IS NOT NULL;

-- Transfers on the simulated chains, each in the block it was mined in.
CREATE TABLE devnet_transfers (
    chain        TEXT NOT NULL,
    txid         TEXT NOT NULL,
    log_index    INTEGER NOT NULL,
    block_height INTEGER NOT NULL,
    from_address TEXT NOT NULL,
    to_address   TEXT NOT NULL,
    memo         TEXT NOT NULL,
    token_id     TEXT NOT NULL,
    amount       TEXT NOT NULL,
    PRIMARY KEY (chain, txid, log_index)
) STRICT;

CREATE INDEX devnet_transfers_by_block ON devnet_transfers (chain, block_height);

-- How far the deposit watcher has looked at each chain.
CREATE TABLE chain_cursors (
    chain          TEXT PRIMARY KEY NOT NULL,
    scanned_height INTEGER NOT NULL
) STRICT;

-- Credited deposits. (chain, txid, log_index) is unique: a transfer is
-- credited at most once.
CREATE TABLE deposits (
    record_id        TEXT PRIMARY KEY NOT NULL,
    chain            TEXT NOT NULL,
    txid             TEXT NOT NULL,
    log_index        INTEGER NOT NULL,
    app_id           TEXT NOT NULL,
    address          TEXT NOT NULL,
    user_id          TEXT,
    token_id         TEXT NOT NULL,
    coin_id          TEXT NOT NULL,
    paid_amount      TEXT NOT NULL,
    service_fee      TEXT NOT NULL,
    credit_amount    TEXT NOT NULL,
    from_address     TEXT NOT NULL,
    memo             TEXT NOT NULL,
    block_height     INTEGER NOT NULL,
    journal_entry_id INTEGER NOT NULL REFERENCES journal_entries (id),
    credited_at      INTEGER NOT NULL,
    UNIQUE (chain, txid, log_index)
) STRICT;

-- Webhooks to deliver, written in the DB transaction of the change they report.
CREATE TABLE webhook_outbox (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id             TEXT NOT NULL,
    record_id          TEXT NOT NULL,
    order_type         TEXT NOT NULL,
    -- NULL: the merchant's webhook URL at delivery time.
    url                TEXT,
    payload            TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts           INTEGER NOT NULL,
    -- Also the claim: a worker pushes it past its delivery timeout while it tries.
    next_attempt_at_ms INTEGER NOT NULL,
    created_at_ms      INTEGER NOT NULL
) STRICT;

CREATE INDEX webhook_outbox_due ON webhook_outbox (status, next_attempt_at_ms);

CREATE TABLE webhook_attempts (
    outbox_id     INTEGER NOT NULL REFERENCES webhook_outbox (id),
    attempt       INTEGER NOT NULL,
    at_ms         INTEGER NOT NULL,
    http_status   INTEGER,
    latency_ms    INTEGER NOT NULL,
    outcome       TEXT NOT NULL,
    response_head TEXT NOT NULL,
    PRIMARY KEY (outbox_id, attempt)
) STRICT;

ALTER TABLE merchants ADD COLUMN webhook_url TEXT;
ALTER TABLE merchants ADD COLUMN notify_pending INTEGER NOT NULL DEFAULT 0;
-- Parts per million of each deposit (300 = 0.03 %).
ALTER TABLE merchants ADD COLUMN service_fee_ppm INTEGER NOT NULL DEFAULT 300;
