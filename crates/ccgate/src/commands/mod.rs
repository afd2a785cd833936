//! One module per command: each owns its clap arguments and its `run`.

pub mod admin_api;
pub mod background;
pub mod bench;
pub mod bench_all;
pub mod bench_assets;
pub mod bench_deposits;
pub mod bench_evm;
pub mod bench_kit;
pub mod bench_ledger;
pub mod bench_scale;
pub mod bench_scrape;
pub mod bench_sweeps;
pub mod bench_webhooks;
pub mod bench_withdrawals;
pub mod bench_writes;
pub mod call;
pub mod coins;
pub mod cwallet;
pub mod devnet;
pub mod evm;
pub mod ledger;
pub mod listen;
pub mod listing;
pub mod merchant;
pub mod ops;
pub mod order;
pub mod sandbox;
pub mod serve;
pub mod trigger;
pub mod user;
pub mod webhooks;
pub mod withdrawal;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use ccgate_store::WebhookDialect;
use clap::ValueEnum;

use crate::backend::{Database, DatabaseArgs};
use crate::config::Settings;
use crate::data_dir::DataDir;

/// The global flags, each turned into what it names only by the commands
/// that need it, always in the same order (so the same mistake is reported
/// first whatever the command): the configuration, the data directory, the
/// database.
pub struct Globals {
    pub data_dir: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub database: DatabaseArgs,
}

/// The configuration and the data directory, for a command that does not
/// work on the database (or opens it itself).
pub struct Located {
    pub settings: Settings,
    pub data_dir: DataDir,
    pub database: DatabaseArgs,
}

impl Globals {
    pub fn settings(&self) -> anyhow::Result<Settings> {
        Ok(Settings::load(self.config.as_deref())?)
    }

    pub fn locate(self) -> anyhow::Result<Located> {
        let settings = self.settings()?;
        let data_dir = DataDir::resolve(self.data_dir)?;
        Ok(Located {
            settings,
            data_dir,
            database: self.database,
        })
    }

    /// Runs an operator command on whichever database `--database-url`
    /// chose, and closes it whatever the command's outcome.
    pub async fn with_database<T>(
        self,
        command: impl AsyncFnOnce(&Database, &Settings) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let located = self.locate()?;
        let database = Database::open(&located.data_dir, &located.database).await?;
        let outcome = command(&database, &located.settings).await;
        database.close().await;
        outcome
    }
}

/// Which API dialect a command speaks or sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dialect {
    /// `/ccpayment/v1/…`, SHA-256 signatures, signed answers, flat webhooks.
    V1,
    /// `/ccpayment/v2/…`, HMAC-SHA256 signatures, unsigned answers, `{type,msg}` webhooks.
    V2,
}

impl Dialect {
    pub fn of_webhooks(self) -> WebhookDialect {
        match self {
            Dialect::V1 => WebhookDialect::V1,
            Dialect::V2 => WebhookDialect::V2,
        }
    }
}

/// Operator commands stamp their changes with the real clock.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Rows under a header, each column as wide as its widest cell, two spaces
/// apart; the last column is not padded.
pub fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = width.saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Unix seconds as an RFC 3339 UTC time (the number itself if out of range).
pub fn utc(unix_secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_secs)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix_secs.to_string())
}
