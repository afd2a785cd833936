//! What merchant batch withdrawals keep (docs/decisions.md §26, §29): the
//! batch as asked and its tasks. The money of each task moves as a
//! withdrawal of its own (`withdrawals.rs`), linked to the task by the
//! withdrawal's `order_id` recorded with the task's execution. A task is
//! executed under a claim in the database, so two confirms never both
//! execute it nor contradict each other's outcome.

use async_trait::async_trait;
use ccgate_ledger::{Amount, CoinId, MerchantId, TokenId};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::{RowsAffected, SqlStore};
use crate::rows::{Columns, parse_amount, to_i64, to_u32, to_u64};
use crate::withdrawals::{WITHDRAWAL_COLUMNS, Withdrawal, withdrawal_from_row};

/// A batch as `applyBatchWithdraw` asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchWithdrawal {
    pub app_id: MerchantId,
    pub batch_order_id: String,
    pub bill_id: String,
    pub coin_id: CoinId,
    pub token_id: TokenId,
    pub task_name: String,
    /// `Single` or `Batch`, as the merchant said.
    pub mode: String,
    pub notify_url: Option<String>,
    pub fingerprint: String,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    /// When its tasks start: `confirmed_at` plus `delaySeconds`.
    pub execute_at: Option<i64>,
}

/// One task of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchTask {
    /// 1-based place in the request.
    pub position: u32,
    pub seq: Option<u64>,
    pub task_order_id: Option<String>,
    /// The merchant_order_id of its withdrawal.
    pub withdrawal_order_id: String,
    pub address: String,
    pub memo: String,
    pub amount: Amount,
    pub remark: String,
    pub executed_at: Option<i64>,
    /// Why its withdrawal was refused, when it was.
    pub failure: Option<String>,
    /// The `order_id` of its withdrawal, once it has one.
    pub withdrawal_id: Option<String>,
    /// When `abortBatchWithdraw` canceled it.
    pub canceled_at: Option<i64>,
}

/// How a claimed task's execution ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// Its withdrawal exists: its `order_id`.
    Withdrawn(String),
    /// The withdrawal's checks refused it: why.
    Refused(String),
}

/// What `appendBatchWithdraw` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// The tasks were added; the batch now holds `total`.
    Added { total: u64 },
    /// The batch is confirmed (or gone): nothing was added.
    Confirmed,
    /// A key of the new tasks is already the batch's: nothing was added.
    Duplicate(String),
}

/// A task with its withdrawal, once there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchTaskState {
    pub task: BatchTask,
    pub withdrawal: Option<Withdrawal>,
}

