//! The client against recorded answers, served over real HTTP on loopback: a
//! success with a wrong signature must fail, and every error envelope comes
//! back as its code.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use ccgate_api::{Code, error_body, sign};
use ccgate_client::{Client, ClientError};

/// Serves one canned answer to every request, with the given headers.
fn recording(body: Vec<u8>, headers: Vec<(String, String)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut request = vec![0u8; length];
            let _ = reader.read_exact(&mut request);
            let mut head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in &headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    url
}

const APP: &str = "202302010636261620672405236006912";
const SECRET: &str = "c4600b8125b7ed23b5b7b8ee4acb42f4";
const ANSWER: &str = r#"{"code":10000,"msg":"success","data":{"list":[{"coin_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128","crypto":"USDT","name":"Tether USD","value":"127.9514","price":"1","logo":"https://resource.cwallet.com/token/icon/usdt.png"}]}}"#;

fn signed_headers(secret: &str, body: &[u8]) -> Vec<(String, String)> {
    vec![
        ("Appid".into(), APP.into()),
        ("Timestamp".into(), "1677152490".into()),
        ("Sign".into(), sign::sign(APP, secret, "1677152490", body)),
    ]
}

#[tokio::test]
async fn a_correctly_signed_answer_is_read() {
    let url = recording(
        ANSWER.as_bytes().to_vec(),
        signed_headers(SECRET, ANSWER.as_bytes()),
    );
    let assets = Client::new(url, APP, SECRET)
        .unwrap()
        .assets(None)
        .await
        .unwrap();
    assert_eq!(assets.list[0].value, "127.9514");
}

#[tokio::test]
async fn a_wrong_signature_fails() {
    let url = recording(
        ANSWER.as_bytes().to_vec(),
        signed_headers("0000000000000000000000000000000", ANSWER.as_bytes()),
    );
    let outcome = Client::new(url, APP, SECRET).unwrap().assets(None).await;
    assert!(
        matches!(outcome, Err(ClientError::SignatureMismatch)),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn an_unsigned_success_fails() {
    let url = recording(ANSWER.as_bytes().to_vec(), vec![]);
    let outcome = Client::new(url, APP, SECRET).unwrap().assets(None).await;
    assert!(
        matches!(outcome, Err(ClientError::MissingHeader("Sign"))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn every_error_envelope_comes_back_as_its_code() {
    for code in Code::ALL.into_iter().filter(|c| *c != Code::Success) {
        let body = error_body(code, code.default_msg());
        let url = recording(body, vec![]);
        let outcome = Client::new(url, APP, SECRET).unwrap().coin_all().await;
        match outcome {
            Err(ClientError::Api {
                code: number,
                reason,
                ..
            }) => {
                assert_eq!(number, code.number());
                assert_eq!(reason.as_deref(), code.reason());
            }
            other => panic!("{code:?}: {other:?}"),
        }
    }
}
