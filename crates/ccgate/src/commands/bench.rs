//! `ccgate bench …`: one subcommand per bench, each in a scratch database of
//! its own (`bench_kit` holds what they share).

use std::process::ExitCode;

use clap::Subcommand;

use super::bench_assets::BenchArgs;
use crate::backend::DatabaseArgs;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Signed `assets` calls against the real server vs a bare axum route, same machine, same run.
    Assets(BenchArgs),
    /// Deposits credited per second (vs plain journal postings) and deposit-to-webhook latency.
    Deposits(super::bench_deposits::DepositBenchArgs),
    /// Withdrawals accepted per second through the server, with the race invariants checked.
    Withdrawals(super::bench_withdrawals::WithdrawalBenchArgs),
    /// Durable ledger postings per second (group commit) on SQLite and PostgreSQL, vs pgbench.
    Ledger(super::bench_ledger::LedgerBenchArgs),
    /// On a ganache node: deposit-to-webhook latency after the confirming block.
    Evm(super::bench_evm::EvmBenchArgs),
    /// EVM sweeper: node calls per tick with many credited addresses, vs the old every-address read.
    Sweeps(super::bench_sweeps::SweepBenchArgs),
    /// bill/create, payment/address/get and withdraw vs a bare route and journal postings; SQL per request.
    Writes(super::bench_writes::WritesBenchArgs),
    /// Webhook deliveries per second to a fast local receiver vs a bare HTTP client loop.
    Webhooks(super::bench_webhooks::WebhookBenchArgs),
    /// What /metrics reads from the database, empty and after many deposits: flat or not.
    Scrape(super::bench_scrape::ScrapeBenchArgs),
    /// Request latency and `/metrics` on a database with a long history vs an empty one.
    Scale(super::bench_scale::ScaleBenchArgs),
    /// Every bench in one run, then one line per figure (`--quick`: each at a small scale).
    All(super::bench_all::AllBenchArgs),
}

impl BenchCommand {
    /// Whether it reports SQL statements (per request, per block), which
    /// needs a counter installed with the logging.
    pub fn counts_statements(&self) -> bool {
        matches!(
            self,
            BenchCommand::Writes(_) | BenchCommand::Evm(_) | BenchCommand::All(_)
        )
    }
}

/// What a bench says when the global database options are set: it measures
/// scratch databases of its own, so they would otherwise be ignored unseen.
fn ignored_database_note(database: &DatabaseArgs) -> Option<&'static str> {
    (database.database_url.is_some() || database.database_schema.is_some()).then_some(
        "note: benches measure scratch databases of their own and do not use --database-url \
         or --database-schema (CCGATE_DATABASE_URL, CCGATE_DATABASE_SCHEMA); `bench assets`, \
         `ledger`, `writes`, `webhooks`, `scale` and `all` take --postgres URL to measure \
         PostgreSQL too, in a scratch schema",
    )
}

/// Runs one bench (each prints as it goes; `all` ends with its figures).
pub async fn run(command: BenchCommand, database: &DatabaseArgs) -> anyhow::Result<ExitCode> {
    if let Some(note) = ignored_database_note(database) {
        eprintln!("{note}");
    }
    match &command {
        BenchCommand::Assets(args) => super::bench_assets::assets(args).await,
        BenchCommand::Deposits(args) => super::bench_deposits::deposits(args).await,
        BenchCommand::Evm(args) => super::bench_evm::evm(args).await,
        BenchCommand::Withdrawals(args) => super::bench_withdrawals::withdrawals(args).await,
        BenchCommand::Ledger(args) => super::bench_ledger::ledger(args).await,
        BenchCommand::Sweeps(args) => super::bench_sweeps::sweeps(args).await,
        BenchCommand::Writes(args) => super::bench_writes::writes(args).await,
        BenchCommand::Webhooks(args) => super::bench_webhooks::webhooks(args).await,
        BenchCommand::Scrape(args) => super::bench_scrape::scrape(args).await,
        BenchCommand::Scale(args) => super::bench_scale::scale(args).await,
        BenchCommand::All(args) => super::bench_all::all(args).await,
    }?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_global_database_options_are_said_to_be_ignored() {
        let unset = DatabaseArgs {
            database_url: None,
            database_schema: None,
        };
        assert_eq!(ignored_database_note(&unset), None);
        let url = DatabaseArgs {
            database_url: Some("postgres://postgres@127.0.0.1/test".to_owned()),
            database_schema: None,
        };
        let note = ignored_database_note(&url).expect("a note for --database-url");
        assert!(note.contains("--postgres URL"), "{note}");
        let schema = DatabaseArgs {
            database_url: None,
            database_schema: Some("ccgate".to_owned()),
        };
        assert!(ignored_database_note(&schema).is_some());
    }
}
