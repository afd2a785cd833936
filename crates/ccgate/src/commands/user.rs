//! `ccgate user create`: the dashboard's users (decisions §23). The first
//! operator can only be made here; after that operators may also make users
//! from the dashboard.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use ccgate_engine::console::{Actor, Visit, generate_password};
use ccgate_ledger::MerchantId;
use ccgate_store::ConsoleRole;
use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};

use super::{Globals, unix_now_ms};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a dashboard user; prints a new password once, unless one is
    /// given on standard input (`--password-stdin`).
    Create {
        /// What the user logs in with.
        #[arg(long)]
        email: String,
        /// An operator: sees and does everything.
        #[arg(
            long,
            conflicts_with = "merchant",
            required_unless_present = "merchant"
        )]
        operator: bool,
        /// A user of this merchant (its Appid): sees only that merchant.
        #[arg(long, value_name = "APPID")]
        merchant: Option<String>,
        /// Read the password from standard input (its first line) instead
        /// of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove a user's TOTP second factor (a lost phone): the user sets up
    /// a new one from its settings page before money leaves again.
    RemoveSecondFactor {
        /// The user's e-mail, as it logs in.
        #[arg(long)]
        email: String,
    },
}

pub async fn run(globals: Globals, command: UserCommand) -> anyhow::Result<ExitCode> {
    let (email, operator, merchant, password_stdin) = match command {
        UserCommand::Create {
            email,
            operator,
            merchant,
            password_stdin,
        } => (email, operator, merchant, password_stdin),
        UserCommand::RemoveSecondFactor { email } => {
            return remove_second_factor(globals, email).await;
        }
    };
    let role = match (operator, merchant) {
        (_, Some(app_id)) => ConsoleRole::Merchant(MerchantId::new(app_id.trim())),
        (true, None) => ConsoleRole::Operator,
        (false, None) => anyhow::bail!("give --operator or --merchant <APPID>"),
    };
    let password = if password_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("read the password from standard input")?;
        SecretString::from(text.lines().next().unwrap_or_default().to_owned())
    } else {
        generate_password()
    };
    globals
        .with_database(async |database, settings| {
            let visit = Visit {
                ip: "local",
                now_ms: unix_now_ms(),
            };
            database
                .console(&settings.registry)
                .create_user(Actor::Cli, &email, &password, role.clone(), visit)
                .await?;
            Ok(())
        })
        .await?;
    let whose = match &role {
        ConsoleRole::Operator => "operator".to_owned(),
        ConsoleRole::Merchant(app_id) => format!("user of merchant {app_id}"),
    };
    println!("Created dashboard {whose} {}.", email.trim().to_lowercase());
    if !password_stdin {
        println!("Password (shown once): {}", password.expose_secret());
    }
    Ok(ExitCode::SUCCESS)
}

/// `ccgate user remove-second-factor`: audited as the command line's.
async fn remove_second_factor(globals: Globals, email: String) -> anyhow::Result<ExitCode> {
    globals
        .with_database(async |database, settings| {
            let visit = Visit {
                ip: "local",
                now_ms: unix_now_ms(),
            };
            database
                .console(&settings.registry)
                .reset_second_factor(&email, visit)
                .await?;
            Ok(())
        })
        .await?;
    println!(
        "Removed the second factor of {}, if it had one.",
        email.trim().to_lowercase()
    );
    Ok(ExitCode::SUCCESS)
}