#[async_trait]
pub trait BatchWithdrawalStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores the batch and its tasks in one DB transaction. If the merchant
    /// already has a batch with that batch_order_id, nothing is written and
    /// that one is returned (the caller compares fingerprints).
    async fn create_batch_withdrawal(
        &self,
        batch: &BatchWithdrawal,
        tasks: &[BatchTask],
    ) -> Result<BatchWithdrawal, StoreError>;

    async fn batch_withdrawal(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
    ) -> Result<Option<BatchWithdrawal>, StoreError>;

    /// A page of the merchant's batches, newest first (by creation, then
    /// batch order id), from the one after `after` (its `created_at` and
    /// `batch_order_id`).
    async fn batch_withdrawals(
        &self,
        app_id: &MerchantId,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<BatchWithdrawal>, StoreError>;

    /// Marks the batch confirmed at `at`, its tasks to start at
    /// `execute_at`, unless it already is confirmed.
    async fn confirm_batch_withdrawal(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        at: i64,
        execute_at: i64,
    ) -> Result<(), StoreError>;

    /// Adds `tasks` after the batch's own, numbered on from its last
    /// position, in one DB transaction — unless the batch is confirmed or a
    /// key (seq, orderId or withdrawal order id) is already the batch's.
    async fn append_batch_tasks(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        tasks: &[BatchTask],
    ) -> Result<Appended, StoreError>;

    /// Every task of the batch in its order, each with its withdrawal.
    async fn batch_tasks(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
    ) -> Result<Vec<BatchTaskState>, StoreError>;

    /// Claims the task at `position` for execution as `claim` until
    /// `until`: `true` when it is not executed, not canceled and nobody
    /// else's claim holds at `now`.
    async fn claim_batch_task(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        position: u32,
        claim: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError>;

    /// Records how the task executed under `claim`: `false` (nothing
    /// written) when that claim is no longer the task's or it was recorded.
    async fn record_batch_task(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        position: u32,
        claim: &str,
        executed_at: i64,
        outcome: &TaskOutcome,
    ) -> Result<bool, StoreError>;

    /// Cancels the task at `position`: one not executed and not claimed at
    /// `at`, or one executed (its withdrawal's reservation the caller
    /// released). `false` when it could not be, or already was.
    async fn cancel_batch_task(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        position: u32,
        at: i64,
    ) -> Result<bool, StoreError>;

    /// Batches due at `now` (confirmed, started) with a task still to
    /// execute and unclaimed; at most `limit`. A batch confirmed to start at
    /// once is its confirming request's to execute: it is due here only when
    /// confirmed before `immediate_confirmed_before` (that request gone).
    async fn due_batch_withdrawals(
        &self,
        now: i64,
        immediate_confirmed_before: i64,
        limit: u32,
    ) -> Result<Vec<(MerchantId, String)>, StoreError>;
}

const BATCH_COLUMNS: &str = "app_id, batch_order_id, bill_id, coin_id, token_id, task_name, mode, \
    notify_url, fingerprint, created_at, confirmed_at, execute_at";
const TASK_COLUMNS: &str = "position, seq, task_order_id, withdrawal_order_id, address, memo, \
    amount, remark, executed_at, failure, withdrawal_id, canceled_at";

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> BatchWithdrawalStore for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
    // sqlx encodes `Option` per backend, not for every `T: Encode`.
    for<'q> Option<String>: Encode<'q, S::Db>,
    for<'q> Option<i64>: Encode<'q, S::Db>,
{
    async fn create_batch_withdrawal(
        &self,
        batch: &BatchWithdrawal,
        tasks: &[BatchTask],
    ) -> Result<BatchWithdrawal, StoreError> {
        let b = batch;
        let mut db_tx = self.begin_write().await?;
        // A concurrent create of the same batch_order_id waits on this
        // insert, then writes nothing and reads this batch.
        let inserted = sqlx::query(&format!(
            "INSERT INTO batch_withdrawals ({BATCH_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (app_id, batch_order_id) DO NOTHING"
        ))
        .bind(b.app_id.as_str())
        .bind(&b.batch_order_id)
        .bind(&b.bill_id)
        .bind(b.coin_id.as_str())
        .bind(b.token_id.as_str())
        .bind(&b.task_name)
        .bind(&b.mode)
        .bind(&b.notify_url)
        .bind(&b.fingerprint)
        .bind(b.created_at)
        .bind(b.confirmed_at)
        .bind(b.execute_at)
        .execute(&mut *db_tx)
        .await?;
        if inserted.rows_affected() == 0 {
            drop(db_tx);
            return self
                .batch_withdrawal(&b.app_id, &b.batch_order_id)
                .await?
                .ok_or_else(|| StoreError::Corrupt("a stored batch withdrawal vanished".into()));
        }
        for task in tasks {
            insert_task(
                &mut db_tx,
                &b.app_id,
                &b.batch_order_id,
                task,
                task.position,
            )
            .await?;
        }
        db_tx.commit().await?;
        Ok(b.clone())
    }

    async fn batch_withdrawal(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
    ) -> Result<Option<BatchWithdrawal>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {BATCH_COLUMNS} FROM batch_withdrawals
             WHERE app_id = $1 AND batch_order_id = $2"
        ))
        .bind(app_id.as_str())
        .bind(batch_order_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(batch_from_row).transpose()
    }

    async fn batch_withdrawals(
        &self,
        app_id: &MerchantId,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<BatchWithdrawal>, StoreError> {
        // Served by `batch_withdrawals_by_time` (SQLite 0058, PostgreSQL 0051).
        let rows = sqlx::query(&format!(
            "SELECT {BATCH_COLUMNS} FROM batch_withdrawals
             WHERE app_id = $1
               AND ($2 IS NULL OR created_at < $2 OR (created_at = $2 AND batch_order_id < $3))
             ORDER BY created_at DESC, batch_order_id DESC LIMIT $4"
        ))
        .bind(app_id.as_str())
        .bind(after.map(|(created_at, _)| created_at))
        .bind(after.map(|(_, batch_order_id)| batch_order_id.to_owned()))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(batch_from_row).collect()
    }

    async fn confirm_batch_withdrawal(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        at: i64,
        execute_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE batch_withdrawals SET confirmed_at = $1, execute_at = $2
             WHERE app_id = $3 AND batch_order_id = $4 AND confirmed_at IS NULL",
        )
        .bind(at)
        .bind(execute_at)
        .bind(app_id.as_str())
        .bind(batch_order_id)
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(())
    }

    async fn append_batch_tasks(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        tasks: &[BatchTask],
    ) -> Result<Appended, StoreError> {
        let mut db_tx = self.begin_write().await?;
        // Written first: it holds the batch's row (the database's write lock
        // on SQLite) against a concurrent append or confirm until commit.
        let open = sqlx::query(
            "UPDATE batch_withdrawals SET confirmed_at = NULL
             WHERE app_id = $1 AND batch_order_id = $2 AND confirmed_at IS NULL",
        )
        .bind(app_id.as_str())
        .bind(batch_order_id)
        .execute(&mut *db_tx)
        .await?;
        if open.rows_affected() == 0 {
            return Ok(Appended::Confirmed);
        }
        let rows = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM batch_withdrawal_tasks
             WHERE app_id = $1 AND batch_order_id = $2 ORDER BY position"
        ))
        .bind(app_id.as_str())
        .bind(batch_order_id)
        .fetch_all(&mut *db_tx)
        .await?;
        let held = rows
            .iter()
            .map(task_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        for task in tasks {
            let taken = held.iter().find_map(|old| {
                if task.seq.is_some() && old.seq == task.seq {
                    Some(format!("seq {}", task.seq.unwrap_or_default()))
                } else if old.withdrawal_order_id == task.withdrawal_order_id
                    || task.task_order_id.is_some() && old.task_order_id == task.task_order_id
                {
                    Some(format!("orderId {:?}", task.withdrawal_order_id))
                } else {
                    None
                }
            });
            if let Some(key) = taken {
                return Ok(Appended::Duplicate(key));
            }
        }
        let last = held.last().map_or(0, |task| task.position);
        for (offset, task) in (1u32..).zip(tasks) {
            let position = last
                .checked_add(offset)
                .ok_or_else(|| StoreError::Corrupt("a batch's task positions overflow".into()))?;
            insert_task(&mut db_tx, app_id, batch_order_id, task, position).await?;
        }
        db_tx.commit().await?;
        Ok(Appended::Added {
            total: (held.len() + tasks.len()) as u64,
        })
    }

    async fn batch_tasks(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
    ) -> Result<Vec<BatchTaskState>, StoreError> {
        let task_rows = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM batch_withdrawal_tasks
             WHERE app_id = $1 AND batch_order_id = $2 ORDER BY position"
        ))
        .bind(app_id.as_str())
        .bind(batch_order_id)
        .fetch_all(self.pool())
        .await?;
        let withdrawal_rows = sqlx::query(&format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals
             WHERE order_id IN (
                 SELECT withdrawal_id FROM batch_withdrawal_tasks
                 WHERE app_id = $1 AND batch_order_id = $2 AND withdrawal_id IS NOT NULL)"
        ))
        .bind(app_id.as_str())
        .bind(batch_order_id)
        .fetch_all(self.pool())
        .await?;
        let mut withdrawals = withdrawal_rows
            .iter()
            .map(withdrawal_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        task_rows
            .iter()
            .map(|row| {
                let task = task_from_row(row)?;
                // By the recorded link only: a withdrawal of another request
                // under the task's id is not the task's.
                let withdrawal = task.withdrawal_id.as_ref().and_then(|id| {
                    withdrawals
                        .iter()
                        .position(|w| &w.order_id == id)
                        .map(|at| withdrawals.swap_remove(at))
                });
                Ok(BatchTaskState { task, withdrawal })
            })
            .collect()
    }

    async fn claim_batch_task(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        position: u32,
        claim: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "UPDATE batch_withdrawal_tasks SET claim = $1, claimed_until = $2
             WHERE app_id = $3 AND batch_order_id = $4 AND position = $5
               AND executed_at IS NULL AND canceled_at IS NULL
               AND (claimed_until IS NULL OR claimed_until <= $6)",
        )
        .bind(claim)
        .bind(until)
        .bind(app_id.as_str())
        .bind(batch_order_id)
        .bind(i64::from(position))
        .bind(now)
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn record_batch_task(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        position: u32,
        claim: &str,
        executed_at: i64,
        outcome: &TaskOutcome,
    ) -> Result<bool, StoreError> {
        let (withdrawal_id, failure) = match outcome {
            TaskOutcome::Withdrawn(id) => (Some(id.clone()), None),
            TaskOutcome::Refused(why) => (None, Some(why.clone())),
        };
        let recorded = sqlx::query(
            "UPDATE batch_withdrawal_tasks
             SET executed_at = $1, withdrawal_id = $2, failure = $3, claimed_until = NULL
             WHERE app_id = $4 AND batch_order_id = $5 AND position = $6
               AND claim = $7 AND executed_at IS NULL",
        )
        .bind(executed_at)
        .bind(withdrawal_id)
        .bind(failure)
        .bind(app_id.as_str())
        .bind(batch_order_id)
        .bind(i64::from(position))
        .bind(claim)
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(recorded.rows_affected() == 1)
    }

    async fn cancel_batch_task(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        position: u32,
        at: i64,
    ) -> Result<bool, StoreError> {
        let canceled = sqlx::query(
            "UPDATE batch_withdrawal_tasks SET canceled_at = $1
             WHERE app_id = $2 AND batch_order_id = $3 AND position = $4
               AND canceled_at IS NULL
               AND (withdrawal_id IS NOT NULL
                    OR executed_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $1))",
        )
        .bind(at)
        .bind(app_id.as_str())
        .bind(batch_order_id)
        .bind(i64::from(position))
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(canceled.rows_affected() == 1)
    }

    async fn due_batch_withdrawals(
        &self,
        now: i64,
        immediate_confirmed_before: i64,
        limit: u32,
    ) -> Result<Vec<(MerchantId, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT b.app_id, b.batch_order_id
             FROM batch_withdrawal_tasks t
             JOIN batch_withdrawals b
               ON b.app_id = t.app_id AND b.batch_order_id = t.batch_order_id
             WHERE t.executed_at IS NULL AND t.canceled_at IS NULL
               AND (t.claimed_until IS NULL OR t.claimed_until <= $1)
               AND b.execute_at IS NOT NULL AND b.execute_at <= $1
               AND (b.execute_at > b.confirmed_at OR b.confirmed_at < $2)
             ORDER BY b.app_id, b.batch_order_id
             LIMIT $3",
        )
        .bind(now)
        .bind(immediate_confirmed_before)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    MerchantId::new(row.text("app_id")?),
                    row.text("batch_order_id")?,
                ))
            })
            .collect()
    }
}

