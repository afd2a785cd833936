//! What the SQL backends share: column lists, and how stored text and
//! integers become domain values. Both schemas keep the same columns with the
//! same meaning (amounts as decimal text, flags as 0/1 integers), so a row of
//! either backend maps the same way.

use std::collections::BTreeMap;
use std::str::FromStr;

use ccgate_ledger::{
    Account, AccountBalance, Amount, CoinId, Direction, JournalEntry, MerchantId, Posting, TokenId,
};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::deposits::{
    ChainTransfer, Checkout, DepositAddress, DepositCredit, HeldAddress, MerchantSettings, Order,
    OrderPayment, OutboxWebhook, WebhookAttempt, WebhookCounts, WebhookDialect, WebhookNext,
    WebhookRow,
};
use crate::payouts::SignedPayout;
use crate::sweeps::{SignedSweep, SweepRecord, SweepSettlement};
use crate::withdrawals::{Approval, FeeQuote, Withdrawal, WithdrawalStatus};
use crate::{
    BlockLink, CoinBalance, DevnetChainState, MerchantStatus, MerchantSummary, StoreError,
};

/// Answers kept in the delivery log are cut to this many bytes.
const RESPONSE_HEAD_BYTES_MAX: usize = 256;

pub(crate) const ADDRESS_COLUMNS: &str =
    "chain, address, app_id, user_id, order_id, notify_url, derivation_index, dialect";

pub(crate) const ORDER_COLUMNS: &str = "order_id, app_id, merchant_order_id, kind, fingerprint, \
    token_id, coin_id, chain, pay_address, product_price, product_name, denominated_currency, \
    fiat_rate, token_rate, order_amount, created_at, expires_at, notify_url, custom_value, remark, \
    dialect, buyer_email";

pub(crate) const CHECKOUT_COLUMNS: &str = "checkout_key, app_id, merchant_order_id, fingerprint, \
    product_price, product_name, return_url, notify_url, custom_value, created_at, expires_at, \
    order_id, dialect, buyer_email, denominated_currency, price_coin_id";

pub(crate) const WEBHOOK_COLUMNS: &str = "id, app_id, record_id, order_type, status, attempts, \
    next_attempt_at_ms, created_at_ms, url, payload";

pub(crate) const TRANSFER_COLUMNS: &str = "chain, txid, log_index, block_height, block_time_ms, \
    from_address, to_address, memo, token_id, amount";

pub(crate) const WITHDRAWAL_COLUMNS: &str = "order_id, record_id, app_id, merchant_order_id, \
    fingerprint, token_id, coin_id, chain, to_address, memo, value, network_fee, net_receivable, \
    debit, merchant_pays_fee, to_cwallet, status, txid, block_height, created_at, resolved_at, \
    kind, refund_of, dialect, notify_url, approval";

/// The typed reads the mappers need, for a row of any backend whose driver
/// decodes text and 64-bit integers.
pub(crate) trait Columns {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
}

impl<R> Columns for R
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database>,
    String: Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database>,
    i64: Type<R::Database>,
{
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn int(&self, column: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(column)?)
    }
}

/// Folds `(status, count)` rows of the outbox and `(delivered, count)` rows
/// of its attempts into [`WebhookCounts`].
/// One figure of those /metrics reads, kept as rows change (`metric_counts`
/// on SQLite, summed `metric_deltas` on PostgreSQL); 0 until first counted.
pub(crate) fn figure(figures: &[(String, i64)], name: &str) -> Result<u64, StoreError> {
    figures
        .iter()
        .find(|(kept, _)| kept == name)
        .map_or(Ok(0), |(_, value)| to_u64(*value, name))
}

/// The outbox's figures, from the kept ones.
pub(crate) fn webhook_counts(figures: &[(String, i64)]) -> Result<WebhookCounts, StoreError> {
    Ok(WebhookCounts {
        pending: figure(figures, "webhooks.pending")?,
        delivered: figure(figures, "webhooks.delivered")?,
        failed: figure(figures, "webhooks.failed")?,
        attempts_delivered: figure(figures, "attempts.delivered")?,
        attempts_failed: figure(figures, "attempts.failed")?,
    })
}

