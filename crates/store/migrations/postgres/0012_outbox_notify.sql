-- Every statement that queues webhooks tells the instances sharing this
-- database, at its commit (NOTIFY is transactional): their delivery claims at
-- once instead of at its next poll (crates/store/src/postgres/mod.rs,
-- PgStore::follow_outbox_inserts). Polling stays the safety net for a
-- notification lost while a listener reconnects. Inserts only: claims and
-- retries update rows, and must not wake every instance.
CREATE FUNCTION webhook_outbox_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('ccgate_outbox', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER webhook_outbox_notify AFTER INSERT ON webhook_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_outbox_notify();
