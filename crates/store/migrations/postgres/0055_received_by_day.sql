-- The overview's received volume per day (decisions §32) reads a merchant's
-- deposits credited in a range of days, not its whole history.
CREATE INDEX deposits_by_merchant_credited ON deposits (app_id, credited_at);