/// Refuses a refund (already among `refund_values`) that takes the refunds of
/// `order_id` past what its `payment_values` brought in.
pub(crate) fn refunds_within_received(
    order_id: &str,
    payment_values: &[String],
    refund_values: &[String],
) -> Result<(), StoreError> {
    let total = |values: &[String]| -> Result<Amount, StoreError> {
        values.iter().try_fold(Amount::ZERO, |sum, text| {
            sum.checked_add(parse_amount(text)?)
                .ok_or_else(|| StoreError::Corrupt("an order's amounts overflow".into()))
        })
    };
    let received = total(payment_values)?;
    let refunded = total(refund_values)?;
    if refunded > received {
        return Err(StoreError::RefundExceedsReceived {
            order_id: order_id.to_owned(),
            received,
            refunded,
        });
    }
    Ok(())
}

pub(crate) fn parse_amount(text: &str) -> Result<Amount, StoreError> {
    u128::from_str(text)
        .map(Amount::from_base_units)
        .map_err(|_| StoreError::Corrupt(format!("amount {text:?} is not an integer")))
}

pub(crate) fn to_i64(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value} is too large")))
}

pub(crate) fn to_u32(value: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value}")))
}

pub(crate) fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value}")))
}

pub(crate) fn seq_number(seq: usize) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Corrupt("too many postings".into()))
}

pub(crate) fn blocks_to_mine(blocks: u64) -> Result<i64, StoreError> {
    i64::try_from(blocks)
        .map_err(|_| StoreError::Corrupt(format!("cannot mine {blocks} blocks at once")))
}

pub(crate) fn devnet_state_from_row(
    row: &impl Columns,
    chain: &str,
) -> Result<DevnetChainState, StoreError> {
    let mined = row.int("mined_blocks")?;
    Ok(DevnetChainState {
        genesis_unix_ms: row.int("genesis_unix_ms")?,
        mined_blocks: u64::try_from(mined)
            .map_err(|_| StoreError::Corrupt(format!("devnet {chain} mined {mined}")))?,
    })
}

pub(crate) fn direction_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Debit => "debit",
        Direction::Credit => "credit",
    }
}

fn parse_status(text: &str) -> Result<MerchantStatus, StoreError> {
    match text {
        "active" => Ok(MerchantStatus::Active),
        "disabled" => Ok(MerchantStatus::Disabled),
        other => Err(StoreError::Corrupt(format!("merchant status {other:?}"))),
    }
}

pub(crate) fn status_from_row(row: &impl Columns) -> Result<MerchantStatus, StoreError> {
    parse_status(&row.text("status")?)
}

pub(crate) fn merchant_summary_from_row(row: &impl Columns) -> Result<MerchantSummary, StoreError> {
    Ok(MerchantSummary {
        app_id: MerchantId::new(row.text("app_id")?),
        name: row.text("name")?,
        status: status_from_row(row)?,
        created_at: row.int("created_at")?,
    })
}

pub(crate) fn balance_from_row(row: &impl Columns) -> Result<AccountBalance, StoreError> {
    Ok(AccountBalance {
        debits_posted: parse_amount(&row.text("debits_posted")?)?,
        credits_posted: parse_amount(&row.text("credits_posted")?)?,
    })
}

/// Every stored balance, each checked against its account's rule.
pub(crate) fn balances_from_rows(
    rows: &[impl Columns],
) -> Result<BTreeMap<(Account, CoinId), AccountBalance>, StoreError> {
    let mut balances = BTreeMap::new();
    for row in rows {
        let account = Account::from_key(&row.text("account")?)?;
        let balance = balance_from_row(row)?;
        balance.check(account.balance_rule())?;
        balances.insert((account, CoinId::new(row.text("coin_id")?)), balance);
    }
    Ok(balances)
}

pub(crate) fn coin_balance_from_row(
    row: &impl Columns,
    account: &Account,
) -> Result<CoinBalance, StoreError> {
    let balance = balance_from_row(row)?;
    balance.check(account.balance_rule())?;
    Ok(CoinBalance {
        coin: CoinId::new(row.text("coin_id")?),
        balance,
    })
}

/// Rebuilds the journal from posting rows ordered by entry, then sequence.
pub(crate) fn journal_from_rows(rows: &[impl Columns]) -> Result<Vec<JournalEntry>, StoreError> {
    let mut entries = Vec::new();
    let mut current: Option<(i64, Vec<Posting>)> = None;
    for row in rows {
        let entry_id = row.int("entry_id")?;
        let posting = Posting {
            account: Account::from_key(&row.text("account")?)?,
            coin: CoinId::new(row.text("coin_id")?),
            direction: match row.text("direction")?.as_str() {
                "debit" => Direction::Debit,
                "credit" => Direction::Credit,
                other => return Err(StoreError::Corrupt(format!("direction {other:?}"))),
            },
            amount: parse_amount(&row.text("amount")?)?,
        };
        match &mut current {
            Some((id, postings)) if *id == entry_id => postings.push(posting),
            _ => {
                if let Some((_, postings)) = current.take() {
                    entries.push(JournalEntry::new(postings)?);
                }
                current = Some((entry_id, vec![posting]));
            }
        }
    }
    if let Some((_, postings)) = current {
        entries.push(JournalEntry::new(postings)?);
    }
    Ok(entries)
}

