-- Users' swaps (docs/decisions.md §25.1): the merchant's markup on a user's
-- swap, in base units of the output coin as text, and its rate in parts per
-- million; '0' and 0 for the merchant's own swaps.
ALTER TABLE swaps ADD COLUMN extra_fee TEXT NOT NULL DEFAULT '0';
ALTER TABLE swaps ADD COLUMN extra_fee_ppm BIGINT NOT NULL DEFAULT 0;

-- getUserSwapRecordList by userId, newest first.
CREATE INDEX swaps_by_user ON swaps (app_id, user_id, created_at, record_id);
