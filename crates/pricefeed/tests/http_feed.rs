//! The live feed against a real HTTP server on loopback whose answer each test controls.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use ccgate_ledger::CoinId;
use ccgate_pricefeed::{
    FEED_BODY_BYTES_MAX, HttpPriceFeed, HttpPriceFeedConfig, PriceError, PriceSource,
};
use tokio::sync::mpsc;

const T: i64 = 1_000_000;
const LIMIT_MS: u64 = 60_000;
const LIMIT: i64 = 60_000;

const ANSWER: &str = r#"{"bitcoin":{"usd":96250.5},"tether":{"usd":1.0001},"shiba-inu":{"usd":1.234e-05},"usd-coin":{"usd":1}}"#;

#[derive(Clone)]
struct Feed {
    answer: Arc<Mutex<(StatusCode, String)>>,
    hits: mpsc::UnboundedSender<()>,
}

impl Feed {
    fn answer(&self, status: StatusCode, body: impl Into<String>) {
        *self.answer.lock().unwrap() = (status, body.into());
    }
}

async fn serve_answer(State(feed): State<Feed>) -> (StatusCode, String) {
    let answer = feed.answer.lock().unwrap().clone();
    // The receiver is gone only when the test has finished with the server.
    let _ = feed.hits.send(());
    answer
}

