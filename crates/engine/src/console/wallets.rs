//! The dashboard's pages of a merchant's v2 wallet system (issue #19 item 6,
//! decisions §30): its wallet users with their balances, one user's
//! deposits, transfers, swaps and withdrawals, the merchant's swaps, and its batch
//! withdrawals. Each method finds the merchant as the viewer may see it
//! first, so another merchant's user gets "not found" here, never a page.

use ccgate_ledger::{Amount, Coin, MerchantId};
use ccgate_store::{
    DepositRecord, DepositRecordFilter, MerchantSummary, Swap, SwapOwner, SwapQuery,
    TransferFilter, UserTransfer, WalletUser, Withdrawal, WithdrawalQuery,
};

use super::{Console, ConsoleRefusal, Viewer, refused};
use crate::batch_withdrawals::{BatchView, BatchWithdrawals};
use crate::swaps::Swaps;
use crate::wallets::Wallets;
use crate::{EngineError, Rejection};

/// Wallet users on one page of the users list.
pub const WALLET_USERS_PER_PAGE: u32 = 50;
/// Records (deposits, transfers, swaps, withdrawals, batches) on one page of
/// a list.
pub const RECORDS_PER_PAGE: u32 = 20;

/// A page of a merchant's wallet users.
#[derive(Debug)]
pub struct WalletUsersPage<'r> {
    pub merchant: MerchantSummary,
    /// Each with its non-zero balances, in registry order.
    pub users: Vec<(WalletUser, Vec<(&'r Coin, Amount)>)>,
    /// The next page starts after this user id; `None` on the last page.
    pub next_after: Option<String>,
}

/// Where each list of a user's page starts: the newest records when `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPageCursors {
    /// Deposits older than this record id.
    pub deposits_before: Option<String>,
    /// Transfers older than this record id.
    pub transfers_before: Option<String>,
    /// Swaps after this one (its `created_at` and record id).
    pub swaps_after: Option<(i64, String)>,
    /// Withdrawals after this one (its `created_at` and record id).
    pub withdrawals_after: Option<(i64, String)>,
}

/// One wallet user: balances and a page of each of its records.
#[derive(Debug)]
pub struct WalletUserPage<'r> {
    pub merchant: MerchantSummary,
    pub user_id: String,
    /// Every coin with a non-zero balance, in registry order.
    pub balances: Vec<(&'r Coin, Amount)>,
    /// Newest first.
    pub deposits: Vec<DepositRecord>,
    /// Sent and received, newest first.
    pub transfers: Vec<UserTransfer>,
    /// Newest first.
    pub swaps: Vec<Swap>,
    /// Its withdrawals (decisions §28), on the chain or to a Cwallet id,
    /// newest first: the records `getUserWithdrawRecordList` reads.
    pub withdrawals: Vec<Withdrawal>,
    /// Where each list's next page starts, when there is one.
    pub next: UserPageCursors,
}

/// Whose swaps the swaps page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapsOf {
    Merchant,
    Users,
}

/// A page of a merchant's swaps, newest first.
#[derive(Debug)]
pub struct SwapsPage {
    pub merchant: MerchantSummary,
    pub swaps: Vec<Swap>,
    /// The next page starts after this swap.
    pub next_after: Option<(i64, String)>,
}

/// A page of a merchant's batch withdrawals, newest first.
#[derive(Debug)]
pub struct BatchesPage<'r> {
    pub merchant: MerchantSummary,
    pub batches: Vec<BatchView<'r>>,
    /// The next page starts after this batch (`created_at`, batch order id).
    pub next_after: Option<(i64, String)>,
}

/// The cursor after the last of a full page: `None` when the page is short.
fn next_of<T, C>(page: &[T], limit: u32, cursor: impl Fn(&T) -> C) -> Option<C> {
    if page.len() < limit as usize {
        return None;
    }
    page.last().map(cursor)
}

/// An engine refusal that names something missing, as the dashboard's "not
/// found" (a user or batch another merchant may have under that name too).
fn missing_as_not_found(error: EngineError) -> EngineError {
    match error {
        EngineError::Rejected(
            Rejection::UserNotFound(_) | Rejection::BatchWithdrawalNotFound(_),
        ) => refused(ConsoleRefusal::NotFound),
        other => other,
    }
}

