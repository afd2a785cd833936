-- A claim walks the merchants with pending webhooks and takes the first few
-- due of each, instead of ranking every due webhook (issue #16 §4): each
-- step is a seek in these indexes, so a claim costs O(merchants × cap)
-- whatever the backlog. `id` last: ties of due time are taken in id order
-- by a seek too.
CREATE INDEX webhook_outbox_merchant_due
    ON webhook_outbox (status, app_id, next_attempt_at_ms, id);

-- The claims a merchant holds, counted per merchant.
DROP INDEX webhook_outbox_claimed;
CREATE INDEX webhook_outbox_claimed ON webhook_outbox (app_id, claimed_until_ms)
    WHERE claimed_until_ms IS NOT NULL;
