//! The dashboard's use cases (decisions §23): its users and their passwords
//! (Argon2id), logins throttled per e-mail and per client address,
//! server-side sessions with an idle and an absolute lifetime, CSRF tokens,
//! the audit log, and what each user may see and do. Every method that shows
//! or changes a merchant's data takes the [`Viewer`] and refuses another
//! merchant's user here, so no page decides authorisation by itself.

mod figures;
mod invoices;
mod merchant_pages;
mod second_factor;

use std::sync::{Arc, OnceLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use ccgate_ledger::{Amount, Coin, MerchantId};
use ccgate_store::{
    AuditEntry, ConsoleRole, ConsoleSession, ConsoleStore, ConsoleUser, DashboardStore,
    DepositRecord, DepositRecordFilter, JournalLine, ListingFilter, Listings, MerchantSettings,
    MerchantSettingsStore, MerchantStatus, MerchantSummary, Order, OrderStateCounts, OutboxStore,
    ReconcileStore, ResendFilter, SandboxStore, Store, StoreError, WebhookAttempt, WebhookRow,
    Withdrawal, WithdrawalStore, generate_app_id, generate_app_secret,
};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

mod operations;
mod sandbox;
mod users;
mod wallets;

pub use operations::{ChainStatus, ChainsStatus, Incident, OPEN_WITHDRAWALS_READ, OperatorAccount};
pub use sandbox::{DEMO_EMAIL, SandboxPage, TriggerAsk};
pub use users::{fee_percent_text, fee_ppm_of_percent};
pub use wallets::{
    BatchesPage, RECORDS_PER_PAGE, SwapsOf, SwapsPage, UserPageCursors, WALLET_USERS_PER_PAGE,
    WalletUserPage, WalletUsersPage,
};

use crate::merchants::{Merchants, canonical_allowlist};
use crate::orders::{OrderState, OrderStatus, Orders};
use crate::records::Records;
use crate::webhooks::{PingOutcome, WebhookSender};
use crate::{EngineError, Rejection};

pub use figures::{CHART_DAYS, DailySeries, Figures, Holdings, USD_PLACES, Valued, usd_value};
pub use invoices::{INVOICES_PER_PAGE, InvoiceView, InvoicesPage, NewInvoice};
pub use merchant_pages::{
    AddressesPage, CONSOLE_ORDER_PREFIX, OrderPage, OrderQuery, PaymentSeen, WithdrawalDraft,
    WithdrawalQuote, WithdrawalsPage, console_order_id,
};
pub use second_factor::{Enrolment, SecondFactor, TOTP_STEP_SECS};

/// The console's lifetimes and throttle (decisions §23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// A session unused this long ends.
    pub idle_ms: i64,
    /// A session this old ends, however busy.
    pub absolute_ms: i64,
    /// Failed logins of one e-mail, within the window, that stop its logins.
    pub failures_per_email: u64,
    /// Failed logins from one address, within the window, that stop its logins.
    pub failures_per_ip: u64,
    pub failure_window_ms: i64,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            idle_ms: 30 * 60 * 1000,
            absolute_ms: 12 * 60 * 60 * 1000,
            failures_per_email: 5,
            failures_per_ip: 20,
            failure_window_ms: 15 * 60 * 1000,
        }
    }
}

/// Expired sessions, and failed logins, one purge deletes at most: a
/// backlog goes in short write transactions that never hold SQLite's one
/// writer for long.
pub const PURGE_BATCH: u32 = 1_000;

/// Shortest password accepted.
pub const PASSWORD_CHARS_MIN: usize = 12;
/// Longest password accepted: Argon2 hashes any length, and a megabyte
/// password would cost the server, not the guesser.
const PASSWORD_BYTES_MAX: usize = 1024;
const EMAIL_CHARS_MAX: usize = 254;

/// What the dashboard refuses, each shown to the user as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsoleRefusal {
    /// Nothing by that name that this user may see: another merchant's
    /// things are "not found" too, so a user learns nothing of them.
    #[error("not found")]
    NotFound,
    /// A page or action for operators only.
    #[error("only operators may do this")]
    OperatorsOnly,
    #[error("{0}")]
    Invalid(String),
    #[error("a user with the e-mail {0} already exists")]
    UserExists(String),
    /// The second factor is missing, or its code wrong or used (§31).
    #[error("{0}")]
    SecondFactor(String),
}

/// Who acts: a logged-in user, or the operator at the server's shell.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    User(&'a Viewer),
    Cli,
}

