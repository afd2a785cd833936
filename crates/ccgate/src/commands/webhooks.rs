use std::process::ExitCode;

use anyhow::{Context, bail};
use ccgate_engine::outbound::OutboundPolicy;
use ccgate_engine::webhooks::{DeliveryConfig, WebhookSender};
use ccgate_ledger::MerchantId;
use ccgate_store::WebhookRow;
use clap::Subcommand;
use serde_json::json;

use super::{Globals, unix_now};
use crate::backend::Database;

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Webhooks, newest first.
    List {
        /// Only this merchant's (its Appid).
        #[arg(long)]
        app_id: Option<String>,
        /// At most this many, the newest.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One webhook with its body and every delivery attempt.
    Show {
        /// The webhook's id, from `webhooks list`.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send a signed test webhook to the merchant's webhook URL now and print
    /// what the receiver answered. The body is
    /// `{"type":"ping","msg":{"app_id":"…","sent_at":<unix seconds>}}`,
    /// signed like every webhook (Appid, Timestamp, Sign headers); it is not
    /// stored in the outbox nor retried. Exits 1 unless acknowledged (HTTP 200
    /// with "success" in the body).
    Ping {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
        /// As `serve --allow-private-webhooks`: with live money, let the ping
        /// reach loopback and private addresses (also the config file's
        /// `allow_private_webhooks`).
        #[arg(long, env = "CCGATE_ALLOW_PRIVATE_WEBHOOKS")]
        allow_private_webhooks: bool,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(globals: Globals, command: WebhooksCommand) -> anyhow::Result<ExitCode> {
    globals
        .with_database(async |database, settings| match command {
            WebhooksCommand::List {
                app_id,
                limit,
                json,
            } => {
                list(database, app_id.as_deref(), limit, json).await?;
                Ok(ExitCode::SUCCESS)
            }
            WebhooksCommand::Show { id, json } => {
                show(database, id, json).await?;
                Ok(ExitCode::SUCCESS)
            }
            WebhooksCommand::Ping {
                app_id,
                allow_private_webhooks,
                json,
            } => {
                let policy = OutboundPolicy::new(
                    settings.mode.is_live(),
                    allow_private_webhooks || settings.allow_private_webhooks,
                    Vec::new(),
                );
                ping(database, &app_id, policy, json).await
            }
        })
        .await
}

fn row_json(row: &WebhookRow) -> serde_json::Value {
    json!({"id": row.id, "app_id": row.app_id.as_str(), "record_id": row.record_id, "order_type": row.order_type,
           "status": row.status, "attempts": row.attempts, "next_attempt_at_ms": row.next_attempt_at_ms,
           "created_at_ms": row.created_at_ms, "url": row.url})
}

/// `ccgate webhooks list`: newest first.
async fn list(
    database: &Database,
    app_id: Option<&str>,
    limit: u32,
    json: bool,
) -> anyhow::Result<()> {
    let store = database.outbox();
    let merchant = app_id.map(MerchantId::new);
    let rows = store.list_webhooks(merchant.as_ref(), limit).await?;
    if json {
        println!(
            "{}",
            serde_json::Value::Array(rows.iter().map(row_json).collect())
        );
    } else {
        println!(
            "{:>6} {:<16} {:<34} {:<10} {:>8}",
            "ID", "TYPE", "RECORD_ID", "STATUS", "ATTEMPTS"
        );
        for row in &rows {
            println!(
                "{:>6} {:<16} {:<34} {:<10} {:>8}",
                row.id, row.order_type, row.record_id, row.status, row.attempts
            );
        }
    }
    Ok(())
}

/// `ccgate webhooks show`: one webhook, its body and every attempt.
async fn show(database: &Database, id: i64, json: bool) -> anyhow::Result<()> {
    let store = database.outbox();
    let (row, attempts) = store
        .webhook_with_attempts(id)
        .await?
        .with_context(|| format!("no webhook {id}"))?;
    if json {
        let attempts: Vec<_> = attempts
            .iter()
            .map(|a| json!({"attempt": a.attempt, "at_ms": a.at_ms, "http_status": a.http_status,
                             "latency_ms": a.latency_ms, "outcome": a.outcome, "response_head": a.response_head}))
            .collect();
        let mut value = row_json(&row);
        value["payload"] = json!(row.payload);
        value["attempts_log"] = json!(attempts);
        println!("{value}");
    } else {
        println!(
            "webhook {} ({}) of {}: {}, {} attempt(s)",
            row.id, row.order_type, row.app_id, row.status, row.attempts
        );
        println!("body: {}", row.payload);
        for a in &attempts {
            let status = a.http_status.map_or("-".to_owned(), |s| s.to_string());
            println!(
                "  #{} at {} ms: HTTP {status}, {} ms, {} {:?}",
                a.attempt, a.at_ms, a.latency_ms, a.outcome, a.response_head
            );
        }
    }
    Ok(())
}

/// `ccgate webhooks ping`: a signed test delivery now, through the same sender
/// (client, timeout, signature, address policy) as every webhook; exits 1
/// unless acknowledged. The policy knows no listener of a running server (this
/// process has none): in live mode loopback and private addresses are refused
/// anyway; with simulated money the ping may reach them, as webhooks may.
async fn ping(
    database: &Database,
    app_id: &str,
    policy: OutboundPolicy,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let merchant = MerchantId::new(app_id);
    if database
        .store()
        .merchant_credentials(app_id)
        .await?
        .is_none()
    {
        bail!("no merchant has the Appid {app_id}");
    }
    let url = database
        .merchant_settings()
        .merchant_settings(&merchant)
        .await?
        .and_then(|settings| settings.webhook_url)
        .with_context(|| {
            format!("merchant {app_id} has no webhook URL: `ccgate merchant set-webhook` sets one")
        })?;
    let sender = WebhookSender::new(
        database.outbox(),
        database.store(),
        database.merchant_settings(),
        DeliveryConfig::default(),
    )?
    .reaching_only(policy);
    let outcome = sender.ping(&merchant, unix_now()).await;
    if json {
        println!(
            "{}",
            json!({"url": url, "payload": outcome.payload, "http_status": outcome.http_status,
                   "acknowledged": outcome.acknowledged, "outcome": outcome.outcome,
                   "latency_ms": outcome.latency_ms, "response_head": outcome.response_head})
        );
    } else {
        let status = outcome
            .http_status
            .map_or_else(|| "no answer".to_owned(), |status| format!("HTTP {status}"));
        println!("POST {url}");
        println!("body:     {}", outcome.payload);
        println!(
            "answer:   {status} in {} ms: {}",
            outcome.latency_ms, outcome.outcome
        );
        println!("received: {:?}", outcome.response_head);
    }
    Ok(if outcome.acknowledged {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
