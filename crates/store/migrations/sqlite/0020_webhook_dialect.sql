-- The API dialect a webhook is written and signed in (docs/decisions.md §13).
ALTER TABLE webhook_outbox ADD COLUMN dialect TEXT NOT NULL DEFAULT 'v1';