pub(crate) fn address_from_row(row: &impl Columns) -> Result<DepositAddress, StoreError> {
    Ok(DepositAddress {
        chain: row.text("chain")?,
        address: row.text("address")?,
        app_id: MerchantId::new(row.text("app_id")?),
        user_id: row.opt_text("user_id")?,
        order_id: row.opt_text("order_id")?,
        notify_url: row.opt_text("notify_url")?,
        derivation_index: to_u32(row.int("derivation_index")?, "derivation index")?,
        dialect: dialect_from(&row.text("dialect")?)?,
    })
}

/// A row of `ADDRESS_COLUMNS` followed by `unbound_at` and `credits`.
pub(crate) fn held_address_from_row(row: &impl Columns) -> Result<HeldAddress, StoreError> {
    Ok(HeldAddress {
        address: address_from_row(row)?,
        unbound_at: row.opt_int("unbound_at")?,
        credits: to_u64(row.int("credits")?, "address credits")?,
    })
}

pub(crate) fn settings_from_row(row: &impl Columns) -> Result<MerchantSettings, StoreError> {
    Ok(MerchantSettings {
        webhook_url: row.opt_text("webhook_url")?,
        notify_pending: row.int("notify_pending")? != 0,
        service_fee_ppm: to_u32(row.int("service_fee_ppm")?, "service fee")?,
        webhook_dialect: dialect_from(&row.text("webhook_dialect")?)?,
    })
}

pub(crate) fn transfer_from_row(row: &impl Columns) -> Result<ChainTransfer, StoreError> {
    Ok(ChainTransfer {
        chain: row.text("chain")?,
        txid: row.text("txid")?,
        log_index: to_u32(row.int("log_index")?, "log index")?,
        block_height: to_u64(row.int("block_height")?, "block height")?,
        block_time_ms: row.int("block_time_ms")?,
        from_address: row.text("from_address")?,
        to_address: row.text("to_address")?,
        memo: row.text("memo")?,
        token_id: TokenId::new(row.text("token_id")?),
        amount: parse_amount(&row.text("amount")?)?,
    })
}

pub(crate) fn order_from_row(row: &impl Columns) -> Result<Order, StoreError> {
    Ok(Order {
        order_id: row.text("order_id")?,
        app_id: MerchantId::new(row.text("app_id")?),
        merchant_order_id: row.text("merchant_order_id")?,
        kind: row.text("kind")?,
        fingerprint: row.text("fingerprint")?,
        token_id: TokenId::new(row.text("token_id")?),
        coin_id: CoinId::new(row.text("coin_id")?),
        chain: row.text("chain")?,
        pay_address: row.text("pay_address")?,
        product_price: row.text("product_price")?,
        product_name: row.text("product_name")?,
        denominated_currency: row.text("denominated_currency")?,
        fiat_rate: row.text("fiat_rate")?,
        token_rate: row.text("token_rate")?,
        order_amount: parse_amount(&row.text("order_amount")?)?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        notify_url: row.opt_text("notify_url")?,
        custom_value: row.opt_text("custom_value")?,
        remark: row.opt_text("remark")?,
        dialect: dialect_from(&row.text("dialect")?)?,
        buyer_email: row.opt_text("buyer_email")?,
    })
}

pub(crate) fn checkout_from_row(row: &impl Columns) -> Result<Checkout, StoreError> {
    Ok(Checkout {
        key: row.text("checkout_key")?,
        app_id: MerchantId::new(row.text("app_id")?),
        merchant_order_id: row.text("merchant_order_id")?,
        fingerprint: row.text("fingerprint")?,
        product_price: row.text("product_price")?,
        product_name: row.text("product_name")?,
        return_url: row.opt_text("return_url")?,
        notify_url: row.opt_text("notify_url")?,
        custom_value: row.opt_text("custom_value")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        order_id: row.opt_text("order_id")?,
        dialect: dialect_from(&row.text("dialect")?)?,
        buyer_email: row.opt_text("buyer_email")?,
        denominated_currency: row.text("denominated_currency")?,
        price_coin_id: row.opt_text("price_coin_id")?.map(CoinId::new),
    })
}

