-- v2 withdrawals (docs/decisions.md §15). A withdrawal remembers the dialect
-- it was asked in, so its webhooks are written in that dialect, and the
-- notifyUrl it was given; v1 withdrawals keep 'v1' and no URL.
ALTER TABLE withdrawals ADD COLUMN dialect TEXT NOT NULL DEFAULT 'v1' CHECK (dialect IN ('v1', 'v2'));
ALTER TABLE withdrawals ADD COLUMN notify_url TEXT;
-- Whether it waits for the operator (v2 WaitingApproval / Rejected): 'none'
-- for a merchant without approval; 'waiting' (reserved, not sent), then
-- 'approved' (sent like any other) or 'rejected' (voided, status 'failed').
ALTER TABLE withdrawals ADD COLUMN approval TEXT NOT NULL DEFAULT 'none'
    CHECK (approval IN ('none', 'waiting', 'approved', 'rejected'));

-- Merchants whose chain withdrawals wait for the operator's approval.
CREATE TABLE withdrawal_approval_required (
    app_id TEXT PRIMARY KEY NOT NULL REFERENCES merchants (app_id)
);

-- getAppWithdrawRecordList: one merchant's withdrawals, newest first.
CREATE INDEX withdrawals_by_merchant ON withdrawals (app_id, created_at, record_id);

-- getWithdrawFee's quotes (networkFeeInquiryID): a fee a withdrawal of this
-- merchant on this token may be charged until the quote expires.
CREATE TABLE withdraw_fee_quotes (
    inquiry_id    TEXT PRIMARY KEY NOT NULL,
    app_id        TEXT NOT NULL REFERENCES merchants (app_id),
    token_id      TEXT NOT NULL,
    -- Base units of the token's coin.
    fee           TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

CREATE INDEX withdraw_fee_quotes_expiry ON withdraw_fee_quotes (expires_at_ms);
