-- What a devnet reorg deeper than the confirmations did to credited deposits:
-- the credit is kept (never silently reversed) and the operator told here.
CREATE TABLE reorg_incidents (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chain     TEXT NOT NULL,
    txid      TEXT NOT NULL,
    log_index BIGINT NOT NULL,
    record_id TEXT NOT NULL,
    what      TEXT NOT NULL,
    at_ms     BIGINT NOT NULL
);
