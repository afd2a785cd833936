-- As SQLite's 0064: a merchant's orders by merchant order id, in the order
-- `bill/info` and v2's lookups read them, so no plan walks every order of the
-- merchant (a fresh database has no statistics to steer by).
CREATE INDEX orders_by_merchant_order ON orders (app_id, merchant_order_id, created_at, order_id);
