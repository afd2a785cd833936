//! `ccgate bench assets`: the same load, in the same run, against the real
//! `assets` endpoint and against a bare axum route that returns the same
//! answer (headers and body, fixed), so the printed ratio says what ccgate's
//! pipeline costs on this machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::http::{HeaderName, HeaderValue};
use axum::routing::post;
use ccgate_ledger::{Account, Amount, JournalEntry, MerchantId};
use ccgate_store::{EntryMeta, Store, generate_app_id, generate_app_secret};
use secrecy::{ExposeSecret, SecretString};

use super::bench_kit::{
    CpuScope, CpuSpent, Figure, Measured, cached, micros, spawn_gateway, spawn_server,
};
use super::unix_now;
use crate::backend::Backend;
use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Concurrent connections (one client task each).
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Measured seconds per target in each round.
    #[arg(long, default_value_t = 3)]
    pub seconds: u64,
    /// Rounds, each measuring the baseline and ccgate in alternate slices,
    /// so that drift in a noisy machine's speed hits both alike.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Length of one slice: a round alternates bare and ccgate slices of this
    /// many milliseconds until each had `--seconds`. Short slices cancel a
    /// shared machine's swings of speed that last seconds.
    #[arg(long, default_value_t = 500)]
    pub slice_ms: u64,
    /// As `serve --cache-ttl-ms`; 0 measures every request reading the database.
    #[arg(long, default_value_t = super::serve::CACHE_TTL_MS_DEFAULT)]
    pub cache_ttl_ms: u64,
    /// Unmeasured warm-up seconds per target, before the first round.
    #[arg(long, default_value_t = 1)]
    pub warmup_seconds: u64,
    /// Also measure on this PostgreSQL (e.g.
    /// `postgres://postgres@127.0.0.1:5432/test`), in a scratch schema
    /// dropped afterwards.
    #[arg(long)]
    pub postgres: Option<String>,
}

const ASSETS_PATH: &str = "/ccpayment/v1/assets";
const REQUEST_BODY: &str = r#"{"coin_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128"}"#;

struct Target {
    url: String,
    app_id: String,
    app_secret: SecretString,
}

pub async fn assets(args: &BenchArgs) -> anyhow::Result<Vec<Figure>> {
    if args.connections == 0 || args.seconds == 0 || args.rounds == 0 || args.slice_ms == 0 {
        bail!("--connections, --seconds, --rounds and --slice-ms must be at least 1");
    }
    super::bench_kit::on_sqlite_then_postgres(
        args.postgres.as_deref(),
        "ccgate_assets",
        |sqlite| measure_on("SQLite", "", sqlite, args),
        |postgres| measure_on("PostgreSQL", " on PostgreSQL", postgres, args),
    )
    .await
}

