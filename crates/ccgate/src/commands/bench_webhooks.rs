//! `ccgate bench webhooks`: how fast the production delivery loop empties an
//! outbox of N webhooks spread over M merchants into a fast local receiver,
//! against a bare HTTP client loop posting the same bodies with the same
//! headers to the same receiver in the same run.

use ccgate_engine::devnet::DatabaseDevnet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::extract::{Path, State};
use axum::routing::post;
use ccgate_api::sign;
use ccgate_chain::{DevnetChain, DevnetPayment};
use ccgate_engine::webhooks::DeliveryConfig;
use ccgate_ledger::{Amount, MerchantId, TokenId};
use ccgate_store::{generate_app_id, generate_app_secret};
use secrecy::{ExposeSecret, SecretString};

use super::bench_kit::{CpuScope, CpuSpent, CpuTimes, Figure};
use super::{background, unix_now, unix_now_ms};
use crate::backend::Backend;
use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct WebhookBenchArgs {
    /// Webhooks queued in the outbox before delivery starts.
    #[arg(long, default_value_t = 10_000)]
    pub webhooks: u32,
    /// Merchants the webhooks are spread over (round robin), each with its
    /// own webhook URL on the one receiver.
    #[arg(long, default_value_t = 50)]
    pub merchants: u32,
    /// Also measure on this PostgreSQL (e.g.
    /// `postgres://postgres@127.0.0.1:5432/test`), in a scratch schema
    /// dropped afterwards.
    #[arg(long)]
    pub postgres: Option<String>,
}

const USDT_ERC20: &str = "2728e271-9f5d-4c05-8aa7-4a87b1afcc95";
/// How long the delivery (or the baseline) may take before the run fails.
const DEADLINE: Duration = Duration::from_secs(600);

/// Requests the receiver answered, per merchant (by the URL's index).
struct Counts {
    per_merchant: Vec<AtomicU64>,
    total: AtomicU64,
}

impl Counts {
    fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    fn per_merchant(&self) -> Vec<u64> {
        self.per_merchant
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .collect()
    }
}

/// One webhook as the baseline posts it: body and signed headers, made
/// before the clock starts so the loop does nothing but HTTP.
struct Post {
    url: String,
    app_id: String,
    timestamp: String,
    sign: String,
    body: String,
}

pub async fn webhooks(args: &WebhookBenchArgs) -> anyhow::Result<Vec<Figure>> {
    if args.webhooks == 0 || args.merchants == 0 {
        bail!("--webhooks and --merchants must be at least 1");
    }
    super::bench_kit::on_sqlite_then_postgres(
        args.postgres.as_deref(),
        "ccgate_webhooks",
        |sqlite| measure_on("SQLite", "webhook deliveries", sqlite, args),
        |postgres| {
            measure_on(
                "PostgreSQL",
                "webhook deliveries on PostgreSQL",
                postgres,
                args,
            )
        },
    )
    .await
}

