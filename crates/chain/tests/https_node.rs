//! The EVM adapter reaches an `https://` node: a node.js TLS server on a free
//! loopback port (tests/https_node.js) with a certificate from a CA made by
//! the `openssl` CLI for this run. Trusted through `rpc_ca_file`, the chain id
//! and the height are read; without it the handshake is refused.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use ccgate_chain::{ChainAdapter, ChainError, EvmChain, EvmNodeConfig};
use ccgate_ledger::{Amount, Registry};

const CHAIN_ID: u64 = 1337;
const HEIGHT: u64 = 4242;

/// Fails, naming the command that installs them, unless node and openssl
/// are here: a test that cannot run its real part never passes.
fn require_tools() {
    let runs = |program: &str, arg: &str| {
        Command::new(program)
            .arg(arg)
            .output()
            .is_ok_and(|out| out.status.success())
    };
    assert!(
        runs("node", "--version"),
        "the https node test needs node: `sudo apt-get install nodejs npm`"
    );
    assert!(
        runs("openssl", "version"),
        "the https node test needs the openssl CLI: `sudo apt-get install openssl`"
    );
}

/// Runs `openssl` in `dir` with whitespace-separated arguments.
fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args.split_whitespace())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (ca.pem) and a certificate it signed for 127.0.0.1 only (server.pem,
/// key server.key), in `dir`.
fn make_certificates(dir: &Path) {
    let p256 = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    openssl(
        dir,
        &format!(
            "req -x509 {p256} -keyout ca.key -out ca.pem -days 2 -subj /CN=ccgate-test-CA \
             -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"
        ),
    );
    openssl(
        dir,
        &format!("req -new {p256} -keyout server.key -out server.csr -subj /CN=ccgate-test-node"),
    );
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        dir,
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
         -days 2 -extfile server.ext",
    );
}

/// The TLS node, ended when dropped (and by itself when this process ends,
/// as its stdin closes).
struct HttpsNode {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
}

impl HttpsNode {
    fn start(dir: &Path) -> HttpsNode {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/https_node.js");
        let mut child = Command::new("node")
            .arg(script)
            .arg(dir.join("server.key"))
            .arg(dir.join("server.pem"))
            .arg(CHAIN_ID.to_string())
            .arg(HEIGHT.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("the https node did not start: {line:?}"))
            .parse()
            .unwrap();
        HttpsNode {
            child,
            _stdin: stdin,
            port,
        }
    }
}

impl Drop for HttpsNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn evm_chain(rpc_url: String, rpc_ca_file: Option<PathBuf>) -> Result<EvmChain, ChainError> {
    let registry = Registry::builtin();
    let chain = registry.chain("ETH").unwrap().clone();
    EvmChain::new(
        chain,
        EvmNodeConfig {
            rpc_timeout_ms: 10_000,
            rpc_ca_file,
            ..EvmNodeConfig::with_defaults(rpc_url, CHAIN_ID)
        },
        &registry,
        None,
    )
}

#[tokio::test]
async fn an_https_node_is_read_when_its_ca_is_trusted_and_refused_when_not() {
    require_tools();
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let node = HttpsNode::start(dir.path());

    let url = format!("https://127.0.0.1:{}/", node.port);
    let trusting = evm_chain(url.clone(), Some(dir.path().join("ca.pem"))).unwrap();
    assert_eq!(trusting.node_chain_id().await.unwrap(), CHAIN_ID);
    assert_eq!(trusting.height(0).await.unwrap(), HEIGHT);
    // The head's base fee was read too: (2 × 1 gwei + 1 gwei tip) × 21 000
    // gas, where the configured fee stood before.
    let registry = Registry::builtin();
    let eth = registry.coin_by_symbol("ETH").unwrap();
    let native = eth
        .tokens
        .iter()
        .find(|t| t.chain.as_str() == "ETH")
        .unwrap();
    assert_eq!(
        trusting.fee_estimate(native),
        Amount::parse_decimal("0.000063", eth.precision).unwrap()
    );

    // The webpki roots alone do not know the test CA: the handshake fails,
    // and the error says why, without the URL (a provider's holds the key).
    let with_key = format!("{url}v3/the-api-key");
    let untrusting = evm_chain(with_key, None).unwrap();
    let err = untrusting.node_chain_id().await.unwrap_err().to_string();
    assert!(err.contains("certificate"), "{err}");
    assert!(err.contains("UnknownIssuer"), "{err}");
    assert!(!err.contains("the-api-key"), "{err}");
    let err = untrusting.height(0).await.unwrap_err().to_string();
    assert!(err.contains("certificate"), "{err}");

    // A CA that did not sign the node's certificate is no better.
    let other = tempfile::tempdir().unwrap();
    make_certificates(other.path());
    let wrong_ca = evm_chain(url, Some(other.path().join("ca.pem"))).unwrap();
    let err = wrong_ca.node_chain_id().await.unwrap_err().to_string();
    assert!(err.contains("certificate"), "{err}");

    // The certificate names 127.0.0.1, not localhost (the same socket): the
    // host is checked, not only the issuer.
    let renamed = evm_chain(
        format!("https://localhost:{}/", node.port),
        Some(dir.path().join("ca.pem")),
    )
    .unwrap();
    let err = renamed.node_chain_id().await.unwrap_err().to_string();
    assert!(err.contains("certificate"), "{err}");
    assert!(err.contains("not valid for name"), "{err}");
}

#[test]
fn the_node_url_must_be_http_or_https() {
    for url in ["ws://127.0.0.1:8546", "file:///tmp/node", "not a url"] {
        let err = evm_chain(url.to_owned(), None).unwrap_err().to_string();
        assert!(err.contains("rpc_url"), "{url}: {err}");
    }
}
