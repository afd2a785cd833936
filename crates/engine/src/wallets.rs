//! The v2 wallet system (v2 spec §2.9–2.10, docs/decisions.md §24): a
//! merchant's users as ledger accounts, their balances and deposit
//! addresses, their deposit records, and transfers between them (or between
//! a user and the merchant, named by its App ID).

use std::sync::Arc;

use ccgate_ledger::swap::{SwapSide, usd_value};
use ccgate_ledger::{
    Account, Amount, Chain, Coin, Direction, JournalEntry, MerchantId, Posting, Registry,
};
use ccgate_store::{
    BatchScope, CoinBalance, DepositAddress, DepositRecord, DepositRecordFilter, DepositRecords,
    EntryMeta, Recorded, Store, StoreError, TransferFilter, UserBatchTransfer, UserTransfer,
    WalletStore, WalletUser, Withdrawal, WithdrawalQuery, WithdrawalStore,
};

use crate::addresses::AddressBook;
use crate::amounts::positive_amount;
use crate::withdrawals::{Accepted, WithdrawalRequest, Withdrawals};
use crate::{EngineError, RecordIds, Rejection};

/// The journal entry kind of a transfer between wallet accounts.
const TRANSFER_KIND: &str = "user_transfer";

/// The least a transfer may be worth (v2 spec §2.10.1: 0.001 USD), in the
/// micro-USD `usd_value` counts in.
const TRANSFER_MIN_USD_MICROS: u128 = 1_000;

/// Legs one `userBatchTransfer` may have (the spec's `QueryNumMax` figure).
pub const BATCH_LEGS_MAX: usize = 100;

/// One side of a transfer: a user, or the merchant itself (its App ID).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holder {
    Merchant,
    User(String),
}

#[derive(Debug)]
pub struct Wallets {
    registry: Arc<Registry>,
    addresses: Arc<AddressBook>,
    /// The ledger behind the balances' cache, told when the merchant's own
    /// balance moves.
    ledger: Arc<dyn Store>,
    wallet: Arc<dyn WalletStore>,
    deposits: Arc<dyn DepositRecords>,
    /// Users' withdrawals go the merchant's way (decisions §28).
    withdrawals: Arc<Withdrawals>,
    withdrawal_records: Arc<dyn WithdrawalStore>,
    ids: RecordIds,
}

/// What a transfer asks: `amount` as typed, in the coin's decimals.
#[derive(Debug, Clone)]
pub struct TransferRequest<'a> {
    pub order_id: &'a str,
    pub from_user: &'a str,
    pub to_user: &'a str,
    pub coin: &'a Coin,
    pub amount: &'a str,
    pub remark: &'a str,
}

/// What a batch transfer asks: one sender, `(recipient, amount)` legs.
#[derive(Debug, Clone)]
pub struct BatchRequest<'a> {
    pub order_id: &'a str,
    pub from_user: &'a str,
    pub legs: &'a [(String, String)],
    pub coin: &'a Coin,
    pub remark: &'a str,
}

impl Wallets {
    pub fn new(
        registry: Arc<Registry>,
        addresses: Arc<AddressBook>,
        ledger: Arc<dyn Store>,
        wallet: Arc<dyn WalletStore>,
        deposits: Arc<dyn DepositRecords>,
        withdrawals: Arc<Withdrawals>,
        withdrawal_records: Arc<dyn WithdrawalStore>,
    ) -> Wallets {
        Wallets {
            registry,
            addresses,
            ledger,
            wallet,
            deposits,
            withdrawals,
            withdrawal_records,
            ids: RecordIds::default(),
        }
    }

    fn holder(app_id: &MerchantId, user_id: &str) -> Holder {
        if user_id == app_id.as_str() {
            Holder::Merchant
        } else {
            Holder::User(user_id.to_owned())
        }
    }

