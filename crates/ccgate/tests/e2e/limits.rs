//! Server limits (decisions §5): connections that stall or pile up cannot keep
//! other clients from being served, and the rate limit counts the client a
//! trusted proxy forwards for — and only a trusted one.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::support::{Gateway, HttpResponse, Merchant, connect_from, eventually, now};

const ASSETS: &str = "/ccpayment/v1/assets";
/// How long a test waits for an answer that should come at once.
const PROMPTLY: Duration = Duration::from_secs(5);

fn loopback(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// A signed `assets` call from `source`, answered on a fresh connection.
fn signed_assets_from(source: IpAddr, address: SocketAddr, merchant: &Merchant) -> HttpResponse {
    let body = b"{}";
    let timestamp = now().to_string();
    let sign = ccgate_api::sign::sign(&merchant.app_id, &merchant.app_secret, &timestamp, body);
    let mut stream = connect_from(source, address);
    stream.set_read_timeout(Some(PROMPTLY)).unwrap();
    let request = format!(
        "POST {ASSETS} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\
         Appid: {}\r\nTimestamp: {timestamp}\r\nSign: {sign}\r\n\r\n{{}}",
        body.len(),
        merchant.app_id
    );
    stream.write_all(request.as_bytes()).unwrap();
    HttpResponse::read_one(&mut stream)
}

/// `GET /healthz` over `stream`, kept alive, with optional extra header lines.
fn healthz_on(stream: &mut TcpStream, extra_headers: &str) -> HttpResponse {
    stream.set_read_timeout(Some(PROMPTLY)).unwrap();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{extra_headers}\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    HttpResponse::read_one(stream)
}

/// Whether the server closed `stream` (end of stream or reset) within `wait`.
fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut byte = [0u8];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => panic!("the server sent bytes on a connection it should close"),
        Err(err) => !matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

/// A connection that sent half a request head and stalls.
fn stalled_from(source: IpAddr, address: SocketAddr) -> TcpStream {
    let mut stream = connect_from(source, address);
    // A refused connection may already be closed: the write may fail.
    let _ = stream.write_all(format!("POST {ASSETS} HTTP/1.1\r\nHost: x\r\nContent-Le").as_bytes());
    stream
}

#[test]
fn a_slowloris_from_one_address_does_not_keep_others_from_being_served() {
    // 300 stalled connections are more than the process may open files: before
    // the per-IP cap, they took every descriptor and nobody else got in.
    let gateway = Gateway::start_with_open_files_max(
        256,
        &[
            "--connections-per-ip-max",
            "64",
            // The cap protects here, not the timeout: the stalled ones stay.
            "--header-read-timeout-ms",
            "120000",
        ],
    );
    let merchant = gateway.demo.clone().unwrap();
    let address = gateway.address();
    let attacker = loopback(1);
    let stalled: Vec<TcpStream> = (0..300).map(|_| stalled_from(attacker, address)).collect();

    let started = Instant::now();
    let response = signed_assets_from(loopback(2), address, &merchant);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["code"], 10000);
    let mut other = connect_from(loopback(3), address);
    assert_eq!(healthz_on(&mut other, "").status, 200);
    assert!(
        started.elapsed() < PROMPTLY,
        "answered only after {:?}",
        started.elapsed()
    );

    // The attacker's own address gets no further.
    let mut over = connect_from(attacker, address);
    let _ = over.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = Vec::new();
    over.set_read_timeout(Some(PROMPTLY)).unwrap();
    let _ = over.read_to_end(&mut answer);
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 503 "),
        "over the per-IP cap, yet answered: {}",
        String::from_utf8_lossy(&answer)
    );
    drop(stalled);
    // Its slots come back as its connections close.
    eventually(10, "the attacker's address is served again", || {
        let mut stream = connect_from(attacker, address);
        stream.set_read_timeout(Some(PROMPTLY)).unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        answer
            .starts_with(b"HTTP/1.1 200 ")
            .then_some(())
            .ok_or_else(|| String::from_utf8_lossy(&answer).into_owned())
    });
}

