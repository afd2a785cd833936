-- Figures /metrics reads, kept as rows change so a scrape costs the same
-- whatever the history (issue #16 §5): the outbox by status, the delivery
-- attempts by outcome, the journal's entries. Statement triggers append
-- one delta row per figure a statement changes: no row is updated in
-- place, so concurrent writers (several instances) never wait on each
-- other here. A reader sums the deltas; `compact_metric_counts()` folds
-- them into one row per figure now and then.
CREATE TABLE metric_deltas (
    id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name  TEXT NOT NULL,
    delta BIGINT NOT NULL
);

INSERT INTO metric_deltas (name, delta)
SELECT 'webhooks.' || status, COUNT(*) FROM webhook_outbox GROUP BY status;
INSERT INTO metric_deltas (name, delta)
SELECT CASE WHEN outcome = 'delivered' THEN 'attempts.delivered' ELSE 'attempts.failed' END,
       COUNT(*)
FROM webhook_attempts
GROUP BY 1;
INSERT INTO metric_deltas (name, delta) SELECT 'journal.entries', COUNT(*) FROM journal_entries;

CREATE FUNCTION metric_outbox_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO metric_deltas (name, delta)
    SELECT 'webhooks.' || status, COUNT(*) FROM inserted GROUP BY status;
    RETURN NULL;
END $$;
CREATE TRIGGER metric_outbox_insert AFTER INSERT ON webhook_outbox
REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION metric_outbox_inserted();

CREATE FUNCTION metric_outbox_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO metric_deltas (name, delta)
    SELECT name, SUM(delta) FROM (
        SELECT 'webhooks.' || status AS name, -1 AS delta FROM before_update
        UNION ALL
        SELECT 'webhooks.' || status, 1 FROM after_update
    ) AS changes
    GROUP BY name
    HAVING SUM(delta) != 0;
    RETURN NULL;
END $$;
CREATE TRIGGER metric_outbox_update AFTER UPDATE ON webhook_outbox
REFERENCING OLD TABLE AS before_update NEW TABLE AS after_update
FOR EACH STATEMENT EXECUTE FUNCTION metric_outbox_updated();

CREATE FUNCTION metric_outbox_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO metric_deltas (name, delta)
    SELECT 'webhooks.' || status, -COUNT(*) FROM deleted GROUP BY status;
    RETURN NULL;
END $$;
CREATE TRIGGER metric_outbox_delete AFTER DELETE ON webhook_outbox
REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION metric_outbox_deleted();

CREATE FUNCTION metric_attempts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO metric_deltas (name, delta)
    SELECT CASE WHEN outcome = 'delivered' THEN 'attempts.delivered' ELSE 'attempts.failed' END,
           COUNT(*)
    FROM inserted
    GROUP BY 1;
    RETURN NULL;
END $$;
CREATE TRIGGER metric_attempt_insert AFTER INSERT ON webhook_attempts
REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION metric_attempts_inserted();

CREATE FUNCTION metric_journal_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO metric_deltas (name, delta) SELECT 'journal.entries', COUNT(*) FROM inserted
    HAVING COUNT(*) > 0;
    RETURN NULL;
END $$;
CREATE TRIGGER metric_journal_insert AFTER INSERT ON journal_entries
REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION metric_journal_inserted();
