use std::process::ExitCode;

use anyhow::bail;
use ccgate_store::{CwalletAccount, StoreError};
use clap::Subcommand;
use rand::Rng;
use serde_json::json;

use super::Globals;
use crate::backend::Database;

#[derive(Debug, Subcommand)]
pub enum CwalletCommand {
    /// Create a Cwallet id; `--json` prints `{"c_id":"…"}`.
    Create {
        #[arg(long)]
        nickname: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(globals: Globals, command: CwalletCommand) -> anyhow::Result<ExitCode> {
    globals
        .with_database(async |database, _| match command {
            CwalletCommand::Create { nickname, json } => create(database, &nickname, json).await,
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// Tries before giving up on finding a free id (each try is a fresh random id).
const ID_ATTEMPTS_MAX: u32 = 8;

/// `ccgate cwallet create`: an account inside this gateway, paid instantly by
/// withdrawals. Ids are 8 digits, like Cwallet's.
async fn create(database: &Database, nickname: &str, json: bool) -> anyhow::Result<()> {
    if nickname.trim().is_empty() {
        bail!("--nickname must not be empty");
    }
    let store = database.store();
    for _ in 0..ID_ATTEMPTS_MAX {
        let account = CwalletAccount {
            c_id: rand::rng()
                .random_range(10_000_000u32..100_000_000)
                .to_string(),
            nickname: nickname.trim().to_owned(),
        };
        match store.create_cwallet(&account, super::unix_now()).await {
            Ok(()) => {
                if json {
                    println!("{}", json!({"c_id": account.c_id}));
                } else {
                    println!("Cwallet id: {}", account.c_id);
                }
                return Ok(());
            }
            Err(StoreError::CwalletExists(_)) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    bail!("no free Cwallet id found in {ID_ATTEMPTS_MAX} tries")
}
