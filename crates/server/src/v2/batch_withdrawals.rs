//! Merchant batch withdrawals in v2 (v2 spec §2.6, docs/decisions.md §26,
//! §29): addresses checked, a batch stored as asked (and appended to), then
//! confirmed (at once or after a delay), each task a withdrawal of its own,
//! and aborted; its answers carry both wire variants' names.

use ccgate_api::RequestError;
use ccgate_api::v2::batch_withdrawals::{
    AbortBatchRequest, AddressResult, AddressesChecked, AppendBatchRequest, ApplyBatchRequest,
    BatchAborted, BatchAppended, BatchApplied, BatchCoin, BatchOrderRequest,
    BatchRecordListRequest, BatchStats, BatchTaskList, BatchWithdrawOrder, BatchWithdrawTask,
    CheckAddressesRequest, ConfirmBatchRequest, TaskRequest,
};
use ccgate_api::v2::fields;
use ccgate_engine::batch_withdrawals::{
    AddressCheck, BatchView, NewBatch, NewTask, TaskKey, TaskName, TaskStatus, TaskView,
};
use ccgate_ledger::Coin;

use super::V2Result;
use super::coins::{coin_by_number, token_on_chain};
use super::withdrawals::{FAILED_REASON, REJECTED_REASON};
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::rejection_v2_code;
use crate::routes::success;

fn new_task(task: TaskRequest) -> NewTask {
    NewTask {
        seq: task.seq,
        order_id: task.order_id,
        address: task.address,
        memo: task.memo,
        amount: task.amount,
        remark: task.remark,
    }
}

/// `checkWithdrawAddress`: each address's refusal codes (none: valid).
pub async fn check_addresses(state: AppState, SignedCall { body, .. }: SignedCall) -> V2Result {
    let request = CheckAddressesRequest::from_fields(&fields(&body)?)?;
    let checks: Vec<AddressCheck> = request
        .addresses
        .into_iter()
        .map(|info| AddressCheck {
            seq: info.seq,
            address: info.address,
            memo: info.memo,
        })
        .collect();
    let verdicts = state
        .batch_withdrawals
        .check_addresses(&request.chain, &checks)?;
    let address_info_results = checks
        .iter()
        .zip(verdicts)
        .map(|(check, refusal)| AddressResult {
            seq: check.seq,
            codes: refusal
                .map(|refusal| vec![rejection_v2_code(refusal).number()])
                .unwrap_or_default(),
        })
        .collect();
    Ok(success(&AddressesChecked {
        address_info_results,
    })?)
}

/// `appendBatchWithdraw`: more tasks before confirmation.
pub async fn append(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = AppendBatchRequest::from_fields(&fields(&body)?)?;
    let appended = request.orders.len() as u64;
    let tasks: Vec<NewTask> = request.orders.into_iter().map(new_task).collect();
    let total = state
        .batch_withdrawals
        .append(&merchant.app_id, &request.batch_order_id, &tasks)
        .await?;
    Ok(success(&BatchAppended {
        appended,
        total,
        batch_order_id: request.batch_order_id,
    })?)
}

/// `abortBatchWithdraw`: cancels what was not sent.
pub async fn abort(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = AbortBatchRequest::from_fields(&fields(&body)?)?;
    let keys: Vec<TaskKey> = request
        .seqs
        .iter()
        .copied()
        .map(TaskKey::Seq)
        .chain(request.order_ids.iter().cloned().map(TaskKey::OrderId))
        .collect();
    let batches = &state.batch_withdrawals;
    let now = state.clock.now_unix_ms();
    let aborted = batches
        .abort(&merchant.app_id, &request.batch_order_id, &keys, now)
        .await?;
    let view = batches
        .view(&merchant.app_id, &request.batch_order_id, now)
        .await?;
    let seqs = |tasks: &[TaskName]| tasks.iter().map(|task| task.seq).collect();
    let order_ids = |tasks: &[TaskName]| tasks.iter().map(|task| task.order_id.clone()).collect();
    Ok(success(&BatchAborted {
        batch_order_id: request.batch_order_id,
        status: view.status.as_str().to_owned(),
        canceled_seqs: seqs(&aborted.canceled),
        ignored_seqs: seqs(&aborted.ignored),
        canceled_order_ids: order_ids(&aborted.canceled),
        ignored_order_ids: order_ids(&aborted.ignored),
    })?)
}

pub async fn apply(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = ApplyBatchRequest::from_fields(&fields(&body)?)?;
    let coin = coin_by_number(&state.registry, request.coin_id)?;
    let token = token_on_chain(coin, &request.chain)?;
    let batch = NewBatch {
        batch_order_id: request.batch_order_id,
        coin,
        token,
        task_name: request.task_name,
        mode: request.mode,
        notify_url: request.notify_url,
        tasks: request.orders.into_iter().map(new_task).collect(),
    };
    let stored = state
        .batch_withdrawals
        .create(&merchant.app_id, &batch, state.clock.now_unix_ms())
        .await?;
    Ok(success(&BatchApplied {
        batch_order_id: stored.batch_order_id,
        bill_id: stored.bill_id,
    })?)
}

