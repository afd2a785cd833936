-- Merchant batch withdrawals (v2 applyBatchWithdraw, docs/decisions.md §26).
-- A batch keeps what was asked; its tasks' money moves as withdrawals of
-- their own (the withdrawals table), found by withdrawal_order_id. The
-- batch's status is derived from them, so none is stored here.
CREATE TABLE batch_withdrawals (
    app_id         TEXT NOT NULL REFERENCES merchants (app_id),
    batch_order_id TEXT NOT NULL,
    bill_id        TEXT NOT NULL UNIQUE,
    coin_id        TEXT NOT NULL,
    token_id       TEXT NOT NULL,
    task_name      TEXT NOT NULL,
    mode           TEXT NOT NULL CHECK (mode IN ('Single', 'Batch')),
    notify_url     TEXT,
    -- What makes a repeated applyBatchWithdraw the same batch.
    fingerprint    TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    -- Set once by the first confirmBatchWithdraw; NULL: status Init.
    confirmed_at   INTEGER,
    PRIMARY KEY (app_id, batch_order_id)
) STRICT;

CREATE TABLE batch_withdrawal_tasks (
    app_id              TEXT NOT NULL,
    batch_order_id      TEXT NOT NULL,
    -- 1-based place in the request: the order tasks execute and list in.
    position            INTEGER NOT NULL,
    seq                 INTEGER,
    task_order_id       TEXT,
    -- The merchant_order_id its withdrawal has (or will have).
    withdrawal_order_id TEXT NOT NULL,
    address             TEXT NOT NULL,
    memo                TEXT NOT NULL,
    -- Base units of the batch's coin.
    amount              TEXT NOT NULL,
    remark              TEXT NOT NULL,
    -- Set when the task was executed; failure: why its withdrawal was
    -- refused (no withdrawal exists then).
    executed_at         INTEGER,
    failure             TEXT,
    PRIMARY KEY (app_id, batch_order_id, position),
    FOREIGN KEY (app_id, batch_order_id) REFERENCES batch_withdrawals (app_id, batch_order_id)
) STRICT;
