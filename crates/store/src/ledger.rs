//! The ledger's store: merchants and their credentials, Cwallet accounts,
//! the journal and the running balances it implies.
//!
//! Invariant: a journal entry, its postings and the balance changes they imply
//! commit in one DB transaction, and the balances are computed by the pure
//! `ccgate_ledger::journal::apply_entry`, never by SQL arithmetic.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use ccgate_ledger::{
    Account, AccountBalance, Books, CoinId, Direction, JournalEntry, MerchantId, Posting,
};
use secrecy::SecretString;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::{Backend, RowsAffected, SqlStore};
use crate::console::{AuditEntry, insert_audit, update_merchant_audited};
use crate::rows::{Columns, balance_from_row, figure, parse_amount};
use crate::writes::EntryMeta;

/// Whether a merchant may call the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MerchantStatus {
    Active,
    Disabled,
}

impl MerchantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MerchantStatus::Active => "active",
            MerchantStatus::Disabled => "disabled",
        }
    }
}

/// A merchant as listed to operators: no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantSummary {
    pub app_id: MerchantId,
    pub name: String,
    pub status: MerchantStatus,
    pub created_at: i64,
}

/// What the signature check needs. The secret stays wrapped so that it can't
/// reach a log line or a `Debug` print by accident.
#[derive(Debug, Clone)]
pub struct MerchantCredentials {
    pub app_id: MerchantId,
    pub app_secret: SecretString,
    pub status: MerchantStatus,
    /// The client addresses its API calls may come from, canonical entries
    /// separated by spaces; empty admits any (decisions §23).
    pub api_allowlist: String,
}

/// A Cwallet account (decisions §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CwalletAccount {
    pub c_id: String,
    pub nickname: String,
}

/// One balance of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoinBalance {
    pub coin: CoinId,
    pub balance: AccountBalance,
}

