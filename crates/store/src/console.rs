//! The dashboard's own records (decisions §23): its users, their sessions
//! (keyed by a hash of the cookie's token), failed logins the throttle
//! counts, and the audit log of every state-changing action.

use async_trait::async_trait;
use ccgate_ledger::MerchantId;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::{Backend, RowsAffected, SqlStore};
use crate::rows::{Columns, to_u64};

/// What a dashboard user may do: everything (an operator), or what concerns
/// one merchant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleRole {
    Operator,
    Merchant(MerchantId),
}

impl ConsoleRole {
    pub fn as_str(&self) -> &'static str {
        match self {
            ConsoleRole::Operator => "operator",
            ConsoleRole::Merchant(_) => "merchant",
        }
    }

    /// The merchant of a merchant user.
    pub fn merchant(&self) -> Option<&MerchantId> {
        match self {
            ConsoleRole::Operator => None,
            ConsoleRole::Merchant(app_id) => Some(app_id),
        }
    }
}

/// A dashboard user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleUser {
    pub id: i64,
    pub email: String,
    /// Argon2id in PHC string form.
    pub password_hash: String,
    pub role: ConsoleRole,
    pub created_at_ms: i64,
    /// When an operator disabled the user; `None` while it may log in
    /// (decisions §34).
    pub disabled_at_ms: Option<i64>,
    /// When it last logged in; `None` if never.
    pub last_login_ms: Option<i64>,
}

/// What came of changing a user's role or status (decisions §40, §44).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserChange {
    Changed,
    NoSuchUser,
    /// Refused: the user is the last operator not disabled, and the console
    /// would be left with nobody to run it.
    LastOperator,
}

/// A user as the operator's users page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleUserListing {
    pub user: ConsoleUser,
    /// Whether a confirmed TOTP second factor is in force.
    pub second_factor: bool,
}

/// A logged-in session; `id_hash` is the SHA-256 (hex) of the cookie's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at_ms: i64,
    pub last_seen_ms: i64,
}

/// One row of the audit log: who did what, to which merchant, when, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Given by the store; 0 in an entry not yet appended.
    pub id: i64,
    pub at_ms: i64,
    /// `None` when nobody was logged in (a refused login).
    pub user_id: Option<i64>,
    /// The e-mail of the user (or the one a refused login named).
    pub actor: String,
    pub app_id: Option<MerchantId>,
    pub action: String,
    pub detail: String,
    pub ip: String,
}

