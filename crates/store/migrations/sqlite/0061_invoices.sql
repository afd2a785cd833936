-- Dashboard invoices (decisions §32): a hosted checkout a merchant user made
-- from the console, and the order its payer's choice makes, are marked, so
-- the order's payments are notified as v1's `Invoice` webhook and the
-- console lists its invoices without reading every checkout.
ALTER TABLE checkouts ADD COLUMN invoice INTEGER NOT NULL DEFAULT 0 CHECK (invoice IN (0, 1));
ALTER TABLE orders ADD COLUMN invoice INTEGER NOT NULL DEFAULT 0 CHECK (invoice IN (0, 1));

CREATE INDEX checkouts_invoices_by_merchant
    ON checkouts (app_id, created_at) WHERE invoice = 1;
