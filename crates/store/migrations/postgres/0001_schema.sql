-- The whole schema of SQLite's migrations 0001..0009, for a database that starts
-- fresh. Columns and meanings are the same, so both backends share their row
-- mappers: amounts are decimal TEXT of base units (u128 does not fit BIGINT,
-- and NUMERIC would invite arithmetic in SQL, which the ledger forbids), flags
-- are BIGINT 0/1.
--
-- Text that the store orders by is COLLATE "C": SQLite compares bytes, and a
-- listing must come out in the same order whichever backend serves it.

CREATE TABLE merchants (
    app_id            TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name              TEXT NOT NULL,
    -- ChaCha20-Poly1305 nonce || ciphertext of the app secret, bound to app_id.
    secret_ciphertext BYTEA NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    webhook_url       TEXT,
    notify_pending    BIGINT NOT NULL DEFAULT 0 CHECK (notify_pending IN (0, 1)),
    -- Parts per million of each deposit (300 = 0.03 %).
    service_fee_ppm   BIGINT NOT NULL DEFAULT 300
);

CREATE TABLE journal_entries (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE postings (
    entry_id  BIGINT NOT NULL REFERENCES journal_entries (id),
    seq       BIGINT NOT NULL,
    account   TEXT NOT NULL,
    coin_id   TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('debit', 'credit')),
    amount    TEXT NOT NULL,
    PRIMARY KEY (entry_id, seq)
);

CREATE INDEX postings_by_account ON postings (account, coin_id);

-- Running totals per account and coin, updated in the same DB transaction as the
-- postings that change them; replaying `postings` reproduces them. A writer
-- locks the rows it changes (SELECT … FOR UPDATE), so concurrent entries on one
-- account serialise here.
CREATE TABLE balances (
    account        TEXT NOT NULL,
    coin_id        TEXT COLLATE "C" NOT NULL,
    debits_posted  TEXT NOT NULL,
    credits_posted TEXT NOT NULL,
    PRIMARY KEY (account, coin_id)
);

