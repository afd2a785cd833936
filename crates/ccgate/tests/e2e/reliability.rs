//! The gateway killed with SIGKILL at random moments under a mixed load of
//! deposits, withdrawals and failing webhook receivers, restarted each time on
//! the same data directory. Once everything has settled, every payment is
//! credited once, every withdrawal resolved once, every webhook delivered, and
//! the merchant's balance is what the payments and withdrawals make it, to the
//! base unit.
//!
//! `CCGATE_RELIABILITY_ROUNDS` sets the number of kills (20 by default, the CI
//! scale) and `CCGATE_RELIABILITY_SEED` replays a run's random choices (each
//! run prints its seed). Thread scheduling is not replayed, so a seed repeats
//! the load and the kill times, not the exact interleaving.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::support::{
    CLOSE, Gateway, HttpStub, Merchant, NoAnswer, USDT_ERC20, eventually, try_post_json,
    try_post_signed,
};

const USDT_TRC20: &str = "0912e09a-d8e2-41d7-a0bc-a25530892988";
const PAYEE_EVM: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const PAYEE_TRON: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
/// The chains the load uses: (chain, its USDT token, a payee, confirmations).
const CHAINS: [(&str, &str, &str, u32); 2] = [
    ("ETH", USDT_ERC20, PAYEE_EVM, 12),
    ("TRX", USDT_TRC20, PAYEE_TRON, 20),
];
const ROUNDS_DEFAULT: u32 = 20;
/// The merchant's opening balance in whole USDT: more than any run withdraws,
/// so every withdrawal must be accepted.
const OPENING_BALANCE: u128 = 100_000_000;
/// USDT base units per USDT (the coin's precision is 18).
const UNIT: u128 = 1_000_000_000_000_000_000;
/// The default service fee, 0.03 %, in parts per million of each deposit.
const SERVICE_FEE_PPM: u128 = 300;
/// What the receiver answers in a round, drawn at random; success is twice as
/// likely as each way of failing.
const RECEIVER_MOODS: [(u16, &str); 5] = [
    (200, "success"),
    (200, "success"),
    (500, "down"),
    (200, "busy, try later"),
    (CLOSE, ""),
];

/// Where the live server listens; `None` from just before a kill until the
/// restarted server is ready, so the load waits instead of knocking on a
/// dead port (which another test's server might reuse).
struct Live {
    endpoints: RwLock<Option<Endpoints>>,
    /// The same across restarts: it is kept in the data directory.
    admin_token: String,
}

#[derive(Debug, Clone, Copy)]
struct Endpoints {
    api: SocketAddr,
    admin: SocketAddr,
}

impl Live {
    fn of(gateway: &Gateway) -> Endpoints {
        Endpoints {
            api: gateway.address(),
            admin: gateway.admin.expect("the admin listener is open"),
        }
    }

    fn set(&self, endpoints: Option<Endpoints>) {
        *self.endpoints.write().unwrap() = endpoints;
    }