/// The whole comparison on one database: queue, baseline, delivery,
/// baseline again.
async fn measure_on<B: Backend>(
    backend_name: &'static str,
    figure_name: &'static str,
    backend: B,
    args: &WebhookBenchArgs,
) -> anyhow::Result<Vec<Figure>> {
    let count = args.webhooks as usize;
    let merchant_count = args.merchants as usize;
    let store = super::bench_kit::cached(&backend, 1_000);
    let settings = Settings::builtin()?;
    let (state, parts) = super::serve::bench_state(store.clone(), &settings, 1).await?;
    let config = DeliveryConfig::default();

    let counts = Arc::new(Counts {
        per_merchant: (0..merchant_count).map(|_| AtomicU64::new(0)).collect(),
        total: AtomicU64::new(0),
    });
    let receiver = axum::Router::new()
        .route("/hook/{merchant}", post(receive))
        .with_state(Arc::clone(&counts));
    let receiver_address = super::bench_kit::spawn_server(receiver).await?;

    println!(
        "ccgate bench webhooks on {backend_name}: {count} webhooks over {merchant_count} \
         merchants, delivery at most {} in flight ({} per merchant under contention)",
        config.deliveries_max, config.deliveries_per_merchant_max
    );

    // Merchants, each with one permanent ETH address and its webhook URL.
    let chain = settings
        .registry
        .chain("ETH")
        .context("the built-in ETH chain")?
        .clone();
    let mut merchants = Vec::with_capacity(merchant_count);
    let mut addresses = Vec::with_capacity(merchant_count);
    for index in 0..merchant_count {
        let merchant = MerchantId::new(generate_app_id(unix_now()));
        let secret = generate_app_secret();
        backend
            .create_merchant(
                &merchant,
                &secret,
                &format!("bench-{index}"),
                unix_now(),
                None,
            )
            .await?;
        backend
            .set_merchant_webhook(
                &merchant,
                Some(&format!("http://{receiver_address}/hook/{index}")),
                false,
                ccgate_store::WebhookDialect::V1,
                None,
            )
            .await?;
        let address = state
            .addresses
            .permanent_address(
                &merchant,
                "user",
                &chain,
                None,
                ccgate_store::WebhookDialect::V1,
                unix_now(),
            )
            .await?;
        addresses.push(address.address);
        merchants.push((merchant, secret));
    }

    // The webhooks are queued as the product queues them: deposits credited
    // by the deposit watcher, each with its outbox row, before delivery runs.
    let queueing_started = Instant::now();
    let devnet = DevnetChain::new(
        chain.clone(),
        DatabaseDevnet::new(Arc::new(backend.clone())),
    );
    for nth in 0..count {
        devnet
            .pay(
                DevnetPayment {
                    to_address: addresses[nth % merchant_count].clone(),
                    from_address: "0x0000000000000000000000000000000000000000".to_owned(),
                    memo: String::new(),
                    token_id: TokenId::new(USDT_ERC20),
                    amount: Amount::from_base_units(1_000_000_000_000_000_000),
                },
                unix_now_ms(),
            )
            .await?;
    }
    devnet
        .mine(chain.confirmations_required, unix_now_ms())
        .await?;
    super::bench_deposits::credit_confirmed(&state, &parts, &backend, count).await?;
    let queued = backend.webhook_counts().await?;
    if queued.pending != count as u64 {
        bail!("{} webhooks queued, {count} expected", queued.pending);
    }
    println!(
        "queued {count} webhooks (deposits credited) in {:.2} s",
        queueing_started.elapsed().as_secs_f64()
    );

    // The baseline's posts: the queued bodies, signed as the sender signs.
    let rows = backend
        .list_webhooks(None, u32::try_from(count).unwrap_or(u32::MAX))
        .await?;
    let timestamp = unix_now().to_string();
    let mut posts = Vec::with_capacity(rows.len());
    for row in rows {
        let index = merchants
            .iter()
            .position(|(merchant, _)| *merchant == row.app_id)
            .context("a webhook of a merchant the bench did not create")?;
        let secret: &SecretString = &merchants[index].1;
        posts.push(Post {
            url: format!("http://{receiver_address}/hook/{index}"),
            app_id: row.app_id.as_str().to_owned(),
            sign: sign::sign(
                row.app_id.as_str(),
                secret.expose_secret(),
                &timestamp,
                row.payload.as_bytes(),
            ),
            timestamp: timestamp.clone(),
            body: row.payload,
        });
    }
    let posts = Arc::new(posts);
    let concurrency = config.deliveries_max as usize;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .context("build the HTTP client")?;

    // Baseline before and after the delivery, so drift in a shared machine's
    // speed hits both sides alike; the figure is their mean.
    let (bare_before, bare_before_cpu) = CpuSpent::measure(
        CpuScope::ThisProcess,
        bare_loop(&client, &posts, concurrency, &counts),
    )
    .await;
    let bare_before = bare_before?;
    // On PostgreSQL its server's processes on this machine count for the
    // delivery too: they share the cores. The bare loop uses no database:
    // what the server does meanwhile (a vacuum after the delivery) is not
    // the loop's.
    let on_postgres = backend_name != "SQLite";
    let delivery_scope = if on_postgres {
        CpuScope::WithLocalPostgres
    } else {
        CpuScope::ThisProcess
    };
    let delivery_cpu_before = CpuTimes::read(delivery_scope);

    let before = counts.total();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let delivery_started = Instant::now();
    let loops = background::spawn_as_serve(&state, &parts, &backend, &stopped)?;
    let deadline = delivery_started + DEADLINE;
    // The receiver's count first (no database reads while the loop works),
    // then the outbox, which records each attempt after its answer.
    while counts.total() - before < count as u64 {
        if Instant::now() > deadline {
            bail!(
                "only {} of {count} webhooks arrived within {} s",
                counts.total() - before,
                DEADLINE.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let outbox = loop {
        let outbox = backend.webhook_counts().await?;
        if outbox.delivered >= count as u64 {
            break outbox;
        }
        if Instant::now() > deadline {
            bail!(
                "only {} of {count} webhooks recorded delivered within {} s",
                outbox.delivered,
                DEADLINE.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let delivery = delivery_started.elapsed();
    let delivery_cpu = delivery_cpu_before
        .and_then(|before| Some(CpuTimes::read(delivery_scope)?.spent_since(&before)));
    let _ = stop.send(true);
    for task in loops {
        let _ = task.await;
    }
    let arrived = counts.total() - before;
    let delivered_per_merchant = counts.per_merchant();

    let (bare_after, bare_after_cpu) = CpuSpent::measure(
        CpuScope::ThisProcess,
        bare_loop(&client, &posts, concurrency, &counts),
    )
    .await;
    let bare_after = bare_after?;
    let bare = (bare_before + bare_after) / 2;
    let bare_cpu = bare_before_cpu.zip(bare_after_cpu).map(|(a, b)| a + b);

    // Every merchant got each of its webhooks; the baseline's posts are
    // counted too, twice its share per merchant.
    let mut short = Vec::new();
    for (index, got) in delivered_per_merchant.iter().enumerate() {
        let share = (count / merchant_count + usize::from(index < count % merchant_count)) as u64;
        // The first baseline's posts are in the count already.
        if *got < share * 2 {
            short.push(format!(
                "merchant {index}: {} of {share}",
                got - share.min(*got)
            ));
        }
    }
    if !short.is_empty() {
        bail!("webhooks missing at the receiver: {}", short.join(", "));
    }

    let per_sec = |elapsed: Duration| count as f64 / elapsed.as_secs_f64();
    println!(
        "delivered {count} of {count}: outbox {} delivered, {} pending, {} failed; \
         receiver counted {arrived} ({} attempts recorded)",
        outbox.delivered,
        outbox.pending,
        outbox.failed,
        outbox.attempts_delivered + outbox.attempts_failed,
    );
    println!(
        "webhook delivery {:>10.0}/s  ({count} in {:.2} s; claim, sign, POST, record each)",
        per_sec(delivery),
        delivery.as_secs_f64()
    );
    println!(
        "bare HTTP posts  {:>10.0}/s  ({count} in {:.2} s and {:.2} s, {concurrency} at once; baseline)",
        per_sec(bare),
        bare_before.as_secs_f64(),
        bare_after.as_secs_f64()
    );
    // What each costs in CPU, apart from how busy the machine was: the
    // ceiling this machine's cores put on delivery, whatever its latencies.
    let cpu_each = delivery_cpu.zip(bare_cpu).map(|(delivery_cpu, bare_cpu)| {
        let delivery_us = delivery_cpu.micros_each(count);
        let bare_us = bare_cpu.micros_each(count * 2);
        let database = if !on_postgres {
            format!(
                "SQLite's threads {:.1} µs of it",
                delivery_cpu.sqlite_micros_each(count)
            )
        } else if delivery_cpu.postgres > Duration::ZERO {
            format!(
                "PostgreSQL's processes on this machine {:.1} µs of it",
                delivery_cpu.postgres_micros_each(count)
            )
        } else {
            "PostgreSQL runs elsewhere: not counted".to_owned()
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!(
            "CPU a webhook (sender, receiver, database): delivery {delivery_us:.1} µs \
             ({database}), bare loop {bare_us:.1} µs a post; CPU ratio {:.2}: on {cores} \
             cores at most {:.0} deliveries/s",
            bare_us / delivery_us,
            cores as f64 * 1e6 / delivery_us
        );
        (delivery_us, bare_us)
    });
    println!("ratio: {:.2}", per_sec(delivery) / per_sec(bare));
    if merchant_count == 1 {
        println!(
            "single merchant: alone, it may hold more than its cap of {} in flight, up to half \
             of the {} slots that are free at each claim (decisions §38)",
            config.deliveries_per_merchant_max, config.deliveries_max
        );
    }
    store.backend().close().await;
    let mut figures = vec![
        Figure::new(figure_name, per_sec(delivery), "/s")
            .with_ratio(per_sec(delivery) / per_sec(bare)),
    ];
    if let Some((delivery_us, bare_us)) = cpu_each {
        figures.push(
            Figure::new(format!("{figure_name} CPU a webhook"), delivery_us, "µs")
                .with_ratio(bare_us / delivery_us),
        );
    }
    Ok(figures)
}

/// The fast receiver: counts the request for the merchant of its URL and
/// acknowledges it at once.
async fn receive(State(counts): State<Arc<Counts>>, Path(merchant): Path<usize>) -> &'static str {
    if let Some(count) = counts.per_merchant.get(merchant) {
        count.fetch_add(1, Ordering::Relaxed);
    }
    counts.total.fetch_add(1, Ordering::Relaxed);
    "success"
}

/// Every post once, `concurrency` at a time on one keep-alive client, each
/// answer read whole and checked; how long it took.
async fn bare_loop(
    client: &reqwest::Client,
    posts: &Arc<Vec<Post>>,
    concurrency: usize,
    counts: &Counts,
) -> anyhow::Result<Duration> {
    let before = counts.total();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let posts = Arc::clone(posts);
        let next = Arc::clone(&next);
        tasks.spawn(async move {
            loop {
                let Some(post) = posts.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return Ok::<(), anyhow::Error>(());
                };
                let response = client
                    .post(&post.url)
                    .header("Content-Type", "application/json")
                    .header("Appid", &post.app_id)
                    .header("Timestamp", &post.timestamp)
                    .header("Sign", &post.sign)
                    .body(post.body.clone())
                    .send()
                    .await
                    .context("post to the receiver")?;
                let status = response.status();
                let body = response
                    .text()
                    .await
                    .context("read the receiver's answer")?;
                if !status.is_success() || !body.contains("success") {
                    bail!("the receiver answered {status}: {body}");
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a baseline task")??;
    }
    let elapsed = started.elapsed();
    let posted = counts.total() - before;
    if posted != posts.len() as u64 {
        bail!("the receiver counted {posted} of {} posts", posts.len());
    }
    Ok(elapsed)
}
