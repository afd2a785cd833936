-- `serve` deletes sessions past their idle or absolute lifetime and failed
-- logins older than the throttle's window, a bounded batch at a time
-- (decisions §36): each is found by an index, not by reading the table.
CREATE INDEX console_sessions_by_last_seen ON console_sessions (last_seen_ms);
CREATE INDEX console_sessions_by_creation ON console_sessions (created_at_ms);
CREATE INDEX console_login_failures_by_time ON console_login_failures (at_ms);