/// When and from where a request came: every audit row says it.
#[derive(Debug, Clone, Copy)]
pub struct Visit<'a> {
    pub ip: &'a str,
    pub now_ms: i64,
}

/// The user of a live session, as each request finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: i64,
    pub email: String,
    pub role: ConsoleRole,
    /// What every form of this session must send back.
    pub csrf_token: String,
    session_hash: String,
}

impl Viewer {
    pub fn is_operator(&self) -> bool {
        self.role == ConsoleRole::Operator
    }

    /// Whether `token` is this session's CSRF token, compared in constant time.
    pub fn csrf_matches(&self, token: &str) -> bool {
        bool::from(self.csrf_token.as_bytes().ct_eq(token.as_bytes()))
    }
}

/// How a login went.
#[derive(Debug)]
pub enum Login {
    /// A new session: `token` goes in the cookie, and nowhere else.
    Started { token: SecretString, viewer: Viewer },
    /// Unknown e-mail or wrong password: the same answer for both.
    Refused,
    /// Too many failures lately, of this e-mail or from this address.
    Throttled,
}

/// The stores the console reads and writes.
#[derive(Debug, Clone)]
pub struct ConsoleStores {
    pub console: Arc<dyn ConsoleStore>,
    /// The ledger store: merchants' names, status, secrets and creation.
    pub ledger: Arc<dyn Store>,
    pub settings: Arc<dyn MerchantSettingsStore>,
    pub outbox: Arc<dyn OutboxStore>,
    pub listings: Arc<dyn Listings>,
    /// Chain withdrawals waiting for their chain (the operator's chain status).
    pub withdrawals: Arc<dyn WithdrawalStore>,
    /// Reorgs that touched credited deposits (the operator's incidents).
    pub incidents: Arc<dyn SandboxStore>,
    /// Reconciliation shortfalls (the operator's incidents).
    pub reconciliations: Arc<dyn ReconcileStore>,
    /// Second factors, order searches, journals (decisions §31).
    pub dashboard: Arc<dyn DashboardStore>,
}

#[derive(Debug)]
pub struct Console {
    store: Arc<dyn ConsoleStore>,
    ledger: Arc<dyn Store>,
    settings: Arc<dyn MerchantSettingsStore>,
    outbox: Arc<dyn OutboxStore>,
    listings: Arc<dyn Listings>,
    withdrawals: Arc<dyn WithdrawalStore>,
    incidents: Arc<dyn SandboxStore>,
    reconciliations: Arc<dyn ReconcileStore>,
    dashboard: Arc<dyn DashboardStore>,
    /// Balances, as the API's balance endpoints answer them.
    merchants: Arc<Merchants>,
    config: ConsoleConfig,
}

/// A merchant's overview: what it is and what it holds.
#[derive(Debug)]
pub struct Overview<'r> {
    pub merchant: MerchantSummary,
    /// Available balance per coin held, in registry order.
    pub balances: Vec<(&'r Coin, Amount)>,
    /// Every one of its orders, counted by the state the API reports for
    /// it (decisions §36), in the order an order moves through them.
    pub order_states: [(OrderStatus, u64); 4],
    /// Its users (operators see them, to add one).
    pub users: Vec<ConsoleUser>,
    /// Its service fee in force, parts per million of each deposit.
    pub service_fee_ppm: u32,
}

/// A merchant's developer settings and its latest webhooks.
#[derive(Debug)]
pub struct Developers {
    pub merchant: MerchantSummary,
    pub settings: MerchantSettings,
    /// Where its API calls may come from: canonical entries separated by
    /// spaces; empty admits any (decisions §23).
    pub api_allowlist: String,
    /// Newest first.
    pub webhooks: Vec<WebhookRow>,
}

/// Webhooks shown on the developers page.
const WEBHOOKS_SHOWN: u32 = 50;

/// Orders on one page of the orders list.
pub const ORDERS_PER_PAGE: usize = 50;

/// A page of a merchant's orders, newest first, each with its state.
#[derive(Debug)]
pub struct OrdersPage {
    pub merchant: MerchantSummary,
    pub orders: Vec<(Order, OrderState)>,
    /// Where the next (older) page starts: after this order (its creation
    /// and order id); `None` when no order is older.
    pub older: Option<(i64, String)>,
}

/// Rows of one CSV export at most: a wider range is refused, never cut
/// short or read without bound (decisions §23).
pub const EXPORT_ROWS_MAX: usize = 10_000;

/// What an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Orders,
    Deposits,
    Withdrawals,
    /// The postings of the merchant's accounts (decisions §31).
    Journal,
}

