-- v2 `userTransfer` and `userBatchTransfer` (docs/decisions.md §24): each
-- leg moves one coin between two of a merchant's wallet accounts (a user, or
-- the merchant itself under its App ID) by one journal entry, written in the
-- DB transaction that writes the row.
CREATE TABLE user_batch_transfers (
    record_id        TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    app_id           TEXT NOT NULL REFERENCES merchants (app_id),
    order_id         TEXT NOT NULL,
    from_user        TEXT NOT NULL,
    coin_id          TEXT NOT NULL,
    remark           TEXT NOT NULL,
    journal_entry_id BIGINT NOT NULL REFERENCES journal_entries (id),
    created_at       BIGINT NOT NULL,
    UNIQUE (app_id, order_id)
);

CREATE TABLE user_transfers (
    record_id        TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    app_id           TEXT NOT NULL REFERENCES merchants (app_id),
    order_id         TEXT NOT NULL,
    -- The batch a leg belongs to, and its place in it; NULL for a single
    -- transfer, whose order id is unique among the merchant's transfers.
    batch_record_id  TEXT REFERENCES user_batch_transfers (record_id),
    batch_seq        BIGINT,
    from_user        TEXT NOT NULL,
    to_user          TEXT NOT NULL,
    coin_id          TEXT NOT NULL,
    amount           TEXT NOT NULL,
    remark           TEXT NOT NULL,
    journal_entry_id BIGINT NOT NULL REFERENCES journal_entries (id),
    created_at       BIGINT NOT NULL
);

CREATE UNIQUE INDEX user_transfers_order
    ON user_transfers (app_id, order_id) WHERE batch_record_id IS NULL;
CREATE INDEX user_transfers_of_batch ON user_transfers (batch_record_id, batch_seq);
CREATE INDEX user_transfers_by_merchant ON user_transfers (app_id, record_id);
