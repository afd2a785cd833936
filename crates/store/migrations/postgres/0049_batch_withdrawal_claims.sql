-- Batch withdrawals made race-free, linked, delayed and abortable
-- (docs/decisions.md §29).
--
-- claim, claimed_until: the one confirm (or loop) executing a task holds
-- its claim until claimed_until (unix seconds); only the holder records the
-- outcome, so two confirms never both execute, nor contradict, one task.
ALTER TABLE batch_withdrawal_tasks ADD COLUMN claim TEXT;
ALTER TABLE batch_withdrawal_tasks ADD COLUMN claimed_until BIGINT;
-- withdrawal_id: the order_id of the task's own withdrawal, recorded with
-- its execution: a task finds its withdrawal by this link, never by the
-- merchant order id another withdrawal may hold.
ALTER TABLE batch_withdrawal_tasks ADD COLUMN withdrawal_id TEXT;
-- canceled_at: set by abortBatchWithdraw; a canceled task never executes.
ALTER TABLE batch_withdrawal_tasks ADD COLUMN canceled_at BIGINT;
-- execute_at: when a confirmed batch's tasks start (confirmed_at plus
-- delaySeconds).
ALTER TABLE batch_withdrawals ADD COLUMN execute_at BIGINT;
UPDATE batch_withdrawals SET execute_at = confirmed_at;

-- Tasks executed before the link existed found their withdrawal by its id.
UPDATE batch_withdrawal_tasks SET withdrawal_id = (
    SELECT w.order_id FROM withdrawals w
    WHERE w.app_id = batch_withdrawal_tasks.app_id
      AND w.merchant_order_id = batch_withdrawal_tasks.withdrawal_order_id)
WHERE executed_at IS NOT NULL AND failure IS NULL;

-- A key once per batch, also across appendBatchWithdraw calls.
CREATE UNIQUE INDEX batch_withdrawal_tasks_seq
    ON batch_withdrawal_tasks (app_id, batch_order_id, seq);
CREATE UNIQUE INDEX batch_withdrawal_tasks_withdrawal_order_id
    ON batch_withdrawal_tasks (app_id, batch_order_id, withdrawal_order_id);
-- The loop's question, which batches have tasks left to execute, reads
-- only the tasks still open, not the history.
CREATE INDEX batch_withdrawal_tasks_open ON batch_withdrawal_tasks (app_id, batch_order_id)
    WHERE executed_at IS NULL AND canceled_at IS NULL;