#[async_trait]
pub trait ConsoleStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a new user; `ConsoleUserExists` if the e-mail is taken. Returns its id.
    async fn create_console_user(
        &self,
        email: &str,
        password_hash: &str,
        role: &ConsoleRole,
        created_at_ms: i64,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError>;

    async fn console_user_by_email(&self, email: &str) -> Result<Option<ConsoleUser>, StoreError>;

    async fn console_user(&self, id: i64) -> Result<Option<ConsoleUser>, StoreError>;

    /// The users of one merchant, or with `None` every user, oldest first.
    async fn console_users(
        &self,
        app_id: Option<&MerchantId>,
    ) -> Result<Vec<ConsoleUser>, StoreError>;

    /// In one DB transaction: ends the session the login came with (if
    /// any), starts `session`, forgets the failed logins of `email` and
    /// appends `audit`.
    async fn start_console_session(
        &self,
        session: &ConsoleSession,
        replaced_id_hash: Option<&str>,
        email: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    async fn console_session(&self, id_hash: &str) -> Result<Option<ConsoleSession>, StoreError>;

    async fn touch_console_session(
        &self,
        id_hash: &str,
        last_seen_ms: i64,
    ) -> Result<(), StoreError>;

    /// Deletes the session, and appends `audit` if given (a logout; an
    /// expired session goes without one), in one DB transaction.
    async fn end_console_session(
        &self,
        id_hash: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError>;

    /// Notes a failed login and appends its audit row, in one DB transaction.
    async fn record_login_failure(
        &self,
        email: &str,
        ip: &str,
        at_ms: i64,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Failed logins since `since_ms`: of `email`, and from `ip`.
    async fn login_failures_since(
        &self,
        email: &str,
        ip: &str,
        since_ms: i64,
    ) -> Result<(u64, u64), StoreError>;

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// Every user, oldest first, each with whether its second factor is
    /// in force.
    async fn console_user_listing(&self) -> Result<Vec<ConsoleUserListing>, StoreError>;

    /// In one DB transaction: disables the user `id` at `disabled_at_ms`
    /// (deleting its sessions) or, with `None`, enables it again, and
    /// appends `audit`. The last operator not disabled is not disabled
    /// (decisions §44).
    async fn set_console_user_disabled(
        &self,
        id: i64,
        disabled_at_ms: Option<i64>,
        audit: &AuditEntry,
    ) -> Result<UserChange, StoreError>;

    /// In one DB transaction: gives the user `id` the role `role`, deletes
    /// its sessions (the new role applies from its next login, not from a
    /// session granted under the old one) and appends `audit`. An operator
    /// is made a merchant user only while another operator not disabled
    /// remains (decisions §40).
    async fn set_console_user_role(
        &self,
        id: i64,
        role: &ConsoleRole,
        audit: &AuditEntry,
    ) -> Result<UserChange, StoreError>;

    /// Deletes at most `limit` sessions last seen at or before
    /// `idle_before_ms` or made at or before `made_before_ms` (past their
    /// idle or absolute lifetime), and at most `limit` failed logins before
    /// `failures_before_ms` (older than the throttle's window). Returns how
    /// many rows went: a caller repeats while it is not 0 (decisions §36).
    async fn purge_console_rows(
        &self,
        idle_before_ms: i64,
        made_before_ms: i64,
        failures_before_ms: i64,
        limit: u32,
    ) -> Result<u64, StoreError>;

    /// The newest `limit` rows of the audit log older than `before_id` (all
    /// with `None`), newest first; of one merchant with `app_id`.
    async fn audit_log(
        &self,
        app_id: Option<&MerchantId>,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

const USER_COLUMNS: &str =
    "id, email, password_hash, role, app_id, created_at_ms, disabled_at_ms, last_login_ms";
const SESSION_COLUMNS: &str = "id_hash, user_id, csrf_token, created_at_ms, last_seen_ms";
const AUDIT_COLUMNS: &str = "id, at_ms, user_id, actor, app_id, action, detail, ip";

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> ConsoleStore for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
    // sqlx encodes `Option` per backend, not for every `T: Encode`.
    for<'q> Option<&'q str>: Encode<'q, S::Db>,
    for<'q> Option<i64>: Encode<'q, S::Db>,
{
    async fn create_console_user(
        &self,
        email: &str,
        password_hash: &str,
        role: &ConsoleRole,
        created_at_ms: i64,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError> {
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        let row = sqlx::query(
            "INSERT INTO console_users (email, password_hash, role, app_id, created_at_ms)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (email) DO NOTHING
             RETURNING id",
        )
        .bind(email)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(role.merchant().map(MerchantId::as_str))
        .bind(created_at_ms)
        .fetch_optional(&mut *db_tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::ConsoleUserExists(email.to_owned()));
        };
        let id = row.int("id")?;
        let audit = AuditEntry {
            user_id: audit.user_id.or(Some(id)),
            ..audit.clone()
        };
        insert_audit::<S::Db>(&mut db_tx, &audit).await?;
        db_tx.commit().await?;
        Ok(id)
    }

    async fn console_user_by_email(&self, email: &str) -> Result<Option<ConsoleUser>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM console_users WHERE email = $1"
        ))
        .bind(email)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn console_user(&self, id: i64) -> Result<Option<ConsoleUser>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM console_users WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn console_users(
        &self,
        app_id: Option<&MerchantId>,
    ) -> Result<Vec<ConsoleUser>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM console_users
             WHERE $1 IS NULL OR app_id = $1 ORDER BY id"
        ))
        .bind(app_id.map(MerchantId::as_str))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn start_console_session(
        &self,
        session: &ConsoleSession,
        replaced_id_hash: Option<&str>,
        email: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        if let Some(replaced) = replaced_id_hash {
            sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
                .bind(replaced)
                .execute(&mut *db_tx)
                .await?;
        }
        sqlx::query(&format!(
            "INSERT INTO console_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(&session.id_hash)
        .bind(session.user_id)
        .bind(&session.csrf_token)
        .bind(session.created_at_ms)
        .bind(session.last_seen_ms)
        .execute(&mut *db_tx)
        .await?;
        sqlx::query("UPDATE console_users SET last_login_ms = $1 WHERE id = $2")
            .bind(session.created_at_ms)
            .bind(session.user_id)
            .execute(&mut *db_tx)
            .await?;
        sqlx::query("DELETE FROM console_login_failures WHERE email = $1")
            .bind(email)
            .execute(&mut *db_tx)
            .await?;
        insert_audit::<S::Db>(&mut db_tx, audit).await?;
        db_tx.commit().await?;
        Ok(())
    }

    async fn console_session(&self, id_hash: &str) -> Result<Option<ConsoleSession>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM console_sessions WHERE id_hash = $1"
        ))
        .bind(id_hash)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref()
            .map(|row| {
                Ok(ConsoleSession {
                    id_hash: row.text("id_hash")?,
                    user_id: row.int("user_id")?,
                    csrf_token: row.text("csrf_token")?,
                    created_at_ms: row.int("created_at_ms")?,
                    last_seen_ms: row.int("last_seen_ms")?,
                })
            })
            .transpose()
    }

    async fn touch_console_session(
        &self,
        id_hash: &str,
        last_seen_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE console_sessions SET last_seen_ms = $1 WHERE id_hash = $2")
            .bind(last_seen_ms)
            .bind(id_hash)
            .execute(&mut *self.write_connection().await?)
            .await?;
        Ok(())
    }

    async fn end_console_session(
        &self,
        id_hash: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        let deleted = sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&mut *db_tx)
            .await?;
        // A second logout of the same session (two tabs) did nothing.
        if let Some(audit) = audit.filter(|_| deleted.rows_affected() == 1) {
            insert_audit::<S::Db>(&mut db_tx, audit).await?;
        }
        db_tx.commit().await?;
        Ok(())
    }

    async fn record_login_failure(
        &self,
        email: &str,
        ip: &str,
        at_ms: i64,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        sqlx::query("INSERT INTO console_login_failures (email, ip, at_ms) VALUES ($1, $2, $3)")
            .bind(email)
            .bind(ip)
            .bind(at_ms)
            .execute(&mut *db_tx)
            .await?;
        insert_audit::<S::Db>(&mut db_tx, audit).await?;
        db_tx.commit().await?;
        Ok(())
    }

    async fn login_failures_since(
        &self,
        email: &str,
        ip: &str,
        since_ms: i64,
    ) -> Result<(u64, u64), StoreError> {
        let row = sqlx::query(
            "SELECT
                 (SELECT COUNT(*) FROM console_login_failures WHERE email = $1 AND at_ms >= $3)
                     AS of_email,
                 (SELECT COUNT(*) FROM console_login_failures WHERE ip = $2 AND at_ms >= $3)
                     AS from_ip",
        )
        .bind(email)
        .bind(ip)
        .bind(since_ms)
        .fetch_one(self.pool())
        .await?;
        Ok((
            to_u64(row.int("of_email")?, "failed logins")?,
            to_u64(row.int("from_ip")?, "failed logins")?,
        ))
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut conn = self.write_connection().await?;
        insert_audit::<S::Db>(&mut conn, entry).await
    }

    async fn console_user_listing(&self) -> Result<Vec<ConsoleUserListing>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id, u.email, u.password_hash, u.role, u.app_id, u.created_at_ms,
                    u.disabled_at_ms, u.last_login_ms, t.enabled_at_ms AS second_factor_since
             FROM console_users u LEFT JOIN console_totp t ON t.user_id = u.id
             ORDER BY u.id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ConsoleUserListing {
                    user: user_from_row(row)?,
                    second_factor: row.opt_int("second_factor_since")?.is_some(),
                })
            })
            .collect()
    }

    async fn set_console_user_disabled(
        &self,
        id: i64,
        disabled_at_ms: Option<i64>,
        audit: &AuditEntry,
    ) -> Result<UserChange, StoreError> {
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        S::Db::lock_console_users(&mut db_tx).await?;
        // The last-operator rule is in the statement, as for a role change.
        let updated = sqlx::query(
            "UPDATE console_users SET disabled_at_ms = $1
             WHERE id = $2
               AND ($1 IS NULL OR role <> 'operator' OR EXISTS (
                   SELECT 1 FROM console_users other
                   WHERE other.role = 'operator' AND other.disabled_at_ms IS NULL
                     AND other.id <> $2))",
        )
        .bind(disabled_at_ms)
        .bind(id)
        .execute(&mut *db_tx)
        .await?;
        if updated.rows_affected() == 0 {
            return unchanged::<S::Db>(&mut db_tx, id).await;
        }
        if disabled_at_ms.is_some() {
            sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *db_tx)
                .await?;
        }
        insert_audit::<S::Db>(&mut db_tx, audit).await?;
        db_tx.commit().await?;
        Ok(UserChange::Changed)
    }

    async fn set_console_user_role(
        &self,
        id: i64,
        role: &ConsoleRole,
        audit: &AuditEntry,
    ) -> Result<UserChange, StoreError> {
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        S::Db::lock_console_users(&mut db_tx).await?;
        // The last-operator rule is in the statement, so the check and the
        // change are one step of the transaction.
        let updated = sqlx::query(
            "UPDATE console_users SET role = $1, app_id = $2
             WHERE id = $3
               AND ($1 = 'operator' OR EXISTS (
                   SELECT 1 FROM console_users other
                   WHERE other.role = 'operator' AND other.disabled_at_ms IS NULL
                     AND other.id <> $3))",
        )
        .bind(role.as_str())
        .bind(role.merchant().map(MerchantId::as_str))
        .bind(id)
        .execute(&mut *db_tx)
        .await?;
        if updated.rows_affected() == 0 {
            return unchanged::<S::Db>(&mut db_tx, id).await;
        }
        sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *db_tx)
            .await?;
        insert_audit::<S::Db>(&mut db_tx, audit).await?;
        db_tx.commit().await?;
        Ok(UserChange::Changed)
    }

    async fn purge_console_rows(
        &self,
        idle_before_ms: i64,
        made_before_ms: i64,
        failures_before_ms: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        // Bounded by `limit` through a keyed subquery, spelt alike on both
        // backends (neither has `DELETE … LIMIT` by default); each side of
        // the OR is an index (SQLite 0066, PostgreSQL 0059).
        let sessions = sqlx::query(
            "DELETE FROM console_sessions WHERE id_hash IN (
                 SELECT id_hash FROM console_sessions
                 WHERE last_seen_ms <= $1 OR created_at_ms <= $2 LIMIT $3)",
        )
        .bind(idle_before_ms)
        .bind(made_before_ms)
        .bind(i64::from(limit))
        .execute(&mut *self.write_connection().await?)
        .await?
        .rows_affected();
        let failures = sqlx::query(
            "DELETE FROM console_login_failures WHERE id IN (
                 SELECT id FROM console_login_failures WHERE at_ms < $1 LIMIT $2)",
        )
        .bind(failures_before_ms)
        .bind(i64::from(limit))
        .execute(&mut *self.write_connection().await?)
        .await?
        .rows_affected();
        Ok(sessions + failures)
    }

    async fn audit_log(
        &self,
        app_id: Option<&MerchantId>,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM console_audit
             WHERE ($1 IS NULL OR app_id = $1) AND ($2 IS NULL OR id < $2)
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(app_id.map(MerchantId::as_str))
        .bind(before_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.int("id")?,
                    at_ms: row.int("at_ms")?,
                    user_id: row.opt_int("user_id")?,
                    actor: row.text("actor")?,
                    app_id: row.opt_text("app_id")?.map(MerchantId::new),
                    action: row.text("action")?,
                    detail: row.text("detail")?,
                    ip: row.text("ip")?,
                })
            })
            .collect()
    }
}