/// One task row, at `position` (its own on create, numbered on after the
/// batch's last on append).
async fn insert_task<Db>(
    conn: &mut Db::Connection,
    app_id: &MerchantId,
    batch_order_id: &str,
    task: &BatchTask,
    position: u32,
) -> Result<(), StoreError>
where
    Db: Database,
    for<'c> &'c mut Db::Connection: Executor<'c, Database = Db>,
    for<'q> Db::Arguments<'q>: IntoArguments<'q, Db>,
    for<'q> &'q str: Encode<'q, Db> + Type<Db>,
    for<'q> String: Encode<'q, Db> + Type<Db>,
    for<'q> i64: Encode<'q, Db> + Type<Db>,
    for<'q> Option<String>: Encode<'q, Db>,
    for<'q> Option<i64>: Encode<'q, Db>,
{
    sqlx::query(&format!(
        "INSERT INTO batch_withdrawal_tasks (app_id, batch_order_id, {TASK_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(app_id.as_str())
    .bind(batch_order_id)
    .bind(i64::from(position))
    .bind(task.seq.map(|seq| to_i64(seq, "seq")).transpose()?)
    .bind(&task.task_order_id)
    .bind(&task.withdrawal_order_id)
    .bind(&task.address)
    .bind(&task.memo)
    .bind(task.amount.base_units().to_string())
    .bind(&task.remark)
    .bind(task.executed_at)
    .bind(&task.failure)
    .bind(&task.withdrawal_id)
    .bind(task.canceled_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn batch_from_row(row: &impl Columns) -> Result<BatchWithdrawal, StoreError> {
    Ok(BatchWithdrawal {
        app_id: MerchantId::new(row.text("app_id")?),
        batch_order_id: row.text("batch_order_id")?,
        bill_id: row.text("bill_id")?,
        coin_id: CoinId::new(row.text("coin_id")?),
        token_id: TokenId::new(row.text("token_id")?),
        task_name: row.text("task_name")?,
        mode: row.text("mode")?,
        notify_url: row.opt_text("notify_url")?,
        fingerprint: row.text("fingerprint")?,
        created_at: row.int("created_at")?,
        confirmed_at: row.opt_int("confirmed_at")?,
        execute_at: row.opt_int("execute_at")?,
    })
}

fn task_from_row(row: &impl Columns) -> Result<BatchTask, StoreError> {
    Ok(BatchTask {
        position: to_u32(row.int("position")?, "batch task position")?,
        seq: row
            .opt_int("seq")?
            .map(|seq| to_u64(seq, "seq"))
            .transpose()?,
        task_order_id: row.opt_text("task_order_id")?,
        withdrawal_order_id: row.text("withdrawal_order_id")?,
        address: row.text("address")?,
        memo: row.text("memo")?,
        amount: parse_amount(&row.text("amount")?)?,
        remark: row.text("remark")?,
        executed_at: row.opt_int("executed_at")?,
        failure: row.opt_text("failure")?,
        withdrawal_id: row.opt_text("withdrawal_id")?,
        canceled_at: row.opt_int("canceled_at")?,
    })
}
