use std::process::ExitCode;

use anyhow::{Context, bail};
use ccgate_ledger::MerchantId;
use ccgate_store::{MerchantStatus, SwapPolicy, generate_app_id, generate_app_secret};
use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{Dialect, Globals, table, unix_now, utc};
use crate::backend::Database;

#[derive(Debug, Subcommand)]
pub enum MerchantCommand {
    /// Create a merchant and print its Appid and app secret.
    Create {
        /// What operators call it; unique among merchants.
        #[arg(long)]
        name: String,
        /// Print the credentials as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List merchants (never their secrets).
    List {
        /// Print the merchants as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Issue a new app secret. The running server keeps accepting the old one
    /// for up to its `--cache-ttl-ms` (1 s by default), then refuses it.
    RotateSecret {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
        /// Print the new credentials as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Refuse every further request of this merchant (code 220002).
    Disable {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
    },
    /// Accept this merchant's requests again, after `merchant disable`.
    Enable {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
    },
    /// Where this merchant's webhooks go (a per-order or per-address notify_url wins).
    SetWebhook {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
        /// The receiver: an http:// or https:// URL.
        #[arg(long)]
        url: String,
        /// Also notify pending and processing states, not only final ones.
        #[arg(long)]
        notify_pending: bool,
        /// The dialect of webhooks no object decides: the test ping (v2:
        /// ActivateWebhookURL). Orders, addresses and withdrawals are
        /// notified in the dialect that made them.
        #[arg(long, value_enum, default_value_t = Dialect::V1)]
        dialect: Dialect,
    },
    /// Whether this merchant's chain withdrawals wait for `ccgate withdrawal
    /// approve` (or `reject`) before they are sent; Cwallet ones never wait.
    SetWithdrawalApproval {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
        /// true: each chain withdrawal waits for the operator; false: none does.
        #[arg(long, action = clap::ArgAction::Set)]
        required: bool,
    },
    /// Whether this merchant (and its wallet users) may swap, and how much
    /// USD worth per UTC day (v2 16005 and 16004, docs/decisions.md §29).
    SetSwaps {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
        /// false: every swap and quote of the merchant is refused (16005).
        #[arg(long, action = clap::ArgAction::Set)]
        enabled: bool,
        /// The USD value its swaps may reach per UTC day, e.g. 2500 or
        /// 99.5; left out: the `[swap] daily_limit_usd` of the
        /// configuration (none there: no limit).
        #[arg(long)]
        daily_limit_usd: Option<String>,
    },
    /// The service fee kept from each of the merchant's deposits (default 0.03 %).
    SetFee {
        /// The merchant's Appid.
        #[arg(long)]
        app_id: String,
        /// A percentage with at most 4 decimal places, e.g. 0.03 or 1.5.
        #[arg(long)]
        percent: String,
    },
}

pub async fn run(globals: Globals, command: MerchantCommand) -> anyhow::Result<ExitCode> {
    globals
        .with_database(async |database, _| operate(database, command).await)
        .await?;
    Ok(ExitCode::SUCCESS)
}

async fn operate(database: &Database, command: MerchantCommand) -> anyhow::Result<()> {
    let store = database.store();
    let settings = database.merchant_settings();
    match command {
        MerchantCommand::Create { name, json } => {
            let name = name.trim();
            if name.is_empty() {
                bail!("--name must not be empty: merchants are told apart by it");
            }
            let app_id = MerchantId::new(generate_app_id(unix_now()));
            let secret = generate_app_secret();
            store
                .create_merchant(&app_id, &secret, name, unix_now(), None)
                .await?;
            print_credentials(&app_id, &secret, json);
        }
        MerchantCommand::List { json } => {
            let merchants = store.list_merchants().await?;
            if json {
                let list: Vec<_> = merchants
                    .iter()
                    .map(|m| {
                        json!({"app_id": m.app_id.as_str(), "name": m.name, "status": m.status.as_str(), "created_at": m.created_at})
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                let header = ["APPID", "STATUS", "CREATED", "NAME"].map(str::to_owned);
                let rows: Vec<Vec<String>> = merchants
                    .iter()
                    .map(|m| {
                        vec![
                            m.app_id.to_string(),
                            m.status.as_str().to_owned(),
                            utc(m.created_at),
                            m.name.clone(),
                        ]
                    })
                    .collect();
                print!("{}", table(&header, &rows));
            }
        }
        MerchantCommand::RotateSecret { app_id, json } => {
            let app_id = MerchantId::new(app_id);
            let secret = generate_app_secret();
            store
                .replace_secret(&app_id, &secret, unix_now(), None)
                .await?;
            print_credentials(&app_id, &secret, json);
        }
        MerchantCommand::Disable { app_id } => {
            let app_id = MerchantId::new(app_id);
            store
                .set_merchant_status(&app_id, MerchantStatus::Disabled, unix_now(), None)
                .await?;
            println!("Merchant {app_id} is disabled.");
        }
        MerchantCommand::Enable { app_id } => {
            let app_id = MerchantId::new(app_id);
            store
                .set_merchant_status(&app_id, MerchantStatus::Active, unix_now(), None)
                .await?;
            println!("Merchant {app_id} is enabled.");
        }
        MerchantCommand::SetWebhook {
            app_id,
            url,
            notify_pending,
            dialect,
        } => {
            let url = url.trim();
            if let Err(err) = ccgate_api::request::check_merchant_url("--url", url) {
                bail!("{err}");
            }
            let dialect = dialect.of_webhooks();
            settings
                .set_merchant_webhook(
                    &MerchantId::new(app_id.as_str()),
                    Some(url),
                    notify_pending,
                    dialect,
                    None,
                )
                .await?;
            let pending = if notify_pending {
                ", pending and processing included"
            } else {
                ""
            };
            println!(
                "Webhooks of {app_id} go to {url}{pending}; its test pings are in {}.",
                dialect.as_str()
            );
        }
        MerchantCommand::SetWithdrawalApproval { app_id, required } => {
            let app_id = MerchantId::new(app_id);
            if store.merchant_credentials(app_id.as_str()).await?.is_none() {
                bail!("no merchant has the Appid {app_id}");
            }
            database
                .withdrawals()
                .set_withdrawal_approval_required(&app_id, required)
                .await?;
            if required {
                println!("Chain withdrawals of {app_id} now wait for `ccgate withdrawal approve`.");
            } else {
                println!("Chain withdrawals of {app_id} are sent without approval.");
            }
        }
        MerchantCommand::SetSwaps {
            app_id,
            enabled,
            daily_limit_usd,
        } => {
            let app_id = MerchantId::new(app_id);
            if store.merchant_credentials(app_id.as_str()).await?.is_none() {
                bail!("no merchant has the Appid {app_id}");
            }
            let limit = daily_limit_usd
                .map(|text| ccgate_engine::swaps::parse_daily_limit_usd(&text))
                .transpose()
                .map_err(|err| anyhow::anyhow!("--daily-limit-usd {err}"))?;
            database
                .swaps()
                .set_swap_policy(
                    &app_id,
                    &SwapPolicy {
                        disabled: !enabled,
                        daily_limit_usd: limit.map(|limit| limit.to_string()),
                    },
                )
                .await?;
            let limit = limit.map_or_else(
                || "the configuration's daily limit".to_owned(),
                |limit| format!("a daily limit of {limit} USD"),
            );
            if enabled {
                println!("Swaps of {app_id} are on, with {limit}.");
            } else {
                println!("Swaps of {app_id} are off (16005); when on again: {limit}.");
            }
        }
        MerchantCommand::SetFee { app_id, percent } => {
            // The dashboard's reading of a fee too (decisions §34).
            let ppm = ccgate_engine::console::fee_ppm_of_percent(&percent).with_context(|| {
                format!("--percent {percent:?} is not a percentage from 0 to 100 with at most 4 decimal places")
            })?;
            settings
                .set_service_fee(&MerchantId::new(app_id.as_str()), ppm, None)
                .await?;
            println!("Merchant {app_id} pays a service fee of {percent} % of each deposit.");
        }
    }
    Ok(())
}

fn print_credentials(app_id: &MerchantId, secret: &SecretString, json: bool) {
    if json {
        println!(
            "{}",
            json!({"app_id": app_id.as_str(), "app_secret": secret.expose_secret()})
        );
    } else {
        println!("Appid:     {app_id}\nAppSecret: {}", secret.expose_secret());
    }
}
