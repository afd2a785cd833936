-- The count of deposits credited to each address (0011) kept by one UPDATE
-- per statement, not one per deposit row. A block's deposits go in by
-- multi-row INSERTs; the row trigger ran a PL/pgSQL UPDATE for each, and
-- since `credits` is in `deposit_addresses_sweep_due`'s predicate none of
-- those updates is HOT: each wrote a new version of the address's row and
-- of every index entry, and an address credited n times in one block did so
-- n times over (issue #16: crediting 20 000 deposits to 50 addresses in one
-- statement kept a PostgreSQL process busy 3.25 s, four tenths of it in
-- PL/pgSQL triggers; 1.25 s with this one).
-- The transition table holds exactly the rows inserted (ON CONFLICT DO
-- NOTHING's skipped ones are not in it), so the count stays what it was.
DROP TRIGGER deposits_count_credits ON deposits;
DROP FUNCTION deposits_count_credit();

CREATE FUNCTION deposits_count_credits() RETURNS trigger AS $$
BEGIN
    UPDATE deposit_addresses SET credits = deposit_addresses.credits + credited.deposits
    FROM (SELECT chain, address, COUNT(*) AS deposits FROM inserted
          GROUP BY chain, address) AS credited
    WHERE deposit_addresses.chain = credited.chain
      AND deposit_addresses.address = credited.address;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER deposits_count_credits AFTER INSERT ON deposits
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION deposits_count_credits();
