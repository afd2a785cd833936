-- The delivery loop's index holds the pending webhooks only (decisions §45):
-- a delivered webhook leaves it once instead of being moved in it, and the
-- delivered history never grows it. The claim says `status = 'pending'` in
-- every step, so it still seeks here. The older (status, next_attempt_at_ms)
-- index served the claim before migration 0019; nothing reads it now.
DROP INDEX webhook_outbox_merchant_due;
CREATE INDEX webhook_outbox_merchant_due
    ON webhook_outbox (app_id, next_attempt_at_ms, id) WHERE status = 'pending';
DROP INDEX webhook_outbox_due;
