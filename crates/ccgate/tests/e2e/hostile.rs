//! Hostile traffic over real loopback HTTP against `ccgate serve`: header
//! floods, huge header values, malformed HTTP, broken and oversized chunked
//! bodies, odd methods, half-sent requests. Whatever reaches the API answers a
//! v1 envelope; what is not HTTP at all gets the transport's refusal (a bare
//! 4xx, or the connection closed). Afterwards a signed request still works,
//! the server stops cleanly, and its log shows no panic.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

use crate::support::{Gateway, HttpResponse, Merchant, now};

const ASSETS: &str = "/ccpayment/v1/assets";
/// Every answer here is immediate; waiting longer than this means a hang.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// The code of a v1 envelope; fails on anything else, on the internal-error
/// code (what a caught panic answers) and on a leaked secret.
fn envelope_code(response: &HttpResponse, merchant: &Merchant) -> u64 {
    let text = String::from_utf8_lossy(&response.body);
    assert!(
        !text.contains(&merchant.app_secret),
        "secret leaked: {text}"
    );
    let json: Value = serde_json::from_slice(&response.body)
        .unwrap_or_else(|err| panic!("HTTP {} not JSON ({err}): {text}", response.status));
    let code = json["code"].as_u64().unwrap_or_else(|| panic!("{text}"));
    let known = ccgate_api::Code::ALL.map(|c| u64::from(c.number()));
    assert!(
        known.contains(&code),
        "code {code} is not in the table: {text}"
    );
    assert_ne!(code, 224066, "an internal error: {text}");
    assert!(
        json["msg"].as_str().is_some_and(|m| !m.trim().is_empty()),
        "{text}"
    );
    code
}

fn signature_headers(merchant: &Merchant, body: &[u8]) -> Vec<(String, String)> {
    let timestamp = now().to_string();
    let sign = ccgate_api::sign::sign(&merchant.app_id, &merchant.app_secret, &timestamp, body);
    vec![
        ("Appid".to_owned(), merchant.app_id.clone()),
        ("Timestamp".to_owned(), timestamp),
        ("Sign".to_owned(), sign),
    ]
}

fn borrowed(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

/// Writes `request` as is and reads until the server closes the connection
/// (the requests say `Connection: close`, or are refused). A write cut short
/// by the server is expected (it may answer and close before reading
/// everything); no answer within `ANSWER_TIMEOUT` is a hang.
fn exchange(address: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    let _ = stream.write_all(request);
    read_until_closed(&mut stream)
}

/// Writes the start of a request, then closes the sending side, as a client
/// that gives up mid-request.
fn send_then_hang_up(address: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    stream.write_all(request).unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    read_until_closed(&mut stream)
}

fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return answer,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            // A reset after an early answer still leaves that answer read.
            Err(err) if err.kind() == ErrorKind::ConnectionReset => return answer,
            Err(err) => panic!("no answer ({err}); read so far: {answer:?}"),
        }
    }
}

/// The statuses of every answer on one connection, in order.
fn statuses(raw: &[u8]) -> Vec<u16> {
    String::from_utf8_lossy(raw)
        .match_indices("HTTP/1.1 ")
        .filter_map(|(at, _)| raw.get(at + 9..at + 12))
        .filter_map(|digits| std::str::from_utf8(digits).ok()?.parse().ok())
        .collect()
}

/// The body of the only answer on a connection (ours carry Content-Length).
fn only_answer(raw: &[u8]) -> HttpResponse {
    let text = String::from_utf8_lossy(raw);
    let split = text
        .find("\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer: {text}"));
    let status = statuses(raw)[0];
    HttpResponse {
        status,
        headers: Vec::new(),
        body: raw[split + 4..].to_vec(),
    }
}

/// Proves the server still answers correctly.
fn assert_serves(gateway: &Gateway, merchant: &Merchant) {
    let response = gateway.post_signed(merchant, ASSETS, b"{}", None);
    assert_eq!(
        (response.status, envelope_code(&response, merchant)),
        (200, 10000)
    );
    response.assert_signed_by(merchant);
}