    fn account(app_id: &MerchantId, holder: &Holder) -> Account {
        match holder {
            Holder::Merchant => Account::MerchantAvailable(app_id.clone()),
            Holder::User(user_id) => Account::User(app_id.clone(), user_id.clone()),
        }
    }

    /// Fails with 11015 unless the user came into being (the App ID always is).
    async fn existing(&self, app_id: &MerchantId, user_id: &str) -> Result<Holder, EngineError> {
        let holder = Wallets::holder(app_id, user_id);
        if let Holder::User(user_id) = &holder
            && !self.wallet.wallet_user_exists(app_id, user_id).await?
        {
            return Err(Rejection::UserNotFound(user_id.clone()).into());
        }
        Ok(holder)
    }

    /// The user's available balance of `wanted` (zero included), or of every
    /// coin it holds a non-zero balance of, in registry order. The App ID
    /// answers the merchant's own balances.
    pub async fn balances<'r>(
        &'r self,
        app_id: &MerchantId,
        user_id: &str,
        wanted: Option<&'r Coin>,
    ) -> Result<Vec<(&'r Coin, Amount)>, EngineError> {
        let merchant_held;
        let user_held;
        let held: &[CoinBalance] = match self.existing(app_id, user_id).await? {
            Holder::Merchant => {
                merchant_held = self.ledger.merchant_balances(app_id).await?;
                &merchant_held
            }
            Holder::User(user_id) => {
                user_held = self.wallet.user_balances(app_id, &user_id).await?;
                &user_held
            }
        };
        let available = |coin: &Coin| -> Result<Amount, EngineError> {
            match held.iter().find(|b| b.coin == coin.id) {
                None => Ok(Amount::ZERO),
                Some(b) => b.balance.available().ok_or_else(|| {
                    EngineError::Store(StoreError::Corrupt(format!(
                        "user balance of {} is negative",
                        coin.id
                    )))
                }),
            }
        };
        let coins: Vec<&Coin> = match wanted {
            Some(coin) => vec![coin],
            None => self
                .registry
                .coins()
                .filter(|coin| held.iter().any(|b| b.coin == coin.id))
                .collect(),
        };
        let mut balances = Vec::with_capacity(coins.len());
        for coin in coins {
            let value = available(coin)?;
            if wanted.is_none() && value.is_zero() {
                continue;
            }
            balances.push((coin, value));
        }
        Ok(balances)
    }

    /// The user's permanent address on `chain` (the same on every call),
    /// bringing the user into being. Counted in the merchant's quota.
    pub async fn deposit_address(
        &self,
        app_id: &MerchantId,
        user_id: &str,
        chain: &Chain,
        notify_url: Option<&str>,
        now_unix_secs: i64,
    ) -> Result<DepositAddress, EngineError> {
        if Wallets::holder(app_id, user_id) == Holder::Merchant {
            return Err(Rejection::UserIdIsAppId.into());
        }
        self.addresses
            .user_address(app_id, user_id, chain, notify_url, now_unix_secs)
            .await
    }

    /// The merchant's users' deposits as `filter` narrows them (its
    /// `wallet_users` is set here); a named user must exist.
    pub async fn deposits(
        &self,
        filter: &DepositRecordFilter,
    ) -> Result<Vec<DepositRecord>, EngineError> {
        if let Some(user_id) = &filter.user_id {
            self.existing(&filter.app_id, user_id).await?;
        }
        let filter = DepositRecordFilter {
            wallet_users: true,
            ..filter.clone()
        };
        Ok(self.deposits.deposit_records(&filter).await?)
    }

    /// `applyUserWithdrawToNetwork` and `applyUserWithdrawToCwallet`: a
    /// withdrawal of the merchant's, paid from the user's account
    /// (decisions §28). The App ID is refused: the merchant withdraws with
    /// `applyAppWithdrawTo…`.
    pub async fn withdraw<'a>(
        &'a self,
        app_id: &MerchantId,
        user_id: &str,
        request: &WithdrawalRequest<'a>,
        now_unix_ms: i64,
    ) -> Result<Accepted<'a>, EngineError> {
        match self.existing(app_id, user_id).await? {
            Holder::Merchant => Err(Rejection::UserIdIsAppId.into()),
            Holder::User(user_id) => {
                self.withdrawals
                    .request_for_user(app_id, &user_id, request, now_unix_ms)
                    .await
            }
        }
    }

    /// The user's withdrawals `query` picks (its `user_id` set to `user_id`,
    /// who must exist), newest first.
    pub async fn withdrawals(
        &self,
        app_id: &MerchantId,
        user_id: &str,
        query: &WithdrawalQuery,
    ) -> Result<Vec<Withdrawal>, EngineError> {
        let Holder::User(user_id) = self.existing(app_id, user_id).await? else {
            return Err(Rejection::UserIdIsAppId.into());
        };
        let query = WithdrawalQuery {
            user_id: Some(user_id),
            ..query.clone()
        };
        Ok(self
            .withdrawal_records
            .merchant_withdrawals(app_id, &query)
            .await?)
    }

    /// One of the merchant's users' withdrawals, by its record id and/or
    /// order id (both given: they must name the one withdrawal).
    pub async fn withdrawal(
        &self,
        app_id: &MerchantId,
        record_id: Option<&str>,
        order_id: Option<&str>,
    ) -> Result<Option<Withdrawal>, EngineError> {
        let found = match (record_id, order_id) {
            (Some(record_id), _) => {
                self.withdrawal_records
                    .withdrawal_by_record_id(app_id, record_id)
                    .await?
            }
            (None, Some(order_id)) => {
                self.withdrawal_records
                    .withdrawal_by_merchant_order_id(app_id, order_id)
                    .await?
            }
            (None, None) => None,
        };
        Ok(found.filter(|withdrawal| {
            withdrawal.user_id.is_some()
                && order_id.is_none_or(|asked| withdrawal.merchant_order_id == asked)
        }))
    }

    /// Refuses a transfer (or a batch's leg) worth less than the spec's
    /// least, 0.001 USD (v2 §2.10.1), at the current price; a coin without
    /// a price cannot be judged, so it is refused as a swap is.
    fn check_transfer_minimum(
        &self,
        coin: &Coin,
        amount: Amount,
        now_unix_ms: i64,
    ) -> Result<(), EngineError> {
        let price_usd = self.withdrawals.coin_price(&coin.id, now_unix_ms)?;
        let worth = usd_value(
            amount,
            SwapSide {
                precision: coin.precision,
                price_usd,
            },
        )?;
        if worth < Amount::from_base_units(TRANSFER_MIN_USD_MICROS) {
            return Err(Rejection::AmountInvalid(format!(
                "amount {} {} is worth less than the least transfer, 0.001 USD",
                amount.to_decimal_string(coin.precision),
                coin.symbol
            ))
            .into());
        }
        Ok(())
    }

    /// `userTransfer`: instant, one journal entry; idempotent by order id.
    pub async fn transfer(
        &self,
        app_id: &MerchantId,
        request: &TransferRequest<'_>,
        now_unix_ms: i64,
    ) -> Result<UserTransfer, EngineError> {
        let coin = request.coin;
        let amount = positive_amount(
            "amount",
            request.amount,
            coin.precision,
            coin.precision,
            &coin.symbol,
        )?;
        if request.from_user == request.to_user {
            return Err(Rejection::TransferToSelf.into());
        }
        let mut singles = TransferFilter::of_merchant(app_id);
        singles.batch = BatchScope::Single;
        singles.order_ids = vec![request.order_id.to_owned()];
        if let Some(done) = self.wallet.user_transfers(&singles).await?.pop() {
            return same_transfer(done, request, amount);
        }
        self.check_transfer_minimum(coin, amount, now_unix_ms)?;
        let from = self.existing(app_id, request.from_user).await?;
        let to = Wallets::holder(app_id, request.to_user);
        let entry = JournalEntry::transfer(
            Wallets::account(app_id, &from),
            Wallets::account(app_id, &to),
            coin.id.clone(),
            amount,
        )?;
        let now_secs = now_unix_ms.div_euclid(1000);
        let transfer = UserTransfer {
            record_id: self.ids.next(now_unix_ms),
            app_id: app_id.clone(),
            order_id: request.order_id.to_owned(),
            batch_record_id: None,
            from_user: request.from_user.to_owned(),
            to_user: request.to_user.to_owned(),
            coin_id: coin.id.clone(),
            amount,
            remark: request.remark.to_owned(),
            created_at: now_secs,
        };
        let meta = EntryMeta {
            kind: TRANSFER_KIND,
            reason: format!("userTransfer {}", request.order_id),
            created_at: now_secs,
        };
        match self
            .wallet
            .record_transfer(&transfer, &entry, &meta)
            .await?
        {
            Recorded::Made(made) => {
                if from == Holder::Merchant || to == Holder::Merchant {
                    self.ledger.balances_changed(app_id);
                }
                Ok(made)
            }
            Recorded::Existing(done) => same_transfer(done, request, amount),
        }
    }

    /// `userBatchTransfer`: every leg or none, by one journal entry
    /// (decisions §24); idempotent by order id.
    pub async fn batch_transfer(
        &self,
        app_id: &MerchantId,
        request: &BatchRequest<'_>,
        now_unix_ms: i64,
    ) -> Result<UserBatchTransfer, EngineError> {
        let coin = request.coin;
        if request.legs.is_empty() || request.legs.len() > BATCH_LEGS_MAX {
            return Err(Rejection::AmountInvalid(format!(
                "toUsers must have 1 to {BATCH_LEGS_MAX} recipients"
            ))
            .into());
        }
        let mut legs = Vec::with_capacity(request.legs.len());
        for (to_user, typed) in request.legs {
            if to_user == request.from_user {
                return Err(Rejection::TransferToSelf.into());
            }
            if legs
                .iter()
                .any(|(seen, _): &(&String, Amount)| *seen == to_user)
            {
                return Err(Rejection::AmountInvalid(format!(
                    "toUsers names {to_user:?} more than once"
                ))
                .into());
            }
            let amount = positive_amount(
                "amount",
                typed,
                coin.precision,
                coin.precision,
                &coin.symbol,
            )?;
            legs.push((to_user, amount));
        }
        let mut filter = TransferFilter::of_merchant(app_id);
        filter.order_ids = vec![request.order_id.to_owned()];
        if let Some(done) = self.wallet.user_batch_transfers(&filter).await?.pop() {
            return same_batch(done, request, &legs);
        }
        for (_, amount) in &legs {
            self.check_transfer_minimum(coin, *amount, now_unix_ms)?;
        }
        let from = self.existing(app_id, request.from_user).await?;
        let mut total = Amount::ZERO;
        let mut postings = Vec::with_capacity(legs.len() + 1);
        for (to_user, amount) in &legs {
            total = total.checked_add(*amount).ok_or_else(|| {
                EngineError::from(Rejection::AmountInvalid(
                    "the amounts' sum is too large".into(),
                ))
            })?;
            postings.push(Posting {
                account: Wallets::account(app_id, &Wallets::holder(app_id, to_user)),
                coin: coin.id.clone(),
                direction: Direction::Credit,
                amount: *amount,
            });
        }
        postings.push(Posting {
            account: Wallets::account(app_id, &from),
            coin: coin.id.clone(),
            direction: Direction::Debit,
            amount: total,
        });
        let entry = JournalEntry::new(postings)?;
        let now_secs = now_unix_ms.div_euclid(1000);
        let record_id = self.ids.next(now_unix_ms);
        let batch = UserBatchTransfer {
            record_id: record_id.clone(),
            app_id: app_id.clone(),
            order_id: request.order_id.to_owned(),
            from_user: request.from_user.to_owned(),
            coin_id: coin.id.clone(),
            remark: request.remark.to_owned(),
            created_at: now_secs,
            legs: legs
                .iter()
                .map(|(to_user, amount)| UserTransfer {
                    record_id: self.ids.next(now_unix_ms),
                    app_id: app_id.clone(),
                    order_id: request.order_id.to_owned(),
                    batch_record_id: Some(record_id.clone()),
                    from_user: request.from_user.to_owned(),
                    to_user: (*to_user).clone(),
                    coin_id: coin.id.clone(),
                    amount: *amount,
                    remark: request.remark.to_owned(),
                    created_at: now_secs,
                })
                .collect(),
        };
        let meta = EntryMeta {
            kind: TRANSFER_KIND,
            reason: format!("userBatchTransfer {}", request.order_id),
            created_at: now_secs,
        };
        match self
            .wallet
            .record_batch_transfer(&batch, &entry, &meta)
            .await?
        {
            Recorded::Made(made) => {
                self.ledger.balances_changed(app_id);
                Ok(made)
            }
            Recorded::Existing(done) => same_batch(done, request, &legs),
        }
    }

    /// A page of the merchant's users in user id order, after
    /// `after_user_id`, each with its non-zero balances in registry order.
    pub async fn users(
        &self,
        app_id: &MerchantId,
        after_user_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(WalletUser, Vec<(&Coin, Amount)>)>, EngineError> {
        let users = self
            .wallet
            .wallet_users(app_id, after_user_id, limit)
            .await?;
        let mut listed = Vec::with_capacity(users.len());
        for user in users {
            let mut held = Vec::new();
            for coin in self.registry.coins() {
                let Some(balance) = user.balances.iter().find(|b| b.coin == coin.id) else {
                    continue;
                };
                let available = balance.balance.available().ok_or_else(|| {
                    EngineError::Store(StoreError::Corrupt(format!(
                        "user balance of {} is negative",
                        coin.id
                    )))
                })?;
                if !available.is_zero() {
                    held.push((coin, available));
                }
            }
            listed.push((user, held));
        }
        Ok(listed)
    }

    /// The merchant's transfers as `filter` narrows them.
    pub async fn transfers(
        &self,
        filter: &TransferFilter,
    ) -> Result<Vec<UserTransfer>, EngineError> {
        Ok(self.wallet.user_transfers(filter).await?)
    }

    /// The merchant's batch transfers as `filter` narrows them.
    pub async fn batch_transfers(
        &self,
        filter: &TransferFilter,
    ) -> Result<Vec<UserBatchTransfer>, EngineError> {
        Ok(self.wallet.user_batch_transfers(filter).await?)
    }
}

