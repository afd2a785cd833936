//! `ccgate sandbox …`: the sandbox's controls, through the running server's
//! admin API (an advance must run the server's own loops, so it cannot be
//! done beside the server on the database alone; and a production server has
//! none of these endpoints, so nothing here can reach one).

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

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

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let answer = self.request(reqwest::Method::GET, path).send().await;
        self.read(path, answer).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
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
        let body: Value = answer.json().await.unwrap_or_default();
        match body["error"].as_str() {
            Some(error) => bail!("{error}"),
            None => bail!("{path} answered HTTP {status}"),
        }
    }

    async fn read(
        &self,
        path: &str,
        answer: Result<reqwest::Response, reqwest::Error>,
    ) -> anyhow::Result<Value> {
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
        let body: Value = answer
            .json()
            .await
            .with_context(|| format!("read the admin API's answer to {path} (HTTP {status})"))?;
        if status.is_success() {
            return Ok(body);
        }
        match body["error"].as_str() {
            Some(error) => bail!("{error}"),
            None => bail!("{path} answered HTTP {status}"),
        }
    }
}

/// What to do with the clock.
pub enum ClockAction {
    Show,
    Advance(String),
    Freeze,
    Resume,
}

pub async fn clock(api: &AdminApi, action: ClockAction, as_json: bool) -> anyhow::Result<()> {
    let answer = match action {
        ClockAction::Show => api.get("/admin/sandbox/clock").await?,
        ClockAction::Advance(by) => {
            api.post("/admin/sandbox/clock/advance", &json!({ "by": by }))
                .await?
        }
        ClockAction::Freeze => api.post("/admin/sandbox/clock/freeze", &json!({})).await?,
        ClockAction::Resume => api.post("/admin/sandbox/clock/resume", &json!({})).await?,
    };
    if as_json {
        println!("{answer}");
        return Ok(());
    }
    let now = answer["now"].as_i64().unwrap_or_default();
    let when = time::OffsetDateTime::from_unix_timestamp(now)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| now.to_string());
    let state = if answer["frozen"].as_bool() == Some(true) {
        "frozen"
    } else {
        "running"
    };
    let offset_secs = answer["offset_ms"].as_i64().unwrap_or_default() / 1000;
    println!("business time {when} ({now}), {state}, {offset_secs} s ahead of the real clock");
    if let Some(steps) = answer["steps"].as_u64() {
        println!(
            "advanced through {steps} moment(s) where something fell due; {} piece(s) of work done",
            answer["work_done"].as_u64().unwrap_or_default()
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
}

pub async fn list_triggers(api: &AdminApi, as_json: bool) -> anyhow::Result<()> {
    let answer = api.get("/admin/sandbox/triggers").await?;
    if as_json {
        println!("{answer}");
        return Ok(());
    }
    for trigger in answer["triggers"].as_array().into_iter().flatten() {
        println!(
            "{:<22} {}",
            trigger["name"].as_str().unwrap_or_default(),
            trigger["description"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}

pub async fn trigger(api: &AdminApi, call: &TriggerCall, as_json: bool) -> anyhow::Result<()> {
    let mut body = json!({ "name": call.name, "app_id": call.app_id });
    if let Some(id) = &call.merchant_order_id {
        body["merchant_order_id"] = json!(id);
    }
    if let Some(token) = &call.token_id {
        body["token_id"] = json!(token);
    }
    let answer = api.post("/admin/sandbox/trigger", &body).await?;
    if as_json {
        println!("{answer}");
        return Ok(());
    }
    println!("trigger {}", call.name);
    for step in answer["steps"].as_array().into_iter().flatten() {
        println!("  - {}", step.as_str().unwrap_or_default());
    }
    println!("objects: {}", answer["objects"]);
    let webhooks = answer["webhooks"].as_array().cloned().unwrap_or_default();
    if webhooks.is_empty() {
        println!("no webhooks went out");
    }
    for webhook in &webhooks {
        let payload = &webhook["payload"];
        let state = payload["pay_status"]
            .as_str()
            .or_else(|| payload["status"].as_str())
            .unwrap_or("-");
        println!(
            "webhook #{} {} record {} ({state}): {} after {} attempt(s)",
            webhook["id"],
            webhook["type"].as_str().unwrap_or_default(),
            webhook["record_id"].as_str().unwrap_or_default(),
            webhook["status"].as_str().unwrap_or_default(),
            webhook["attempts"]
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
    let answer = api
        .post(
            "/admin/sandbox/webhooks/fault",
            &json!({
                "app_id": request.app_id,
                "faults": request.faults,
                "count": request.count,
                "seed": request.seed,
            }),
        )
        .await?;
    if as_json {
        println!("{answer}");
        return Ok(());
    }
    let words: Vec<&str> = answer["faults"]
        .as_array()
        .map(|faults| faults.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let reach = match answer["count"].as_u64() {
        Some(count) => format!("the next {count} delivery attempt(s)"),
        None => "every delivery attempt until `ccgate sandbox webhooks clear`".to_owned(),
    };
    println!(
        "webhooks of {}: {} on {reach} (seed {})",
        answer["app_id"].as_str().unwrap_or_default(),
        words.join(" "),
        answer["seed"]
    );
    Ok(())
}

pub async fn webhooks_clear(api: &AdminApi, app_id: &str, as_json: bool) -> anyhow::Result<()> {
    let answer = api
        .post(
            "/admin/sandbox/webhooks/clear",
            &json!({ "app_id": app_id }),
        )
        .await?;
    if as_json {
        println!("{answer}");
    } else if answer["cleared"].as_bool() == Some(true) {
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
    let answer = match &action {
        SnapshotAction::Save(name) => {
            api.post("/admin/sandbox/snapshot/save", &json!({ "name": name }))
                .await?
        }
        SnapshotAction::Restore(name) => {
            api.post("/admin/sandbox/snapshot/restore", &json!({ "name": name }))
                .await?
        }
        SnapshotAction::List => api.get("/admin/sandbox/snapshots").await?,
        SnapshotAction::Delete(name) => {
            api.post("/admin/sandbox/snapshot/delete", &json!({ "name": name }))
                .await?
        }
    };
    if as_json {
        println!("{answer}");
        return Ok(());
    }
    match action {
        SnapshotAction::Save(name) => println!(
            "saved snapshot {name} ({} bytes)",
            answer["bytes"].as_u64().unwrap_or_default()
        ),
        SnapshotAction::Restore(name) => println!(
            "restored snapshot {name}; business time {} ({})",
            answer["clock"]["now"],
            if answer["clock"]["frozen"].as_bool() == Some(true) {
                "frozen"
            } else {
                "running"
            }
        ),
        SnapshotAction::List => {
            let snapshots = answer["snapshots"].as_array().cloned().unwrap_or_default();
            if snapshots.is_empty() {
                println!("no snapshots");
            }
            for snapshot in &snapshots {
                println!(
                    "{:<32} {:>12} bytes  saved at {}",
                    snapshot["name"].as_str().unwrap_or_default(),
                    snapshot["bytes"].as_u64().unwrap_or_default(),
                    snapshot["saved_at"].as_i64().unwrap_or_default()
                );
            }
        }
        SnapshotAction::Delete(name) => println!("deleted snapshot {name}"),
    }
    Ok(())
}