/// The whole comparison on one database; each figure's name ends with
/// `figure_suffix`.
async fn measure_on<B: Backend>(
    backend_name: &'static str,
    figure_suffix: &'static str,
    backend: B,
    args: &BenchArgs,
) -> anyhow::Result<Vec<Figure>> {
    let store = cached(&backend, args.cache_ttl_ms);
    let app_id = MerchantId::new(generate_app_id(unix_now()));
    let app_secret = generate_app_secret();
    store
        .create_merchant(&app_id, &app_secret, "bench", unix_now(), None)
        .await?;
    let settings = Settings::builtin()?;
    for coin in settings.registry.coins().take(3) {
        let entry = JournalEntry::transfer(
            Account::OperatorAdjustments,
            Account::MerchantAvailable(app_id.clone()),
            coin.id.clone(),
            Amount::from_base_units(1_279_514 * 10u128.pow(u32::from(coin.precision.get()))),
        )?;
        let meta = EntryMeta {
            kind: "adjustment",
            reason: "bench".into(),
            created_at: unix_now(),
        };
        store.post_entry(&entry, &meta).await?;
    }
    let quota = ccgate_engine::addresses::PERMANENT_ADDRESSES_PER_MERCHANT_DEFAULT;
    let (state, _) = super::serve::bench_state(store.clone(), &settings, quota).await?;
    let real = spawn_gateway(state).await?;
    let real_target = Target {
        url: format!("http://{real}{ASSETS_PATH}"),
        app_id: app_id.to_string(),
        app_secret: app_secret.clone(),
    };

    // The baseline answers the very bytes the real endpoint answers, its
    // headers too: the client parses what either sends, so only the server's
    // work differs between the two.
    let client = client(args.connections)?;
    let (fixed_headers, fixed_body) = first_answer(&client, &real_target).await?;
    let bare_router = axum::Router::new().route(
        ASSETS_PATH,
        post(move || {
            let (headers, body) = (fixed_headers.clone(), fixed_body.clone());
            async move { (headers, body) }
        }),
    );
    let bare = spawn_server(bare_router).await?;
    let bare_target = Target {
        url: format!("http://{bare}{ASSETS_PATH}"),
        ..real_target.clone_with_secret()
    };

    let round_length = Duration::from_secs(args.seconds);
    let slice = Duration::from_millis(args.slice_ms).min(round_length);
    println!(
        "ccgate bench assets on {backend_name}: {} connections, {} s warm-up, {} rounds of {} s \
         per target in alternate slices of {} ms, {} cores",
        args.connections,
        args.warmup_seconds,
        args.rounds,
        args.seconds,
        slice.as_millis(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let warmup = Duration::from_secs(args.warmup_seconds);
    drive(&client, &bare_target, args.connections, warmup).await;
    drive(&client, &real_target, args.connections, warmup).await;
    let mut bare_result = Measured::default();
    let mut real_result = Measured::default();
    // The whole process's CPU time (both ends of the HTTP, and the
    // database) while each target is driven: `None` if it cannot be read.
    // On PostgreSQL its server's processes on this machine count for
    // `assets` too: they share the cores. The bare route reads nothing.
    let on_postgres = backend_name != "SQLite";
    let real_scope = if on_postgres {
        CpuScope::WithLocalPostgres
    } else {
        CpuScope::ThisProcess
    };
    let mut bare_cpu = Some(CpuSpent::default());
    let mut real_cpu = Some(CpuSpent::default());
    for round in 0..args.rounds {
        let mut bare_round = Measured::default();
        let mut real_round = Measured::default();
        while bare_round.elapsed < round_length {
            let length = slice.min(round_length - bare_round.elapsed);
            let (measured, cpu) = CpuSpent::measure(
                CpuScope::ThisProcess,
                drive(&client, &bare_target, args.connections, length),
            )
            .await;
            bare_round.add(measured);
            bare_cpu = bare_cpu.zip(cpu).map(|(sum, spent)| sum + spent);
            let (measured, cpu) = CpuSpent::measure(
                real_scope,
                drive(&client, &real_target, args.connections, length),
            )
            .await;
            real_round.add(measured);
            real_cpu = real_cpu.zip(cpu).map(|(sum, spent)| sum + spent);
        }
        println!(
            "round {}: bare {:.0}/s, assets {:.0}/s, ratio {:.2}",
            round + 1,
            bare_round.per_sec(),
            real_round.per_sec(),
            real_round.per_sec() / bare_round.per_sec()
        );
        bare_result.add(bare_round);
        real_result.add(real_round);
    }
    println!(
        "{:<8} {:>12} {:>10} {:>10} {:>9}",
        "target", "requests/s", "p50 ms", "p99 ms", "failures"
    );
    for (name, m) in [("bare", &bare_result), ("assets", &real_result)] {
        println!(
            "{name:<8} {:>12.0} {:>10.3} {:>10.3} {:>9}",
            m.per_sec(),
            m.percentile_ms(50),
            m.percentile_ms(99),
            m.failures
        );
    }
    let cpu_each = bare_cpu.zip(real_cpu).map(|(bare_cpu, real_cpu)| {
        (
            bare_cpu.micros_each(bare_result.requests + bare_result.failures),
            real_cpu.micros_each(real_result.requests + real_result.failures),
        )
    });
    if let Some((bare_us, real_us)) = cpu_each {
        println!(
            "CPU a request (client, server, database{}): bare {bare_us:.1} µs, assets \
             {real_us:.1} µs; CPU ratio {:.2}",
            if on_postgres {
                ", PostgreSQL's processes on this machine"
            } else {
                ""
            },
            bare_us / real_us
        );
    }
    println!(
        "ratio: {:.2}",
        real_result.per_sec() / bare_result.per_sec()
    );
    if real_result.failures + bare_result.failures > 0 {
        bail!("some requests failed; the figures above are not valid");
    }
    store.backend().close().await;
    let name = if args.cache_ttl_ms == 0 {
        "assets (uncached)"
    } else {
        "assets"
    };
    let mut figures = vec![
        Figure::new(
            format!("{name} requests{figure_suffix}"),
            real_result.per_sec(),
            "/s",
        )
        .with_ratio(real_result.per_sec() / bare_result.per_sec()),
        Figure::new(
            format!("{name} p99{figure_suffix}"),
            real_result.percentile_ms(99),
            "ms",
        ),
    ];
    if let Some((bare_us, real_us)) = cpu_each {
        figures.push(
            Figure::new(
                format!("{name} CPU a request{figure_suffix}"),
                real_us,
                "µs",
            )
            .with_ratio(bare_us / real_us),
        );
    }
    Ok(figures)
}

impl Target {
    fn clone_with_secret(&self) -> Target {
        Target {
            url: self.url.clone(),
            app_id: self.app_id.clone(),
            app_secret: self.app_secret.clone(),
        }
    }

    fn request(&self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let timestamp = unix_now().to_string();
        let sign = ccgate_api::sign::sign(
            &self.app_id,
            self.app_secret.expose_secret(),
            &timestamp,
            REQUEST_BODY.as_bytes(),
        );
        client
            .post(&self.url)
            .header("Appid", &self.app_id)
            .header("Timestamp", timestamp)
            .header("Sign", sign)
            .header("Content-Type", "application/json")
            .body(REQUEST_BODY)
    }
}

fn client(connections: usize) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(10))
        .build()
        .context("build the HTTP client")
}

