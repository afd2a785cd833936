-- The sandbox's business clock (one row, once the sandbox has moved it):
-- running `offset_ms` ahead of the real clock, or stopped at `frozen_at_ms`.
CREATE TABLE sandbox_clock (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    offset_ms    INTEGER NOT NULL,
    frozen_at_ms INTEGER
);