impl ExportKind {
    pub const ALL: [ExportKind; 4] = [
        ExportKind::Orders,
        ExportKind::Deposits,
        ExportKind::Withdrawals,
        ExportKind::Journal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Orders => "orders",
            ExportKind::Deposits => "deposits",
            ExportKind::Withdrawals => "withdrawals",
            ExportKind::Journal => "journal",
        }
    }
}

/// What to export: `kind` rows in `[since, until)` (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportRange {
    pub kind: ExportKind,
    pub since: i64,
    pub until: i64,
}

/// The rows of an export, oldest first.
#[derive(Debug)]
pub enum ExportRows {
    /// Each with its state as of the export (business time).
    Orders(Vec<(Order, OrderState)>),
    Deposits(Vec<DepositRecord>),
    Withdrawals(Vec<Withdrawal>),
    /// Oldest entry first, each entry's postings in order.
    Journal(Vec<JournalLine>),
}

impl Console {
    pub fn new(stores: ConsoleStores, merchants: Arc<Merchants>, config: ConsoleConfig) -> Console {
        Console {
            store: stores.console,
            ledger: stores.ledger,
            settings: stores.settings,
            outbox: stores.outbox,
            listings: stores.listings,
            withdrawals: stores.withdrawals,
            incidents: stores.incidents,
            reconciliations: stores.reconciliations,
            dashboard: stores.dashboard,
            merchants,
            config,
        }
    }

    /// The merchant `app_id` names, if the viewer may see it: an operator
    /// any, a merchant user its own. Anything else is "not found", so a
    /// user learns nothing of other merchants.
    pub async fn merchant(
        &self,
        viewer: &Viewer,
        app_id: &str,
    ) -> Result<MerchantSummary, EngineError> {
        if let ConsoleRole::Merchant(own) = &viewer.role
            && own.as_str() != app_id
        {
            return Err(refused(ConsoleRefusal::NotFound));
        }
        self.ledger
            .merchant(&MerchantId::new(app_id))
            .await?
            .ok_or_else(|| refused(ConsoleRefusal::NotFound))
    }

