use std::process::ExitCode;

use ccgate_client::{Client, V2Client};
use clap::Args;

use super::Dialect;

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The endpoint after /ccpayment/v1/ (e.g. `assets`, `bill/info`) or,
    /// with `--dialect v2`, after /ccpayment/v2/ (e.g. `getCoinList`).
    endpoint: String,
    /// The JSON body, sent byte for byte (default: empty).
    #[arg(default_value = "")]
    json: String,
    /// The API dialect to speak.
    #[arg(long, value_enum, default_value_t = Dialect::V1)]
    dialect: Dialect,
    /// The merchant's Appid, sent in the `Appid` header.
    #[arg(long, env = "CCGATE_APP_ID")]
    app_id: String,
    /// The merchant's app secret: signs the request (and verifies a v1 answer).
    #[arg(long, env = "CCGATE_APP_SECRET", hide_env_values = true)]
    secret: String,
    /// Where the API is: a ccgate, or CCPayment's own (https://ccpayment.com).
    #[arg(long, env = "CCGATE_BASE_URL", default_value = "http://127.0.0.1:8080")]
    base_url: String,
}

/// `ccgate call`: the integrator's probe. Exit 0 only for a success (in v1,
/// one whose signature verifies; v2 answers carry no signature).
pub async fn run(args: &CallArgs) -> anyhow::Result<ExitCode> {
    let answer = match args.dialect {
        Dialect::V1 => {
            Client::new(&args.base_url, &args.app_id, &args.secret)?
                .call_raw(&args.endpoint, args.json.as_bytes())
                .await?
        }
        Dialect::V2 => {
            V2Client::new(&args.base_url, &args.app_id, &args.secret)?
                .call_raw(&args.endpoint, args.json.as_bytes())
                .await?
        }
    };
    let text = String::from_utf8_lossy(&answer.body);
    println!("HTTP {}", answer.status);
    println!("{text}");
    let success = text.starts_with(r#"{"code":10000,"#);
    if args.dialect == Dialect::V2 {
        println!("signature: none (v2 answers are not signed)");
        return Ok(if success {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let verdict = match answer.signature_verified {
        Some(true) => "signature: verified",
        Some(false) => "signature: DOES NOT VERIFY (wrong secret, or the answer was altered)",
        None => "signature: none (the server did not sign this answer)",
    };
    println!("{verdict}");
    Ok(if success && answer.signature_verified == Some(true) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
