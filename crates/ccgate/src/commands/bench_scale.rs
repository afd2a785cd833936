//! `ccgate bench scale`: whether what a request costs grows with the history
//! the database holds (issue #16 §5). Two scratch databases in one run: one
//! empty but for the measured merchant, one where that merchant also has a
//! long history (by default 1M deposits credited — each a journal entry, a
//! deposit and an outbox row — 100k orders with their addresses and 100k
//! permanent addresses). The real server runs on each; signed `assets`,
//! `bill/info` and `payment/address/get` are timed over HTTP, one request at
//! a time, alternating between the two, and so is a `/metrics` scrape on
//! the admin listener. Each figure's ratio is loaded ÷ empty: 1 when the
//! history costs nothing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ccgate_ledger::{Amount, CoinId, MerchantId, TokenId};
use ccgate_store::{
    BulkLoad, CachingStore, DepositAddress, DepositCredit, Order, WebhookDialect, generate_app_id,
    generate_app_secret,
};
use secrecy::{ExposeSecret, SecretString};

use super::bench_kit::{Figure, Measured, in_scratch_schema, micros};
use super::bench_ledger::deposit_credit;
use super::bench_writes::{Signer, call};
use super::unix_now;
use crate::backend::Backend;
use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct ScaleBenchArgs {
    /// Deposits credited to the measured merchant in the loaded database, by
    /// the store's group commit: each a journal entry, a deposit and an
    /// outbox row.
    #[arg(long, default_value_t = 1_000_000)]
    pub deposits: u32,
    /// The merchant's orders in the loaded database, each with its address.
    #[arg(long, default_value_t = 100_000)]
    pub orders: u32,
    /// The merchant's permanent deposit addresses in the loaded database.
    #[arg(long, default_value_t = 100_000)]
    pub addresses: u32,
    /// Timed requests per endpoint and database, one at a time on one
    /// connection, in two rounds.
    #[arg(long, default_value_t = 2_000)]
    pub requests: usize,
    /// Also measure on this PostgreSQL (e.g.
    /// `postgres://postgres@127.0.0.1:5432/test`), in scratch schemas dropped
    /// after the run.
    #[arg(long)]
    pub postgres: Option<String>,
}

const USDT_TRC20: &str = "0912e09a-d8e2-41d7-a0bc-a25530892988";
/// The order `bill/info` asks for, made through `bill/create` on each side.
const MEASURED_ORDER: &str = "scale-measured";
const ASSETS: &str = "assets";
const BILL_INFO: &str = "bill/info";
const ADDRESS_GET: &str = "payment/address/get";
const ENDPOINTS: [&str; 3] = [ASSETS, BILL_INFO, ADDRESS_GET];
/// Orders or addresses per DB transaction while loading.
const LOAD_BATCH: usize = 10_000;
/// Deposits per group commit while loading.
const CREDITS_PER_BATCH: usize = 5_000;
/// Untimed requests per endpoint and side before the first round.
const WARM_UP: usize = 20;
const ROUNDS: usize = 2;
/// Scrapes timed per side; the median is reported.
const SCRAPES: usize = 21;
/// Above the derivation indexes the server hands out while measuring.
const LOADED_INDEX_BASE: u32 = 1_000_000_000;

/// One database with the real server on it.
struct Side {
    name: &'static str,
    api: SocketAddr,
    admin: SocketAddr,
    admin_token: SecretString,
    signer: Signer,
    /// What `assets` asks for: the coin the merchant holds.
    assets_body: String,
}

/// What was measured on one side.
#[derive(Default)]
struct Timings {
    endpoints: [Measured; 3],
    scrape_ms: f64,
}

