//! Merchant batch withdrawals (v2 spec §2.6, docs/decisions.md §26, §29): a
//! batch is stored as asked (and appended to until confirmed), and
//! confirming it makes each task a withdrawal of its own through
//! [`Withdrawals::request`] — the same reservation, postings, outbox rows,
//! webhooks and approval as a single withdrawal — at once or once its delay
//! is over (then by [`BatchWithdrawals::tick`]). Each task executes under a
//! claim in the database and its withdrawal is linked to it; abort cancels
//! the tasks not sent yet. What the batch says (its status, its figures) is
//! derived from its tasks and their withdrawals.

use std::collections::BTreeSet;
use std::sync::Arc;

use ccgate_ledger::{Amount, Coin, LedgerError, MerchantId, Registry, Token};
use ccgate_store::{
    Appended, Approval, BatchTask, BatchTaskState, BatchWithdrawal, BatchWithdrawalStore,
    TaskOutcome, WebhookDialect, Withdrawal, WithdrawalStatus,
};

use crate::amounts::positive_amount;
use crate::withdrawals::{Asset, Destination, WithdrawalRequest, Withdrawals};
use crate::{EngineError, RecordIds, Rejection};

/// Tasks one batch may hold (v2 spec §2.6: `orders` 0–500), appended ones
/// included.
pub const TASKS_MAX: usize = 500;
/// How long a claim on a task holds: a confirm that stopped half-way (its
/// process gone) leaves the task to the next confirm or tick after this.
pub const CLAIM_LEASE_SECS: i64 = 60;
/// Batches one tick of the loop executes at most.
const DUE_BATCHES_MAX: u32 = 20;

/// A task as the merchant sent it: keyed by `seq` ([PROTO]), `orderId`
/// (July SDK) or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub seq: Option<u64>,
    pub order_id: Option<String>,
    pub address: String,
    pub memo: Option<String>,
    /// Decimal text, checked against the coin here.
    pub amount: String,
    pub remark: String,
}

/// `applyBatchWithdraw` as asked.
#[derive(Debug, Clone)]
pub struct NewBatch<'r> {
    pub batch_order_id: String,
    pub coin: &'r Coin,
    pub token: &'r Token,
    pub task_name: String,
    /// `Single` or `Batch`.
    pub mode: String,
    pub notify_url: Option<String>,
    pub tasks: Vec<NewTask>,
}

/// Where a task is, in v2's words (docs/decisions.md §26, §29).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// The batch is not confirmed yet.
    Init,
    /// Confirmed with a delay that is not over.
    Pending,
    /// Canceled by `abortBatchWithdraw` before it was sent.
    Canceled,
    WaitingApproval,
    Rejected,
    /// Executed (or about to be) and not final.
    Processing,
    Success,
    Failed,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Init => "Init",
            TaskStatus::Pending => "Pending",
            TaskStatus::Canceled => "Canceled",
            TaskStatus::WaitingApproval => "WaitingApproval",
            TaskStatus::Rejected => "Rejected",
            TaskStatus::Processing => "Processing",
            TaskStatus::Success => "Success",
            TaskStatus::Failed => "Failed",
        }
    }

    fn of(batch: &BatchWithdrawal, state: &BatchTaskState, now_secs: i64) -> TaskStatus {
        if state.task.canceled_at.is_some() {
            return TaskStatus::Canceled;
        }
        if batch.confirmed_at.is_none() {
            return TaskStatus::Init;
        }
        if state.task.failure.is_some() {
            return TaskStatus::Failed;
        }
        match &state.withdrawal {
            None if batch.execute_at.is_some_and(|at| at > now_secs) => TaskStatus::Pending,
            None => TaskStatus::Processing,
            Some(withdrawal) => match (withdrawal.approval, withdrawal.status) {
                (Approval::Waiting, _) => TaskStatus::WaitingApproval,
                (Approval::Rejected, _) => TaskStatus::Rejected,
                (_, WithdrawalStatus::Pending | WithdrawalStatus::Processing) => {
                    TaskStatus::Processing
                }
                (_, WithdrawalStatus::Successful) => TaskStatus::Success,
                (_, WithdrawalStatus::Failed) => TaskStatus::Failed,
            },
        }
    }
}