    /// The merchant's balances, how its orders stand (as of `now_ms`,
    /// business time) and its users.
    pub async fn overview(
        &self,
        viewer: &Viewer,
        app_id: &str,
        now_ms: i64,
    ) -> Result<Overview<'_>, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let balances = self
            .merchants
            .available_balances(&merchant.app_id, None)
            .await?;
        let OrderStateCounts {
            pending,
            processing,
            successful,
            expired,
        } = self
            .dashboard
            .order_state_counts(&merchant.app_id, now_ms.div_euclid(1000))
            .await?;
        let order_states = [
            (OrderStatus::Pending, pending),
            (OrderStatus::Processing, processing),
            (OrderStatus::Successful, successful),
            (OrderStatus::Expired, expired),
        ];
        let users = self.store.console_users(Some(&merchant.app_id)).await?;
        let service_fee_ppm = self.settings_of(&merchant.app_id).await?.service_fee_ppm;
        Ok(Overview {
            merchant,
            balances,
            order_states,
            users,
            service_fee_ppm,
        })
    }

    pub async fn developers(
        &self,
        viewer: &Viewer,
        app_id: &str,
    ) -> Result<Developers, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let settings = self.settings_of(&merchant.app_id).await?;
        let api_allowlist = self
            .ledger
            .merchant_credentials(merchant.app_id.as_str())
            .await?
            .map(|credentials| credentials.api_allowlist.clone())
            .unwrap_or_default();
        let webhooks = self
            .outbox
            .list_webhooks(Some(&merchant.app_id), WEBHOOKS_SHOWN)
            .await?;
        Ok(Developers {
            merchant,
            settings,
            api_allowlist,
            webhooks,
        })
    }

    /// The merchant's `kind` rows made (orders, withdrawals) or credited
    /// (deposits) in the range, oldest first; refused
    /// when more than [`EXPORT_ROWS_MAX`].
    pub async fn export(
        &self,
        viewer: &Viewer,
        app_id: &str,
        ExportRange { kind, since, until }: ExportRange,
        orders: &Orders,
        records: &Records,
        now_ms: i64,
    ) -> Result<(MerchantSummary, ExportRows), EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        if until <= since {
            return Err(refused(ConsoleRefusal::Invalid(
                "the range ends before it starts".to_owned(),
            )));
        }
        // One more than allowed, to tell "exactly the limit" from "more".
        let limit = u32::try_from(EXPORT_ROWS_MAX + 1).unwrap_or(u32::MAX);
        let listing = ListingFilter {
            app_id: Some(merchant.app_id.clone()),
            since: Some(since),
            until: Some(until),
            limit,
        };
        let too_many = |len: usize| -> Result<(), EngineError> {
            if len > EXPORT_ROWS_MAX {
                Err(refused(ConsoleRefusal::Invalid(format!(
                    "more than {EXPORT_ROWS_MAX} rows: narrow the date range"
                ))))
            } else {
                Ok(())
            }
        };
        let rows = match kind {
            ExportKind::Orders => {
                let mut found = self.listings.list_orders(&listing).await?;
                too_many(found.len())?;
                found.reverse();
                let mut rows = Vec::with_capacity(found.len());
                for order in found {
                    let state = orders.progress(&order, now_ms.div_euclid(1000)).await?;
                    rows.push((order, state));
                }
                ExportRows::Orders(rows)
            }
            ExportKind::Deposits => {
                let mut filter = DepositRecordFilter::of_merchant(&merchant.app_id);
                filter.since = Some(since);
                filter.until = Some(until);
                filter.limit = limit;
                let mut found = records.deposits(&filter).await?;
                too_many(found.len())?;
                found.reverse();
                ExportRows::Deposits(found)
            }
            ExportKind::Withdrawals => {
                let mut found = self.listings.list_withdrawals(&listing, None).await?;
                too_many(found.len())?;
                found.reverse();
                ExportRows::Withdrawals(found)
            }
            ExportKind::Journal => {
                let found = self
                    .dashboard
                    .merchant_journal(&merchant.app_id, since, until, limit)
                    .await?;
                too_many(found.len())?;
                ExportRows::Journal(found)
            }
        };
        Ok((merchant, rows))
    }

    async fn settings_of(&self, app_id: &MerchantId) -> Result<MerchantSettings, EngineError> {
        self.settings
            .merchant_settings(app_id)
            .await?
            .ok_or_else(|| refused(ConsoleRefusal::NotFound))
    }

    /// Where the merchant's webhooks go; its other webhook settings stay.
    pub async fn set_webhook_url(
        &self,
        viewer: &Viewer,
        app_id: &str,
        url: &str,
        visit: Visit<'_>,
    ) -> Result<(), EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let url = url.trim();
        let url = if url.is_empty() {
            None
        } else {
            ccgate_api::request::check_merchant_url("webhook URL", url)
                .map_err(|err| refused(ConsoleRefusal::Invalid(err.to_string())))?;
            Some(url)
        };
        let settings = self.settings_of(&merchant.app_id).await?;
        let detail = url.map_or("removed".to_owned(), str::to_owned);
        let audit = merchant_audit(viewer, &merchant, "webhook URL set", detail, visit);
        Ok(self
            .settings
            .set_merchant_webhook(
                &merchant.app_id,
                url,
                settings.notify_pending,
                settings.webhook_dialect,
                Some(&audit),
            )
            .await?)
    }

    /// The client addresses the merchant's API calls may come from (IPs
    /// and CIDR ranges; empty: any), stored in canonical form.
    pub async fn set_api_allowlist(
        &self,
        viewer: &Viewer,
        app_id: &str,
        text: &str,
        visit: Visit<'_>,
    ) -> Result<(), EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let allowlist = canonical_allowlist(text).map_err(|entry| {
            refused(ConsoleRefusal::Invalid(format!(
                "{entry:?} is not an IP address or a CIDR range (like 203.0.113.0/24)"
            )))
        })?;
        let detail = if allowlist.is_empty() {
            "any address".to_owned()
        } else {
            allowlist.clone()
        };
        let audit = merchant_audit(viewer, &merchant, "API allowlist set", detail, visit);
        Ok(self
            .ledger
            .set_api_allowlist(
                &merchant.app_id,
                &allowlist,
                visit.now_ms.div_euclid(1000),
                Some(&audit),
            )
            .await?)
    }

    /// Disables or re-enables a merchant (operators only): a disabled
    /// merchant's API calls are refused.
    pub async fn set_merchant_status(
        &self,
        viewer: &Viewer,
        app_id: &str,
        status: MerchantStatus,
        visit: Visit<'_>,
    ) -> Result<(), EngineError> {
        operator_only(viewer)?;
        let merchant = self.merchant(viewer, app_id).await?;
        let action = match status {
            MerchantStatus::Active => "merchant enabled",
            MerchantStatus::Disabled => "merchant disabled",
        };
        let audit = merchant_audit(viewer, &merchant, action, String::new(), visit);
        Ok(self
            .ledger
            .set_merchant_status(
                &merchant.app_id,
                status,
                visit.now_ms.div_euclid(1000),
                Some(&audit),
            )
            .await?)
    }

    /// A signed test webhook to the merchant's URL now, through `sender`
    /// (delivery's own client and address policy); the receiver's answer.
    /// It changes nothing stored, so its audit row records the attempt and
    /// is written before the POST (decisions §36): an attempt is never
    /// made unrecorded.
    pub async fn send_test_webhook(
        &self,
        viewer: &Viewer,
        app_id: &str,
        sender: &WebhookSender,
        visit: Visit<'_>,
    ) -> Result<PingOutcome, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let settings = self.settings_of(&merchant.app_id).await?;
        let Some(url) = settings.webhook_url else {
            return Err(refused(ConsoleRefusal::Invalid(
                "set a webhook URL first".to_owned(),
            )));
        };
        let detail = format!("to {url}");
        self.audit(viewer, &merchant.app_id, "test webhook sent", detail, visit)
            .await?;
        Ok(sender
            .ping(&merchant.app_id, visit.now_ms.div_euclid(1000))
            .await)
    }

    /// One of the merchant's webhooks and every attempt to deliver it.
    pub async fn webhook(
        &self,
        viewer: &Viewer,
        app_id: &str,
        id: i64,
    ) -> Result<(WebhookRow, Vec<WebhookAttempt>), EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        match self.outbox.webhook_with_attempts(id).await? {
            Some((row, attempts)) if row.app_id == merchant.app_id => Ok((row, attempts)),
            _ => Err(refused(ConsoleRefusal::NotFound)),
        }
    }

    /// Queues one of the merchant's webhooks for another attempt now.
    pub async fn resend_webhook(
        &self,
        viewer: &Viewer,
        app_id: &str,
        id: i64,
        visit: Visit<'_>,
    ) -> Result<(), EngineError> {
        let (row, _) = self.webhook(viewer, app_id, id).await?;
        let record_ids = [row.record_id.clone()];
        let filter = ResendFilter {
            from_ms: row.created_at_ms,
            to_ms: row.created_at_ms,
            all_results: true,
            order_type: Some(&row.order_type),
            record_ids: &record_ids,
        };
        let detail = format!("webhook {id} ({} {})", row.order_type, row.record_id);
        let audit = audit_row(
            Actor::User(viewer),
            Some(&row.app_id),
            "webhook resent",
            detail,
            visit,
        );
        self.outbox
            .resend_webhooks(&row.app_id, &filter, visit.now_ms, Some(&audit))
            .await?;
        Ok(())
    }

    /// A new app secret for the merchant, returned once; the old one stops
    /// working within the server's credential cache lifetime.
    pub async fn rotate_secret(
        &self,
        viewer: &Viewer,
        app_id: &str,
        visit: Visit<'_>,
    ) -> Result<SecretString, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let secret = generate_app_secret();
        let audit = merchant_audit(viewer, &merchant, "secret rotated", String::new(), visit);
        self.ledger
            .replace_secret(
                &merchant.app_id,
                &secret,
                visit.now_ms.div_euclid(1000),
                Some(&audit),
            )
            .await?;
        Ok(secret)
    }

    /// A new merchant (operators only); its Appid and app secret, shown once.
    pub async fn create_merchant(
        &self,
        viewer: &Viewer,
        name: &str,
        visit: Visit<'_>,
    ) -> Result<(MerchantId, SecretString), EngineError> {
        operator_only(viewer)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(refused(ConsoleRefusal::Invalid(
                "a merchant's name has from 1 to 100 characters".to_owned(),
            )));
        }
        let now_secs = visit.now_ms.div_euclid(1000);
        let app_id = MerchantId::new(generate_app_id(now_secs));
        let secret = generate_app_secret();
        let audit = audit_row(
            Actor::User(viewer),
            Some(&app_id),
            "merchant created",
            name.to_owned(),
            visit,
        );
        match self
            .ledger
            .create_merchant(&app_id, &secret, name, now_secs, Some(&audit))
            .await
        {
            Err(StoreError::MerchantNameTaken(name)) => {
                return Err(refused(ConsoleRefusal::Invalid(format!(
                    "a merchant named {name:?} already exists"
                ))));
            }
            other => other?,
        }
        Ok((app_id, secret))
    }

    async fn audit(
        &self,
        viewer: &Viewer,
        app_id: &MerchantId,
        action: &str,
        detail: String,
        visit: Visit<'_>,
    ) -> Result<(), EngineError> {
        let row = audit_row(Actor::User(viewer), Some(app_id), action, detail, visit);
        Ok(self.store.append_audit(&row).await?)
    }

    /// A new user with `password`. An operator creates any user; the CLI
    /// too (the first operator is made there); nobody else may.
    pub async fn create_user(
        &self,
        actor: Actor<'_>,
        email: &str,
        password: &SecretString,
        role: ConsoleRole,
        visit: Visit<'_>,
    ) -> Result<i64, EngineError> {
        if let Actor::User(viewer) = actor {
            operator_only(viewer)?;
        }
        let email = normalised_email(email)?;
        check_password(password)?;
        if let ConsoleRole::Merchant(app_id) = &role
            && self.ledger.merchant(app_id).await?.is_none()
        {
            return Err(refused(ConsoleRefusal::Invalid(format!(
                "no merchant has the Appid {app_id}"
            ))));
        }
        let hash = hash_password(password.clone()).await?;
        let detail = match &role {
            ConsoleRole::Operator => format!("operator {email}"),
            ConsoleRole::Merchant(app_id) => format!("merchant user {email} of {app_id}"),
        };
        let audit = audit_row(actor, role.merchant(), "user created", detail, visit);
        match self
            .store
            .create_console_user(&email, &hash, &role, visit.now_ms, &audit)
            .await
        {
            Err(StoreError::ConsoleUserExists(email)) => {
                Err(refused(ConsoleRefusal::UserExists(email)))
            }
            other => Ok(other?),
        }
    }

    /// Checks the password of `email` and, if it matches and neither the
    /// e-mail nor the address is throttled, starts a new session, ending
    /// the one the request came with (`replaced_token`): a session id is
    /// never carried across a login.
    pub async fn login(
        &self,
        email: &str,
        password: SecretString,
        replaced_token: Option<&str>,
        visit: Visit<'_>,
    ) -> Result<Login, EngineError> {
        let email = email.trim().to_lowercase();
        let since = visit.now_ms.saturating_sub(self.config.failure_window_ms);
        let (of_email, from_ip) = self
            .store
            .login_failures_since(&email, visit.ip, since)
            .await?;
        if of_email >= self.config.failures_per_email || from_ip >= self.config.failures_per_ip {
            return Ok(Login::Throttled);
        }
        let user = self.store.console_user_by_email(&email).await?;
        let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
        if !verify_password(password, stored_hash).await? {
            let audit = AuditEntry {
                id: 0,
                at_ms: visit.now_ms,
                user_id: user.as_ref().map(|u| u.id),
                actor: email.chars().take(EMAIL_CHARS_MAX).collect(),
                app_id: user.as_ref().and_then(|u| u.role.merchant().cloned()),
                action: "login refused".to_owned(),
                detail: String::new(),
                ip: visit.ip.to_owned(),
            };
            self.store
                .record_login_failure(&email, visit.ip, visit.now_ms, &audit)
                .await?;
            return Ok(Login::Refused);
        }
        let Some(user) = user else {
            // verify_password never matches without a stored hash.
            return Ok(Login::Refused);
        };
        if user.disabled_at_ms.is_some() {
            // The right password of a disabled user: refused as a wrong
            // one is, audited, not counted towards the throttle.
            let audit = audit_row(
                Actor::Cli,
                user.role.merchant(),
                "login refused",
                "the user is disabled".to_owned(),
                visit,
            );
            let audit = AuditEntry {
                user_id: Some(user.id),
                actor: user.email.clone(),
                ..audit
            };
            self.store.append_audit(&audit).await?;
            return Ok(Login::Refused);
        }
        let token = random_token();
        let session = ConsoleSession {
            id_hash: token_hash(&token),
            user_id: user.id,
            csrf_token: random_token(),
            created_at_ms: visit.now_ms,
            last_seen_ms: visit.now_ms,
        };
        let viewer = viewer_of(&user, &session);
        let audit = audit_row(
            Actor::User(&viewer),
            user.role.merchant(),
            "login",
            String::new(),
            visit,
        );
        self.store
            .start_console_session(
                &session,
                replaced_token.map(token_hash).as_deref(),
                &email,
                &audit,
            )
            .await?;
        Ok(Login::Started {
            token: SecretString::from(token),
            viewer,
        })
    }

    /// The user of the session `token` names, if it is alive at `now_ms`
    /// (which then counts as its last use); a session past its idle or
    /// absolute lifetime is deleted.
    pub async fn viewer(&self, token: &str, now_ms: i64) -> Result<Option<Viewer>, EngineError> {
        let id_hash = token_hash(token);
        let Some(session) = self.store.console_session(&id_hash).await? else {
            return Ok(None);
        };
        let idle = now_ms.saturating_sub(session.last_seen_ms) >= self.config.idle_ms;
        let old = now_ms.saturating_sub(session.created_at_ms) >= self.config.absolute_ms;
        if idle || old {
            self.store.end_console_session(&id_hash, None).await?;
            return Ok(None);
        }
        let user = self.store.console_user(session.user_id).await?;
        let Some(user) = user.filter(|user| user.disabled_at_ms.is_none()) else {
            // Disabling deletes a user's sessions; one that raced a login
            // ends here.
            self.store.end_console_session(&id_hash, None).await?;
            return Ok(None);
        };
        self.store.touch_console_session(&id_hash, now_ms).await?;
        Ok(Some(viewer_of(&user, &session)))
    }

    /// Deletes sessions past their idle or absolute lifetime and failed
    /// logins older than the throttle's window as of `now_ms` (real time,
    /// as sessions), at most [`PURGE_BATCH`] of each; how many rows went.
    /// `serve` repeats it while rows go (decisions §36): an expired session
    /// is refused when seen whether or not it was purged, so this only keeps
    /// the tables from growing with every visit that never came back.
    pub async fn purge_expired(&self, now_ms: i64) -> Result<usize, EngineError> {
        let purged = self
            .store
            .purge_console_rows(
                now_ms.saturating_sub(self.config.idle_ms),
                now_ms.saturating_sub(self.config.absolute_ms),
                now_ms.saturating_sub(self.config.failure_window_ms),
                PURGE_BATCH,
            )
            .await?;
        Ok(usize::try_from(purged).unwrap_or(usize::MAX))
    }

    /// Ends the viewer's session.
    pub async fn logout(&self, viewer: &Viewer, visit: Visit<'_>) -> Result<(), EngineError> {
        let audit = audit_row(
            Actor::User(viewer),
            viewer.role.merchant(),
            "logout",
            String::new(),
            visit,
        );
        self.store
            .end_console_session(&viewer.session_hash, Some(&audit))
            .await?;
        Ok(())
    }

    /// The newest `limit` rows of the audit log before `before_id`: for
    /// operators only.
    pub async fn audit_log(
        &self,
        viewer: &Viewer,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, EngineError> {
        operator_only(viewer)?;
        Ok(self.store.audit_log(None, before_id, limit).await?)
    }

    /// The merchants the viewer may see: all of them for an operator, its
    /// own for a merchant user.
    pub async fn merchants(&self, viewer: &Viewer) -> Result<Vec<MerchantSummary>, EngineError> {
        match &viewer.role {
            ConsoleRole::Operator => Ok(self.ledger.list_merchants().await?),
            ConsoleRole::Merchant(app_id) => {
                Ok(self.ledger.merchant(app_id).await?.into_iter().collect())
            }
        }
    }
}