#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a new merchant with the given credentials, appending `audit`
    /// (the dashboard's row for it) in the same DB transaction.
    async fn create_merchant(
        &self,
        app_id: &MerchantId,
        app_secret: &SecretString,
        name: &str,
        now_unix_secs: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError>;

    async fn list_merchants(&self) -> Result<Vec<MerchantSummary>, StoreError>;

    /// One merchant's name and status (never its secret); `None` if unknown.
    async fn merchant(&self, app_id: &MerchantId) -> Result<Option<MerchantSummary>, StoreError>;

    /// The credentials of a merchant, active or not; `None` if unknown.
    /// Shared: every API request reads them, and a cached copy is handed out
    /// by reference count, not cloned (issue #16 §1).
    async fn merchant_credentials(
        &self,
        app_id: &str,
    ) -> Result<Option<Arc<MerchantCredentials>>, StoreError>;

    /// Replaces the merchant's secret, appending `audit` (the dashboard's
    /// row for it) in the same DB transaction.
    async fn replace_secret(
        &self,
        app_id: &MerchantId,
        app_secret: &SecretString,
        now_unix_secs: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError>;

    /// The client addresses the merchant's API calls may come from (see
    /// [`MerchantCredentials::api_allowlist`]), and `audit` in the same DB
    /// transaction.
    async fn set_api_allowlist(
        &self,
        app_id: &MerchantId,
        allowlist: &str,
        now_unix_secs: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError>;

    /// The merchant's status, and `audit` in the same DB transaction.
    async fn set_merchant_status(
        &self,
        app_id: &MerchantId,
        status: MerchantStatus,
        now_unix_secs: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError>;

    /// Appends an entry to the journal and applies it to the balances, all or
    /// nothing. Returns the entry's id. Fails with `StoreError::Ledger` (and
    /// writes nothing) if a balance rule would be broken.
    async fn post_entry(&self, entry: &JournalEntry, meta: &EntryMeta) -> Result<i64, StoreError>;

    /// Stores a new Cwallet account; fails with `CwalletExists` if the id is taken.
    async fn create_cwallet(
        &self,
        account: &CwalletAccount,
        now_unix_secs: i64,
    ) -> Result<(), StoreError>;

    async fn cwallet(&self, c_id: &str) -> Result<Option<CwalletAccount>, StoreError>;

    /// Tells caches that a merchant's balances changed elsewhere (e.g. a deposit
    /// credited through a [`crate::CreditStore`]).
    fn balances_changed(&self, _app_id: &MerchantId) {}

    /// Tells caches that the whole state was replaced elsewhere (a sandbox
    /// snapshot restored).
    fn everything_changed(&self) {}

    /// Fails unless the database answers; for health checks.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Every journal entry in posting order, rebuilt (and so re-validated)
    /// from the stored postings.
    async fn journal(&self) -> Result<Vec<JournalEntry>, StoreError>;

    /// How many journal entries there are, without reading them.
    async fn journal_len(&self) -> Result<u64, StoreError>;

    /// Every stored running balance.
    async fn all_balances(&self)
    -> Result<BTreeMap<(Account, CoinId), AccountBalance>, StoreError>;

    /// The balances of the merchant's available account, one per coin it has
    /// ever held, in coin-id order.
    /// Shared: the cache hands out the one copy it holds.
    async fn merchant_balances(
        &self,
        app_id: &MerchantId,
    ) -> Result<Arc<[CoinBalance]>, StoreError>;
}

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> Store for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> Vec<u8>: Encode<'q, S::Db> + Type<S::Db>,
    // sqlx encodes `Option` per backend, not for every `T: Encode`.
    for<'q> Option<&'q str>: Encode<'q, S::Db>,
    for<'q> Option<i64>: Encode<'q, S::Db>,
{
    async fn create_merchant(
        &self,
        app_id: &MerchantId,
        app_secret: &SecretString,
        name: &str,
        now_unix_secs: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let sealed = self.master_key().seal_text(app_id.as_str(), app_secret)?;
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        // Names are unique by this check, not by an index: databases made
        // before it may hold duplicates, which stay. One statement, so under
        // SQLite's one writer two creations cannot both pass it (on
        // PostgreSQL two creations of one name at the same instant may;
        // operators create merchants one at a time).
        let inserted = sqlx::query(
            "INSERT INTO merchants (app_id, name, secret_ciphertext, status, created_at, updated_at)
             SELECT $1, $2, $3, 'active', $4, $4
             WHERE NOT EXISTS (SELECT 1 FROM merchants WHERE name = $2)
             ON CONFLICT (app_id) DO NOTHING",
        )
        .bind(app_id.as_str())
        .bind(name)
        .bind(sealed)
        .bind(now_unix_secs)
        .execute(&mut *db_tx)
        .await?;
        if inserted.rows_affected() == 1 {
            if let Some(audit) = audit {
                insert_audit::<S::Db>(&mut db_tx, audit).await?;
            }
            db_tx.commit().await?;
            return Ok(());
        }
        // Why nothing was written: the Appid or the name was taken.
        let taken = sqlx::query("SELECT 1 FROM merchants WHERE app_id = $1")
            .bind(app_id.as_str())
            .fetch_optional(&mut *db_tx)
            .await?;
        Err(match taken {
            Some(_) => StoreError::MerchantExists(app_id.to_string()),
            None => StoreError::MerchantNameTaken(name.to_owned()),
        })
    }

    async fn list_merchants(&self) -> Result<Vec<MerchantSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT app_id, name, status, created_at FROM merchants ORDER BY created_at, app_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(merchant_summary_from_row).collect()
    }

    async fn merchant(&self, app_id: &MerchantId) -> Result<Option<MerchantSummary>, StoreError> {
        let row =
            sqlx::query("SELECT app_id, name, status, created_at FROM merchants WHERE app_id = $1")
                .bind(app_id.as_str())
                .fetch_optional(self.pool())
                .await?;
        row.as_ref().map(merchant_summary_from_row).transpose()
    }

    async fn merchant_credentials(
        &self,
        app_id: &str,
    ) -> Result<Option<Arc<MerchantCredentials>>, StoreError> {
        let Some(stored) = self.stored_credentials(app_id).await? else {
            return Ok(None);
        };
        Ok(Some(Arc::new(MerchantCredentials {
            app_id: MerchantId::new(app_id),
            app_secret: self
                .master_key()
                .open_text(app_id, &stored.secret_ciphertext)?,
            status: parse_status(&stored.status)?,
            api_allowlist: stored.api_allowlist,
        })))
    }

    async fn replace_secret(
        &self,
        app_id: &MerchantId,
        app_secret: &SecretString,
        now_unix_secs: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let sealed = self.master_key().seal_text(app_id.as_str(), app_secret)?;
        let statement = sqlx::query(
            "UPDATE merchants SET secret_ciphertext = $1, updated_at = $2 WHERE app_id = $3",
        )
        .bind(sealed)
        .bind(now_unix_secs)
        .bind(app_id.as_str());
        update_merchant_audited(self, app_id, statement, audit).await
    }

    async fn set_api_allowlist(
        &self,
        app_id: &MerchantId,
        allowlist: &str,
        now_unix_secs: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let statement = sqlx::query(
            "UPDATE merchants SET api_allowlist = $1, updated_at = $2 WHERE app_id = $3",
        )
        .bind(allowlist)
        .bind(now_unix_secs)
        .bind(app_id.as_str());
        update_merchant_audited(self, app_id, statement, audit).await
    }

    async fn set_merchant_status(
        &self,
        app_id: &MerchantId,
        status: MerchantStatus,
        now_unix_secs: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let statement =
            sqlx::query("UPDATE merchants SET status = $1, updated_at = $2 WHERE app_id = $3")
                .bind(status.as_str())
                .bind(now_unix_secs)
                .bind(app_id.as_str());
        update_merchant_audited(self, app_id, statement, audit).await
    }

    async fn post_entry(&self, entry: &JournalEntry, meta: &EntryMeta) -> Result<i64, StoreError> {
        let mut db_tx = self.begin_write().await?;
        let entry_id = S::Db::post_entry_in(&mut db_tx, entry, meta).await?;
        db_tx.commit().await?;
        Ok(entry_id)
    }

    async fn create_cwallet(
        &self,
        account: &CwalletAccount,
        now_unix_secs: i64,
    ) -> Result<(), StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO cwallet_accounts (c_id, nickname, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (c_id) DO NOTHING",
        )
        .bind(&account.c_id)
        .bind(&account.nickname)
        .bind(now_unix_secs)
        .execute(&mut *self.write_connection().await?)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::CwalletExists(account.c_id.clone()));
        }
        Ok(())
    }

    async fn cwallet(&self, c_id: &str) -> Result<Option<CwalletAccount>, StoreError> {
        let row = sqlx::query("SELECT nickname FROM cwallet_accounts WHERE c_id = $1")
            .bind(c_id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| {
            Ok(CwalletAccount {
                c_id: c_id.to_owned(),
                nickname: row.text("nickname")?,
            })
        })
        .transpose()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(self.pool()).await?;
        Ok(())
    }

    async fn journal_len(&self) -> Result<u64, StoreError> {
        figure(
            &S::Db::metric_figures(self.pool()).await?,
            "journal.entries",
        )
    }

    async fn journal(&self) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT entry_id, account, coin_id, direction, amount FROM postings
             ORDER BY entry_id, seq",
        )
        .fetch_all(self.pool())
        .await?;
        journal_from_rows(&rows)
    }

    async fn all_balances(
        &self,
    ) -> Result<BTreeMap<(Account, CoinId), AccountBalance>, StoreError> {
        let rows =
            sqlx::query("SELECT account, coin_id, debits_posted, credits_posted FROM balances")
                .fetch_all(self.pool())
                .await?;
        balances_from_rows(&rows)
    }

    async fn merchant_balances(
        &self,
        app_id: &MerchantId,
    ) -> Result<Arc<[CoinBalance]>, StoreError> {
        let account = Account::MerchantAvailable(app_id.clone());
        let rule = account.balance_rule();
        self.stored_balances(&account.key())
            .await?
            .into_iter()
            .map(|stored| {
                stored.balance.check(rule)?;
                Ok(CoinBalance {
                    coin: CoinId::new(stored.coin_id),
                    balance: stored.balance,
                })
            })
            .collect()
    }
}