/// The batch's status, derived from its tasks (docs/decisions.md §26).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStatus {
    Init,
    /// Confirmed with a delay that is not over.
    Pending,
    Reviewing,
    Processing,
    Rejected,
    Completed,
}

impl BatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Init => "Init",
            BatchStatus::Pending => "Pending",
            BatchStatus::Reviewing => "Reviewing",
            BatchStatus::Processing => "Processing",
            BatchStatus::Rejected => "Rejected",
            BatchStatus::Completed => "Completed",
        }
    }

    fn of(batch: &BatchWithdrawal, tasks: &[TaskView]) -> BatchStatus {
        let any = |status: TaskStatus| tasks.iter().any(|task| task.status == status);
        if batch.confirmed_at.is_none() {
            BatchStatus::Init
        } else if any(TaskStatus::Pending) {
            BatchStatus::Pending
        } else if any(TaskStatus::WaitingApproval) {
            BatchStatus::Reviewing
        } else if any(TaskStatus::Processing) {
            BatchStatus::Processing
        } else if !tasks.is_empty() && tasks.iter().all(|t| t.status == TaskStatus::Rejected) {
            BatchStatus::Rejected
        } else {
            BatchStatus::Completed
        }
    }
}

/// A task with its withdrawal and its status.
#[derive(Debug, Clone)]
pub struct TaskView {
    pub state: BatchTaskState,
    pub status: TaskStatus,
}

/// Counts of a batch's tasks (`stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchStats {
    pub total: u64,
    pub succeeded: u64,
    /// `Failed` and `Rejected`.
    pub failed: u64,
    pub canceled: u64,
    /// Confirmed and not final (waiting for the delay, for approval, or for
    /// the chain).
    pub processing: u64,
    /// The last executed task's keys.
    pub exec_seq: u64,
    pub exec_order_id: String,
}

/// A batch with everything its answers show.
#[derive(Debug, Clone)]
pub struct BatchView<'r> {
    pub batch: BatchWithdrawal,
    pub coin: &'r Coin,
    pub tasks: Vec<TaskView>,
    pub status: BatchStatus,
    pub stats: BatchStats,
    /// The sum of the tasks' amounts.
    pub amount: Amount,
    /// The sum of their withdrawals' network fees.
    pub network_fee: Amount,
    /// When it last changed: the latest of creation, confirmation and its
    /// withdrawals' resolutions (unix seconds).
    pub updated_at: i64,
}

#[derive(Debug)]
pub struct BatchWithdrawals {
    registry: Arc<Registry>,
    withdrawals: Arc<Withdrawals>,
    batches: Arc<dyn BatchWithdrawalStore>,
    ids: RecordIds,
}

/// A task named by the merchant: by `seq` ([PROTO]) or by `orderId` (July
/// SDK, the task's withdrawal order id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskKey {
    Seq(u64),
    OrderId(String),
}

/// A task as the answers name it: its `seq` (its place when it has none)
/// and its withdrawal's `orderId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskName {
    pub seq: u64,
    pub order_id: String,
}

impl TaskName {
    fn of(task: &BatchTask) -> TaskName {
        TaskName {
            seq: task.seq.unwrap_or(u64::from(task.position)),
            order_id: task.withdrawal_order_id.clone(),
        }
    }
}

/// What `abortBatchWithdraw` did, task by task in the batch's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aborted {
    /// Canceled now or before: never sent, nothing reserved any more.
    pub canceled: Vec<TaskName>,
    /// Left as they were: sent, being sent, or final.
    pub ignored: Vec<TaskName>,
}

