-- Which deposit addresses the sweeper must look at (crates/store/src/sweeps.rs):
-- `credits` counts the deposits credited to the address (kept by the trigger
-- below, whatever writes the deposit), `sweep_seen` is the count at the
-- sweeper's last look that found nothing left to sweep. An address is due
-- while credits > sweep_seen; the partial index keeps finding the due ones
-- as cheap at 100k addresses as at ten.
ALTER TABLE deposit_addresses ADD COLUMN credits INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deposit_addresses ADD COLUMN sweep_seen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deposit_addresses ADD COLUMN sweep_looked_at_ms INTEGER NOT NULL DEFAULT 0;

UPDATE deposit_addresses SET credits = (
    SELECT COUNT(*) FROM deposits
    WHERE deposits.chain = deposit_addresses.chain AND deposits.address = deposit_addresses.address
);

CREATE INDEX deposit_addresses_sweep_due ON deposit_addresses (chain) WHERE credits > sweep_seen;

CREATE TRIGGER deposits_count_credits AFTER INSERT ON deposits BEGIN
    UPDATE deposit_addresses SET credits = credits + 1
    WHERE chain = NEW.chain AND address = NEW.address;
END;
