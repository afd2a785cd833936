-- Figures /metrics reads, kept as rows change so a scrape costs the same
-- whatever the history (issue #16 §5): the outbox by status, the delivery
-- attempts by outcome, the journal's entries. SQLite has one writer, so
-- row triggers updating one row per figure contend with nothing.
CREATE TABLE metric_counts (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;

INSERT INTO metric_counts (name, value)
SELECT 'webhooks.' || status, COUNT(*) FROM webhook_outbox GROUP BY status;
INSERT INTO metric_counts (name, value)
SELECT CASE WHEN outcome = 'delivered' THEN 'attempts.delivered' ELSE 'attempts.failed' END,
       COUNT(*)
FROM webhook_attempts
GROUP BY outcome = 'delivered';
INSERT INTO metric_counts (name, value) SELECT 'journal.entries', COUNT(*) FROM journal_entries;

CREATE TRIGGER metric_outbox_insert AFTER INSERT ON webhook_outbox BEGIN
    INSERT INTO metric_counts (name, value) VALUES ('webhooks.' || NEW.status, 1)
    ON CONFLICT (name) DO UPDATE SET value = value + 1;
END;

CREATE TRIGGER metric_outbox_status AFTER UPDATE OF status ON webhook_outbox
WHEN OLD.status != NEW.status BEGIN
    UPDATE metric_counts SET value = value - 1 WHERE name = 'webhooks.' || OLD.status;
    INSERT INTO metric_counts (name, value) VALUES ('webhooks.' || NEW.status, 1)
    ON CONFLICT (name) DO UPDATE SET value = value + 1;
END;

CREATE TRIGGER metric_outbox_delete AFTER DELETE ON webhook_outbox BEGIN
    UPDATE metric_counts SET value = value - 1 WHERE name = 'webhooks.' || OLD.status;
END;

CREATE TRIGGER metric_attempt_insert AFTER INSERT ON webhook_attempts BEGIN
    INSERT INTO metric_counts (name, value)
    VALUES (CASE WHEN NEW.outcome = 'delivered' THEN 'attempts.delivered'
                 ELSE 'attempts.failed' END, 1)
    ON CONFLICT (name) DO UPDATE SET value = value + 1;
END;

CREATE TRIGGER metric_journal_insert AFTER INSERT ON journal_entries BEGIN
    INSERT INTO metric_counts (name, value) VALUES ('journal.entries', 1)
    ON CONFLICT (name) DO UPDATE SET value = value + 1;
END;
