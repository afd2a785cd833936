//! The admin API of a running `ccgate serve`, as the commands that drive it
//! (`sandbox`, `trigger`, `listen`) call it.

use anyhow::{Context, bail};
use ccgate_api::admin::Refusal;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

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
pub fn print_json(answer: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(answer)?);
    Ok(())
}
