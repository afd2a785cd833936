-- Amounts are decimal strings of base units: u128 does not fit SQLite's 64-bit
-- INTEGER, and money is never approximated by REAL.

CREATE TABLE merchants (
    app_id            TEXT PRIMARY KEY NOT NULL,
    name              TEXT NOT NULL,
    -- ChaCha20-Poly1305 nonce || ciphertext of the app secret, bound to app_id.
    secret_ciphertext BLOB NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

CREATE TABLE journal_entries (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE postings (
    entry_id  INTEGER NOT NULL REFERENCES journal_entries (id),
    seq       INTEGER NOT NULL,
    account   TEXT NOT NULL,
    coin_id   TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('debit', 'credit')),
    amount    TEXT NOT NULL,
    PRIMARY KEY (entry_id, seq)
) STRICT;

CREATE INDEX postings_by_account ON postings (account, coin_id);

-- Running totals per account and coin, updated in the same DB transaction as the
-- postings that change them; replaying `postings` reproduces them.
CREATE TABLE balances (
    account        TEXT NOT NULL,
    coin_id        TEXT NOT NULL,
    debits_posted  TEXT NOT NULL,
    credits_posted TEXT NOT NULL,
    PRIMARY KEY (account, coin_id)
) STRICT;
