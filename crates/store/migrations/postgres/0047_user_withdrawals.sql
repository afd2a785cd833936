-- Wallet users' withdrawals (docs/decisions.md §28): a withdrawal row whose
-- money came from the merchant's user `user_id` (its `user:` account)
-- instead of the merchant; NULL for the merchant's own withdrawals and
-- refunds.
ALTER TABLE withdrawals ADD COLUMN user_id TEXT;

-- getUserWithdrawRecordList: one user's withdrawals, newest first.
CREATE INDEX withdrawals_by_user ON withdrawals (app_id, user_id, created_at, record_id)
    WHERE user_id IS NOT NULL;