/// One address of `checkWithdrawAddress`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressCheck {
    pub seq: u64,
    pub address: String,
    pub memo: Option<String>,
}

impl BatchWithdrawals {
    pub fn new(
        registry: Arc<Registry>,
        withdrawals: Arc<Withdrawals>,
        batches: Arc<dyn BatchWithdrawalStore>,
    ) -> BatchWithdrawals {
        BatchWithdrawals {
            registry,
            withdrawals,
            batches,
            ids: RecordIds::default(),
        }
    }

    /// `applyBatchWithdraw`: the batch stored with its tasks, or the same
    /// batch again for an identical request. Nothing moves money yet.
    pub async fn create(
        &self,
        app_id: &MerchantId,
        request: &NewBatch<'_>,
        now_unix_ms: i64,
    ) -> Result<BatchWithdrawal, EngineError> {
        if request.tasks.len() > TASKS_MAX {
            return Err(Rejection::TooManyTasks { max: TASKS_MAX }.into());
        }
        let tasks = task_rows(
            &request.batch_order_id,
            request.coin,
            request.token,
            &request.tasks,
        )?;
        let batch = BatchWithdrawal {
            app_id: app_id.clone(),
            batch_order_id: request.batch_order_id.clone(),
            bill_id: self.ids.next(now_unix_ms),
            coin_id: request.coin.id.clone(),
            token_id: request.token.id.clone(),
            task_name: request.task_name.clone(),
            mode: request.mode.clone(),
            notify_url: request.notify_url.clone(),
            fingerprint: fingerprint(request, &tasks),
            created_at: now_unix_ms.div_euclid(1000),
            confirmed_at: None,
            execute_at: None,
        };
        let stored = self.batches.create_batch_withdrawal(&batch, &tasks).await?;
        if stored.fingerprint != batch.fingerprint {
            return Err(Rejection::BatchOrderIdTaken(
                request.batch_order_id.chars().take(64).collect(),
            )
            .into());
        }
        Ok(stored)
    }

    /// `appendBatchWithdraw`: more tasks for a batch not confirmed yet,
    /// checked as `applyBatchWithdraw` checks its own; all or none. Answers
    /// how many the batch holds now.
    pub async fn append(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        tasks: &[NewTask],
    ) -> Result<u64, EngineError> {
        let batch = self.find(app_id, batch_order_id).await?;
        let (coin, token) = self.network(&batch)?;
        let held = self
            .batches
            .batch_tasks(app_id, batch_order_id)
            .await?
            .len();
        if held + tasks.len() > TASKS_MAX {
            return Err(Rejection::TooManyTasks { max: TASKS_MAX }.into());
        }
        let rows = task_rows(batch_order_id, coin, token, tasks)?;
        match self
            .batches
            .append_batch_tasks(app_id, batch_order_id, &rows)
            .await?
        {
            Appended::Added { total } => Ok(total),
            Appended::Confirmed => Err(Rejection::BatchConfirmed(short(batch_order_id)).into()),
            Appended::Duplicate(key) => Err(Rejection::BatchKeyDuplicate(key).into()),
        }
    }

