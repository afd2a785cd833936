-- Faults the sandbox injects into one merchant's webhook deliveries (a row
-- only while some are set). Probabilities are parts per million; `remaining`
-- counts the deliveries still to affect (NULL: until cleared); `used` is how
-- many the set has affected, the position in its seeded random sequence.
CREATE TABLE webhook_faults (
    app_id        TEXT PRIMARY KEY NOT NULL REFERENCES merchants (app_id),
    delay_ms      INTEGER NOT NULL,
    drop_ppm      INTEGER NOT NULL,
    duplicate_ppm INTEGER NOT NULL,
    reorder       INTEGER NOT NULL CHECK (reorder IN (0, 1)),
    bad_signature INTEGER NOT NULL CHECK (bad_signature IN (0, 1)),
    status        INTEGER,
    remaining     INTEGER,
    seed          INTEGER NOT NULL,
    used          INTEGER NOT NULL
) STRICT;