pub async fn scale(args: &ScaleBenchArgs) -> anyhow::Result<Vec<Figure>> {
    if args.requests < ROUNDS {
        bail!("--requests must be at least {ROUNDS}");
    }
    let settings = Settings::builtin()?;
    println!(
        "ccgate bench scale: an empty database against one holding {} deposits (journal entries \
         and outbox rows), {} orders and {} permanent addresses of the measured merchant; \
         {} requests per endpoint and database, one at a time, every request reading the \
         database (no cache)",
        args.deposits, args.orders, args.addresses, args.requests
    );
    let (_empty_dir, empty) = super::bench_kit::scratch_sqlite().await?;
    let (_loaded_dir, loaded) = super::bench_kit::scratch_sqlite().await?;
    let mut figures = measure_on("sqlite", empty, loaded, args, &settings).await?;

    let Some(url) = &args.postgres else {
        println!("(PostgreSQL not measured: pass --postgres URL)");
        return Ok(figures);
    };
    let on_postgres = in_scratch_schema(url, "ccgate_scale_empty", |empty| {
        in_scratch_schema(url, "ccgate_scale_loaded", |loaded| {
            measure_on("postgres", empty, loaded, args, &settings)
        })
    })
    .await?;
    figures.extend(on_postgres);
    Ok(figures)
}

/// The whole comparison on one backend: load, serve both, time both.
async fn measure_on<B: Backend + BulkLoad>(
    backend: &'static str,
    empty: B,
    loaded: B,
    args: &ScaleBenchArgs,
    settings: &Settings,
) -> anyhow::Result<Vec<Figure>> {
    let usdt = settings
        .registry
        .coin_by_symbol("USDT")
        .context("USDT")?
        .id
        .clone();
    let empty_merchant = new_merchant(&empty, &usdt).await?;
    let loaded_merchant = new_merchant(&loaded, &usdt).await?;
    load(&loaded, &loaded_merchant.0, &usdt, args).await?;

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("build the HTTP client")?;
    let sides = [
        start(
            "empty",
            empty.clone(),
            empty_merchant,
            &usdt,
            settings,
            &client,
        )
        .await?,
        start(
            "loaded",
            loaded.clone(),
            loaded_merchant,
            &usdt,
            settings,
            &client,
        )
        .await?,
    ];
    let next_user = AtomicUsize::new(0);
    for side in &sides {
        for endpoint in ENDPOINTS {
            time_requests(&client, side, endpoint, WARM_UP, &next_user).await?;
        }
    }
    let mut timings = [Timings::default(), Timings::default()];
    for _ in 0..ROUNDS {
        for (index, endpoint) in ENDPOINTS.into_iter().enumerate() {
            for (side, timing) in sides.iter().zip(timings.iter_mut()) {
                let measured =
                    time_requests(&client, side, endpoint, args.requests / ROUNDS, &next_user)
                        .await?;
                timing.endpoints[index].add(measured);
            }
        }
    }
    for (side, timing) in sides.iter().zip(timings.iter_mut()) {
        timing.scrape_ms = scrape_ms(&client, side).await?;
    }
    empty.close().await;
    loaded.close().await;

    let [empty_timing, loaded_timing] = &timings;
    println!(
        "{backend}: {:<22} {:>10} {:>10} {:>11} {:>11} {:>7} {:>7}",
        "", "empty p50", "empty p99", "loaded p50", "loaded p99", "p50 ×", "p99 ×"
    );
    let mut figures = Vec::new();
    for (index, endpoint) in ENDPOINTS.into_iter().enumerate() {
        let (e, l) = (
            &empty_timing.endpoints[index],
            &loaded_timing.endpoints[index],
        );
        let (e50, e99, l50, l99) = (
            e.percentile_ms(50),
            e.percentile_ms(99),
            l.percentile_ms(50),
            l.percentile_ms(99),
        );
        println!(
            "{backend}: {endpoint:<22} {e50:>7.3} ms {e99:>7.3} ms {l50:>8.3} ms {l99:>8.3} ms \
             {:>7.2} {:>7.2}",
            l50 / e50,
            l99 / e99
        );
        figures.push(
            Figure::new(format!("scale {backend} {endpoint} p50"), l50, "ms").with_ratio(l50 / e50),
        );
        figures.push(
            Figure::new(format!("scale {backend} {endpoint} p99"), l99, "ms").with_ratio(l99 / e99),
        );
    }
    let (e, l) = (empty_timing.scrape_ms, loaded_timing.scrape_ms);
    println!(
        "{backend}: {:<22} {e:>7.3} ms (median of {SCRAPES}) {l:>8.3} ms {:>7.2}",
        "/metrics scrape",
        l / e
    );
    figures
        .push(Figure::new(format!("scale {backend} /metrics scrape"), l, "ms").with_ratio(l / e));
    Ok(figures)
}

