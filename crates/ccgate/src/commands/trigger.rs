//! `ccgate trigger`: makes a business event happen in a running sandbox,
//! through its admin API, and says what happened.

use std::process::ExitCode;

use ccgate_api::admin::{TriggerList, TriggerRequest, Triggered};
use clap::Args;

use super::admin_api::{AdminApi, print_json};
use super::{Dialect, Globals};

#[derive(Debug, Args)]
pub struct TriggerArgs {
    /// The event, e.g. `order.paid` (see `--list`).
    #[arg(required_unless_present = "list")]
    name: Option<String>,
    /// List the triggers and what each does.
    #[arg(long)]
    list: bool,
    #[arg(long, required_unless_present = "list")]
    app_id: Option<String>,
    /// Use the merchant's order (or withdrawal) with this id instead of a new one.
    #[arg(long)]
    merchant_order_id: Option<String>,
    /// Pay in this token (default: USDT on ETH).
    #[arg(long)]
    token_id: Option<String>,
    /// Make the objects as this API would (v2: createAppOrderDepositAddress,
    /// getOrCreateAppDepositAddress, applyAppWithdrawToNetwork), so their
    /// webhooks are in its dialect. `--list` says which triggers run in v2.
    #[arg(long, value_enum, default_value_t = Dialect::V1)]
    dialect: Dialect,
    #[arg(long, env = "CCGATE_ADMIN_URL")]
    admin_url: Option<String>,
    #[arg(long)]
    json: bool,
}

pub async fn run(globals: Globals, args: TriggerArgs) -> anyhow::Result<ExitCode> {
    let located = globals.locate()?;
    let api = AdminApi::locate(&located.data_dir, args.admin_url.as_deref())?;
    match (args.list, args.name, args.app_id) {
        (false, Some(name), Some(app_id)) => {
            let request = TriggerRequest {
                name,
                app_id,
                merchant_order_id: args.merchant_order_id,
                token_id: args.token_id,
                dialect: Some(match args.dialect {
                    Dialect::V1 => ccgate_api::admin::Dialect::V1,
                    Dialect::V2 => ccgate_api::admin::Dialect::V2,
                }),
            };
            trigger(&api, &request, args.json).await?;
        }
        _ => list_triggers(&api, args.json).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn list_triggers(api: &AdminApi, as_json: bool) -> anyhow::Result<()> {
    let answer: TriggerList = api.get("/admin/sandbox/triggers").await?;
    if as_json {
        return print_json(&answer);
    }
    for trigger in &answer.triggers {
        let dialects: Vec<&str> = trigger
            .dialects
            .iter()
            .map(|dialect| match dialect {
                ccgate_api::admin::Dialect::V1 => "v1",
                ccgate_api::admin::Dialect::V2 => "v2",
            })
            .collect();
        println!(
            "{:<22} {:<6} {}",
            trigger.name,
            dialects.join(","),
            trigger.description
        );
        if let Some(why) = &trigger.no_v2_because {
            println!("{:<29} not in v2: {why}", "");
        }
        if let Some(why) = &trigger.no_v1_because {
            println!("{:<29} not in v1: {why}", "");
        }
    }
    Ok(())
}

async fn trigger(api: &AdminApi, request: &TriggerRequest, as_json: bool) -> anyhow::Result<()> {
    let answer: Triggered = api.post("/admin/sandbox/trigger", &request).await?;
    if as_json {
        return print_json(&answer);
    }
    println!("trigger {}", request.name);
    for step in &answer.steps {
        println!("  - {step}");
    }
    println!("objects: {}", answer.objects);
    if answer.webhooks.is_empty() {
        println!("no webhooks went out");
    }
    for webhook in &answer.webhooks {
        let payload = &webhook.payload;
        // A v2 body is `{"type","msg"}` and names itself; v1's is flat.
        let (kind, state) = match payload["type"].as_str() {
            Some(v2_type) => (v2_type, payload["msg"]["status"].as_str()),
            None => (
                webhook.order_type.as_str(),
                payload["pay_status"]
                    .as_str()
                    .or_else(|| payload["status"].as_str()),
            ),
        };
        println!(
            "webhook #{} {kind} record {} ({}): {} after {} attempt(s)",
            webhook.id,
            webhook.record_id,
            state.unwrap_or("-"),
            webhook.status,
            webhook.attempts
        );
    }
    Ok(())
}