pub(crate) fn payment_from_row(row: &impl Columns) -> Result<OrderPayment, StoreError> {
    Ok(OrderPayment {
        record_id: row.text("record_id")?,
        txid: row.text("txid")?,
        from_address: row.text("from_address")?,
        coin_id: CoinId::new(row.text("coin_id")?),
        amount: parse_amount(&row.text("paid_amount")?)?,
        service_fee: parse_amount(&row.text("service_fee")?)?,
        pay_time: row.int("credited_at")?,
        block_time_ms: row.int("block_time_ms")?,
    })
}

pub(crate) fn webhook_row(row: &impl Columns) -> Result<WebhookRow, StoreError> {
    Ok(WebhookRow {
        id: row.int("id")?,
        app_id: MerchantId::new(row.text("app_id")?),
        record_id: row.text("record_id")?,
        order_type: row.text("order_type")?,
        status: row.text("status")?,
        attempts: to_u32(row.int("attempts")?, "attempts")?,
        next_attempt_at_ms: row.int("next_attempt_at_ms")?,
        created_at_ms: row.int("created_at_ms")?,
        url: row.opt_text("url")?,
        payload: row.text("payload")?,
    })
}

/// Claimed webhooks, in id order whatever order the database returned them in.
pub(crate) fn claimed_from_rows(rows: &[impl Columns]) -> Result<Vec<OutboxWebhook>, StoreError> {
    let mut claimed = rows
        .iter()
        .map(|row| {
            Ok(OutboxWebhook {
                id: row.int("id")?,
                app_id: MerchantId::new(row.text("app_id")?),
                record_id: row.text("record_id")?,
                order_type: row.text("order_type")?,
                dialect: dialect_from(&row.text("dialect")?)?,
                url: row.opt_text("url")?,
                payload: row.text("payload")?,
                attempts: to_u32(row.int("attempts")?, "attempts")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    claimed.sort_by_key(|webhook| webhook.id);
    Ok(claimed)
}

pub(crate) fn fee_quote_from_row(row: &impl Columns) -> Result<FeeQuote, StoreError> {
    Ok(FeeQuote {
        inquiry_id: row.text("inquiry_id")?,
        app_id: MerchantId::new(row.text("app_id")?),
        token_id: TokenId::new(row.text("token_id")?),
        fee: parse_amount(&row.text("fee")?)?,
        expires_at_ms: row.int("expires_at_ms")?,
    })
}

fn dialect_from(text: &str) -> Result<WebhookDialect, StoreError> {
    WebhookDialect::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown webhook dialect {text:?}")))
}

pub(crate) fn attempt_from_row(row: &impl Columns) -> Result<WebhookAttempt, StoreError> {
    Ok(WebhookAttempt {
        attempt: to_u32(row.int("attempt")?, "attempt")?,
        at_ms: row.int("at_ms")?,
        http_status: row
            .opt_int("http_status")?
            .and_then(|s| u16::try_from(s).ok()),
        latency_ms: to_u64(row.int("latency_ms")?, "latency")?,
        outcome: row.text("outcome")?,
        response_head: row.text("response_head")?,
    })
}

/// The first bytes of an answer, cut on a character boundary.
pub(crate) fn response_head(attempt: &WebhookAttempt) -> String {
    attempt
        .response_head
        .char_indices()
        .take_while(|(at, _)| *at < RESPONSE_HEAD_BYTES_MAX)
        .map(|(_, c)| c)
        .collect()
}

/// The outbox status and next attempt time after an attempt.
pub(crate) fn outbox_after(attempt: &WebhookAttempt, next: WebhookNext) -> (&'static str, i64) {
    match next {
        WebhookNext::Delivered => ("delivered", attempt.at_ms),
        WebhookNext::RetryAt { at_ms } => ("pending", at_ms),
        WebhookNext::GiveUp => ("failed", attempt.at_ms),
    }
}

pub(crate) fn withdrawal_kind(withdrawal: &Withdrawal) -> &'static str {
    if withdrawal.is_refund() {
        "refund"
    } else {
        "withdrawal"
    }
}

pub(crate) fn withdrawal_from_row(row: &impl Columns) -> Result<Withdrawal, StoreError> {
    Ok(Withdrawal {
        order_id: row.text("order_id")?,
        record_id: row.text("record_id")?,
        app_id: MerchantId::new(row.text("app_id")?),
        merchant_order_id: row.text("merchant_order_id")?,
        fingerprint: row.text("fingerprint")?,
        token_id: TokenId::new(row.text("token_id")?),
        coin_id: CoinId::new(row.text("coin_id")?),
        chain: row.text("chain")?,
        to_address: row.text("to_address")?,
        memo: row.text("memo")?,
        value: parse_amount(&row.text("value")?)?,
        network_fee: parse_amount(&row.text("network_fee")?)?,
        net_receivable: parse_amount(&row.text("net_receivable")?)?,
        debit: parse_amount(&row.text("debit")?)?,
        merchant_pays_fee: row.int("merchant_pays_fee")? != 0,
        to_cwallet: row.int("to_cwallet")? != 0,
        status: WithdrawalStatus::parse(&row.text("status")?)?,
        txid: row.text("txid")?,
        block_height: row
            .opt_int("block_height")?
            .map(|h| to_u64(h, "block height"))
            .transpose()?,
        created_at: row.int("created_at")?,
        resolved_at: row.opt_int("resolved_at")?,
        refund_of: row.opt_text("refund_of")?,
        dialect: dialect_from(&row.text("dialect")?)?,
        notify_url: row.opt_text("notify_url")?,
        approval: Approval::parse(&row.text("approval")?)?,
    })
}

/// Clears `fresh` for a transfer that appears earlier in the same batch, so a
/// chain adapter repeating itself cannot credit one transfer twice.
pub(crate) fn mark_repeats_within(credits: &[DepositCredit], fresh: &mut [bool]) {
    let mut keys = std::collections::HashSet::with_capacity(credits.len());
    for (credit, is_fresh) in credits.iter().zip(fresh.iter_mut()) {
        let transfer = &credit.deposit.transfer;
        if !keys.insert((&transfer.txid, transfer.log_index)) {
            *is_fresh = false;
        }
    }
}

pub(crate) const PAYOUT_COLUMNS: &str =
    "chain, payout_id, from_address, nonce, txid, raw_tx, created_at_ms, replacements";

pub(crate) fn payout_from_row(row: &impl Columns) -> Result<SignedPayout, StoreError> {
    Ok(SignedPayout {
        chain: row.text("chain")?,
        payout_id: row.text("payout_id")?,
        from_address: row.text("from_address")?,
        nonce: to_u64(row.int("nonce")?, "payout nonce")?,
        txid: row.text("txid")?,
        raw_tx: row.text("raw_tx")?,
        created_at_ms: row.int("created_at_ms")?,
        replacements: to_u32(row.int("replacements")?, "payout replacements")?,
    })
}

pub(crate) fn block_link_from_row(row: &impl Columns) -> Result<BlockLink, StoreError> {
    Ok(BlockLink {
        height: to_u64(row.int("height")?, "block height")?,
        hash: row.text("hash")?,
        parent_hash: row.text("parent_hash")?,
    })
}

pub(crate) const SWEEP_COLUMNS: &str = "chain, sweep_id, from_address, to_address, token_id, amount, \
     nonce, txid, raw_tx, top_up_payout_id, created_at_ms, outcome, gas_cost, settled_at_ms";

/// The stored words for a settled sweep's outcome.
pub(crate) const SWEEP_SUCCEEDED: &str = "succeeded";
pub(crate) const SWEEP_REVERTED: &str = "reverted";

pub(crate) fn sweep_record_from_row(row: &impl Columns) -> Result<SweepRecord, StoreError> {
    let sweep = SignedSweep {
        chain: row.text("chain")?,
        sweep_id: row.text("sweep_id")?,
        from_address: row.text("from_address")?,
        to_address: row.text("to_address")?,
        token_id: row.text("token_id")?,
        amount: parse_amount(&row.text("amount")?)?,
        nonce: to_u64(row.int("nonce")?, "sweep nonce")?,
        txid: row.text("txid")?,
        raw_tx: row.text("raw_tx")?,
        top_up_payout_id: row.opt_text("top_up_payout_id")?,
        created_at_ms: row.int("created_at_ms")?,
    };
    let settled = match (
        row.opt_text("outcome")?,
        row.opt_text("gas_cost")?,
        row.opt_int("settled_at_ms")?,
    ) {
        (Some(outcome), Some(gas_cost), Some(settled_at_ms)) => Some(SweepSettlement {
            succeeded: match outcome.as_str() {
                SWEEP_SUCCEEDED => true,
                SWEEP_REVERTED => false,
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "sweep {}: outcome {other:?}",
                        sweep.sweep_id
                    )));
                }
            },
            gas_cost: parse_amount(&gas_cost)?,
            settled_at_ms,
        }),
        _ => None,
    };
    Ok(SweepRecord { sweep, settled })
}