/// Starts a feed server answering `ANSWER` with 200 and returns it, its url, and a receiver of
/// one message per request served.
async fn start_feed() -> (Feed, String, mpsc::UnboundedReceiver<()>) {
    let (hits, hit_rx) = mpsc::unbounded_channel();
    let feed = Feed {
        answer: Arc::new(Mutex::new((StatusCode::OK, ANSWER.to_owned()))),
        hits,
    };
    let app = Router::new()
        .route("/simple/price", get(serve_answer))
        .with_state(feed.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/simple/price?ids=bitcoin,tether&vs_currencies=usd",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (feed, url, hit_rx)
}

fn coin(id: &str) -> CoinId {
    CoinId::new(id)
}

fn config(url: &str) -> HttpPriceFeedConfig {
    HttpPriceFeedConfig {
        url: url.to_owned(),
        feed_ids: BTreeMap::from([
            (coin("btc"), "bitcoin".to_owned()),
            (coin("usdt"), "tether".to_owned()),
            (coin("shib"), "shiba-inu".to_owned()),
            (coin("usdc"), "usd-coin".to_owned()),
        ]),
        refresh_interval_ms: 30_000,
        staleness_limit_ms: LIMIT_MS,
        request_timeout_ms: 10_000,
    }
}

fn price(feed: &HttpPriceFeed, id: &str, now: i64) -> Result<String, PriceError> {
    feed.coin_price(&coin(id), now).map(|p| p.to_string())
}

fn ok(price: &str) -> Result<String, PriceError> {
    Ok(price.to_owned())
}

fn stale(id: &str, age_ms: u64) -> Result<String, PriceError> {
    Err(PriceError::Stale {
        coin: coin(id),
        age_ms,
        limit_ms: LIMIT_MS,
    })
}

#[tokio::test]
async fn prices_are_parsed_exactly() {
    let (_server, url, _hits) = start_feed().await;
    let feed = HttpPriceFeed::new(config(&url)).unwrap();

    assert_eq!(feed.refresh(T).await.unwrap(), 4);
    assert_eq!(price(&feed, "btc", T), ok("96250.5"));
    assert_eq!(price(&feed, "usdt", T), ok("1.0001"));
    assert_eq!(price(&feed, "shib", T), ok("0.00001234"));
    assert_eq!(price(&feed, "usdc", T), ok("1"));
}

#[tokio::test]
async fn unavailable_before_the_first_refresh_and_unknown_when_not_configured() {
    let (_server, url, _hits) = start_feed().await;
    let feed = HttpPriceFeed::new(config(&url)).unwrap();

    assert_eq!(
        price(&feed, "btc", T),
        Err(PriceError::Unavailable { coin: coin("btc") })
    );
    feed.refresh(T).await.unwrap();
    assert_eq!(
        price(&feed, "doge", T),
        Err(PriceError::Unknown { coin: coin("doge") })
    );
}

#[tokio::test]
async fn a_price_is_fresh_up_to_the_staleness_limit_and_stale_after() {
    let (_server, url, _hits) = start_feed().await;
    let feed = HttpPriceFeed::new(config(&url)).unwrap();
    feed.refresh(T).await.unwrap();

    assert_eq!(price(&feed, "btc", T + LIMIT), ok("96250.5"));
    assert_eq!(
        price(&feed, "btc", T + LIMIT + 1),
        stale("btc", LIMIT_MS + 1)
    );
    // A clock that stepped back does not make the price unusable.
    assert_eq!(price(&feed, "btc", T - 5_000), ok("96250.5"));

    // The next successful refresh makes it fresh again.
    feed.refresh(T + LIMIT + 1).await.unwrap();
    assert_eq!(price(&feed, "btc", T + 2 * LIMIT + 1), ok("96250.5"));
}

#[tokio::test]
async fn a_failed_refresh_changes_nothing() {
    let (server, url, _hits) = start_feed().await;
    let feed = HttpPriceFeed::new(config(&url)).unwrap();
    feed.refresh(T).await.unwrap();

    let bitcoin_at = |usd: &str| format!(r#"{{"bitcoin":{{"usd":{usd}}},"tether":{{"usd":2}}}}"#);
    let failures = [
        (StatusCode::INTERNAL_SERVER_ERROR, bitcoin_at("1")),
        (StatusCode::NOT_FOUND, bitcoin_at("1")),
        (StatusCode::OK, "<html>rate limited</html>".to_owned()),
        (StatusCode::OK, r#"{"bitcoin":{"usd":1}"#.to_owned()),
        (
            StatusCode::OK,
            r#"{"bitcoin":{"usd":1},"tether":2}"#.to_owned(),
        ),
        (StatusCode::OK, "[]".to_owned()),
        (StatusCode::OK, String::new()),
        (StatusCode::OK, bitcoin_at(r#""96000""#)),
        (StatusCode::OK, bitcoin_at("null")),
        (StatusCode::OK, bitcoin_at("-1")),
        (StatusCode::OK, bitcoin_at("0")),
        (StatusCode::OK, bitcoin_at("1e400")),
        (StatusCode::OK, bitcoin_at("1e-31")),
    ];
    for (status, body) in failures {
        server.answer(status, body.clone());
        let err = feed.refresh(T + 1_000).await.unwrap_err();
        match (status.is_success(), &err) {
            (false, PriceError::Fetch(why)) => assert!(why.contains(status.as_str()), "{why}"),
            (true, PriceError::Parse(_)) => {}
            _ => panic!("{status} {body:?} gave {err:?}"),
        }
        assert!(!err.to_string().contains("rate limited"), "{err}");
    }

    // The prices of the first refresh remain, and go stale by time alone.
    assert_eq!(price(&feed, "btc", T + LIMIT), ok("96250.5"));
    assert_eq!(price(&feed, "usdt", T + LIMIT), ok("1.0001"));
    assert_eq!(
        price(&feed, "btc", T + LIMIT + 1),
        stale("btc", LIMIT_MS + 1)
    );
    assert_eq!(
        price(&feed, "usdt", T + LIMIT + 1),
        stale("usdt", LIMIT_MS + 1)
    );
}

#[tokio::test]
async fn a_coin_missing_from_the_answer_keeps_its_old_price_and_time() {
    let (server, url, _hits) = start_feed().await;
    let feed = HttpPriceFeed::new(config(&url)).unwrap();
    feed.refresh(T).await.unwrap();

    // Unlisted ids and other currencies are ignored, whatever they hold.
    server.answer(
        StatusCode::OK,
        r#"{"bitcoin":{"usd":97000,"eur":"n/a"},"tether":{"eur":0.9},"dogecoin":{"usd":"?"}}"#,
    );
    let later = T + 10_000;
    assert_eq!(feed.refresh(later).await.unwrap(), 1);

    let now = T + LIMIT + 1;
    assert_eq!(price(&feed, "btc", now), ok("97000"));
    assert_eq!(price(&feed, "usdt", now), stale("usdt", LIMIT_MS + 1));
    assert_eq!(price(&feed, "shib", now), stale("shib", LIMIT_MS + 1));
    assert_eq!(price(&feed, "usdt", T + LIMIT), ok("1.0001"));
    assert_eq!(
        price(&feed, "btc", later + LIMIT + 1),
        stale("btc", LIMIT_MS + 1)
    );
}

#[tokio::test]
async fn an_answer_over_the_size_bound_is_refused() {
    let (server, url, _hits) = start_feed().await;
    let feed = HttpPriceFeed::new(config(&url)).unwrap();

    // Valid JSON padded with whitespace: only its size can be the reason for refusing it.
    let padded = |len: usize| {
        let json = r#"{"bitcoin":{"usd":96250.5}}"#;
        format!("{json}{}", " ".repeat(len - json.len()))
    };
    server.answer(StatusCode::OK, padded(FEED_BODY_BYTES_MAX + 1));
    let err = feed.refresh(T).await.unwrap_err();
    assert!(
        matches!(&err, PriceError::Fetch(why) if why.contains("larger than 1048576 bytes")),
        "{err:?}"
    );
    assert_eq!(
        price(&feed, "btc", T),
        Err(PriceError::Unavailable { coin: coin("btc") })
    );

    server.answer(StatusCode::OK, padded(FEED_BODY_BYTES_MAX));
    assert_eq!(feed.refresh(T).await.unwrap(), 1);
    assert_eq!(price(&feed, "btc", T), ok("96250.5"));
}

#[tokio::test]
async fn an_unreachable_feed_is_a_fetch_error_and_the_api_key_stays_out_of_messages() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = format!("http://{addr}/simple/price?x_cg_pro_api_key=SECRET");
    let feed = HttpPriceFeed::new(config(&url)).unwrap();

    let err = feed.refresh(T).await.unwrap_err();
    assert!(matches!(err, PriceError::Fetch(_)), "{err:?}");
    assert!(!err.to_string().contains("SECRET"), "{err}");
    let debug = format!("{feed:?}");
    assert!(
        debug.contains(&format!("http://{addr}/simple/price")),
        "{debug}"
    );
    assert!(!debug.contains("SECRET"), "{debug}");
}

#[tokio::test]
async fn the_refresher_keeps_going_after_a_failure() {
    let (server, url, mut hits) = start_feed().await;
    server.answer(StatusCode::SERVICE_UNAVAILABLE, "");
    let feed = Arc::new(
        HttpPriceFeed::new(HttpPriceFeedConfig {
            refresh_interval_ms: 1,
            ..config(&url)
        })
        .unwrap(),
    );
    fn clock() -> i64 {
        T
    }
    let refresher = Arc::clone(&feed).spawn_refresher(clock);

    hits.recv().await.unwrap();
    server.answer(StatusCode::OK, ANSWER);
    hits.recv().await.unwrap();
    // Refreshes run one after another, so a third request means the second one was stored.
    hits.recv().await.unwrap();
    assert_eq!(price(&feed, "btc", T), ok("96250.5"));

    refresher.abort();
    assert!(refresher.await.unwrap_err().is_cancelled());
}

#[test]
fn configuration_is_validated() {
    let check = |config: HttpPriceFeedConfig, expected: &str| {
        let err = HttpPriceFeed::new(config).unwrap_err();
        assert!(
            matches!(&err, PriceError::Config(why) if why.contains(expected)),
            "{err:?} should mention {expected:?}"
        );
    };
    let url = "http://127.0.0.1:9/simple/price";
    for bad_url in [
        "",
        "127.0.0.1:9",
        "ftp://example.com/p",
        "http//x",
        "https://",
    ] {
        check(config(bad_url), "http:// or https://");
    }
    check(
        HttpPriceFeedConfig {
            feed_ids: BTreeMap::new(),
            ..config(url)
        },
        "no coin",
    );
    check(
        HttpPriceFeedConfig {
            refresh_interval_ms: 0,
            staleness_limit_ms: 0,
            ..config(url)
        },
        "above 0",
    );
    check(
        HttpPriceFeedConfig {
            request_timeout_ms: 0,
            ..config(url)
        },
        "above 0",
    );
    check(
        HttpPriceFeedConfig {
            refresh_interval_ms: 60_001,
            ..config(url)
        },
        "shorter than the refresh interval",
    );

    let edge = HttpPriceFeedConfig {
        refresh_interval_ms: LIMIT_MS,
        ..config("https://api.coingecko.com/api/v3/simple/price")
    };
    assert!(HttpPriceFeed::new(edge).is_ok());
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let (_target, target_url, mut target_hits) = start_feed().await;
    let app = Router::new().route(
        "/simple/price",
        get(move || async move { axum::response::Redirect::temporary(&target_url) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/simple/price?ids=bitcoin&vs_currencies=usd",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let feed = HttpPriceFeed::new(config(&url)).unwrap();
    let err = feed.refresh(T).await.unwrap_err();
    assert!(
        matches!(&err, PriceError::Fetch(why) if why.contains("307")),
        "{err:?}"
    );
    assert!(target_hits.try_recv().is_err(), "the redirect was followed");
}
