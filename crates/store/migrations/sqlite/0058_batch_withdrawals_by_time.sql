-- The dashboard lists a merchant's batch withdrawals newest first, a page
-- at a time (decisions §30).
CREATE INDEX batch_withdrawals_by_time
    ON batch_withdrawals (app_id, created_at, batch_order_id);