/// A merchant holding USDT, as both sides have it.
async fn new_merchant<B: Backend>(
    store: &B,
    usdt: &CoinId,
) -> anyhow::Result<(MerchantId, SecretString)> {
    let merchant = MerchantId::new(generate_app_id(unix_now()));
    let secret = generate_app_secret();
    store
        .create_merchant(&merchant, &secret, "bench-scale", unix_now(), None)
        .await?;
    super::bench_kit::fund(store, &merchant, usdt, Amount::from_base_units(1_000_000)).await?;
    Ok((merchant, secret))
}

/// The merchant's history: orders and permanent addresses by multi-row
/// inserts, deposits by the store's group commit, each batch one DB
/// transaction; then the store's own figures are checked against it.
async fn load<B: Backend + BulkLoad>(
    store: &B,
    merchant: &MerchantId,
    usdt: &CoinId,
    args: &ScaleBenchArgs,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let now = unix_now();
    let orders = args.orders as usize;
    for first in (0..orders).step_by(LOAD_BATCH) {
        let batch: Vec<(Order, DepositAddress)> = (first..orders.min(first + LOAD_BATCH))
            .map(|i| loaded_order(merchant, usdt, i, now))
            .collect::<anyhow::Result<_>>()?;
        store.load_orders(&batch).await?;
    }
    println!(
        "loaded {orders} orders in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let addresses = args.addresses as usize;
    for first in (0..addresses).step_by(LOAD_BATCH) {
        let batch: Vec<DepositAddress> = (first..addresses.min(first + LOAD_BATCH))
            .map(|i| {
                Ok(DepositAddress {
                    wallet_user: false,
                    chain: "TRX".to_owned(),
                    address: format!("TScaleUser{i:024}"),
                    app_id: merchant.clone(),
                    user_id: Some(format!("scale-user-{i}")),
                    order_id: None,
                    notify_url: None,
                    derivation_index: loaded_index(orders + i)?,
                    dialect: WebhookDialect::V1,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        store.load_permanent_addresses(&batch, now).await?;
    }
    println!(
        "loaded {addresses} permanent addresses in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let deposits = args.deposits as usize;
    let report_every = (deposits / 10).max(1);
    let mut credited = 0;
    let mut height = 0;
    while credited < deposits {
        height += 1;
        let batch = CREDITS_PER_BATCH.min(deposits - credited);
        let credits: Vec<DepositCredit> = (0..batch)
            .map(|i| deposit_credit(merchant, &format!("0x{i:040x}"), height, i, 1_000_000, 300))
            .collect::<anyhow::Result<_>>()?;
        store.credit_deposits("ETH", Some(height), &credits).await?;
        let before = credited;
        credited += batch;
        if credited / report_every > before / report_every || credited == deposits {
            println!(
                "credited {credited} of {deposits} deposits ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let entries = store.journal_len().await?;
    let outbox = store.webhook_counts().await?;
    // The funding entry is the one more.
    if entries != deposits as u64 + 1 || outbox.pending != deposits as u64 {
        bail!(
            "after loading, {entries} journal entries and {} webhooks pending; expected {} and {deposits}",
            outbox.pending,
            deposits + 1
        );
    }
    Ok(())
}

fn loaded_index(nth: usize) -> anyhow::Result<u32> {
    u32::try_from(nth)
        .ok()
        .and_then(|nth| LOADED_INDEX_BASE.checked_add(nth))
        .context("too many loaded addresses")
}

/// The `i`-th order of the loaded history, as `bill/create` would store it.
fn loaded_order(
    merchant: &MerchantId,
    usdt: &CoinId,
    i: usize,
    now: i64,
) -> anyhow::Result<(Order, DepositAddress)> {
    let order_id = format!("scale-order-{i}");
    let pay_address = format!("TScaleOrder{i:023}");
    let order = Order {
        order_id: order_id.clone(),
        app_id: merchant.clone(),
        merchant_order_id: format!("scale-history-{i}"),
        kind: "native".to_owned(),
        fingerprint: format!("scale-{i}"),
        token_id: TokenId::new(USDT_TRC20),
        coin_id: usdt.clone(),
        chain: "TRX".to_owned(),
        pay_address: pay_address.clone(),
        product_price: "10".to_owned(),
        product_name: String::new(),
        denominated_currency: "USD".to_owned(),
        fiat_rate: "1".to_owned(),
        token_rate: "1".to_owned(),
        order_amount: Amount::from_base_units(10_000_000),
        created_at: now,
        expires_at: now + 3_600,
        notify_url: None,
        custom_value: None,
        remark: None,
        dialect: WebhookDialect::V1,
        buyer_email: None,
        invoice: false,
    };
    let address = DepositAddress {
        wallet_user: false,
        chain: "TRX".to_owned(),
        address: pay_address,
        app_id: merchant.clone(),
        user_id: None,
        order_id: Some(order_id),
        notify_url: None,
        derivation_index: loaded_index(i)?,
        dialect: WebhookDialect::V1,
    };
    Ok((order, address))
}

/// The real server on `store` — no cache in front, so every request reads
/// the database; no address quota, as the loaded merchant is far past the
/// default — its admin listener, and the order `bill/info` asks for.
async fn start<B: Backend>(
    name: &'static str,
    store: B,
    (merchant, secret): (MerchantId, SecretString),
    usdt: &CoinId,
    settings: &Settings,
    client: &reqwest::Client,
) -> anyhow::Result<Side> {
    let cached = Arc::new(CachingStore::new(store, Duration::ZERO));
    let (state, _) = super::serve::bench_state(cached, settings, u64::MAX).await?;
    let api = super::bench_kit::spawn_gateway(state.clone()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let admin = listener.local_addr()?;
    let admin_token = generate_app_secret();
    let access = ccgate_server::AdminAccess::new(admin_token.clone(), admin, &[]);
    super::bench_kit::serve_on(listener, ccgate_server::admin_router(state, access));
    let side = Side {
        name,
        api,
        admin,
        admin_token,
        signer: Signer {
            app_id: merchant.to_string(),
            secret,
        },
        assets_body: format!(r#"{{"coin_id":"{}"}}"#, usdt.as_str()),
    };
    call(
        client,
        &side.signer,
        &side.url("bill/create"),
        format!(
            r#"{{"token_id":"{USDT_TRC20}","product_price":"10","merchant_order_id":"{MEASURED_ORDER}"}}"#
        ),
    )
    .await
    .with_context(|| format!("create the measured order ({name})"))?;
    Ok(side)
}

impl Side {
    fn url(&self, endpoint: &str) -> String {
        format!("http://{}/ccpayment/v1/{endpoint}", self.api)
    }
}

/// `count` requests to `endpoint`, one after another, each checked to be a
/// success; `payment/address/get` asks for a new user each time.
async fn time_requests(
    client: &reqwest::Client,
    side: &Side,
    endpoint: &'static str,
    count: usize,
    next_user: &AtomicUsize,
) -> anyhow::Result<Measured> {
    let url = side.url(endpoint);
    let mut measured = Measured::default();
    for _ in 0..count {
        let body = match endpoint {
            ASSETS => side.assets_body.clone(),
            BILL_INFO => format!(r#"{{"merchant_order_ids":["{MEASURED_ORDER}"]}}"#),
            _ => format!(
                r#"{{"user_id":"scale-new-{}","chain":"TRX"}}"#,
                next_user.fetch_add(1, Ordering::Relaxed)
            ),
        };
        let started = Instant::now();
        call(client, &side.signer, &url, body)
            .await
            .with_context(|| format!("{endpoint} on the {} database", side.name))?;
        let elapsed = started.elapsed();
        measured.latencies_us.push(micros(elapsed));
        measured.elapsed += elapsed;
    }
    measured.requests = count;
    measured.latencies_us.sort_unstable();
    Ok(measured)
}

/// The median time of a `/metrics` scrape over HTTP, in milliseconds.
async fn scrape_ms(client: &reqwest::Client, side: &Side) -> anyhow::Result<f64> {
    let url = format!("http://{}/metrics", side.admin);
    let mut times = Vec::with_capacity(SCRAPES);
    for _ in 0..SCRAPES {
        let started = Instant::now();
        let response = client
            .get(&url)
            .bearer_auth(side.admin_token.expose_secret())
            .send()
            .await
            .context("scrape /metrics")?;
        let status = response.status();
        let body = response.text().await?;
        if !status.is_success() || !body.contains("webhooks") {
            bail!("/metrics answered {status}: {body}");
        }
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[SCRAPES / 2].as_secs_f64() * 1000.0)
}