/// An operator passes; anyone else is refused.
fn operator_only(viewer: &Viewer) -> Result<(), EngineError> {
    if viewer.is_operator() {
        Ok(())
    } else {
        Err(refused(ConsoleRefusal::OperatorsOnly))
    }
}

fn refused(refusal: ConsoleRefusal) -> EngineError {
    Rejection::Console(refusal).into()
}

fn viewer_of(user: &ConsoleUser, session: &ConsoleSession) -> Viewer {
    Viewer {
        user_id: user.id,
        email: user.email.clone(),
        role: user.role.clone(),
        csrf_token: session.csrf_token.clone(),
        session_hash: session.id_hash.clone(),
    }
}

/// The audit row of a user's action on `merchant`.
fn merchant_audit(
    viewer: &Viewer,
    merchant: &MerchantSummary,
    action: &str,
    detail: String,
    visit: Visit<'_>,
) -> AuditEntry {
    audit_row(
        Actor::User(viewer),
        Some(&merchant.app_id),
        action,
        detail,
        visit,
    )
}

fn audit_row(
    actor: Actor<'_>,
    app_id: Option<&MerchantId>,
    action: &str,
    detail: String,
    visit: Visit<'_>,
) -> AuditEntry {
    let (user_id, who) = match actor {
        Actor::User(viewer) => (Some(viewer.user_id), viewer.email.clone()),
        Actor::Cli => (None, "ccgate (command line)".to_owned()),
    };
    AuditEntry {
        id: 0,
        at_ms: visit.now_ms,
        user_id,
        actor: who,
        app_id: app_id.cloned(),
        action: action.to_owned(),
        detail,
        ip: visit.ip.to_owned(),
    }
}

