-- Dashboard users an operator disabled, and when each last logged in
-- (decisions §34). A disabled user's sessions are deleted with the change
-- and its logins are refused; NULL: enabled, never logged in.
ALTER TABLE console_users ADD COLUMN disabled_at_ms INTEGER;
ALTER TABLE console_users ADD COLUMN last_login_ms INTEGER;
