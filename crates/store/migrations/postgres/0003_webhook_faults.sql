-- Faults the sandbox injects into one merchant's webhook deliveries (a row
-- only while some are set). Probabilities are parts per million; `remaining`
-- counts the deliveries still to affect (NULL: until cleared); `used` is how
-- many the set has affected, the position in its seeded random sequence.
CREATE TABLE webhook_faults (
    app_id        TEXT PRIMARY KEY NOT NULL REFERENCES merchants (app_id),
    delay_ms      BIGINT NOT NULL,
    drop_ppm      BIGINT NOT NULL,
    duplicate_ppm BIGINT NOT NULL,
    reorder       BIGINT NOT NULL CHECK (reorder IN (0, 1)),
    bad_signature BIGINT NOT NULL CHECK (bad_signature IN (0, 1)),
    status        BIGINT,
    remaining     BIGINT,
    seed          BIGINT NOT NULL,
    used          BIGINT NOT NULL
);