/// 32 random bytes, hex: a session token or a CSRF token.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

/// A new password for a user made without one: 24 random characters from
/// an alphabet with no look-alikes.
pub fn generate_password() -> SecretString {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let password: String = (0..24)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    SecretString::from(password)
}

/// What the session table keys a token by: its SHA-256, hex.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `email` has the shape name@domain.tld, no space or control
/// character, and at most 254 bytes (RFC 5321's path limit).
fn well_formed_email(email: &str) -> bool {
    email.len() <= EMAIL_CHARS_MAX
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        })
}

fn normalised_email(email: &str) -> Result<String, EngineError> {
    let email = email.trim().to_lowercase();
    if well_formed_email(&email) {
        Ok(email)
    } else {
        Err(refused(ConsoleRefusal::Invalid(
            "the e-mail must look like name@example.com".to_owned(),
        )))
    }
}

fn check_password(password: &SecretString) -> Result<(), EngineError> {
    let text = password.expose_secret();
    if text.chars().count() < PASSWORD_CHARS_MIN || text.len() > PASSWORD_BYTES_MAX {
        return Err(refused(ConsoleRefusal::Invalid(format!(
            "the password must have from {PASSWORD_CHARS_MIN} characters to {PASSWORD_BYTES_MAX} bytes"
        ))));
    }
    Ok(())
}