impl Console {
    /// A page of the merchant's wallet users after `after_user_id`.
    pub async fn wallet_users<'r>(
        &self,
        viewer: &Viewer,
        app_id: &str,
        wallets: &'r Wallets,
        after_user_id: Option<&str>,
    ) -> Result<WalletUsersPage<'r>, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let users = wallets
            .users(&merchant.app_id, after_user_id, WALLET_USERS_PER_PAGE)
            .await?;
        let next_after = next_of(&users, WALLET_USERS_PER_PAGE, |(user, _)| {
            user.user_id.clone()
        });
        Ok(WalletUsersPage {
            merchant,
            users,
            next_after,
        })
    }

    /// One of the merchant's wallet users, with a page of its deposits,
    /// transfers (sent or received), swaps and withdrawals, each from its
    /// cursor.
    pub async fn wallet_user<'r>(
        &self,
        viewer: &Viewer,
        app_id: &str,
        user_id: &str,
        (wallets, swaps): (&'r Wallets, &Swaps),
        cursors: &UserPageCursors,
    ) -> Result<WalletUserPage<'r>, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let app_id = &merchant.app_id;
        if user_id == app_id.as_str() {
            // The App ID names the merchant's own balance (decisions §24),
            // which is its overview, not a user.
            return Err(refused(ConsoleRefusal::NotFound));
        }
        let balances = wallets
            .balances(app_id, user_id, None)
            .await
            .map_err(missing_as_not_found)?;
        let mut deposit_filter = DepositRecordFilter::of_merchant(app_id);
        deposit_filter.user_id = Some(user_id.to_owned());
        deposit_filter.before_record_id = cursors.deposits_before.clone();
        deposit_filter.limit = RECORDS_PER_PAGE;
        let deposits = wallets
            .deposits(&deposit_filter)
            .await
            .map_err(missing_as_not_found)?;
        let transfers = self
            .user_transfers(wallets, app_id, user_id, cursors.transfers_before.clone())
            .await?;
        let user_swaps = swaps
            .list(
                app_id,
                &SwapQuery {
                    after: cursors.swaps_after.clone(),
                    limit: RECORDS_PER_PAGE,
                    owner: SwapOwner::Users(Some(user_id.to_owned())),
                    ..SwapQuery::default()
                },
            )
            .await?;
        let withdrawals = wallets
            .withdrawals(
                app_id,
                user_id,
                &WithdrawalQuery {
                    after: cursors.withdrawals_after.clone(),
                    limit: RECORDS_PER_PAGE,
                    ..WithdrawalQuery::default()
                },
            )
            .await?;
        let next = UserPageCursors {
            deposits_before: next_of(&deposits, RECORDS_PER_PAGE, |d| d.record_id.clone()),
            transfers_before: next_of(&transfers, RECORDS_PER_PAGE, |t| t.record_id.clone()),
            swaps_after: next_of(&user_swaps, RECORDS_PER_PAGE, |s| {
                (s.created_at, s.record_id.clone())
            }),
            withdrawals_after: next_of(&withdrawals, RECORDS_PER_PAGE, |w| {
                (w.created_at, w.record_id.clone())
            }),
        };
        Ok(WalletUserPage {
            merchant,
            user_id: user_id.to_owned(),
            balances,
            deposits,
            transfers,
            swaps: user_swaps,
            withdrawals,
            next,
        })
    }

    /// The user's transfers, sent or received, newest first, older than
    /// `before`: the newest page of each direction, merged.
    async fn user_transfers(
        &self,
        wallets: &Wallets,
        app_id: &MerchantId,
        user_id: &str,
        before: Option<String>,
    ) -> Result<Vec<UserTransfer>, EngineError> {
        let mut filter = TransferFilter::of_merchant(app_id);
        filter.after_record_id = before;
        filter.limit = RECORDS_PER_PAGE;
        let sent = wallets
            .transfers(&TransferFilter {
                from_user: Some(user_id.to_owned()),
                ..filter.clone()
            })
            .await?;
        let received = wallets
            .transfers(&TransferFilter {
                to_user: Some(user_id.to_owned()),
                ..filter
            })
            .await?;
        // Record ids grow with time, so the newest of the union are the
        // newest of each list.
        let mut transfers: Vec<UserTransfer> = sent.into_iter().chain(received).collect();
        transfers.sort_by(|a, b| b.record_id.cmp(&a.record_id));
        transfers.dedup_by(|a, b| a.record_id == b.record_id);
        transfers.truncate(RECORDS_PER_PAGE as usize);
        Ok(transfers)
    }

    /// A page of the merchant's own swaps, or of its users' swaps.
    pub async fn swaps(
        &self,
        viewer: &Viewer,
        app_id: &str,
        swaps: &Swaps,
        of: SwapsOf,
        after: Option<(i64, String)>,
    ) -> Result<SwapsPage, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let owner = match of {
            SwapsOf::Merchant => SwapOwner::Merchant,
            SwapsOf::Users => SwapOwner::Users(None),
        };
        let found = swaps
            .list(
                &merchant.app_id,
                &SwapQuery {
                    after,
                    limit: RECORDS_PER_PAGE,
                    owner,
                    ..SwapQuery::default()
                },
            )
            .await?;
        let next_after = next_of(&found, RECORDS_PER_PAGE, |s| {
            (s.created_at, s.record_id.clone())
        });
        Ok(SwapsPage {
            merchant,
            swaps: found,
            next_after,
        })
    }

    /// A page of the merchant's batch withdrawals, each with its status.
    pub async fn batch_withdrawals<'r>(
        &self,
        viewer: &Viewer,
        app_id: &str,
        batches: &'r BatchWithdrawals,
        after: Option<(i64, &str)>,
        now_unix_ms: i64,
    ) -> Result<BatchesPage<'r>, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let found = batches
            .list(&merchant.app_id, after, RECORDS_PER_PAGE, now_unix_ms)
            .await?;
        let next_after = next_of(&found, RECORDS_PER_PAGE, |view| {
            (view.batch.created_at, view.batch.batch_order_id.clone())
        });
        Ok(BatchesPage {
            merchant,
            batches: found,
            next_after,
        })
    }

    /// One of the merchant's batch withdrawals with its tasks.
    pub async fn batch_withdrawal<'r>(
        &self,
        viewer: &Viewer,
        app_id: &str,
        batch_order_id: &str,
        batches: &'r BatchWithdrawals,
        now_unix_ms: i64,
    ) -> Result<(MerchantSummary, BatchView<'r>), EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let view = batches
            .view(&merchant.app_id, batch_order_id, now_unix_ms)
            .await
            .map_err(missing_as_not_found)?;
        Ok((merchant, view))
    }
}