    fn wait(&self) -> Endpoints {
        loop {
            if let Some(endpoints) = *self.endpoints.read().unwrap() {
                return endpoints;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A deposit address and the token paid to it.
#[derive(Debug, Clone)]
struct Target {
    address: String,
    token_id: &'static str,
    /// The order's merchant_order_id; `None` for a permanent address.
    order: Option<String>,
}

/// A devnet payment the load made, with a whole-USDT amount no other payment
/// has, so a credit can be traced to its payment even when the payment's
/// answer (and txid) was lost.
#[derive(Debug)]
struct Payment {
    amount: u128,
    target: Target,
    outcome: PayOutcome,
}

#[derive(Debug, PartialEq, Eq)]
enum PayOutcome {
    Paid {
        txid: String,
    },
    /// Sent, answer lost in a crash: on the chain or not, credited at most once.
    AnswerLost,
    /// Refused at connect: never on the chain, never credited.
    NotSent,
}

#[derive(Debug)]
struct Withdrawal {
    merchant_order_id: String,
    body: String,
    value: u128,
    merchant_pays_fee: bool,
    /// Its first answer was lost to a crash and the request sent again.
    retried: bool,
    /// `data` of the accepted answer.
    accepted: Value,
}

fn rounds() -> u32 {
    std::env::var("CCGATE_RELIABILITY_ROUNDS").map_or(ROUNDS_DEFAULT, |rounds| {
        rounds
            .parse()
            .expect("CCGATE_RELIABILITY_ROUNDS is a number")
    })
}

fn seed() -> u64 {
    std::env::var("CCGATE_RELIABILITY_SEED").map_or_else(
        |_| rand::random(),
        |seed| seed.parse().expect("CCGATE_RELIABILITY_SEED is a number"),
    )
}

/// Retries every 300 ms for longer than any run lasts, so no webhook is given
/// up on while the receiver fails, and a recovered receiver gets it soon.
fn webhook_ladder(rounds: u32) -> String {
    let total_ms = 120_000 + u64::from(rounds) * 5_000;
    (1..=total_ms / 300)
        .map(|step| (step * 300).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// A decimal USDT amount in base units, exactly.
fn base_units(decimal: &str) -> u128 {
    let (whole, fraction) = decimal.split_once('.').unwrap_or((decimal, ""));
    assert!(fraction.len() <= 18, "{decimal} has more than 18 decimals");
    whole.parse::<u128>().unwrap() * UNIT + format!("{fraction:0<18}").parse::<u128>().unwrap()
}

fn pay_load(
    live: &Live,
    stop: &AtomicBool,
    targets: &[Target],
    next_amount: &AtomicU64,
    mut rng: StdRng,
) -> Vec<Payment> {
    let mut payments = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let target = targets[rng.random_range(0..targets.len())].clone();
        let amount = u128::from(next_amount.fetch_add(1, Ordering::Relaxed));
        let body = format!(
            r#"{{"to":"{}","token_id":"{}","amount":"{amount}"}}"#,
            target.address, target.token_id
        );
        let outcome = match try_post_json(
            live.wait().admin,
            &live.admin_token,
            "/admin/devnet/pay",
            &body,
        ) {
            Ok(answer) => {
                assert_eq!(answer.status, 200, "pay {body}: {}", answer.text());
                let txid = answer.json()["txid"].as_str().unwrap().to_owned();
                PayOutcome::Paid { txid }
            }
            Err(NoAnswer::AnswerLost) => PayOutcome::AnswerLost,
            Err(NoAnswer::NotSent) => PayOutcome::NotSent,
        };
        payments.push(Payment {
            amount,
            target,
            outcome,
        });
        std::thread::sleep(Duration::from_millis(rng.random_range(10..60)));
    }
    payments
}

/// Blocks on both chains, a few at a time, so deposits and withdrawals reach
/// their confirmations while the server is being killed.
fn mine_load(live: &Live, stop: &AtomicBool, mut rng: StdRng) {
    while !stop.load(Ordering::Relaxed) {
        let chain = CHAINS[rng.random_range(0..CHAINS.len())].0;
        let blocks = rng.random_range(1..=4);
        let body = format!(r#"{{"chain":"{chain}","blocks":{blocks}}}"#);
        if let Ok(answer) = try_post_json(
            live.wait().admin,
            &live.admin_token,
            "/admin/devnet/mine",
            &body,
        ) {
            assert_eq!(answer.status, 200, "mine: {}", answer.text());
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(20..120)));
    }
}

/// Withdrawals with their own merchant_order_ids; one whose answer was lost is
/// sent again, the same request, until it is answered.
fn withdraw_load(
    live: &Live,
    stop: &AtomicBool,
    merchant: &Merchant,
    worker: usize,
    mut rng: StdRng,
) -> Vec<Withdrawal> {
    let mut withdrawals = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let merchant_order_id = format!("w{worker}-{}", withdrawals.len());
        let (_, token_id, payee, _) = CHAINS[rng.random_range(0..CHAINS.len())];
        let value: u128 = rng.random_range(10..=30);
        let merchant_pays_fee = rng.random_bool(0.5);
        let body = format!(
            r#"{{"token_id":"{token_id}","address":"{payee}","value":"{value}","merchant_order_id":"{merchant_order_id}","merchant_pays_fee":{merchant_pays_fee}}}"#
        );
        let mut retried = false;
        let answer = loop {
            let sent = try_post_signed(
                live.wait().api,
                merchant,
                "/ccpayment/v1/withdraw",
                body.as_bytes(),
            );
            match sent {
                Ok(answer) => break answer.json(),
                Err(NoAnswer::AnswerLost) => retried = true,
                Err(NoAnswer::NotSent) => {}
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(answer["code"], 10000, "{body}: {answer}");
        withdrawals.push(Withdrawal {
            merchant_order_id,
            body,
            value: value * UNIT,
            merchant_pays_fee,
            retried,
            accepted: answer["data"].clone(),
        });
        std::thread::sleep(Duration::from_millis(rng.random_range(20..80)));
    }
    withdrawals
}

fn signed_post(gateway: &Gateway, merchant: &Merchant, path: &str, body: &str) -> Value {
    let answer = gateway
        .post_signed(merchant, path, body.as_bytes(), None)
        .json();
    assert_eq!(answer["code"], 10000, "{path} {body}: {answer}");
    answer["data"].clone()
}

/// `bill/info` of many merchant_order_ids, 100 (its limit) at a time.
fn bill_info(gateway: &Gateway, merchant: &Merchant, ids: &[&str]) -> Vec<Value> {
    ids.chunks(100)
        .flat_map(|chunk| {
            let body = serde_json::json!({ "merchant_order_ids": chunk }).to_string();
            let data = signed_post(gateway, merchant, "/ccpayment/v1/bill/info", &body);
            data.as_array().unwrap().clone()
        })
        .collect()
}

fn outbox(gateway: &Gateway) -> Vec<Value> {
    let listed = gateway.cli_ok(&["webhooks", "list", "--limit", "1000000", "--json"]);
    serde_json::from_str::<Value>(&listed)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Blocks confirmed on `chain` that the deposit watcher has not credited yet.
fn scan_lag(metrics: &str, chain: &str) -> Option<u64> {
    let prefix = format!("ccgate_chain_scan_lag_blocks{{chain=\"{chain}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .map(|lag| lag.parse().unwrap())
}

#[test]
fn kill_9_at_random_moments_loses_and_doubles_nothing() {
    let started = Instant::now();
    let (rounds, seed) = (rounds(), seed());
    println!(
        "reliability: seed {seed}, {rounds} kills; replay with CCGATE_RELIABILITY_SEED={seed} CCGATE_RELIABILITY_ROUNDS={rounds}"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let ladder = webhook_ladder(rounds);
    // A short delivery timeout keeps the claim lease (twice the timeout) of a
    // webhook caught in a crash short.
    let args = [
        "--no-rate-limit",
        "--webhook-timeout-ms",
        "1000",
        "--webhook-retry-ms",
        ladder.as_str(),
    ];
    let mut gateway = Gateway::start(&args);
    let merchant = gateway.demo.clone().unwrap();
    let receiver = HttpStub::start(200, "success");
    gateway.set_webhook(&merchant, &receiver.url);
    gateway.cli_ok(&[
        "ledger",
        "adjust",
        "--app-id",
        &merchant.app_id,
        "--coin",
        "USDT",
        "--amount",
        &OPENING_BALANCE.to_string(),
        "--reason",
        "float",
    ]);
    let mut targets = Vec::new();
    for (chain, token_id, _, _) in CHAINS {
        for user in 0..2 {
            let body = format!(r#"{{"user_id":"payer-{user}","chain":"{chain}"}}"#);
            let data = signed_post(
                &gateway,
                &merchant,
                "/ccpayment/v1/payment/address/get",
                &body,
            );
            targets.push(Target {
                address: data["address"].as_str().unwrap().to_owned(),
                token_id,
                order: None,
            });
        }
        for order in 0..2 {
            let merchant_order_id = format!("order-{chain}-{order}");
            let body = format!(
                r#"{{"token_id":"{token_id}","product_price":"100","merchant_order_id":"{merchant_order_id}","denominated_currency":"token"}}"#
            );
            let data = signed_post(&gateway, &merchant, "/ccpayment/v1/bill/create", &body);
            targets.push(Target {
                address: data["pay_address"].as_str().unwrap().to_owned(),
                token_id,
                order: Some(merchant_order_id),
            });
        }
    }

    let live = Live {
        endpoints: RwLock::new(Some(Live::of(&gateway))),
        admin_token: gateway.admin_token().to_owned(),
    };
    let stop = AtomicBool::new(false);
    let next_amount = AtomicU64::new(1);
    let (payments, withdrawals) = std::thread::scope(|scope| {
        let payers: Vec<_> = (0..2)
            .map(|_| {
                let rng = StdRng::seed_from_u64(rng.random());
                let (live, stop, targets, next_amount) = (&live, &stop, &targets, &next_amount);
                scope.spawn(move || pay_load(live, stop, targets, next_amount, rng))
            })
            .collect();
        let miner_rng = StdRng::seed_from_u64(rng.random());
        let miner = scope.spawn(|| mine_load(&live, &stop, miner_rng));
        let withdrawers: Vec<_> = (0..2)
            .map(|worker| {
                let rng = StdRng::seed_from_u64(rng.random());
                let (live, stop, merchant) = (&live, &stop, &merchant);
                scope.spawn(move || withdraw_load(live, stop, merchant, worker, rng))
            })
            .collect();

        for _ in 0..rounds {
            let moods = rng.random_range(1..=4);
            let answers: Vec<(u16, &str)> = (0..moods)
                .map(|_| RECEIVER_MOODS[rng.random_range(0..RECEIVER_MOODS.len())])
                .collect();
            receiver.answer_with(&answers);
            if rng.random_bool(0.25) {
                let chain = CHAINS[rng.random_range(0..CHAINS.len())].0;
                gateway.cli_ok(&["devnet", "fail-next-withdrawal", "--chain", chain]);
            }
            std::thread::sleep(Duration::from_millis(rng.random_range(150..1200)));
            live.set(None);
            gateway.kill_hard();
            gateway = gateway.restart(&args);
            live.set(Some(Live::of(&gateway)));
        }
        // A last stretch of load on the last server, then quiet.
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
        miner.join().unwrap();
        let payments: Vec<Payment> = payers
            .into_iter()
            .flat_map(|payer| payer.join().unwrap())
            .collect();
        let withdrawals: Vec<Withdrawal> = withdrawers
            .into_iter()
            .flat_map(|withdrawer| withdrawer.join().unwrap())
            .collect();
        (payments, withdrawals)
    });
    let load_done = started.elapsed();

    // Settle: the receiver recovers; mine until every withdrawal is final,
    // every confirmed block is scanned and every webhook is delivered. The
    // first blocks confirm every payment made, answered or not.
    receiver.answer(200, "success");
    let mine_confirmations = || {
        for (chain, _, _, confirmations) in CHAINS {
            let mined = gateway.admin_post(
                "/admin/devnet/mine",
                &format!(r#"{{"chain":"{chain}","blocks":{confirmations}}}"#),
            );
            assert_eq!(mined.status, 200, "{}", mined.text());
        }
    };
    mine_confirmations();
    let withdrawal_ids: Vec<&str> = withdrawals
        .iter()
        .map(|w| w.merchant_order_id.as_str())
        .collect();
    let paid_txids: BTreeSet<&str> = payments
        .iter()
        .filter_map(|p| match &p.outcome {
            PayOutcome::Paid { txid } => Some(txid.as_str()),
            _ => None,
        })
        .collect();
    let details = eventually(60, "the load never settled", || {
        let details = bill_info(&gateway, &merchant, &withdrawal_ids);
        let open = details
            .iter()
            .filter(|d| {
                !matches!(
                    d["withdraw_detail"]["status"].as_str(),
                    Some("Successful" | "Failed")
                )
            })
            .count();
        if open > 0 {
            mine_confirmations();
            return Err(format!("{open} withdrawals still open"));
        }
        let metrics = gateway.admin_get("/metrics").text().to_owned();
        for (chain, _, _, _) in CHAINS {
            if scan_lag(&metrics, chain) != Some(0) {
                return Err(format!("{chain} not scanned to its confirmed height"));
            }
        }
        let undelivered = outbox(&gateway)
            .iter()
            .filter(|row| row["status"] != "delivered")
            .count();
        if undelivered > 0 {
            return Err(format!("{undelivered} webhooks not delivered"));
        }
        let seen: BTreeSet<String> = receiver
            .received()
            .iter()
            .filter_map(|hook| serde_json::from_slice::<Value>(&hook.body).ok())
            .filter_map(|hook| hook["txid"].as_str().map(str::to_owned))
            .collect();
        let missing = paid_txids.iter().filter(|t| !seen.contains(**t)).count();
        if missing > 0 {
            return Err(format!("{missing} paid transfers not notified"));
        }
        Ok(details)
    });
    let settled = started.elapsed();

    // The books balance, and the operator's check says so.
    assert!(
        gateway.cli_ok(&["ledger", "verify"]).contains("all equal"),
        "seed {seed}"
    );
    let doctor = gateway.cli(&["doctor"]);
    assert!(
        doctor.status.success(),
        "seed {seed}: {}",
        String::from_utf8_lossy(&doctor.stdout)
    );

    // Every webhook the receiver got is signed by the merchant, and every
    // record in the outbox reached it at least once (duplicates allowed).
    let mut received: BTreeMap<String, Value> = BTreeMap::new();
    let hooks = receiver.received();
    for hook in &hooks {
        let timestamp = hook.header("timestamp").unwrap();
        let sign = hook.header("sign").unwrap();
        assert!(
            ccgate_api::sign::verify(
                &merchant.app_id,
                &merchant.app_secret,
                timestamp,
                &hook.body,
                sign
            ),
            "a webhook that does not verify"
        );
        let body: Value = serde_json::from_slice(&hook.body).unwrap();
        let record_id = body["record_id"].as_str().unwrap().to_owned();
        if let Some(earlier) = received.insert(record_id, body.clone()) {
            assert_eq!(earlier, body, "a record's webhook changed between attempts");
        }
    }
    let rows = outbox(&gateway);
    let mut rows_per_record: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &rows {
        *rows_per_record
            .entry(row["record_id"].as_str().unwrap())
            .or_default() += 1;
    }
    let doubled: Vec<_> = rows_per_record.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        doubled.is_empty(),
        "seed {seed}: records notified twice: {doubled:?}"
    );
    let missed: Vec<&&str> = rows_per_record
        .keys()
        .filter(|record| !received.contains_key(**record))
        .collect();
    assert!(
        missed.is_empty(),
        "seed {seed}: delivered but never received: {missed:?}"
    );
    assert_eq!(
        rows.len(),
        received.len(),
        "seed {seed}: the receiver got webhooks the outbox does not hold"
    );

    // Deposits: each payment credited exactly once (at most once if its
    // answer was lost), nothing credited that was not paid.
    let by_amount: BTreeMap<u128, &Payment> = payments
        .iter()
        .map(|payment| (payment.amount * UNIT, payment))
        .collect();
    let deposits: Vec<&Value> = received
        .values()
        .filter(|hook| {
            hook["order_type"] == "Direct Deposit" || hook["order_type"] == "API Deposit"
        })
        .collect();
    let mut credited: BTreeMap<String, &Value> = BTreeMap::new();
    let mut credits = 0;
    let mut lost_but_credited = 0;
    for deposit in &deposits {
        assert_eq!(deposit["pay_status"], "success", "{deposit}");
        let txid = deposit["txid"].as_str().unwrap().to_owned();
        let paid = base_units(deposit["paid_amount"].as_str().unwrap());
        let payment = by_amount
            .get(&paid)
            .unwrap_or_else(|| panic!("seed {seed}: a credit nobody paid: {deposit}"));
        match &payment.outcome {
            PayOutcome::Paid { txid: paid_txid } => assert_eq!(&txid, paid_txid, "{deposit}"),
            PayOutcome::AnswerLost => lost_but_credited += 1,
            PayOutcome::NotSent => panic!("seed {seed}: a refused payment was credited: {deposit}"),
        }
        match &payment.target.order {
            Some(order) => assert_eq!(deposit["extend"]["merchant_order_id"], order.as_str()),
            None => {
                assert_eq!(deposit["to_address"], payment.target.address.as_str());
                assert_eq!(
                    base_units(deposit["service_fee"].as_str().unwrap()),
                    paid * SERVICE_FEE_PPM / 1_000_000
                );
            }
        }
        assert!(
            credited.insert(txid, deposit).is_none(),
            "seed {seed}: a transfer credited twice: {deposit}"
        );
        credits += paid - paid * SERVICE_FEE_PPM / 1_000_000;
    }
    for txid in &paid_txids {
        assert!(
            credited.contains_key(*txid),
            "seed {seed}: a paid transfer never credited: {txid}"
        );
    }
    // An order's own view lists exactly its credited payments.
    let orders: Vec<&str> = targets.iter().filter_map(|t| t.order.as_deref()).collect();
    for info in bill_info(&gateway, &merchant, &orders) {
        let order = info["order_detail"]["merchant_order_id"].as_str().unwrap();
        let listed: Vec<&str> = info["trade_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|trade| trade["txid"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = credited
            .iter()
            .filter(|(_, hook)| hook["extend"]["merchant_order_id"] == order)
            .map(|(txid, _)| txid.as_str())
            .collect();
        let listed_set: BTreeSet<&str> = listed.iter().copied().collect();
        assert_eq!(
            listed.len(),
            listed_set.len(),
            "{order} lists a payment twice"
        );
        assert_eq!(
            listed_set,
            expected.into_iter().collect(),
            "seed {seed}: {order}"
        );
    }

    // Withdrawals: each resolved once, as its webhook says, and a repeat of
    // any request (across any number of crashes) is the same withdrawal.
    assert_eq!(
        details.len(),
        withdrawals.len(),
        "one record per withdrawal"
    );
    let details: BTreeMap<&str, &Value> = details
        .iter()
        .map(|info| {
            let detail = &info["withdraw_detail"];
            (detail["merchant_order_id"].as_str().unwrap(), detail)
        })
        .collect();
    let mut debits = 0;
    let mut failed = 0;
    for withdrawal in &withdrawals {
        let detail = details[withdrawal.merchant_order_id.as_str()];
        assert_eq!(
            detail["merchant_order_id"],
            withdrawal.merchant_order_id.as_str()
        );
        assert_eq!(
            base_units(detail["value"].as_str().unwrap()),
            withdrawal.value
        );
        assert_eq!(detail["order_id"], withdrawal.accepted["order_id"]);
        let hook = &received[withdrawal.accepted["record_id"].as_str().unwrap()];
        assert_eq!(
            hook["merchant_order_id"],
            withdrawal.merchant_order_id.as_str()
        );
        let fee = base_units(detail["network_fee"].as_str().unwrap());
        let debit = withdrawal.value + if withdrawal.merchant_pays_fee { fee } else { 0 };
        match detail["status"].as_str().unwrap() {
            "Successful" => {
                assert_eq!(hook["pay_status"], "success", "{hook}");
                assert_eq!(base_units(hook["withdraw_amount"].as_str().unwrap()), debit);
                debits += debit;
            }
            _ => {
                assert_eq!(hook["pay_status"], "failed", "{hook}");
                failed += 1;
            }
        }
        let again = gateway
            .post_signed(
                &merchant,
                "/ccpayment/v1/withdraw",
                withdrawal.body.as_bytes(),
                None,
            )
            .json();
        assert_eq!(
            again["data"]["order_id"], withdrawal.accepted["order_id"],
            "{again}"
        );
    }

    // The balance is exactly the opening float + credits − debits.
    let balances: Value = serde_json::from_str(&gateway.cli_ok(&[
        "ledger",
        "balances",
        "--app-id",
        &merchant.app_id,
        "--json",
    ]))
    .unwrap();
    let usdt = balances
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["crypto"] == "USDT")
        .unwrap();
    assert_eq!(usdt["reserved"], "0", "seed {seed}");
    assert_eq!(
        base_units(usdt["value"].as_str().unwrap()),
        OPENING_BALANCE * UNIT + credits - debits,
        "seed {seed}: the balance is off"
    );

    let count =
        |outcome: fn(&PayOutcome) -> bool| payments.iter().filter(|p| outcome(&p.outcome)).count();
    println!(
        "reliability: seed {seed}, {rounds} kills; {} payments ({} answered, {} answers lost of which {lost_but_credited} credited, {} refused at connect), {} credits; {} withdrawals ({} retried after a lost answer, {failed} failed on the chain); {} webhooks received for {} records; load {load_done:?}, settled at {settled:?}, checked at {:?}",
        payments.len(),
        count(|o| matches!(o, PayOutcome::Paid { .. })),
        count(|o| *o == PayOutcome::AnswerLost),
        count(|o| *o == PayOutcome::NotSent),
        deposits.len(),
        withdrawals.len(),
        withdrawals.iter().filter(|w| w.retried).count(),
        hooks.len(),
        received.len(),
        started.elapsed(),
    );
}