    /// `confirmBatchWithdraw`: confirms the batch, its tasks to start after
    /// `delay_secs`; when that is now, executes every task not executed
    /// yet, in order, each as a withdrawal of its own (a later tick does it
    /// otherwise). A task the withdrawal's checks refuse fails alone. The
    /// first confirmation's start holds; a repeat (or a retry after a crash)
    /// executes only what is left and due.
    pub async fn confirm(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        delay_secs: u64,
        now_unix_ms: i64,
    ) -> Result<BatchView<'_>, EngineError> {
        self.find(app_id, batch_order_id).await?;
        let now_secs = now_unix_ms.div_euclid(1000);
        let delay = i64::try_from(delay_secs).unwrap_or(i64::MAX);
        self.batches
            .confirm_batch_withdrawal(
                app_id,
                batch_order_id,
                now_secs,
                now_secs.saturating_add(delay),
            )
            .await?;
        self.execute(app_id, batch_order_id, now_unix_ms).await?;
        self.view(app_id, batch_order_id, now_unix_ms).await
    }

    /// One pass of the loop: executes the tasks of every batch whose delay
    /// is over. Returns how many tasks it executed.
    pub async fn tick(&self, now_unix_ms: i64) -> Result<usize, EngineError> {
        let now_secs = now_unix_ms.div_euclid(1000);
        // A confirm that starts its batch at once executes it and answers
        // each task's outcome (decisions §42); the loop takes over only
        // once that request has had a claim's lease to do it.
        let due = self
            .batches
            .due_batch_withdrawals(
                now_secs,
                now_secs.saturating_sub(CLAIM_LEASE_SECS),
                DUE_BATCHES_MAX,
            )
            .await?;
        let mut executed = 0;
        for (app_id, batch_order_id) in due {
            match self.execute(&app_id, &batch_order_id, now_unix_ms).await {
                Ok(count) => executed += count,
                // Its token no longer configured: it waits, the others go on.
                Err(EngineError::Rejected(refusal)) => {
                    tracing::warn!(%app_id, batch_order_id, %refusal, "a due batch withdrawal waits");
                }
                Err(other) => return Err(other),
            }
        }
        Ok(executed)
    }

    /// Executes the batch's due tasks that nobody else holds, each under its
    /// claim; returns how many this call executed.
    async fn execute(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        now_unix_ms: i64,
    ) -> Result<usize, EngineError> {
        let batch = self.find(app_id, batch_order_id).await?;
        let now_secs = now_unix_ms.div_euclid(1000);
        if batch.execute_at.is_none_or(|at| at > now_secs) {
            return Ok(0);
        }
        let (coin, token) = self.network(&batch)?;
        let mut executed = 0;
        for state in self.batches.batch_tasks(app_id, batch_order_id).await? {
            let task = &state.task;
            if task.executed_at.is_some() || task.canceled_at.is_some() {
                continue;
            }
            // One claim per task: a confirm racing this one (or the loop)
            // skips it, so no two executions record contrary outcomes.
            let claim = self.ids.next(now_unix_ms);
            if !self
                .batches
                .claim_batch_task(
                    app_id,
                    batch_order_id,
                    task.position,
                    &claim,
                    now_secs,
                    now_secs.saturating_add(CLAIM_LEASE_SECS),
                )
                .await?
            {
                continue;
            }
            let request = WithdrawalRequest {
                asset: Asset::Network(coin, token),
                destination: Destination::ChainAddress(task.address.clone()),
                value: task.amount.to_decimal_string(coin.precision),
                merchant_order_id: task.withdrawal_order_id.clone(),
                memo: Some(task.memo.clone()).filter(|memo| !memo.is_empty()),
                merchant_pays_fee: false,
                dialect: WebhookDialect::V2,
                notify_url: batch.notify_url.clone(),
                fee_quote_id: None,
                batch_task: Some(task_link(batch_order_id, task.position)),
            };
            let outcome = match self
                .withdrawals
                .request(app_id, &request, now_unix_ms)
                .await
            {
                Ok(accepted) => TaskOutcome::Withdrawn(accepted.withdrawal.order_id),
                // The caller's to mend, for this task only; anything else
                // (a part failing) stops here, and the claim's lease ends.
                Err(EngineError::Rejected(rejection)) => {
                    TaskOutcome::Refused(rejection.to_string())
                }
                Err(other) => return Err(other),
            };
            if self
                .batches
                .record_batch_task(
                    app_id,
                    batch_order_id,
                    task.position,
                    &claim,
                    now_secs,
                    &outcome,
                )
                .await?
            {
                executed += 1;
            }
        }
        Ok(executed)
    }

    /// `abortBatchWithdraw`: cancels the tasks `keys` names (every task when
    /// empty) that were not sent: those not executed yet (nothing was
    /// reserved) and those whose withdrawal waits for approval (rejected, so
    /// its reservation goes back). Tasks executed otherwise, being executed
    /// this moment, or failed are left as they are. Nothing canceled is
    /// `14028`.
    pub async fn abort(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        keys: &[TaskKey],
        now_unix_ms: i64,
    ) -> Result<Aborted, EngineError> {
        self.find(app_id, batch_order_id).await?;
        let states = self.batches.batch_tasks(app_id, batch_order_id).await?;
        let named = |task: &BatchTask, key: &TaskKey| match key {
            TaskKey::Seq(seq) => task.seq.unwrap_or(u64::from(task.position)) == *seq,
            TaskKey::OrderId(id) => {
                task.withdrawal_order_id == *id || task.task_order_id.as_ref() == Some(id)
            }
        };
        if let Some(unknown) = keys
            .iter()
            .find(|key| !states.iter().any(|state| named(&state.task, key)))
        {
            return Err(Rejection::BatchTaskNotFound(match unknown {
                TaskKey::Seq(seq) => format!("seq {seq}"),
                TaskKey::OrderId(id) => format!("orderId {:?}", short(id)),
            })
            .into());
        }
        let now_secs = now_unix_ms.div_euclid(1000);
        let mut aborted = Aborted::default();
        for state in states {
            let task = state.task;
            if !keys.is_empty() && !keys.iter().any(|key| named(&task, key)) {
                continue;
            }
            let canceled = if task.canceled_at.is_some() {
                true
            } else if task.executed_at.is_none() {
                self.batches
                    .cancel_batch_task(app_id, batch_order_id, task.position, now_secs)
                    .await?
            } else {
                match state.withdrawal {
                    Some(waiting) if waiting.approval == Approval::Waiting => {
                        match self
                            .withdrawals
                            .reject(&waiting.order_id, now_unix_ms)
                            .await
                        {
                            Ok(_) => {
                                self.batches
                                    .cancel_batch_task(
                                        app_id,
                                        batch_order_id,
                                        task.position,
                                        now_secs,
                                    )
                                    .await?
                            }
                            // Approved (or decided) meanwhile: it goes on.
                            Err(EngineError::Rejected(Rejection::NotWaitingForApproval(_))) => {
                                false
                            }
                            Err(other) => return Err(other),
                        }
                    }
                    _ => false,
                }
            };
            if canceled {
                aborted.canceled.push(TaskName::of(&task));
            } else {
                aborted.ignored.push(TaskName::of(&task));
            }
        }
        if aborted.canceled.is_empty() {
            return Err(Rejection::UnableToAbort(short(batch_order_id)).into());
        }
        Ok(aborted)
    }

    /// `checkWithdrawAddress`: for each address, what a withdrawal on
    /// `chain` to it would be refused for (an invalid address, a missing
    /// memo), `None` when nothing; nothing is stored. An unknown chain
    /// refuses the whole request.
    pub fn check_addresses(
        &self,
        chain: &str,
        addresses: &[AddressCheck],
    ) -> Result<Vec<Option<Rejection>>, EngineError> {
        if self.registry.chain(chain).is_none() {
            return Err(Rejection::UnknownChain(short(chain)).into());
        }
        addresses
            .iter()
            .map(|check| {
                match self
                    .withdrawals
                    .check_address(chain, &check.address, check.memo.as_deref())
                {
                    Ok(()) => Ok(None),
                    Err(EngineError::Rejected(rejection)) => Ok(Some(rejection)),
                    Err(other) => Err(other),
                }
            })
            .collect()
    }

    /// The operator's answer to every task of the batch whose withdrawal
    /// waits for approval (`ccgate withdrawal approve-batch|reject-batch`):
    /// each approved or rejected as `ccgate withdrawal approve|reject` does
    /// it, one at a time. Answers the withdrawals decided; none waiting is
    /// refused.
    pub async fn decide(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        approve: bool,
        now_unix_ms: i64,
    ) -> Result<Vec<Withdrawal>, EngineError> {
        self.find(app_id, batch_order_id).await?;
        let mut decided = Vec::new();
        for state in self.batches.batch_tasks(app_id, batch_order_id).await? {
            let Some(waiting) = state.withdrawal.filter(|w| w.approval == Approval::Waiting) else {
                continue;
            };
            decided.push(if approve {
                self.withdrawals.approve(&waiting.order_id).await?
            } else {
                self.withdrawals
                    .reject(&waiting.order_id, now_unix_ms)
                    .await?
            });
        }
        if decided.is_empty() {
            return Err(Rejection::NotWaitingForApproval(format!(
                "no task of batch {}",
                short(batch_order_id)
            ))
            .into());
        }
        Ok(decided)
    }

    /// `getBatchWithdrawOrder` and `getBatchWithdrawOrderRecordList`, as
    /// the batch is at `now_unix_ms`.
    pub async fn view(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        now_unix_ms: i64,
    ) -> Result<BatchView<'_>, EngineError> {
        let batch = self.find(app_id, batch_order_id).await?;
        let (coin, _) = self.network(&batch)?;
        let now_secs = now_unix_ms.div_euclid(1000);
        let states = self.batches.batch_tasks(app_id, batch_order_id).await?;
        let tasks: Vec<TaskView> = states
            .into_iter()
            .map(|state| TaskView {
                status: TaskStatus::of(&batch, &state, now_secs),
                state,
            })
            .collect();
        let mut stats = BatchStats::default();
        let mut amount = Amount::ZERO;
        let mut network_fee = Amount::ZERO;
        let mut updated_at = batch.confirmed_at.unwrap_or(batch.created_at);
        for view in &tasks {
            let task = &view.state.task;
            stats.total += 1;
            match view.status {
                TaskStatus::Init => {}
                TaskStatus::Success => stats.succeeded += 1,
                TaskStatus::Failed | TaskStatus::Rejected => stats.failed += 1,
                TaskStatus::Canceled => stats.canceled += 1,
                TaskStatus::Pending | TaskStatus::WaitingApproval | TaskStatus::Processing => {
                    stats.processing += 1
                }
            }
            if task.executed_at.is_some() {
                stats.exec_seq = task.seq.unwrap_or(u64::from(task.position));
                stats.exec_order_id = task.withdrawal_order_id.clone();
            }
            amount = amount
                .checked_add(task.amount)
                .ok_or(LedgerError::AmountOverflow)?;
            updated_at = updated_at.max(task.canceled_at.unwrap_or(0));
            if let Some(withdrawal) = &view.state.withdrawal {
                network_fee = network_fee
                    .checked_add(withdrawal.network_fee)
                    .ok_or(LedgerError::AmountOverflow)?;
                updated_at = updated_at.max(withdrawal.resolved_at.unwrap_or(0));
            }
        }
        Ok(BatchView {
            status: BatchStatus::of(&batch, &tasks),
            batch,
            coin,
            tasks,
            stats,
            amount,
            network_fee,
            updated_at,
        })
    }

    /// A page of the merchant's batches, newest first, after `after` (a
    /// batch's `created_at` and `batch_order_id`), each as [`Self::view`]
    /// shows it at `now_unix_ms`.
    pub async fn list(
        &self,
        app_id: &MerchantId,
        after: Option<(i64, &str)>,
        limit: u32,
        now_unix_ms: i64,
    ) -> Result<Vec<BatchView<'_>>, EngineError> {
        let batches = self.batches.batch_withdrawals(app_id, after, limit).await?;
        let mut views = Vec::with_capacity(batches.len());
        for batch in batches {
            views.push(
                self.view(app_id, &batch.batch_order_id, now_unix_ms)
                    .await?,
            );
        }
        Ok(views)
    }

    async fn find(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
    ) -> Result<BatchWithdrawal, EngineError> {
        self.batches
            .batch_withdrawal(app_id, batch_order_id)
            .await?
            .ok_or_else(|| Rejection::BatchWithdrawalNotFound(short(batch_order_id)).into())
    }

    fn network(&self, batch: &BatchWithdrawal) -> Result<(&Coin, &Token), EngineError> {
        self.registry
            .token(&batch.token_id)
            .ok_or_else(|| Rejection::token_not_found(batch.token_id.as_str()).into())
    }
}

