-- Calls to webhook/resend, for its per-merchant limits (1 a minute, 25 a day).
CREATE TABLE resend_calls (
    app_id TEXT NOT NULL,
    at_ms  INTEGER NOT NULL
) STRICT;

CREATE INDEX resend_calls_by_merchant ON resend_calls (app_id, at_ms);
CREATE INDEX webhook_outbox_by_merchant ON webhook_outbox (app_id, created_at_ms);
