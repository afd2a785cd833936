//! Starts the real binary and talks to it over loopback with a minimal HTTP/1.1
//! client that writes requests byte for byte (exact header names, any body).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// USDT (ERC-20) on the devnet's ETH chain: the token most tests pay in.
pub const USDT_ERC20: &str = "2728e271-9f5d-4c05-8aa7-4a87b1afcc95";

const BINARY: &str = env!("CARGO_BIN_EXE_ccgate");
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Asks `probe` every 50 ms until it answers `Ok`, and returns that. The
/// background loops work on their own time, so tests wait for outcomes rather
/// than sleep; after `seconds` the test fails with `what` and the last `Err`.
pub fn eventually<T>(seconds: u64, what: &str, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        match probe() {
            Ok(value) => return value,
            Err(last) => assert!(Instant::now() < deadline, "{what}; last seen: {last}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `user_id`'s permanent ETH deposit address at `merchant`, through v1
/// `payment/address/get`.
pub fn permanent_address(gateway: &Gateway, merchant: &Merchant, user_id: &str) -> String {
    let body = format!(r#"{{"user_id":"{user_id}","chain":"ETH"}}"#);
    let answer = gateway.post_signed(
        merchant,
        "/ccpayment/v1/payment/address/get",
        body.as_bytes(),
        None,
    );
    answer.json()["data"]["address"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", answer.text()))
        .to_owned()
}

/// A devnet payment of `amount` USDT to `to` (`devnet pay --json`'s answer).
pub fn pay(gateway: &Gateway, to: &str, amount: &str) -> Value {
    serde_json::from_str(&gateway.cli_ok(&[
        "devnet",
        "pay",
        "--to",
        to,
        "--token-id",
        USDT_ERC20,
        "--amount",
        amount,
        "--json",
    ]))
    .unwrap()
}

/// [`pay`], then its confirmations (12 blocks) mined.
pub fn pay_confirmed(gateway: &Gateway, to: &str, amount: &str) -> Value {
    let paid = pay(gateway, to, amount);
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "12"]);
    paid
}

#[derive(Debug, Clone)]
pub struct Merchant {
    pub app_id: String,
    pub app_secret: String,
}

/// A fresh data directory as `serve` makes one: private to its owner (a
/// looser one is warned about).
pub fn private_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

pub struct Gateway {
    child: Child,
    address: SocketAddr,
    /// The loopback admin listener, when open.
    pub admin: Option<SocketAddr>,
    /// Its token, as the server read it (`admin.token` or `CCGATE_ADMIN_TOKEN`).
    admin_token: Option<String>,
    data_dir: Arc<tempfile::TempDir>,
    /// The demo merchant printed at first start.
    pub demo: Option<Merchant>,
    /// Reads the server's log (its stderr) to the end, when it is captured.
    log: Option<std::thread::JoinHandle<String>>,
}

impl Gateway {
    /// `ccgate serve` on a free port with a fresh data directory; returns once
    /// the ready line is printed.
    pub fn start(extra_args: &[&str]) -> Gateway {
        Gateway::spawn(Arc::new(private_tempdir()), extra_args, &[], false, None)
    }

    /// Like [`Gateway::start`], with these environment variables set.
    pub fn start_with_env(extra_args: &[&str], env: &[(&str, &str)]) -> Gateway {
        Gateway::spawn(Arc::new(private_tempdir()), extra_args, env, false, None)
    }

    /// Like [`Gateway::start`], with the process allowed only
    /// `open_files_max` file descriptors (`ulimit -n`), as a small machine's
    /// default would, so running out of them shows in a test.
    pub fn start_with_open_files_max(open_files_max: u32, extra_args: &[&str]) -> Gateway {
        Gateway::spawn(
            Arc::new(private_tempdir()),
            extra_args,
            &[],
            false,
            Some(open_files_max),
        )
    }

    /// Like [`Gateway::start`], but the server's log is kept for
    /// [`Gateway::terminate_and_read_log`] instead of shown.
    pub fn start_capturing_log(extra_args: &[&str]) -> Gateway {
        Gateway::spawn(Arc::new(private_tempdir()), extra_args, &[], true, None)
    }

    /// A second server on the same data directory, running beside this one
    /// (on a shared PostgreSQL database).
    pub fn another(&self, extra_args: &[&str]) -> Gateway {
        Gateway::spawn(Arc::clone(&self.data_dir), extra_args, &[], false, None)
    }

    /// Another server on the same data directory (after `terminate`).
    pub fn restart(&self, extra_args: &[&str]) -> Gateway {
        Gateway::spawn(Arc::clone(&self.data_dir), extra_args, &[], false, None)
    }

    /// [`Gateway::restart`], its log kept as [`Gateway::start_capturing_log`] does.
    pub fn restart_capturing_log(&self, extra_args: &[&str]) -> Gateway {
        Gateway::spawn(Arc::clone(&self.data_dir), extra_args, &[], true, None)
    }

    fn spawn(
        data_dir: Arc<tempfile::TempDir>,
        extra_args: &[&str],
        env: &[(&str, &str)],
        capture_log: bool,
        open_files_max: Option<u32>,
    ) -> Gateway {
        let mut command = match open_files_max {
            // `exec` keeps the pid, so signals still reach the server.
            Some(max) => {
                let mut shell = Command::new("sh");
                shell.args([
                    "-c",
                    &format!("ulimit -n {max} && exec \"$0\" \"$@\""),
                    BINARY,
                ]);
                shell
            }
            None => Command::new(BINARY),
        };
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path())
            .args(extra_args)
            .env("CCGATE_LOG", "error")
            .env_remove("CCGATE_MASTER_KEY")
            .env_remove("CCGATE_ADMIN_TOKEN")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(if capture_log {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .unwrap();
        let log = child.stderr.take().map(|mut stderr| {
            std::thread::spawn(move || {
                let mut log = String::new();
                let _ = stderr.read_to_string(&mut log);
                log
            })
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let deadline = Instant::now() + START_TIMEOUT;
        let (mut app_id, mut app_secret, mut admin) = (None, None, None);
        let address = loop {
            assert!(Instant::now() < deadline, "ccgate did not become ready");
            let line = lines
                .next()
                .expect("ccgate exited before it was ready")
                .unwrap();
            if let Some(rest) = line.trim().strip_prefix("Appid:") {
                app_id = Some(rest.trim().to_owned());
            }
            if let Some(rest) = line.trim().strip_prefix("AppSecret:") {
                app_secret = Some(rest.trim().to_owned());
            }
            if let Some(url) = line.strip_prefix("ccgate admin listening on http://") {
                admin = Some(url.trim().parse().unwrap());
            }
            if let Some(url) = line.strip_prefix("ccgate listening on http://") {
                break url.trim().parse().unwrap();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let demo = app_id
            .zip(app_secret)
            .map(|(app_id, app_secret)| Merchant { app_id, app_secret });
        let admin_token =
            admin.map(
                |_| match env.iter().find(|(name, _)| *name == "CCGATE_ADMIN_TOKEN") {
                    Some((_, token)) => (*token).to_owned(),
                    None => std::fs::read_to_string(data_dir.path().join("admin.token")).unwrap(),
                },
            );
        Gateway {
            child,
            address,
            admin,
            admin_token,
            data_dir,
            demo,
            log,
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Runs a CLI command on the same data directory as the server.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(BINARY)
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .env("CCGATE_LOG", "error")
            .env_remove("CCGATE_MASTER_KEY")
            .env_remove("CCGATE_ADMIN_TOKEN")
            .output()
            .unwrap()
    }

    /// Starts a long-running CLI command on the same data directory, its
    /// stdout piped; the caller ends it.
    pub fn cli_spawn(&self, args: &[&str]) -> Child {
        Command::new(BINARY)
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .env("CCGATE_LOG", "error")
            .env_remove("CCGATE_MASTER_KEY")
            .env_remove("CCGATE_ADMIN_TOKEN")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Like [`Gateway::cli_spawn`], with stderr piped too.
    pub fn cli_spawn_with_stderr(&self, args: &[&str]) -> Child {
        Command::new(BINARY)
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .env("CCGATE_LOG", "error")
            .env_remove("CCGATE_MASTER_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Runs a CLI command on the same data directory with `stdin` as its
    /// standard input.
    pub fn cli_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(BINARY)
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .env("CCGATE_LOG", "error")
            .env_remove("CCGATE_MASTER_KEY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    pub fn cli_ok(&self, args: &[&str]) -> String {
        let output = self.cli(args);
        assert!(
            output.status.success(),
            "ccgate {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// `ledger adjust`: credits (or, negative, debits) a merchant's
    /// available balance; `extra_args` for `--config`, `--database-url`….
    pub fn adjust(&self, merchant: &Merchant, coin: &str, amount: &str, extra_args: &[&str]) {
        let mut args = vec![
            "ledger",
            "adjust",
            "--app-id",
            &merchant.app_id,
            "--coin",
            coin,
            "--amount",
            amount,
            "--reason",
            "test fixture",
        ];
        args.extend_from_slice(extra_args);
        self.cli_ok(&args);
    }

    pub fn create_merchant(&self, name: &str) -> Merchant {
        self.create_merchant_on(name, &[])
    }

    /// [`Gateway::create_merchant`] with `extra_args` (`--database-url`…).
    pub fn create_merchant_on(&self, name: &str, extra_args: &[&str]) -> Merchant {
        let mut args = vec!["merchant", "create", "--name", name, "--json"];
        args.extend_from_slice(extra_args);
        credentials(&self.cli_ok(&args))
    }

    /// `merchant rotate-secret` through the CLI: the merchant with its new secret.
    pub fn rotate_secret(&self, merchant: &Merchant) -> Merchant {
        credentials(&self.cli_ok(&[
            "merchant",
            "rotate-secret",
            "--app-id",
            &merchant.app_id,
            "--json",
        ]))
    }

    /// A POST signed the way every SDK signs: over the exact body bytes.
    pub fn post_signed(
        &self,
        merchant: &Merchant,
        path: &str,
        body: &[u8],
        content_type: Option<&str>,
    ) -> HttpResponse {
        let timestamp = now().to_string();
        let sign = ccgate_api::sign::sign(&merchant.app_id, &merchant.app_secret, &timestamp, body);
        let mut headers = vec![
            ("Appid", merchant.app_id.as_str()),
            ("Timestamp", timestamp.as_str()),
            ("Sign", sign.as_str()),
        ];
        if let Some(content_type) = content_type {
            headers.push(("Content-Type", content_type));
        }
        self.raw_request("POST", path, &headers, body)
    }

    /// A v2 call (`/ccpayment/v2/{endpoint}`) signed as every v2 SDK signs:
    /// HMAC-SHA256 over `Appid + Timestamp + body`, over the exact bytes.
    pub fn post_v2(&self, merchant: &Merchant, endpoint: &str, body: &[u8]) -> HttpResponse {
        self.post_v2_as(merchant, "HTTP/1.1", endpoint, body)
    }

    /// [`Gateway::post_v2`] in the given HTTP version.
    pub fn post_v2_as(
        &self,
        merchant: &Merchant,
        version: &str,
        endpoint: &str,
        body: &[u8],
    ) -> HttpResponse {
        let timestamp = now().to_string();
        let sign =
            ccgate_api::v2::sign::sign(&merchant.app_id, &merchant.app_secret, &timestamp, body);
        let length = body.len().to_string();
        let headers = [
            ("Content-Length", length.as_str()),
            ("Content-Type", "application/json"),
            ("Appid", merchant.app_id.as_str()),
            ("Timestamp", timestamp.as_str()),
            ("Sign", sign.as_str()),
        ];
        let path = format!("/ccpayment/v2/{endpoint}");
        send_as(self.address, version, "POST", &path, &headers, body)
    }

    /// Sends `merchant`'s webhooks to `url` (`ccgate merchant set-webhook`).
    pub fn set_webhook(&self, merchant: &Merchant, url: &str) {
        self.cli_ok(&[
            "merchant",
            "set-webhook",
            "--app-id",
            &merchant.app_id,
            "--url",
            url,
        ]);
    }

    /// The admin API's token.
    pub fn admin_token(&self) -> &str {
        self.admin_token
            .as_deref()
            .expect("the admin listener is open")
    }

    /// A JSON POST to the admin listener, with its token.
    pub fn admin_post(&self, path: &str, body: &str) -> HttpResponse {
        let bearer = format!("Bearer {}", self.admin_token());
        self.admin_request(
            "POST",
            path,
            &[
                ("Authorization", bearer.as_str()),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
    }

    /// A GET to the admin listener, with its token.
    pub fn admin_get(&self, path: &str) -> HttpResponse {
        let bearer = format!("Bearer {}", self.admin_token());
        self.admin_request("GET", path, &[("Authorization", bearer.as_str())], b"")
    }

    /// A request to the admin listener with exactly these headers (and
    /// `Host: <its address>` unless given): no token unless one is among them.
    pub fn admin_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        let length = body.len().to_string();
        let mut all_headers = vec![("Content-Length", length.as_str())];
        all_headers.extend_from_slice(headers);
        send_to(
            self.admin.expect("the admin listener is open"),
            method,
            path,
            &all_headers,
            body,
        )
    }

    pub fn raw_post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
        self.raw_request("POST", path, headers, body)
    }

    pub fn raw_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        let length = body.len().to_string();
        let mut all_headers = vec![("Content-Length", length.as_str())];
        all_headers.extend_from_slice(headers);
        self.send(method, path, &all_headers, body)
    }

    /// A POST whose body is already chunk-encoded, without Content-Length.
    pub fn raw_request_chunked(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        encoded_body: &[u8],
    ) -> HttpResponse {
        let mut all_headers = vec![("Transfer-Encoding", "chunked")];
        all_headers.extend_from_slice(headers);
        self.send("POST", path, &all_headers, encoded_body)
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        send_to(self.address, method, path, headers, body)
    }

    /// SIGKILL: the process gets no chance to finish anything.
    pub fn kill_hard(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then wait for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }

    /// SIGTERM, then the exit status and everything the server logged.
    pub fn terminate_and_read_log(&mut self) -> (ExitStatus, String) {
        let status = self.terminate();
        let log = self.log.take().expect("started with start_capturing_log");
        (status, log.join().unwrap())
    }
}

/// One HTTP/1.1 request over a fresh connection, written byte for byte.
fn send_to(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    send_as(address, "HTTP/1.1", method, path, headers, body)
}

/// [`send_to`] in the given HTTP version (`HTTP/1.0`, as WordPress sends).
fn send_as(
    address: SocketAddr,
    version: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!("{method} {path} {version}\r\nConnection: close\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        head.push_str(&format!("Host: {address}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before reading a large body; a write error
    // then is expected, and the answer is still readable.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    HttpResponse::parse(&raw)
}

/// A connection to `address` from the loopback address `source` (Linux
/// routes all of 127.0.0.0/8 to itself), to be a client other than 127.0.0.1.
pub fn connect_from(source: IpAddr, address: SocketAddr) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = match source {
            IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        }
        .unwrap();
        socket.bind(SocketAddr::new(source, 0)).unwrap();
        socket.connect(address).await.unwrap().into_std().unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    stream
}

/// Why a request got no answer from a server that died under it (kill -9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoAnswer {
    /// The connection was refused: the server never saw the request.
    NotSent,
    /// The request may have been read and acted on; its answer never came.
    AnswerLost,
}

/// A signed POST to `address` that reports a dead server instead of
/// panicking, for load that runs while the server is killed.
pub fn try_post_signed(
    address: SocketAddr,
    merchant: &Merchant,
    path: &str,
    body: &[u8],
) -> Result<HttpResponse, NoAnswer> {
    let timestamp = now().to_string();
    let sign = ccgate_api::sign::sign(&merchant.app_id, &merchant.app_secret, &timestamp, body);
    try_send_to(
        address,
        path,
        &[
            ("Appid", merchant.app_id.as_str()),
            ("Timestamp", timestamp.as_str()),
            ("Sign", sign.as_str()),
        ],
        body,
    )
}

/// A JSON POST to the admin listener at `address`, with its token, reporting
/// a dead server instead of panicking.
pub fn try_post_json(
    address: SocketAddr,
    admin_token: &str,
    path: &str,
    body: &str,
) -> Result<HttpResponse, NoAnswer> {
    let bearer = format!("Bearer {admin_token}");
    try_send_to(
        address,
        path,
        &[
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )
}

fn try_send_to(
    address: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse, NoAnswer> {
    let mut stream = TcpStream::connect(address).map_err(|_| NoAnswer::NotSent)?;
    let lost = |_| NoAnswer::AnswerLost;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(lost)?;
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(lost)?;
    stream.write_all(body).map_err(lost)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(lost)?;
    // A server killed while answering leaves a truncated answer.
    if !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        return Err(NoAnswer::AnswerLost);
    }
    let response = HttpResponse::parse(&raw);
    let complete = response
        .header("content-length")
        .and_then(|length| length.parse::<usize>().ok())
        .is_some_and(|length| length == response.body.len());
    if complete {
        Ok(response)
    } else {
        Err(NoAnswer::AnswerLost)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Compares an answer with `tests/golden/<name>`; `UPDATE_GOLDEN=1` rewrites
/// the file instead (review the diff).
pub fn assert_golden(name: &str, actual: &[u8]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        expected == actual,
        "{name} changed; rerun with UPDATE_GOLDEN=1 if intended.\nexpected: {}\nactual:   {}",
        String::from_utf8_lossy(&expected),
        String::from_utf8_lossy(actual)
    );
}

/// Reads the CLI's `{"app_id":…,"app_secret":…}`.
fn credentials(json: &str) -> Merchant {
    let value: Value = serde_json::from_str(json).unwrap();
    Merchant {
        app_id: value["app_id"].as_str().unwrap().to_owned(),
        app_secret: value["app_secret"].as_str().unwrap().to_owned(),
    }
}

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    fn parse(raw: &[u8]) -> HttpResponse {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("no end of headers");
        let head = std::str::from_utf8(&raw[..split]).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        HttpResponse {
            status,
            headers,
            body: raw[split + 4..].to_vec(),
        }
    }

    /// One answer from a connection that stays open: its head, then
    /// Content-Length bytes of body.
    pub fn read_one(stream: &mut TcpStream) -> HttpResponse {
        let mut raw = Vec::new();
        let mut byte = [0u8];
        while !raw.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            raw.push(byte[0]);
        }
        let head = HttpResponse::parse(&raw);
        let length = head
            .header("content-length")
            .map_or(0, |length| length.parse().unwrap());
        let mut body = vec![0; length];
        stream.read_exact(&mut body).unwrap();
        HttpResponse { body, ..head }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// Checks the Appid/Timestamp/Sign response headers as the Go, Java and
    /// Python SDKs do: SHA-256 over the raw body with the merchant's secret.
    pub fn assert_signed_by(&self, merchant: &Merchant) {
        assert_eq!(self.header("appid"), Some(merchant.app_id.as_str()));
        let timestamp = self.header("timestamp").expect("Timestamp header");
        assert!((timestamp.parse::<i64>().unwrap() - now()).abs() <= 5);
        let sign = self.header("sign").expect("Sign header");
        assert!(
            ccgate_api::sign::verify(
                &merchant.app_id,
                &merchant.app_secret,
                timestamp,
                &self.body,
                sign
            ),
            "response signature does not verify"
        );
    }
}

/// A real HTTP server on loopback standing in for what the gateway calls out
/// to: a third-party price feed (the internet is not reachable here) or a
/// merchant's webhook receiver. It answers what the test sets and records every
/// request, so the gateway's production HTTP clients run unchanged against it.
/// Stub "statuses" that are behaviours instead of answers.
pub const CLOSE: u16 = 0;
pub const HANG: u16 = 1;

pub struct HttpStub {
    pub url: String,
    state: Arc<std::sync::Mutex<StubState>>,
}

struct StubState {
    /// Answers to give, in order; the last one repeats.
    answers: Vec<(u16, String)>,
    received: Vec<ReceivedRequest>,
}

#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// The request target as sent: path and query string.
    pub target: String,
    /// Lower-cased names, for lookups.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl HttpStub {
    pub fn start(status: u16, body: &str) -> HttpStub {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let state = Arc::new(std::sync::Mutex::new(StubState {
            answers: vec![(status, body.to_owned())],
            received: Vec::new(),
        }));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || serve_one(stream, &shared));
            }
        });
        HttpStub { url, state }
    }

    /// Answers to give from now on, in order; the last one repeats.
    pub fn answer_with(&self, answers: &[(u16, &str)]) {
        self.state.lock().unwrap().answers =
            answers.iter().map(|(s, b)| (*s, (*b).to_owned())).collect();
    }

    pub fn answer(&self, status: u16, body: &str) {
        self.answer_with(&[(status, body)]);
    }

    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.state.lock().unwrap().received.clone()
    }

    /// Waits (bounded) until `count` requests have arrived.
    pub fn wait_for_requests(&self, count: usize) -> Vec<ReceivedRequest> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {count} requests arrived",
                received.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn serve_one(mut stream: TcpStream, state: &std::sync::Mutex<StubState>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut headers = Vec::new();
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let target = line.split(' ').nth(1).unwrap_or_default().to_owned();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    let (status, answer) = {
        let mut state = state.lock().unwrap();
        state.received.push(ReceivedRequest {
            target,
            headers,
            body,
        });
        let answer = state
            .answers
            .first()
            .cloned()
            .unwrap_or((200, String::new()));
        if state.answers.len() > 1 {
            state.answers.remove(0);
        }
        answer
    };
    match status {
        // Close without answering.
        CLOSE => return,
        // Never answer (until long after any client gives up).
        HANG => {
            std::thread::sleep(Duration::from_secs(60));
            return;
        }
        _ => {}
    }
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = stream.write_all(response.as_bytes());
}