#[test]
fn hostile_traffic_gets_an_envelope_or_a_clean_refusal_and_the_server_stays_up() {
    let mut gateway = Gateway::start_capturing_log(&["--no-rate-limit"]);
    let merchant = gateway.create_merchant("shop");
    let address = gateway.address();

    // Header floods: up to hyper's limit of 100 headers the request is served;
    // past it the transport refuses with a bare 431 before the API is reached.
    for (junk_headers, expected_status) in [(90, 200), (101, 431), (1_000, 431)] {
        let mut headers = signature_headers(&merchant, b"{}");
        headers.extend((0..junk_headers).map(|i| (format!("X-Junk-{i}"), "x".repeat(32))));
        let response = gateway.raw_post(ASSETS, &borrowed(&headers), b"{}");
        assert_eq!(response.status, expected_status, "{junk_headers} headers");
        if expected_status == 200 {
            assert_eq!(envelope_code(&response, &merchant), 10000);
        } else {
            assert!(response.body.is_empty(), "{}", response.text());
        }
    }

    // Long header values: within the transport's buffer they reach the API.
    for length in [8 * 1024, 64 * 1024] {
        let long = "9".repeat(length);
        let mut headers = signature_headers(&merchant, b"{}");
        headers.push(("X-Long".to_owned(), long.clone()));
        let response = gateway.raw_post(ASSETS, &borrowed(&headers), b"{}");
        assert_eq!(
            envelope_code(&response, &merchant),
            10000,
            "X-Long {length}"
        );
        for (index, expected) in [(0, 220002), (1, 220004), (2, 220003)] {
            let mut headers = signature_headers(&merchant, b"{}");
            headers[index].1 = long.clone();
            let response = gateway.raw_post(ASSETS, &borrowed(&headers), b"{}");
            assert_eq!(
                envelope_code(&response, &merchant),
                expected,
                "{} of {length} bytes",
                headers[index].0
            );
        }
    }
    let mut headers = signature_headers(&merchant, b"{}");
    headers.push(("X-Huge".to_owned(), "x".repeat(1024 * 1024)));
    let response = gateway.raw_post(ASSETS, &borrowed(&headers), b"{}");
    assert_eq!(
        (response.status, response.body.len()),
        (431, 0),
        "a 1 MiB header is refused by the transport"
    );

    // Duplicated and non-ASCII signature headers: the first value counts.
    let good = signature_headers(&merchant, b"{}");
    let mut duplicated = good.clone();
    duplicated.push(("Sign".to_owned(), "0".repeat(64)));
    let response = gateway.raw_post(ASSETS, &borrowed(&duplicated), b"{}");
    assert_eq!(envelope_code(&response, &merchant), 10000);
    let mut forged_first = vec![("Sign".to_owned(), "0".repeat(64))];
    forged_first.extend(good.clone());
    let response = gateway.raw_post(ASSETS, &borrowed(&forged_first), b"{}");
    assert_eq!(envelope_code(&response, &merchant), 220003);
    let mut request =
        format!("POST {ASSETS} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n")
            .into_bytes();
    request.extend_from_slice(b"Appid: \xff\xfe\xc3\xa9\r\nTimestamp: 1\r\nSign: \x80\r\n\r\n{}");
    let response = only_answer(&exchange(address, &request));
    assert_eq!(envelope_code(&response, &merchant), 220002);

    // Not HTTP, or HTTP that cannot be read safely: a bare 400 from the
    // transport (or the connection closed), never a 5xx.
    let malformed: [&[u8]; 10] = [
        b"GARBAGE\r\n\r\n",
        b"\x00\x01\x02\xff\xfe\r\n\r\n",
        b"POST /ccpayment/v1/assets HTTP/9.9\r\nHost: x\r\n\r\n",
        b"POST /ccpayment/v1/assets HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
        b"POST /ccpayment/v1/assets HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n",
        b"POST /ccpayment/v1/assets HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"POST /ccpayment/v1/assets HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST /ccpayment/v1/assets HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"POST /ccpayment/v1/assets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n{}",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ];
    for request in malformed {
        let raw = exchange(address, request);
        let refused = statuses(&raw);
        assert!(
            refused.is_empty() || refused == [400],
            "{}: {}",
            String::from_utf8_lossy(request),
            String::from_utf8_lossy(&raw)
        );
    }
    let long_uri = format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    let refused = statuses(&exchange(address, long_uri.as_bytes()));
    assert!(
        refused.is_empty() || refused.iter().all(|s| [400, 414, 431].contains(s)),
        "{refused:?}"
    );

    // Bodies that break off or lie reach the API and get its envelope.
    let broken_bodies: [(&str, &[u8], u64); 2] = [
        (
            "a chunk size that is not hex",
            b"POST /ccpayment/v1/assets HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            220005,
        ),
        (
            "an absolute-form target without the headers",
            b"POST http://example.com/ccpayment/v1/assets HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
            220001,
        ),
    ];
    for (case, request, expected) in broken_bodies {
        let answer = only_answer(&exchange(address, request));
        assert_eq!(envelope_code(&answer, &merchant), expected, "{case}");
    }
    // A client that hangs up mid-body: the connection is simply closed, or
    // the part that came is refused as unreadable.
    let cut_short: [&[u8]; 2] = [
        b"POST /ccpayment/v1/assets HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"coin_id\"",
        b"POST /ccpayment/v1/assets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"co",
    ];
    for request in cut_short {
        let raw = send_then_hang_up(address, request);
        if !raw.is_empty() {
            assert_eq!(envelope_code(&only_answer(&raw), &merchant), 220005);
        }
    }

    // Chunked far past the limit and the drain: refused with the envelope,
    // or the connection closed once the server stops reading.
    let chunk = vec![b' '; 1024 * 1024];
    let mut request = format!(
        "POST {ASSETS} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
    )
    .into_bytes();
    for (name, value) in signature_headers(&merchant, b"{}") {
        request.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    for _ in 0..24 {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let raw = exchange(address, &request);
    if !raw.is_empty() {
        assert_eq!(envelope_code(&only_answer(&raw), &merchant), 220007);
    }

    // Odd methods: every one is the not-found envelope with 405; HEAD gets
    // the status without a body.
    for method in [
        "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "post", "FOO", "M-SEARCH",
    ] {
        let response = gateway.raw_request(method, ASSETS, &[], b"");
        assert_eq!(
            (response.status, envelope_code(&response, &merchant)),
            (405, 220009),
            "{method}"
        );
    }
    let raw = exchange(
        address,
        format!("HEAD {ASSETS} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    assert_eq!(statuses(&raw), [405]);
    let raw = exchange(
        address,
        b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(envelope_code(&only_answer(&raw), &merchant), 220009);

    // Pipelined requests on one connection are all answered, in order.
    let mut pipelined = Vec::new();
    for close in ["keep-alive", "keep-alive", "close"] {
        pipelined.extend_from_slice(
            format!("POST {ASSETS} HTTP/1.1\r\nHost: x\r\nConnection: {close}\r\nContent-Length: 2\r\n\r\n{{}}")
                .as_bytes(),
        );
    }
    assert_eq!(statuses(&exchange(address, &pipelined)), [200, 200, 200]);

    // Half-sent requests held open do not keep others from being served.
    let stalled: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut stream = TcpStream::connect(address).unwrap();
            stream
                .write_all(format!("POST {ASSETS} HTTP/1.1\r\nHost: x\r\nContent-Le").as_bytes())
                .unwrap();
            stream
        })
        .collect();
    assert_serves(&gateway, &merchant);
    drop(stalled);

    assert_serves(&gateway, &merchant);
    assert_eq!(
        gateway.raw_request("GET", "/healthz", &[], b"").json(),
        serde_json::json!({"status": "ok", "mode": "simulated"})
    );
    let (status, log) = gateway.terminate_and_read_log();
    assert!(status.success(), "the server did not stop cleanly: {log}");
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
}

/// Issue #15 §3: an amount or price that does not fit is the client's bad
/// amount (222003, naming the field), never a server error a retry could fix.
#[test]
fn amounts_too_large_to_hold_are_bad_amounts_not_server_errors() {
    const USDT_ERC20: &str = "2728e271-9f5d-4c05-8aa7-4a87b1afcc95";
    let gateway = Gateway::start_capturing_log(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.adjust(&merchant, "USDT", "100", &[]);
    let huge = "1000000000000000000000000000";
    let forty_one = "9".repeat(41);
    for (endpoint, body, words) in [
        (
            "withdraw",
            format!(
                r#"{{"token_id":"{USDT_ERC20}","address":"0xC85107D6E6DE7F8A1dD423d77d139a42cB573829","value":"{huge}","merchant_order_id":"w-huge"}}"#
            ),
            "value is too large",
        ),
        (
            "bill/create",
            format!(
                r#"{{"token_id":"{USDT_ERC20}","product_price":"{huge}00","merchant_order_id":"o-token","denominated_currency":"token"}}"#
            ),
            "product_price is too large",
        ),
        (
            "bill/create",
            format!(
                r#"{{"token_id":"{USDT_ERC20}","product_price":"{forty_one}","merchant_order_id":"o-fiat"}}"#
            ),
            "product_price is too large",
        ),
        (
            "bill/create",
            format!(
                r#"{{"token_id":"{USDT_ERC20}","product_price":"1000000000000","merchant_order_id":"o-bound"}}"#
            ),
            "product_price is too large",
        ),
        (
            "concise/url/get",
            format!(
                r#"{{"product_price":"{forty_one}","merchant_order_id":"h-fiat","product_name":"x"}}"#
            ),
            "product_price is too large",
        ),
        (
            "token/rate",
            format!(r#"{{"token_id":"{USDT_ERC20}","amount":"{forty_one}"}}"#),
            "amount is too large",
        ),
    ] {
        let path = format!("/ccpayment/v1/{endpoint}");
        let answer = gateway
            .post_signed(&merchant, &path, body.as_bytes(), None)
            .json();
        assert_eq!(answer["code"], 222003, "{endpoint}: {answer}");
        assert!(
            answer["msg"].as_str().unwrap().contains(words),
            "{endpoint}: {answer}"
        );
    }
    let negative = gateway
        .post_signed(
            &merchant,
            "/ccpayment/v1/bill/create",
            format!(
                r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"o-neg","order_valid_period":-5}}"#
            )
            .as_bytes(),
            None,
        )
        .json();
    assert_eq!(negative["code"], 220006, "{negative}");
    assert_eq!(
        negative["msg"], "order_valid_period must be a positive whole number",
        "{negative}"
    );
    let mut gateway = gateway;
    let (status, log) = gateway.terminate_and_read_log();
    assert!(status.success());
    assert!(
        !log.contains("service err") && !log.contains("answer service error"),
        "{log}"
    );
}
