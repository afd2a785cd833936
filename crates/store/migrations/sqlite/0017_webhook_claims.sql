-- A claimed webhook says until when its claim holds, so a claim can count a
-- merchant's deliveries in flight (across instances) and take at most a few
-- of its webhooks at a time: one merchant's backlog never fills every slot.
-- NULL once attempted or handed back.
ALTER TABLE webhook_outbox ADD COLUMN claimed_until_ms INTEGER;

CREATE INDEX webhook_outbox_claimed ON webhook_outbox (claimed_until_ms)
    WHERE claimed_until_ms IS NOT NULL;