/// Echoed ids are cut, so a message never grows with what was sent.
fn short(text: &str) -> String {
    text.chars().take(64).collect()
}

/// What ties a task's withdrawal to the task (in the withdrawal's
/// fingerprint): quoted, so no batchOrderId can pass for another's.
pub fn task_link(batch_order_id: &str, position: u32) -> String {
    format!("{batch_order_id:?}#{position}")
}

/// The rows of `tasks`, numbered from 1 (an append renumbers them after the
/// batch's own), each key once among them (`14027`), each amount checked
/// against the coin. A task without `orderId` gets `<batchOrderId>-<seq>`
/// as its withdrawal's order id.
fn task_rows(
    batch_order_id: &str,
    coin: &Coin,
    token: &Token,
    tasks: &[NewTask],
) -> Result<Vec<BatchTask>, EngineError> {
    let mut seqs = BTreeSet::new();
    let mut withdrawal_ids = BTreeSet::new();
    let mut rows = Vec::with_capacity(tasks.len());
    for (position, new) in (1u32..).zip(tasks) {
        if let Some(seq) = new.seq
            && !seqs.insert(seq)
        {
            return Err(Rejection::BatchKeyDuplicate(format!("seq {seq}")).into());
        }
        let amount = positive_amount(
            "amount",
            &new.amount,
            token.precision,
            coin.precision,
            &coin.symbol,
        )?;
        let withdrawal_order_id = match (&new.order_id, new.seq) {
            (Some(order_id), _) => order_id.clone(),
            (None, Some(seq)) => format!("{batch_order_id}-{seq}"),
            // The wire types require one of the two; the place stands in.
            (None, None) => format!("{batch_order_id}-{position}"),
        };
        // Also `{"seq":1}` beside `{"orderId":"<batchOrderId>-1"}`: one
        // withdrawal id said two ways.
        if !withdrawal_ids.insert(withdrawal_order_id.clone()) {
            return Err(Rejection::BatchKeyDuplicate(format!(
                "orderId {:?}",
                short(&withdrawal_order_id)
            ))
            .into());
        }
        rows.push(BatchTask {
            position,
            seq: new.seq,
            task_order_id: new.order_id.clone(),
            withdrawal_order_id,
            address: new.address.clone(),
            memo: new.memo.clone().unwrap_or_default(),
            amount,
            remark: new.remark.clone(),
            executed_at: None,
            failure: None,
            withdrawal_id: None,
            canceled_at: None,
        });
    }
    Ok(rows)
}

/// What makes two `applyBatchWithdraw`s with one batchOrderId the same
/// batch: everything but `notifyUrl` (docs/decisions.md §26).
fn fingerprint(request: &NewBatch, tasks: &[BatchTask]) -> String {
    // Strings quoted (`{:?}`), so no field's text can pass for a separator.
    let mut print = format!(
        "{}|{:?}|{:?}",
        request.token.id, request.mode, request.task_name
    );
    for task in tasks {
        print.push_str(&format!(
            "|{}/{:?}/{:?}/{:?}/{}/{:?}",
            task.seq.map(|seq| seq.to_string()).unwrap_or_default(),
            task.task_order_id,
            task.address,
            task.memo,
            task.amount.base_units(),
            task.remark
        ));
    }
    print
}