fn parse_status(text: &str) -> Result<MerchantStatus, StoreError> {
    match text {
        "active" => Ok(MerchantStatus::Active),
        "disabled" => Ok(MerchantStatus::Disabled),
        other => Err(StoreError::Corrupt(format!("merchant status {other:?}"))),
    }
}

fn status_from_row(row: &impl Columns) -> Result<MerchantStatus, StoreError> {
    parse_status(&row.text("status")?)
}

fn merchant_summary_from_row(row: &impl Columns) -> Result<MerchantSummary, StoreError> {
    Ok(MerchantSummary {
        app_id: MerchantId::new(row.text("app_id")?),
        name: row.text("name")?,
        status: status_from_row(row)?,
        created_at: row.int("created_at")?,
    })
}

/// Every stored balance, each checked against its account's rule.
fn balances_from_rows(
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

/// Rebuilds the journal from posting rows ordered by entry, then sequence.
fn journal_from_rows(rows: &[impl Columns]) -> Result<Vec<JournalEntry>, StoreError> {
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

/// Replays the whole journal and compares the result with the stored running
/// balances: the audit behind `ccgate ledger verify`.
pub async fn verify_ledger(store: &dyn Store) -> Result<LedgerAudit, StoreError> {
    let journal = store.journal().await?;
    let entries = journal.len();
    let replayed = Books::replay(&journal)?;
    let stored = store.all_balances().await?;
    let mut mismatches = Vec::new();
    for (key, balance) in &stored {
        let expected = replayed.balance(&key.0, &key.1);
        if expected != *balance {
            mismatches.push(format!(
                "{} {}: stored {:?}, replayed {:?}",
                key.0.key(),
                key.1,
                balance,
                expected
            ));
        }
    }
    for key in replayed.balances().keys() {
        if !stored.contains_key(key) {
            mismatches.push(format!(
                "{} {}: missing from stored balances",
                key.0.key(),
                key.1
            ));
        }
    }
    Ok(LedgerAudit {
        entries,
        balances: stored.len(),
        mismatches,
    })
}

/// The outcome of [`verify_ledger`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerAudit {
    pub entries: usize,
    pub balances: usize,
    /// Empty when every stored balance equals the replayed one.
    pub mismatches: Vec<String>,
}