#[test]
fn stalled_headers_and_idle_connections_are_closed_after_their_timeouts() {
    let gateway = Gateway::start(&[
        "--header-read-timeout-ms",
        "300",
        "--idle-timeout-ms",
        "3000",
    ]);
    let address = gateway.address();

    let started = Instant::now();
    let mut stalled = stalled_from(loopback(1), address);
    assert!(
        closed_within(&mut stalled, Duration::from_secs(10)),
        "a connection stalled mid-header stayed open"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    let started = Instant::now();
    let mut stalled = connect_from(loopback(1), address);
    assert!(
        closed_within(&mut stalled, Duration::from_secs(10)),
        "a connection that never sent a byte stayed open"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Kept alive, a connection may wait longer than the header timeout for
    // its next request: that wait is the idle timeout's.
    let mut kept = connect_from(loopback(1), address);
    assert_eq!(healthz_on(&mut kept, "").status, 200);
    std::thread::sleep(Duration::from_millis(1_000));
    assert_eq!(healthz_on(&mut kept, "").status, 200);
    let idle_since = Instant::now();
    assert!(
        closed_within(&mut kept, Duration::from_secs(15)),
        "an idle kept-alive connection stayed open"
    );
    assert!(idle_since.elapsed() >= Duration::from_millis(1_000));

    // HTTP/1.0 clients (some SDKs) are still answered.
    let mut old = connect_from(loopback(1), address);
    old.set_read_timeout(Some(PROMPTLY)).unwrap();
    old.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    old.read_to_end(&mut answer).unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.0 200 "),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[test]
fn connections_beyond_the_global_cap_are_refused() {
    let gateway = Gateway::start(&["--connections-max", "5"]);
    let address = gateway.address();
    // Five clients, each its own address, so only the global cap applies.
    let mut held: Vec<TcpStream> = (1..=5)
        .map(|last| {
            let mut stream = connect_from(loopback(last), address);
            assert_eq!(healthz_on(&mut stream, "").status, 200);
            stream
        })
        .collect();

    let mut sixth = connect_from(loopback(6), address);
    let _ = sixth.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    sixth.set_read_timeout(Some(PROMPTLY)).unwrap();
    let mut answer = Vec::new();
    let _ = sixth.read_to_end(&mut answer);
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 503 "),
        "over the cap, yet answered: {}",
        String::from_utf8_lossy(&answer)
    );

    held.pop();
    eventually(10, "a freed slot serves a new connection", || {
        let mut stream = connect_from(loopback(6), address);
        stream.set_read_timeout(Some(PROMPTLY)).unwrap();
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        answer
            .starts_with(b"HTTP/1.1 200 ")
            .then_some(())
            .ok_or_else(|| String::from_utf8_lossy(&answer).into_owned())
    });
    // The held ones were never cut.
    for stream in &mut held {
        assert_eq!(healthz_on(stream, "").status, 200);
    }
}

/// Statuses of `count` requests from 127.0.0.1, the `i`-th forwarding for `forwarded_for(i)`.
fn statuses_forwarding(
    address: SocketAddr,
    count: u8,
    forwarded_for: impl Fn(u8) -> String,
) -> Vec<u16> {
    (0..count)
        .map(|i| {
            let mut stream = connect_from(loopback(1), address);
            let header = format!(
                "X-Forwarded-For: {}\r\nConnection: close\r\n",
                forwarded_for(i)
            );
            healthz_on(&mut stream, &header).status
        })
        .collect()
}

#[test]
fn forwarded_for_counts_only_from_a_trusted_proxy() {
    // From an untrusted peer, any X-Forwarded-For is the client's own claim.
    let direct = Gateway::start(&["--rate-limit-per-sec", "2"]);
    let statuses = statuses_forwarding(direct.address(), 10, |i| format!("203.0.113.{i}"));
    assert!(
        statuses.contains(&429),
        "rotating X-Forwarded-For escaped the limit: {statuses:?}"
    );

    let proxied = Gateway::start(&[
        "--rate-limit-per-sec",
        "2",
        "--trusted-proxies",
        "10.0.0.0/8,127.0.0.1/32",
        "--connections-per-ip-max",
        "2",
    ]);
    let address = proxied.address();
    // Each forwarded client has its own bucket; a chain is read from the right,
    // past the trusted hops.
    let statuses =
        statuses_forwarding(address, 10, |i| format!("1.1.1.1, 203.0.113.{i}, 10.0.0.9"));
    assert_eq!(statuses, [200; 10]);
    // One forwarded client is still limited.
    let statuses = statuses_forwarding(address, 10, |_| "198.51.100.7".to_owned());
    assert!(
        statuses.contains(&429),
        "one forwarded client was not limited: {statuses:?}"
    );

    // A trusted proxy is exempt from the per-IP connection cap: its
    // connections carry many clients.
    let mut held: Vec<TcpStream> = (0..5)
        .map(|i| {
            let mut stream = connect_from(loopback(1), address);
            let header = format!("X-Forwarded-For: 192.0.2.{i}\r\n");
            assert_eq!(healthz_on(&mut stream, &header).status, 200);
            stream
        })
        .collect();
    for (i, stream) in held.iter_mut().enumerate() {
        let header = format!("X-Forwarded-For: 192.0.2.{}\r\n", 100 + i);
        assert_eq!(healthz_on(stream, &header).status, 200);
    }
    // Others still have it.
    let _kept: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut stream = connect_from(loopback(2), address);
            assert_eq!(healthz_on(&mut stream, "").status, 200);
            stream
        })
        .collect();
    let mut third = connect_from(loopback(2), address);
    let _ = third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    third.set_read_timeout(Some(PROMPTLY)).unwrap();
    let mut answer = Vec::new();
    let _ = third.read_to_end(&mut answer);
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 503 "),
        "over the per-IP cap, yet answered: {}",
        String::from_utf8_lossy(&answer)
    );
}