/// Argon2id with its default parameters, PHC string form, on the blocking
/// pool (it takes tens of milliseconds of CPU by design).
async fn hash_password(password: SecretString) -> Result<String, EngineError> {
    tokio::task::spawn_blocking(move || {
        let salt_bytes: [u8; 16] = rand::rng().random();
        let salt = SaltString::encode_b64(&salt_bytes).map_err(hash_failed)?;
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(hash_failed)
    })
    .await
    .map_err(|err| hash_failed(err.to_string()))?
}

/// Whether `password` matches `stored`; with no stored hash (an unknown
/// e-mail) it verifies against a fixed one all the same and answers no, so
/// the time taken does not tell which e-mails exist.
async fn verify_password(
    password: SecretString,
    stored: Option<String>,
) -> Result<bool, EngineError> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let text = match stored {
            Some(hash) => hash,
            None => decoy_hash()?.to_owned(),
        };
        let hash = PasswordHash::new(&text).map_err(hash_failed)?;
        let matches = Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &hash)
            .is_ok();
        Ok(known && matches)
    })
    .await
    .map_err(|err| hash_failed(err.to_string()))?
}

/// A hash of a password nobody has, made once per process.
fn decoy_hash() -> Result<&'static str, EngineError> {
    static DECOY: OnceLock<Result<String, String>> = OnceLock::new();
    DECOY
        .get_or_init(|| {
            let salt = SaltString::encode_b64(b"ccgate-decoy-salt").map_err(|e| e.to_string())?;
            Argon2::default()
                .hash_password(random_token().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| e.to_string())
        })
        .as_deref()
        .map_err(|err| hash_failed(err.to_owned()))
}

fn hash_failed(err: impl ToString) -> EngineError {
    EngineError::Password(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowered_and_checked() {
        assert_eq!(
            normalised_email("  Ops@Example.COM ").ok(),
            Some("ops@example.com".to_owned())
        );
        for bad in [
            "",
            "ops",
            "@example.com",
            "ops@example",
            "o ps@example.com",
            "a@b@c.d",
        ] {
            assert!(normalised_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_have_a_floor_and_a_ceiling() {
        assert!(check_password(&SecretString::from("short")).is_err());
        assert!(check_password(&SecretString::from("x".repeat(PASSWORD_BYTES_MAX + 1))).is_err());
        assert!(check_password(&generate_password()).is_ok());
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = hash_password(SecretString::from("correct horse battery"))
            .await
            .ok();
        assert!(hash.as_deref().is_some_and(|h| h.starts_with("$argon2id$")));
        assert!(matches!(
            verify_password(SecretString::from("correct horse battery"), hash.clone()).await,
            Ok(true)
        ));
        assert!(matches!(
            verify_password(SecretString::from("correct horse battery!"), hash).await,
            Ok(false)
        ));
        assert!(matches!(
            verify_password(SecretString::from("correct horse battery"), None).await,
            Ok(false)
        ));
    }
}
