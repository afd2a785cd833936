-- The invoices page pages by (created_at, checkout_key), newest first
-- (decisions §36): the index carries the key, so a page starts where the
-- last one stopped without sorting a second's invoices.
DROP INDEX checkouts_invoices_by_merchant;
CREATE INDEX checkouts_invoices_by_merchant
    ON checkouts (app_id, created_at, checkout_key) WHERE invoice = 1;
