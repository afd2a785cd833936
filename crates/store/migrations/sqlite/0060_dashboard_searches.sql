-- The dashboard's order search (decisions §31): keyset pages of a merchant's
-- orders, newest first, and its journal by time.
CREATE INDEX orders_by_merchant_created ON orders (app_id, created_at, order_id);
CREATE INDEX journal_entries_by_time ON journal_entries (created_at);
