-- `bill/info` and v2's order lookups read a merchant's orders by their
-- merchant order id, oldest first. Without this index SQLite's planner took
-- 0060's (app_id, created_at, order_id) to avoid sorting, and so walked every
-- order of the merchant: `bill/info` went from 0.5 ms to 55 ms at 100,000
-- orders (`ccgate bench scale`). Equality on both columns and the order in one
-- index is what the planner picks first.
CREATE INDEX orders_by_merchant_order ON orders (app_id, merchant_order_id, created_at, order_id);
