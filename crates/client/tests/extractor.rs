//! The axum extractor in a real axum app on loopback.
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::routing::post;
use ccgate_api::sign;
use ccgate_client::{V2Webhook, VerifiedV2Webhook, VerifiedWebhook, Webhook, WebhookKeys};

#[derive(Clone)]
struct Shop {
    keys: WebhookKeys,
}

impl AsRef<WebhookKeys> for Shop {
    fn as_ref(&self) -> &WebhookKeys {
        &self.keys
    }
}

async fn on_webhook(VerifiedWebhook(webhook): VerifiedWebhook) -> String {
    match webhook {
        Webhook::DirectDeposit(deposit) => format!("success {}", deposit.paid_amount),
        other => format!("unexpected {other:?}"),
    }
}

async fn on_v2_webhook(VerifiedV2Webhook(webhook): VerifiedV2Webhook) -> String {
    match webhook {
        V2Webhook::ApiDeposit(paid) => format!("Success {}", paid.order_id),
        other => format!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn verified_v2_webhooks_reach_the_handler_and_v1_signed_ones_do_not() {
    let app = Router::new()
        .route("/hook", post(on_v2_webhook))
        .with_state(Shop {
            keys: WebhookKeys::new("app", "secret"),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let body = r#"{"type":"ApiDeposit","msg":{"recordId":"r1","orderId":"o-1","coinId":1280,"coinSymbol":"USDT","status":"Success","isFlaggedAsRisky":false}}"#;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let post = |sign: String| {
        reqwest::Client::new()
            .post(&url)
            .header("Appid", "app")
            .header("Timestamp", &timestamp)
            .header("Sign", sign)
            .body(body)
            .send()
    };
    let ok = post(ccgate_api::v2::sign::sign(
        "app",
        "secret",
        &timestamp,
        body.as_bytes(),
    ))
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "Success o-1");
    let v1_signed = post(sign::sign("app", "secret", &timestamp, body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(v1_signed.status(), 401);
}

#[tokio::test]
async fn verified_webhooks_reach_the_handler_and_forged_ones_do_not() {
    let app = Router::new()
        .route("/hook", post(on_webhook))
        .with_state(Shop {
            keys: WebhookKeys::new("app", "secret"),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let body = r#"{"pay_status":"success","order_type":"Direct Deposit","record_id":"1","paid_amount":"666"}"#;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let post = |sign: String| {
        reqwest::Client::new()
            .post(&url)
            .header("Appid", "app")
            .header("Timestamp", &timestamp)
            .header("Sign", sign)
            .body(body)
            .send()
    };
    let ok = post(sign::sign("app", "secret", &timestamp, body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "success 666");
    let forged = post(sign::sign("app", "guess", &timestamp, body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert!(forged.text().await.unwrap().contains("Sign"));
}
