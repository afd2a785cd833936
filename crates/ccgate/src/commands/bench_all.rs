//! `ccgate bench all`: every bench in one run, then one line per figure
//! (`name: value unit (ratio X.XX)`), the lines BENCHMARKS.md records by
//! commit. `--quick` runs each at a small scale: the figures then only show
//! that every bench still works (CI runs it), not how fast anything is.

use anyhow::bail;
use clap::{Args, FromArgMatches};

use super::bench_kit::Figure;

#[derive(Debug, Args)]
pub struct AllBenchArgs {
    /// Each bench at a small scale: seconds instead of minutes.
    #[arg(long)]
    pub quick: bool,
    /// Also measure the ledger (against pgbench there), the scale bench and
    /// webhook delivery on this PostgreSQL.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Also measure deposit-to-webhook latency on this ganache node.
    #[arg(long)]
    pub evm_rpc_url: Option<String>,
    /// The node's WebSocket endpoint, for heads by subscription.
    #[arg(long)]
    pub evm_ws_url: Option<String>,
}

/// A bench's arguments as its own command line would give them, so that
/// every default stays where the bench declares it.
fn parsed<T: Args + FromArgMatches>(argv: &[&str]) -> anyhow::Result<T> {
    let command = T::augment_args(clap::Command::new("bench"));
    let matches =
        command.try_get_matches_from(std::iter::once("bench").chain(argv.iter().copied()))?;
    Ok(T::from_arg_matches(&matches)?)
}

pub async fn all(args: &AllBenchArgs) -> anyhow::Result<Vec<Figure>> {
    let quick = |small: &'static [&'static str]| if args.quick { small } else { &[] };
    let mut figures = Vec::new();
    let mut failed = Vec::new();
    let mut note = |name: &str, outcome: anyhow::Result<Vec<Figure>>| match outcome {
        Ok(measured) => figures.extend(measured),
        Err(err) => {
            println!("{name}: FAILED: {err:#}");
            failed.push(name.to_owned());
        }
    };
    let assets_quick: &[&str] = &["--seconds", "1", "--rounds", "1", "--warmup-seconds", "0"];
    let mut assets: super::bench_assets::BenchArgs = parsed(quick(assets_quick))?;
    assets.postgres.clone_from(&args.postgres);
    note("assets", super::bench_assets::assets(&assets).await);
    let mut uncached: super::bench_assets::BenchArgs = parsed(quick(assets_quick))?;
    uncached.cache_ttl_ms = 0;
    uncached.postgres.clone_from(&args.postgres);
    note(
        "assets (uncached)",
        super::bench_assets::assets(&uncached).await,
    );
    let deposits = parsed(quick(&["--deposits", "100"]))?;
    note("deposits", super::bench_deposits::deposits(&deposits).await);
    let withdrawals = parsed(quick(&["--requests", "100"]))?;
    note(
        "withdrawals",
        super::bench_withdrawals::withdrawals(&withdrawals).await,
    );
    let mut ledger: super::bench_ledger::LedgerBenchArgs =
        parsed(quick(&["--seconds", "1", "--batch", "200"]))?;
    ledger.postgres.clone_from(&args.postgres);
    note("ledger", super::bench_ledger::ledger(&ledger).await);
    let sweeps = parsed(quick(&["--addresses", "1000"]))?;
    note("sweeps", super::bench_sweeps::sweeps(&sweeps).await);
    let mut writes: super::bench_writes::WritesBenchArgs = parsed(quick(&[
        "--seconds",
        "1",
        "--rounds",
        "1",
        "--sequential",
        "20",
    ]))?;
    writes.postgres.clone_from(&args.postgres);
    note("writes", super::bench_writes::writes(&writes).await);
    let scrape = parsed(quick(&["--deposits", "5000"]))?;
    note("scrape", super::bench_scrape::scrape(&scrape).await);
    let mut scale: super::bench_scale::ScaleBenchArgs = parsed(quick(&[
        "--deposits",
        "10000",
        "--orders",
        "1000",
        "--addresses",
        "1000",
        "--requests",
        "40",
    ]))?;
    scale.postgres.clone_from(&args.postgres);
    note("scale", super::bench_scale::scale(&scale).await);
    let mut webhooks: super::bench_webhooks::WebhookBenchArgs =
        parsed(quick(&["--webhooks", "500", "--merchants", "5"]))?;
    webhooks.postgres.clone_from(&args.postgres);
    note("webhooks", super::bench_webhooks::webhooks(&webhooks).await);
    match &args.evm_rpc_url {
        Some(rpc_url) => {
            let mut argv = vec!["--rpc-url", rpc_url.as_str()];
            if let Some(ws_url) = &args.evm_ws_url {
                argv.extend(["--ws-url", ws_url.as_str()]);
            }
            if args.quick {
                argv.extend(["--payments", "5", "--block-transfers", "50"]);
            }
            let evm = parsed(&argv)?;
            note("evm", super::bench_evm::evm(&evm).await);
        }
        None => println!("evm: not measured (pass --evm-rpc-url of a ganache node)"),
    }
    println!();
    println!(
        "summary{}:",
        if args.quick {
            " (quick: not figures to compare)"
        } else {
            ""
        }
    );
    for figure in &figures {
        println!("{figure}");
    }
    if !failed.is_empty() {
        bail!("these benches failed: {}", failed.join(", "));
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_print_as_one_line_each() {
        let rate = Figure::new("assets requests", 23_456.4, "/s").with_ratio(0.6149);
        assert_eq!(rate.to_string(), "assets requests: 23456 /s (ratio 0.61)");
        let latency = Figure::new("evm deposit webhook p50 after confirmation", 6.04, "ms");
        assert_eq!(
            latency.to_string(),
            "evm deposit webhook p50 after confirmation: 6.0 ms"
        );
    }

    #[test]
    fn bench_arguments_keep_their_own_defaults() {
        let full: super::super::bench_deposits::DepositBenchArgs =
            parsed(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(full.deposits, 1_000);
        let quick: super::super::bench_deposits::DepositBenchArgs =
            parsed(&["--deposits", "100"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(quick.deposits, 100);
    }
}