pub(crate) async fn insert_audit<DB>(
    conn: &mut DB::Connection,
    entry: &AuditEntry,
) -> Result<(), StoreError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
{
    sqlx::query(
        "INSERT INTO console_audit (at_ms, user_id, actor, app_id, action, detail, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(entry.at_ms)
    .bind(entry.user_id)
    .bind(&entry.actor)
    .bind(entry.app_id.as_ref().map(MerchantId::as_str))
    .bind(&entry.action)
    .bind(&entry.detail)
    .bind(&entry.ip)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Runs `statement`, an update of the merchant `app_id`, and appends
/// `audit` in the same DB transaction: a change made from the dashboard and
/// its audit row commit together or not at all (decisions §36).
pub(crate) async fn update_merchant_audited<'q, S>(
    store: &S,
    app_id: &MerchantId,
    statement: sqlx::query::Query<'q, S::Db, <S::Db as Database>::Arguments<'q>>,
    audit: Option<&AuditEntry>,
) -> Result<(), StoreError>
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'a> <S::Db as Database>::Arguments<'a>: IntoArguments<'a, S::Db>,
    for<'a> &'a str: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> String: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> i64: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> Option<&'a str>: Encode<'a, S::Db>,
    for<'a> Option<i64>: Encode<'a, S::Db>,
{
    let mut db_tx = store.begin_write_with(S::Db::BEGIN_WRITE).await?;
    let updated = statement.execute(&mut *db_tx).await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::MerchantNotFound(app_id.to_string()));
    }
    if let Some(audit) = audit {
        insert_audit::<S::Db>(&mut db_tx, audit).await?;
    }
    db_tx.commit().await?;
    Ok(())
}

fn user_from_row(row: &impl Columns) -> Result<ConsoleUser, StoreError> {
    let role = match (row.text("role")?.as_str(), row.opt_text("app_id")?) {
        ("operator", None) => ConsoleRole::Operator,
        ("merchant", Some(app_id)) => ConsoleRole::Merchant(MerchantId::new(app_id)),
        (role, app_id) => {
            return Err(StoreError::Corrupt(format!(
                "console user role {role:?} with merchant {app_id:?}"
            )));
        }
    };
    Ok(ConsoleUser {
        id: row.int("id")?,
        email: row.text("email")?,
        password_hash: row.text("password_hash")?,
        role,
        created_at_ms: row.int("created_at_ms")?,
        disabled_at_ms: row.opt_int("disabled_at_ms")?,
        last_login_ms: row.opt_int("last_login_ms")?,
    })
}

/// Why a user change's `UPDATE` changed no row: no user `id`, or the
/// last-operator rule in its `WHERE`.
async fn unchanged<DB>(conn: &mut DB::Connection, id: i64) -> Result<UserChange, StoreError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let known = sqlx::query("SELECT 1 FROM console_users WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .is_some();
    Ok(if known {
        UserChange::LastOperator
    } else {
        UserChange::NoSuchUser
    })
}