pub async fn confirm(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = ConfirmBatchRequest::from_fields(&fields(&body)?)?;
    let batches = &state.batch_withdrawals;
    let now = state.clock.now_unix_ms();
    let view = if request.confirm_execution {
        batches
            .confirm(
                &merchant.app_id,
                &request.batch_order_id,
                request.delay_seconds,
                now,
            )
            .await?
    } else {
        batches
            .view(&merchant.app_id, &request.batch_order_id, now)
            .await?
    };
    Ok(success(&batch_order(&state, &view))?)
}

pub async fn order(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = BatchOrderRequest::from_fields(&fields(&body)?)?;
    let view = state
        .batch_withdrawals
        .view(
            &merchant.app_id,
            &request.batch_order_id,
            state.clock.now_unix_ms(),
        )
        .await?;
    Ok(success(&batch_order(&state, &view))?)
}

/// The tasks in their order, a page at a time; `nextId` is the place of the
/// page's last task.
pub async fn record_list(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = BatchRecordListRequest::from_fields(&fields(&body)?)?;
    let view = state
        .batch_withdrawals
        .view(
            &merchant.app_id,
            &request.batch_order_id,
            state.clock.now_unix_ms(),
        )
        .await?;
    let after = match &request.next_id {
        None => 0,
        Some(next_id) => next_id
            .parse::<u32>()
            .ok()
            .filter(|after| view.tasks.iter().any(|t| t.state.task.position == *after))
            .ok_or(RequestError::FieldType {
                field: "nextId",
                expected: "the nextId of the page before",
            })?,
    };
    let mut page: Vec<&TaskView> = view
        .tasks
        .iter()
        .filter(|task| task.state.task.position > after)
        .take(request.limit as usize + 1)
        .collect();
    let next_id = if page.len() > request.limit as usize {
        page.truncate(request.limit as usize);
        page.last()
            .map(|last| last.state.task.position.to_string())
            .unwrap_or_default()
    } else {
        String::new()
    };
    let records = page
        .into_iter()
        .map(|task| batch_task(&view, task))
        .collect();
    Ok(success(&BatchTaskList { next_id, records })?)
}

fn batch_coin(state: &AppState, coin: &Coin) -> BatchCoin {
    // No price is kept per batch: the current one, "0" when the price
    // source has none (as AppWithdrawRecord's coinUSDPrice).
    BatchCoin {
        coin_id: coin.numeric_id,
        coin_symbol: coin.symbol.clone(),
        coin_price: state
            .prices
            .coin_price(&coin.id, state.clock.now_unix_ms())
            .map_or_else(|_| "0".to_owned(), |price| price.to_string()),
    }
}

fn batch_order(state: &AppState, view: &BatchView) -> BatchWithdrawOrder {
    let batch = &view.batch;
    let coin = batch_coin(state, view.coin);
    BatchWithdrawOrder {
        batch_order_id: batch.batch_order_id.clone(),
        product_name: batch.task_name.clone(),
        task_name: batch.task_name.clone(),
        bill_id: batch.bill_id.clone(),
        coin: coin.clone(),
        amount: view.amount.to_decimal_string(view.coin.precision),
        network_fee: view.network_fee.to_decimal_string(view.coin.precision),
        network_fee_coin: coin,
        status: view.status.as_str().to_owned(),
        reason: String::new(),
        mode: batch.mode.clone(),
        stats: BatchStats {
            total: view.stats.total,
            succeeded: view.stats.succeeded,
            failed: view.stats.failed,
            canceled: view.stats.canceled,
            processing: view.stats.processing,
            exec_seq: view.stats.exec_seq,
            exec_order_id: view.stats.exec_order_id.clone(),
        },
        created_at: batch.created_at,
        updated_at: view.updated_at,
    }
}

fn batch_task(view: &BatchView, task_view: &TaskView) -> BatchWithdrawTask {
    let task = &task_view.state.task;
    let withdrawal = task_view.state.withdrawal.as_ref();
    let precision = view.coin.precision;
    let reason = match (task_view.status, &task.failure) {
        (_, Some(failure)) => failure.clone(),
        (TaskStatus::Rejected, None) => REJECTED_REASON.to_owned(),
        (TaskStatus::Failed, None) => FAILED_REASON.to_owned(),
        _ => String::new(),
    };
    let created_at = view.batch.created_at;
    BatchWithdrawTask {
        seq: task.seq.unwrap_or(u64::from(task.position)),
        order_id: task.withdrawal_order_id.clone(),
        address: task.address.clone(),
        memo: task.memo.clone(),
        amount: task.amount.to_decimal_string(precision),
        remark: task.remark.clone(),
        record_id: withdrawal.map(|w| w.record_id.clone()).unwrap_or_default(),
        status: task_view.status.as_str().to_owned(),
        network_fee: withdrawal
            .map(|w| w.network_fee.to_decimal_string(precision))
            .unwrap_or_else(|| "0".to_owned()),
        tx_id: withdrawal.map(|w| w.txid.clone()).unwrap_or_default(),
        reason,
        created_at,
        updated_at: withdrawal
            .and_then(|w| w.resolved_at)
            .or(task.executed_at)
            .unwrap_or(created_at),
    }
}
