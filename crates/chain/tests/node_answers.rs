//! What the JSON-RPC client takes from a node on loopback that misbehaves:
//! an endless answer is cut at the bound, a redirect is not followed, and no
//! error or debug print shows the URL's secret part (a provider's API key).

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ccgate_chain::evm::{RPC_ANSWER_BYTES_MAX, rpc_url_checked};
use ccgate_chain::{EvmChain, EvmNodeConfig};
use ccgate_ledger::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SECRET: &str = "the-api-key";

fn evm_chain(rpc_url: String) -> EvmChain {
    let registry = Registry::builtin();
    let chain = registry.chain("ETH").unwrap().clone();
    EvmChain::new(
        chain,
        EvmNodeConfig {
            rpc_timeout_ms: 20_000,
            ..EvmNodeConfig::with_defaults(rpc_url, 1)
        },
        &registry,
        None,
    )
    .unwrap()
}

/// A node on a free loopback port: each connection gets `head`, then `body`
/// repeated until `body_bytes` are written (or the client hangs up).
/// Returns its address, the connections accepted and the body bytes written.
async fn node(
    head: String,
    body: &'static [u8],
    body_bytes: usize,
) -> (SocketAddr, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let written = Arc::new(AtomicUsize::new(0));
    let (counted, sent) = (Arc::clone(&connections), Arc::clone(&written));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let (head, sent) = (head.clone(), Arc::clone(&sent));
            tokio::spawn(async move {
                let mut request = [0u8; 8192];
                let _ = stream.read(&mut request).await;
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                while sent.load(Ordering::SeqCst) < body_bytes {
                    if stream.write_all(body).await.is_err() {
                        return;
                    }
                    sent.fetch_add(body.len(), Ordering::SeqCst);
                }
            });
        }
    });
    (address, connections, written)
}

#[tokio::test]
async fn an_endless_answer_is_cut_at_the_bound() {
    const HUNDRED_MIB: usize = 100 * 1024 * 1024;
    static BLOCK: [u8; 64 * 1024] = [b' '; 64 * 1024];
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {HUNDRED_MIB}\r\n\r\n"
    );
    let (address, _, written) = node(head, &BLOCK, HUNDRED_MIB).await;
    let chain = evm_chain(format!("http://{address}/"));
    let err = chain.node_chain_id().await.unwrap_err().to_string();
    assert!(err.contains("larger than 32 MiB"), "{err}");
    // Stopped near the bound: what was in flight, not the whole answer.
    let sent = written.load(Ordering::SeqCst);
    assert!(
        sent < RPC_ANSWER_BYTES_MAX + 16 * 1024 * 1024,
        "{sent} bytes sent"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let answer = br#"{"jsonrpc":"2.0","id":0,"result":"0x1"}"#;
    let ok_head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        answer.len()
    );
    let (elsewhere, elsewhere_connections, _) = node(ok_head, answer, answer.len()).await;
    let redirect = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{elsewhere}/\r\nContent-Length: 0\r\n\r\n"
    );
    let (address, connections, _) = node(redirect, b"", 0).await;
    let chain = evm_chain(format!("http://{address}/"));
    let err = chain.node_chain_id().await.unwrap_err().to_string();
    assert!(err.contains("307"), "{err}");
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    assert_eq!(elsewhere_connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn no_error_or_debug_print_shows_the_urls_secret() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    for url in [
        format!("http://{closed}/v3/{SECRET}"),
        format!("http://{closed}/?apikey={SECRET}"),
        format!("http://user:{SECRET}@{closed}/"),
    ] {
        let chain = evm_chain(url.clone());
        let err = chain.node_chain_id().await.unwrap_err().to_string();
        assert!(!err.contains(SECRET), "{url}: {err}");
        let debug = format!("{chain:?} {:?}", chain.config());
        assert!(!debug.contains(SECRET), "{url}: {debug}");
        assert!(debug.contains(&format!("http://{closed}/…")), "{debug}");
    }
    for url in [
        format!("ws://node.example/{SECRET}"),
        format!("{SECRET} is no url"),
    ] {
        let err = rpc_url_checked(&url).unwrap_err().to_string();
        assert!(!err.contains(SECRET), "{url}: {err}");
        assert!(err.contains("rpc_url"), "{err}");
    }
}
