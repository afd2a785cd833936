-- Refunds of deposit orders move money like withdrawals (reserved, then
-- posted or voided) and live beside them; `refund_of` names the order.
ALTER TABLE withdrawals ADD COLUMN kind TEXT NOT NULL DEFAULT 'withdrawal'
    CHECK (kind IN ('withdrawal', 'refund'));
ALTER TABLE withdrawals ADD COLUMN refund_of TEXT;
CREATE INDEX withdrawals_refunds ON withdrawals (refund_of) WHERE refund_of IS NOT NULL;
