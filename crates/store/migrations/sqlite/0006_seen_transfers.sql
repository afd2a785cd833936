-- Transfers to our addresses seen in blocks that are not yet confirmed: their
-- order is Processing, and merchants who opted in get a `processing` webhook
-- (decisions §7). The record id chosen here is kept when the transfer is
-- credited, so receivers can match the two notifications.
CREATE TABLE seen_transfers (
    chain         TEXT NOT NULL,
    txid          TEXT NOT NULL,
    log_index     INTEGER NOT NULL,
    record_id     TEXT NOT NULL,
    app_id        TEXT NOT NULL,
    order_id      TEXT,
    block_time_ms INTEGER NOT NULL,
    seen_at_ms    INTEGER NOT NULL,
    PRIMARY KEY (chain, txid, log_index)
) STRICT;

CREATE INDEX seen_transfers_by_order ON seen_transfers (order_id) WHERE order_id IS NOT NULL;

-- How far the watcher has looked at each chain's unconfirmed blocks.
CREATE TABLE chain_seen_cursors (
    chain       TEXT PRIMARY KEY NOT NULL,
    seen_height INTEGER NOT NULL
) STRICT;
