use anyhow::Context;
use ccgate_ledger::MerchantId;
use ccgate_store::WebhookRow;
use serde_json::json;

use crate::backend::Database;

fn row_json(row: &WebhookRow) -> serde_json::Value {
    json!({"id": row.id, "app_id": row.app_id.as_str(), "record_id": row.record_id, "order_type": row.order_type,
           "status": row.status, "attempts": row.attempts, "next_attempt_at_ms": row.next_attempt_at_ms,
           "created_at_ms": row.created_at_ms, "url": row.url})
}

/// `ccgate webhooks list`: newest first.
pub async fn list(
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
pub async fn show(database: &Database, id: i64, json: bool) -> anyhow::Result<()> {
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
