//! `ccgate listen --app-id ID --forward-to URL` (like `stripe listen`): reads
//! the running server's stream of the merchant's webhooks as they are sent
//! (admin API) and forwards each to a local URL with the same body and the
//! same signed headers, printing one line per delivery.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ccgate_api::admin::StreamLine;
use clap::Args;

use super::Globals;
use super::admin_api::AdminApi;

/// How long the local receiver may take to answer.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Args)]
pub struct ListenArgs {
    #[arg(long)]
    app_id: String,
    /// Where each webhook is POSTed, e.g. http://127.0.0.1:9000/hook.
    #[arg(long)]
    forward_to: String,
    /// The server's admin API; default: the one the server on --data-dir wrote.
    #[arg(long, env = "CCGATE_ADMIN_URL")]
    admin_url: Option<String>,
}

pub async fn run(globals: Globals, args: ListenArgs) -> anyhow::Result<ExitCode> {
    let located = globals.locate()?;
    let api = AdminApi::locate(&located.data_dir, args.admin_url.as_deref())?;
    forward(&api, &args.app_id, &args.forward_to).await?;
    Ok(ExitCode::SUCCESS)
}

async fn forward(api: &AdminApi, app_id: &str, forward_to: &str) -> anyhow::Result<()> {
    let forwarder = reqwest::Client::builder()
        .timeout(FORWARD_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("set up the forwarding client")?;
    let mut stream = api
        .open_stream("/admin/webhooks/stream", &[("app_id", app_id)])
        .await?;
    let mut pending = Vec::new();
    loop {
        // The stream only ends when the server stops (or the connection breaks).
        let Some(chunk) = stream
            .chunk()
            .await
            .context("the webhook stream broke off (did the server stop?)")?
        else {
            bail!("the server closed the webhook stream (did it stop?)");
        };
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|byte| *byte == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let event: StreamLine = serde_json::from_slice(&line)
                .with_context(|| format!("read a line of the webhook stream: {line:?}"))?;
            handle(&forwarder, &event, app_id, forward_to).await;
        }
    }
}

async fn handle(forwarder: &reqwest::Client, event: &StreamLine, app_id: &str, forward_to: &str) {
    let sent = match event {
        StreamLine::Listening { .. } => {
            println!("Ready: forwarding the webhooks of {app_id} to {forward_to} (Ctrl-C to stop)");
            return;
        }
        StreamLine::Missed { missed } => {
            println!("missed {missed} webhook(s): this listener fell behind");
            return;
        }
        StreamLine::Sent(sent) => sent,
    };
    let started = Instant::now();
    let forwarded = forwarder
        .post(forward_to)
        .header("Content-Type", "application/json; charset=utf-8")
        .header("Appid", &sent.headers.appid)
        .header("Timestamp", &sent.headers.timestamp)
        .header("Sign", &sent.headers.sign)
        .body(sent.payload.clone())
        .send()
        .await;
    let latency_ms = started.elapsed().as_millis();
    let answer = match forwarded {
        Ok(response) => format!("HTTP {}", response.status().as_u16()),
        Err(err) if err.is_timeout() => "timed out".to_owned(),
        Err(err) if err.is_connect() => "could not connect".to_owned(),
        Err(err) => format!("failed: {err}"),
    };
    // A v2 body names its own type (`DirectDeposit`); a v1 body's kind is
    // the outbox's (`Direct Deposit`).
    let kind = serde_json::from_str::<serde_json::Value>(&sent.payload)
        .ok()
        .and_then(|body| body.get("type")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| sent.order_type.clone());
    println!("{kind}  {}  {answer}  {latency_ms} ms", sent.record_id);
}
