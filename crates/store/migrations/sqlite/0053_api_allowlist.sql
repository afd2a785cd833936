-- The client addresses a merchant's API calls may come from (decisions
-- §23): canonical entries separated by spaces; empty admits any.
ALTER TABLE merchants ADD COLUMN api_allowlist TEXT NOT NULL DEFAULT '';
