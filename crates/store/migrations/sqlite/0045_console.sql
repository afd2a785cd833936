-- The dashboard (decisions §23): its users, their sessions, failed logins
-- (the throttle counts them) and the audit log.

CREATE TABLE console_users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE,
    -- Argon2id, PHC string form (parameters and salt included).
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('operator', 'merchant')),
    -- The merchant a merchant user belongs to; NULL for an operator.
    app_id        TEXT REFERENCES merchants (app_id),
    created_at_ms INTEGER NOT NULL,
    CHECK ((role = 'operator') = (app_id IS NULL))
) STRICT;

CREATE TABLE console_sessions (
    -- SHA-256 of the cookie's token, hex: the token itself is never stored.
    id_hash       TEXT PRIMARY KEY NOT NULL,
    user_id       INTEGER NOT NULL REFERENCES console_users (id),
    csrf_token    TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL
) STRICT;

CREATE TABLE console_login_failures (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    ip    TEXT NOT NULL,
    at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX console_login_failures_email ON console_login_failures (email, at_ms);
CREATE INDEX console_login_failures_ip ON console_login_failures (ip, at_ms);

CREATE TABLE console_audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms   INTEGER NOT NULL,
    user_id INTEGER,
    actor   TEXT NOT NULL,
    app_id  TEXT,
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL,
    ip      TEXT NOT NULL
) STRICT;
