//! `ccgate sandbox …`: the sandbox's controls, through the running server's
//! admin API (an advance must run the server's own loops, so it cannot be
//! done beside the server on the database alone; and a production server has
//! none of these endpoints, so nothing here can reach one).

use anyhow::{Context, bail};
use ccgate_api::admin::{
    AdvanceRequest, ClearRequest, Clock, Deleted, FaultsCleared, FaultsSet, Refusal, Restored,
    Snapshot, SnapshotList, SnapshotRequest, TriggerList, TriggerRequest, Triggered,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::data_dir::{ADMIN_URL_FILE, DataDir};

/// The admin API of the `serve` running on a data directory.
pub struct AdminApi {
    base_url: String,
    token: SecretString,
    http: reqwest::Client,
}

impl AdminApi {
    /// `explicit` (`--admin-url`), else the URL the server on `data_dir`
    /// wrote when it started; the token from `CCGATE_ADMIN_TOKEN` or the
    /// data directory.
    pub fn locate(data_dir: &DataDir, explicit: Option<&str>) -> anyhow::Result<AdminApi> {
        let base_url = match explicit {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let file = data_dir.path().join(ADMIN_URL_FILE);
                std::fs::read_to_string(&file)
                    .with_context(|| {
                        format!(
                            "no running `ccgate serve` found on {} (no {}); start one, or pass \
                             --admin-url",
                            data_dir.path().display(),
                            file.display()
                        )
                    })?
                    .trim()
                    .to_owned()
            }
        };
        Ok(AdminApi {
            base_url,
            token: data_dir.admin_token()?,
            http: reqwest::Client::new(),
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(self.token.expose_secret())
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let answer = self.request(reqwest::Method::GET, path).send().await;
        self.read(path, answer).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        let answer = self
            .request(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await;
        self.read(path, answer).await
    }

    /// A GET whose answer is read as it comes (a stream), once it says yes.
    pub async fn open_stream(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> anyhow::Result<reqwest::Response> {
        let answer = self
            .request(reqwest::Method::GET, path)
            .query(query)
            .send()
            .await
            .with_context(|| format!("reach the admin API at {}", self.base_url))?;
        if answer.status().is_success() {
            return Ok(answer);
        }
        let status = answer.status();
        match answer.json::<Refusal>().await {
            Ok(refusal) => bail!("{}", refusal.error),
            Err(_) => bail!("{path} answered HTTP {status}"),
        }
    }

    async fn read<T: DeserializeOwned>(
        &self,
        path: &str,
        answer: Result<reqwest::Response, reqwest::Error>,
    ) -> anyhow::Result<T> {
        let answer = answer.with_context(|| {
            format!(
                "reach the admin API at {} (is `ccgate serve --sandbox` running?)",
                self.base_url
            )
        })?;
        let status = answer.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            bail!(
                "{} has no {path}: this server is not a sandbox (start it with `serve --sandbox`)",
                self.base_url
            );
        }
        let body = answer
            .bytes()
            .await
            .with_context(|| format!("read the admin API's answer to {path} (HTTP {status})"))?;
        if status.is_success() {
            return serde_json::from_slice(&body).with_context(|| {
                format!("the admin API's answer to {path} is not what this ccgate expects")
            });
        }
        match serde_json::from_slice::<Refusal>(&body) {
            Ok(refusal) => bail!("{}", refusal.error),
            Err(_) => bail!("{path} answered HTTP {status}"),
        }
    }
}

/// An answer as `--json` prints it.
fn print_json(answer: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(answer)?);
    Ok(())
}

/// What to do with the clock.
pub enum ClockAction {
    Show,
    Advance(String),
    Freeze,
    Resume,
}

pub async fn clock(api: &AdminApi, action: ClockAction, as_json: bool) -> anyhow::Result<()> {
    let answer: Clock = match action {
        ClockAction::Show => api.get("/admin/sandbox/clock").await?,
        ClockAction::Advance(by) => {
            api.post("/admin/sandbox/clock/advance", &AdvanceRequest { by })
                .await?
        }
        ClockAction::Freeze => api.post("/admin/sandbox/clock/freeze", &json!({})).await?,
        ClockAction::Resume => api.post("/admin/sandbox/clock/resume", &json!({})).await?,
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

/// A trigger to run, as typed.
pub struct TriggerCall {
    pub name: String,
    pub app_id: String,
    pub merchant_order_id: Option<String>,
    pub token_id: Option<String>,
    pub dialect: super::Dialect,
}

pub async fn list_triggers(api: &AdminApi, as_json: bool) -> anyhow::Result<()> {
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
    }
    Ok(())
}

pub async fn trigger(api: &AdminApi, call: &TriggerCall, as_json: bool) -> anyhow::Result<()> {
    let request = TriggerRequest {
        name: call.name.clone(),
        app_id: call.app_id.clone(),
        merchant_order_id: call.merchant_order_id.clone(),
        token_id: call.token_id.clone(),
        dialect: Some(match call.dialect {
            super::Dialect::V1 => ccgate_api::admin::Dialect::V1,
            super::Dialect::V2 => ccgate_api::admin::Dialect::V2,
        }),
    };
    let answer: Triggered = api.post("/admin/sandbox/trigger", &request).await?;
    if as_json {
        return print_json(&answer);
    }
    println!("trigger {}", call.name);
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

/// `ccgate sandbox webhooks fault`'s arguments.
pub struct FaultRequest {
    pub app_id: String,
    pub faults: Vec<String>,
    pub count: Option<u32>,
    pub seed: u64,
}

pub async fn webhooks_fault(
    api: &AdminApi,
    request: FaultRequest,
    as_json: bool,
) -> anyhow::Result<()> {
    let body = ccgate_api::admin::FaultRequest {
        app_id: request.app_id,
        faults: request.faults,
        count: request.count,
        seed: Some(request.seed),
    };
    let answer: FaultsSet = api.post("/admin/sandbox/webhooks/fault", &body).await?;
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

pub async fn webhooks_clear(api: &AdminApi, app_id: &str, as_json: bool) -> anyhow::Result<()> {
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

/// What to do with snapshots.
pub enum SnapshotAction {
    Save(String),
    Restore(String),
    List,
    Delete(String),
}

pub async fn snapshot(api: &AdminApi, action: SnapshotAction, as_json: bool) -> anyhow::Result<()> {
    let named = |name: &String| SnapshotRequest { name: name.clone() };
    match &action {
        SnapshotAction::Save(name) => {
            let saved: Snapshot = api
                .post("/admin/sandbox/snapshot/save", &named(name))
                .await?;
            if as_json {
                return print_json(&saved);
            }
            println!("saved snapshot {name} ({} bytes)", saved.bytes);
        }
        SnapshotAction::Restore(name) => {
            let restored: Restored = api
                .post("/admin/sandbox/snapshot/restore", &named(name))
                .await?;
            if as_json {
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
        SnapshotAction::List => {
            let listed: SnapshotList = api.get("/admin/sandbox/snapshots").await?;
            if as_json {
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
        SnapshotAction::Delete(name) => {
            let deleted: Deleted = api
                .post("/admin/sandbox/snapshot/delete", &named(name))
                .await?;
            if as_json {
                return print_json(&deleted);
            }
            println!("deleted snapshot {name}");
        }
    }
    Ok(())
}