/// A repeated `userTransfer`: the first one's record if it asked the same,
/// else the order id is taken (11011).
fn same_transfer(
    done: UserTransfer,
    request: &TransferRequest<'_>,
    amount: Amount,
) -> Result<UserTransfer, EngineError> {
    if done.from_user == request.from_user
        && done.to_user == request.to_user
        && done.coin_id == request.coin.id
        && done.amount == amount
        && done.remark == request.remark
    {
        Ok(done)
    } else {
        Err(Rejection::DuplicateMerchantOrderId(request.order_id.to_owned()).into())
    }
}

/// [`same_transfer`] for a batch.
fn same_batch(
    done: UserBatchTransfer,
    request: &BatchRequest<'_>,
    legs: &[(&String, Amount)],
) -> Result<UserBatchTransfer, EngineError> {
    let same_legs = done.legs.len() == legs.len()
        && done
            .legs
            .iter()
            .zip(legs)
            .all(|(leg, (to_user, amount))| leg.to_user == **to_user && leg.amount == *amount);
    if same_legs
        && done.from_user == request.from_user
        && done.coin_id == request.coin.id
        && done.remark == request.remark
    {
        Ok(done)
    } else {
        Err(Rejection::DuplicateMerchantOrderId(request.order_id.to_owned()).into())
    }
}