/// One checked call to the real server (the answer must be a success whose
/// signature verifies): the headers it answers with (each a shared value:
/// cloning it copies no bytes) and the body.
async fn first_answer(
    client: &reqwest::Client,
    target: &Target,
) -> anyhow::Result<([(HeaderName, HeaderValue); 5], axum::body::Bytes)> {
    let response = target
        .request(client)
        .send()
        .await
        .context("call the real server")?;
    let timestamp = header(&response, "timestamp")?;
    let sign = header(&response, "sign")?;
    let answered = |name: &'static str| -> anyhow::Result<(HeaderName, HeaderValue)> {
        Ok((
            HeaderName::from_static(name),
            HeaderValue::from_maybe_shared(axum::body::Bytes::from(header(&response, name)?))?,
        ))
    };
    let headers = [
        answered("content-type")?,
        answered("appid")?,
        answered("timestamp")?,
        answered("sign")?,
        answered("x-request-id")?,
    ];
    let body = response.bytes().await?;
    if !body.starts_with(br#"{"code":10000,"#) {
        bail!(
            "the real server refused the bench request: {}",
            String::from_utf8_lossy(&body)
        );
    }
    if !ccgate_api::sign::verify(
        &target.app_id,
        target.app_secret.expose_secret(),
        &timestamp,
        &body,
        &sign,
    ) {
        bail!("the real server's response signature does not verify");
    }
    Ok((headers, body))
}

fn header(response: &reqwest::Response, name: &str) -> anyhow::Result<String> {
    Ok(response
        .headers()
        .get(name)
        .with_context(|| format!("response lacks the {name} header"))?
        .to_str()?
        .to_owned())
}

/// `connections` clients calling `target` one call after another for
/// `length`; a call is counted if it started within it.
async fn drive(
    client: &reqwest::Client,
    target: &Target,
    connections: usize,
    length: Duration,
) -> Measured {
    let end = Instant::now() + length;
    let target = Arc::new(target.clone_with_secret());
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let client = client.clone();
        let target = Arc::clone(&target);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            loop {
                let started = Instant::now();
                if started >= end {
                    break;
                }
                if call(&client, &target).await {
                    latencies.push(micros(started.elapsed()));
                } else {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies_us = Vec::new();
    let mut failures = 0;
    for task in tasks {
        if let Ok((mut l, f)) = task.await {
            latencies_us.append(&mut l);
            failures += f;
        }
    }
    latencies_us.sort_unstable();
    Measured {
        requests: latencies_us.len(),
        failures,
        elapsed: length,
        latencies_us,
    }
}

async fn call(client: &reqwest::Client, target: &Target) -> bool {
    match target.request(client).send().await {
        Ok(response) if response.status().is_success() => match response.bytes().await {
            Ok(body) => body.starts_with(br#"{"code":10000,"#),
            Err(_) => false,
        },
        _ => false,
    }
}
