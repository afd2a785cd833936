//! `ccgate sandbox …`: the sandbox's controls, through the running server's
//! admin API (an advance must run the server's own loops, so it cannot be
//! done beside the server on the database alone; and a production server has
//! none of these endpoints, so nothing here can reach one).

use std::process::ExitCode;

use ccgate_api::admin::{
    AdvanceRequest, ClearRequest, Clock, Deleted, FaultRequest, FaultsCleared, FaultsSet, Restored,
    Snapshot, SnapshotList, SnapshotRequest,
};
use clap::{Args, Subcommand};
use serde_json::json;

use super::Globals;
use super::admin_api::{AdminApi, print_json};

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// The sandbox's admin API; default: the one the server on --data-dir wrote.
    #[arg(long, env = "CCGATE_ADMIN_URL", global = true)]
    admin_url: Option<String>,
    #[command(subcommand)]
    command: SandboxCommand,
}

#[derive(Debug, Subcommand)]
enum SandboxCommand {
    /// The business clock: show, advance, freeze, resume.
    #[command(subcommand)]
    Clock(ClockCommand),
    /// Faults injected into a merchant's webhook deliveries: fault, clear.
    #[command(subcommand)]
    Webhooks(SandboxWebhooksCommand),
    /// The whole state saved and restored (SQLite): save, restore, list, delete.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

#[derive(Debug, Subcommand)]
enum SnapshotCommand {
    /// Save the whole state as NAME (replacing a snapshot of that name).
    Save {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Put the whole state back as snapshot NAME has it, while the server runs.
    Restore {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// The saved snapshots.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete snapshot NAME.
    Delete {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum SandboxWebhooksCommand {
    /// Inject faults into the merchant's webhook deliveries (replacing any it
    /// had): delay=5s (held before sending), drop=0.3 (not sent, a failed
    /// attempt), duplicate=0.2 (sent twice), reorder (a batch newest first),
    /// bad-signature (Sign does not match), status=500 (sent, but the attempt
    /// fails as if the receiver answered 500). Probabilities draw from a
    /// seeded sequence, so a run repeats exactly.
    Fault {
        #[arg(long)]
        app_id: String,
        #[arg(required = true, value_name = "FAULT")]
        faults: Vec<String>,
        /// Deliveries to affect (default: every one until cleared).
        #[arg(long)]
        count: Option<u32>,
        /// Starts the probabilistic faults' draws.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
    /// Stop injecting faults into the merchant's webhook deliveries.
    Clear {
        #[arg(long)]
        app_id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ClockCommand {
    /// Where business time stands (`--json`: {"now": UNIX_SECONDS, "now_ms", "frozen", "offset_ms"}).
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Move business time forward (e.g. `31m30s`, `2h`, `90s`, `1500ms`), firing
    /// what falls due on the way in order; returns once it has settled.
    Advance {
        by: String,
        #[arg(long)]
        json: bool,
    },
    /// Stop business time.
    Freeze {
        #[arg(long)]
        json: bool,
    },
    /// Let business time run on from where it stands.
    Resume {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(globals: Globals, args: SandboxArgs) -> anyhow::Result<ExitCode> {
    let located = globals.locate()?;
    let api = AdminApi::locate(&located.data_dir, args.admin_url.as_deref())?;
    match args.command {
        SandboxCommand::Clock(command) => clock(&api, command).await?,
        SandboxCommand::Webhooks(SandboxWebhooksCommand::Fault {
            app_id,
            faults,
            count,
            seed,
            json,
        }) => {
            let request = FaultRequest {
                app_id,
                faults,
                count,
                seed: Some(seed),
            };
            webhooks_fault(&api, &request, json).await?;
        }
        SandboxCommand::Webhooks(SandboxWebhooksCommand::Clear { app_id, json }) => {
            webhooks_clear(&api, &app_id, json).await?;
        }
        SandboxCommand::Snapshot(command) => snapshot(&api, command).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn clock(api: &AdminApi, command: ClockCommand) -> anyhow::Result<()> {
    let (answer, as_json): (Clock, bool) = match command {
        ClockCommand::Show { json } => (api.get("/admin/sandbox/clock").await?, json),
        ClockCommand::Advance { by, json } => (
            api.post("/admin/sandbox/clock/advance", &AdvanceRequest { by })
                .await?,
            json,
        ),
        ClockCommand::Freeze { json } => (
            api.post("/admin/sandbox/clock/freeze", &json!({})).await?,
            json,
        ),
        ClockCommand::Resume { json } => (
            api.post("/admin/sandbox/clock/resume", &json!({})).await?,
            json,
        ),
    };
    if as_json {
        return print_json(&answer);
    }
    let now = answer.now;
    let when = time::OffsetDateTime::from_unix_timestamp(now)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| now.to_string());
    let state = if answer.frozen { "frozen" } else { "running" };
    let offset_secs = answer.offset_ms / 1000;
    println!("business time {when} ({now}), {state}, {offset_secs} s ahead of the real clock");
    if let Some(steps) = answer.steps {
        println!(
            "advanced through {steps} moment(s) where something fell due; {} piece(s) of work done",
            answer.work_done.unwrap_or_default()
        );
    }
    Ok(())
}

async fn webhooks_fault(
    api: &AdminApi,
    request: &FaultRequest,
    as_json: bool,
) -> anyhow::Result<()> {
    let answer: FaultsSet = api.post("/admin/sandbox/webhooks/fault", request).await?;
    if as_json {
        return print_json(&answer);
    }
    let reach = match answer.count {
        Some(count) => format!("the next {count} delivery attempt(s)"),
        None => "every delivery attempt until `ccgate sandbox webhooks clear`".to_owned(),
    };
    println!(
        "webhooks of {}: {} on {reach} (seed {})",
        answer.app_id,
        answer.faults.join(" "),
        answer.seed
    );
    Ok(())
}

async fn webhooks_clear(api: &AdminApi, app_id: &str, as_json: bool) -> anyhow::Result<()> {
    let answer: FaultsCleared = api
        .post(
            "/admin/sandbox/webhooks/clear",
            &ClearRequest {
                app_id: app_id.to_owned(),
            },
        )
        .await?;
    if as_json {
        print_json(&answer)?;
    } else if answer.cleared {
        println!("webhooks of {app_id}: faults cleared");
    } else {
        println!("webhooks of {app_id}: no faults were set");
    }
    Ok(())
}

async fn snapshot(api: &AdminApi, command: SnapshotCommand) -> anyhow::Result<()> {
    let named = |name: &String| SnapshotRequest { name: name.clone() };
    match &command {
        SnapshotCommand::Save { name, json } => {
            let saved: Snapshot = api
                .post("/admin/sandbox/snapshot/save", &named(name))
                .await?;
            if *json {
                return print_json(&saved);
            }
            println!("saved snapshot {name} ({} bytes)", saved.bytes);
        }
        SnapshotCommand::Restore { name, json } => {
            let restored: Restored = api
                .post("/admin/sandbox/snapshot/restore", &named(name))
                .await?;
            if *json {
                return print_json(&restored);
            }
            println!(
                "restored snapshot {name}; business time {} ({})",
                restored.clock.now,
                if restored.clock.frozen {
                    "frozen"
                } else {
                    "running"
                }
            );
        }
        SnapshotCommand::List { json } => {
            let listed: SnapshotList = api.get("/admin/sandbox/snapshots").await?;
            if *json {
                return print_json(&listed);
            }
            if listed.snapshots.is_empty() {
                println!("no snapshots");
            }
            for snapshot in &listed.snapshots {
                println!(
                    "{:<32} {:>12} bytes  saved at {}",
                    snapshot.name, snapshot.bytes, snapshot.saved_at
                );
            }
        }
        SnapshotCommand::Delete { name, json } => {
            let deleted: Deleted = api
                .post("/admin/sandbox/snapshot/delete", &named(name))
                .await?;
            if *json {
                return print_json(&deleted);
            }
            println!("deleted snapshot {name}");
        }
    }
    Ok(())
}
