//! Merchant batch withdrawals (v2 spec §2.6, docs/decisions.md §26): a batch
//! is stored as asked, and confirming it makes each task a withdrawal of its
//! own through [`Withdrawals::request`] — the same reservation, postings,
//! outbox rows, webhooks and approval as a single withdrawal. What the batch
//! says (its status, its figures) is derived from its tasks' withdrawals.

use std::collections::BTreeSet;
use std::sync::Arc;

use ccgate_ledger::{Amount, Coin, LedgerError, MerchantId, Registry, Token};
use ccgate_store::{
    Approval, BatchTask, BatchTaskState, BatchWithdrawal, BatchWithdrawalStore, WebhookDialect,
    Withdrawal, WithdrawalStatus,
};

use crate::amounts::positive_amount;
use crate::withdrawals::{Asset, Destination, WithdrawalRequest, Withdrawals};
use crate::{EngineError, RecordIds, Rejection};

/// Tasks one batch may hold (v2 spec §2.6: `orders` 0–500).
pub const TASKS_MAX: usize = 500;

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

/// Where a task is, in v2's words (docs/decisions.md §26).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// The batch is not confirmed yet.
    Init,
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
            TaskStatus::WaitingApproval => "WaitingApproval",
            TaskStatus::Rejected => "Rejected",
            TaskStatus::Processing => "Processing",
            TaskStatus::Success => "Success",
            TaskStatus::Failed => "Failed",
        }
    }

    fn of(batch: &BatchWithdrawal, state: &BatchTaskState) -> TaskStatus {
        if batch.confirmed_at.is_none() {
            return TaskStatus::Init;
        }
        if state.task.failure.is_some() {
            return TaskStatus::Failed;
        }
        match &state.withdrawal {
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
    Reviewing,
    Processing,
    Rejected,
    Completed,
}

impl BatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Init => "Init",
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
    /// Executed (or waiting for approval) and not final.
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
        let coin = request.coin;
        if request.tasks.len() > TASKS_MAX {
            return Err(Rejection::TooManyTasks { max: TASKS_MAX }.into());
        }
        let mut seqs = BTreeSet::new();
        let mut order_ids = BTreeSet::new();
        let mut withdrawal_ids = BTreeSet::new();
        let mut tasks = Vec::with_capacity(request.tasks.len());
        for (position, new) in (1u32..).zip(&request.tasks) {
            if let Some(seq) = new.seq
                && !seqs.insert(seq)
            {
                return Err(Rejection::BatchKeyDuplicate(format!("seq {seq}")).into());
            }
            if let Some(order_id) = &new.order_id
                && !order_ids.insert(order_id.clone())
            {
                return Err(Rejection::BatchKeyDuplicate(format!(
                    "orderId {:?}",
                    order_id.chars().take(64).collect::<String>()
                ))
                .into());
            }
            let amount = positive_amount(
                "amount",
                &new.amount,
                request.token.precision,
                coin.precision,
                &coin.symbol,
            )?;
            let withdrawal_order_id = match (&new.order_id, new.seq) {
                (Some(order_id), _) => order_id.clone(),
                (None, Some(seq)) => format!("{}-{seq}", request.batch_order_id),
                // The wire types require one of the two; the place stands in.
                (None, None) => format!("{}-{position}", request.batch_order_id),
            };
            // `{"seq":1}` and `{"orderId":"<batchOrderId>-1"}` would be one
            // withdrawal: the same key, said two ways.
            if !withdrawal_ids.insert(withdrawal_order_id.clone()) {
                return Err(Rejection::BatchKeyDuplicate(format!(
                    "orderId {:?}",
                    withdrawal_order_id.chars().take(64).collect::<String>()
                ))
                .into());
            }
            tasks.push(BatchTask {
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
            });
        }
        let batch = BatchWithdrawal {
            app_id: app_id.clone(),
            batch_order_id: request.batch_order_id.clone(),
            bill_id: self.ids.next(now_unix_ms),
            coin_id: coin.id.clone(),
            token_id: request.token.id.clone(),
            task_name: request.task_name.clone(),
            mode: request.mode.clone(),
            notify_url: request.notify_url.clone(),
            fingerprint: fingerprint(request, &tasks),
            created_at: now_unix_ms.div_euclid(1000),
            confirmed_at: None,
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

    /// `confirmBatchWithdraw`: confirms the batch and executes every task
    /// not executed yet, in order, each as a withdrawal of its own. A task
    /// the withdrawal's checks refuse fails alone. Repeatable: a repeat (or
    /// a retry after a crash) finds the tasks already done.
    pub async fn confirm(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
        now_unix_ms: i64,
    ) -> Result<BatchView<'_>, EngineError> {
        let batch = self.find(app_id, batch_order_id).await?;
        let now_secs = now_unix_ms.div_euclid(1000);
        self.batches
            .confirm_batch_withdrawal(app_id, batch_order_id, now_secs)
            .await?;
        let (coin, token) = self.network(&batch)?;
        for state in self.batches.batch_tasks(app_id, batch_order_id).await? {
            let task = &state.task;
            if task.executed_at.is_some() {
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
            };
            let failure = match self
                .withdrawals
                .request(app_id, &request, now_unix_ms)
                .await
            {
                Ok(_) => None,
                // The caller's to mend, for this task only; anything else
                // (a part failing) stops here, and a repeat resumes.
                Err(EngineError::Rejected(rejection)) => Some(rejection.to_string()),
                Err(other) => return Err(other),
            };
            self.batches
                .record_batch_task(
                    app_id,
                    batch_order_id,
                    task.position,
                    now_secs,
                    failure.as_deref(),
                )
                .await?;
        }
        self.view(app_id, batch_order_id).await
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
                batch_order_id.chars().take(64).collect::<String>()
            ))
            .into());
        }
        Ok(decided)
    }

    /// `getBatchWithdrawOrder` and `getBatchWithdrawOrderRecordList`.
    pub async fn view(
        &self,
        app_id: &MerchantId,
        batch_order_id: &str,
    ) -> Result<BatchView<'_>, EngineError> {
        let batch = self.find(app_id, batch_order_id).await?;
        let (coin, _) = self.network(&batch)?;
        let states = self.batches.batch_tasks(app_id, batch_order_id).await?;
        let tasks: Vec<TaskView> = states
            .into_iter()
            .map(|state| TaskView {
                status: TaskStatus::of(&batch, &state),
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
                TaskStatus::WaitingApproval | TaskStatus::Processing => stats.processing += 1,
            }
            if task.executed_at.is_some() {
                stats.exec_seq = task.seq.unwrap_or(u64::from(task.position));
                stats.exec_order_id = task.withdrawal_order_id.clone();
            }
            amount = amount
                .checked_add(task.amount)
                .ok_or(LedgerError::AmountOverflow)?;
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
    /// shows it.
    pub async fn list(
        &self,
        app_id: &MerchantId,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<BatchView<'_>>, EngineError> {
        let batches = self.batches.batch_withdrawals(app_id, after, limit).await?;
        let mut views = Vec::with_capacity(batches.len());
        for batch in batches {
            views.push(self.view(app_id, &batch.batch_order_id).await?);
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
            .ok_or_else(|| {
                Rejection::BatchWithdrawalNotFound(batch_order_id.chars().take(64).collect()).into()
            })
    }

    fn network(&self, batch: &BatchWithdrawal) -> Result<(&Coin, &Token), EngineError> {
        self.registry
            .token(&batch.token_id)
            .ok_or_else(|| Rejection::token_not_found(batch.token_id.as_str()).into())
    }
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
