-- The dialect of a merchant's webhooks that no object's dialect decides
-- (docs/decisions.md §13).
ALTER TABLE merchants ADD COLUMN webhook_dialect TEXT NOT NULL DEFAULT 'v1';