-- Cwallet ids: accounts inside this gateway that withdrawals can pay instantly
-- (decisions §8).
CREATE TABLE cwallet_accounts (
    c_id       TEXT PRIMARY KEY NOT NULL,
    nickname   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The simulated chains: a chain's height is derived from when it started, its
-- block time and the blocks mined on demand, so it survives restarts and needs
-- no background writer.
CREATE TABLE devnet_chains (
    chain           TEXT PRIMARY KEY NOT NULL,
    genesis_unix_ms BIGINT NOT NULL,
    mined_blocks    BIGINT NOT NULL CHECK (mined_blocks >= 0)
);

-- Secrets other than app secrets (the deposit seed), sealed with the master
-- key, their name as associated data.
CREATE TABLE sealed_secrets (
    name       TEXT PRIMARY KEY NOT NULL,
    ciphertext BYTEA NOT NULL
);

-- The next unused derivation index per chain family.
CREATE TABLE derivation_counters (
    family     TEXT PRIMARY KEY NOT NULL,
    next_index BIGINT NOT NULL
);

-- Every address the gateway derived, and whom it belongs to.
CREATE TABLE deposit_addresses (
    chain            TEXT NOT NULL,
    address          TEXT NOT NULL,
    app_id           TEXT NOT NULL REFERENCES merchants (app_id),
    user_id          TEXT,
    notify_url       TEXT,
    derivation_index BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    order_id         TEXT,
    PRIMARY KEY (chain, address)
);

CREATE UNIQUE INDEX deposit_addresses_per_user
    ON deposit_addresses (app_id, user_id, chain) WHERE user_id IS NOT NULL;

-- Transfers on the simulated chains, each in the block it was mined in.
CREATE TABLE devnet_transfers (
    chain         TEXT NOT NULL,
    txid          TEXT COLLATE "C" NOT NULL,
    log_index     BIGINT NOT NULL,
    block_height  BIGINT NOT NULL,
    from_address  TEXT NOT NULL,
    to_address    TEXT NOT NULL,
    memo          TEXT NOT NULL,
    token_id      TEXT NOT NULL,
    amount        TEXT NOT NULL,
    -- When the block was made: a payment counts for an order if it was made
    -- before the order expired, however long its confirmations took.
    block_time_ms BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (chain, txid, log_index)
);

CREATE INDEX devnet_transfers_by_block ON devnet_transfers (chain, block_height);

-- How far the deposit watcher has looked at each chain.
CREATE TABLE chain_cursors (
    chain          TEXT PRIMARY KEY NOT NULL,
    scanned_height BIGINT NOT NULL
);

-- Credited deposits. (chain, txid, log_index) is unique: a transfer is
-- credited at most once, whichever instance tries.
CREATE TABLE deposits (
    record_id        TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    chain            TEXT NOT NULL,
    txid             TEXT NOT NULL,
    log_index        BIGINT NOT NULL,
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
    block_height     BIGINT NOT NULL,
    journal_entry_id BIGINT NOT NULL REFERENCES journal_entries (id),
    credited_at      BIGINT NOT NULL,
    order_id         TEXT,
    block_time_ms    BIGINT NOT NULL DEFAULT 0,
    UNIQUE (chain, txid, log_index)
);

CREATE INDEX deposits_by_order ON deposits (order_id) WHERE order_id IS NOT NULL;

-- Webhooks to deliver, written in the DB transaction of the change they report.
CREATE TABLE webhook_outbox (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id             TEXT NOT NULL,
    record_id          TEXT NOT NULL,
    order_type         TEXT NOT NULL,
    -- NULL: the merchant's webhook URL at delivery time.
    url                TEXT,
    payload            TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts           BIGINT NOT NULL,
    -- Also the claim: a worker pushes it past its delivery timeout while it tries.
    next_attempt_at_ms BIGINT NOT NULL,
    created_at_ms      BIGINT NOT NULL
);

CREATE INDEX webhook_outbox_due ON webhook_outbox (status, next_attempt_at_ms);
CREATE INDEX webhook_outbox_by_merchant ON webhook_outbox (app_id, created_at_ms);

CREATE TABLE webhook_attempts (
    outbox_id     BIGINT NOT NULL REFERENCES webhook_outbox (id),
    attempt       BIGINT NOT NULL,
    at_ms         BIGINT NOT NULL,
    http_status   BIGINT,
    latency_ms    BIGINT NOT NULL,
    outcome       TEXT NOT NULL,
    response_head TEXT NOT NULL,
    PRIMARY KEY (outbox_id, attempt)
);

-- Payment orders. merchant_order_id is idempotent per merchant and endpoint
-- (decisions §5): the fingerprint of the first request decides whether a
-- repeat is the same order.
CREATE TABLE orders (
    order_id             TEXT COLLATE "C" PRIMARY KEY NOT NULL,
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
    created_at           BIGINT NOT NULL,
    expires_at           BIGINT NOT NULL,
    notify_url           TEXT,
    custom_value         TEXT,
    remark               TEXT,
    UNIQUE (app_id, merchant_order_id, kind)
);

-- Calls to webhook/resend, for its per-merchant limits (1 a minute, 25 a day).
CREATE TABLE resend_calls (
    app_id TEXT NOT NULL,
    at_ms  BIGINT NOT NULL
);

CREATE INDEX resend_calls_by_merchant ON resend_calls (app_id, at_ms);

-- Transfers to our addresses seen in blocks that are not yet confirmed: their
-- order is Processing, and merchants who opted in get a `processing` webhook
-- (decisions §7). The record id chosen here is kept when the transfer is
-- credited, so receivers can match the two notifications.
CREATE TABLE seen_transfers (
    chain         TEXT NOT NULL,
    txid          TEXT NOT NULL,
    log_index     BIGINT NOT NULL,
    record_id     TEXT NOT NULL,
    app_id        TEXT NOT NULL,
    order_id      TEXT,
    block_time_ms BIGINT NOT NULL,
    seen_at_ms    BIGINT NOT NULL,
    PRIMARY KEY (chain, txid, log_index)
);

CREATE INDEX seen_transfers_by_order ON seen_transfers (order_id) WHERE order_id IS NOT NULL;

-- How far the watcher has looked at each chain's unconfirmed blocks.
CREATE TABLE chain_seen_cursors (
    chain       TEXT PRIMARY KEY NOT NULL,
    seen_height BIGINT NOT NULL
);

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
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    order_id          TEXT,
    UNIQUE (app_id, merchant_order_id)
);

-- Withdrawals and refunds (decisions §6). Accepting one reserves its debit in
-- the same DB transaction that stores it; it then resolves exactly once: posted
-- when the chain confirms it, voided (the reservation returned) when it fails.
-- Withdrawals to a Cwallet id are posted at once. `refund_of` names the order
-- a refund gives money back for.
CREATE TABLE withdrawals (
    order_id          TEXT COLLATE "C" PRIMARY KEY NOT NULL,
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
    merchant_pays_fee BIGINT NOT NULL CHECK (merchant_pays_fee IN (0, 1)),
    to_cwallet        BIGINT NOT NULL CHECK (to_cwallet IN (0, 1)),
    -- pending: reserved, not sent; processing: sent, confirming.
    status            TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'successful', 'failed')),
    txid              TEXT NOT NULL,
    block_height      BIGINT,
    created_at        BIGINT NOT NULL,
    resolved_at       BIGINT,
    kind              TEXT NOT NULL DEFAULT 'withdrawal' CHECK (kind IN ('withdrawal', 'refund')),
    refund_of         TEXT,
    UNIQUE (app_id, merchant_order_id)
);

CREATE INDEX withdrawals_open ON withdrawals (status) WHERE status IN ('pending', 'processing');
CREATE INDEX withdrawals_refunds ON withdrawals (refund_of) WHERE refund_of IS NOT NULL;

-- `ccgate devnet fail-next-withdrawal`: how many next sends on a chain fail.
CREATE TABLE devnet_send_failures (
    chain     TEXT PRIMARY KEY NOT NULL,
    remaining BIGINT NOT NULL CHECK (remaining >= 0)
);
