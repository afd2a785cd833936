//! A webhook receiver on a loopback port that keeps every request byte for
//! byte (header names as sent, since merchants' code often reads them
//! case-sensitively) and answers from a script, then with a default.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The most a test's webhook may weigh; a larger request is cut there.
const REQUEST_BYTES_MAX: usize = 1 << 20;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// Header names exactly as the sender wrote them.
    pub names_as_sent: Vec<String>,
    /// Headers with lower-cased names, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Debug, Default)]
struct Book {
    received: Vec<Received>,
    script: VecDeque<(u16, String)>,
}

/// See the module's comment. Stops when dropped.
#[derive(Debug)]
pub struct Receiver {
    pub url: String,
    book: Arc<Mutex<Book>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Answers every request `status` with `body`, once `answer_with`'s
    /// script has run out.
    pub async fn start(status: u16, body: &str) -> std::io::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let book = Arc::new(Mutex::new(Book::default()));
        let default = (status, body.to_owned());
        let task = tokio::spawn({
            let book = Arc::clone(&book);
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(answer(stream, Arc::clone(&book), default.clone()));
                }
            }
        });
        Ok(Receiver { url, book, task })
    }

    /// The next requests are answered with these, in order.
    pub fn answer_with(&self, script: &[(u16, &str)]) {
        let mut book = self.book.lock().unwrap_or_else(PoisonError::into_inner);
        book.script = script
            .iter()
            .map(|(status, body)| (*status, (*body).to_owned()))
            .collect();
    }

    /// Every request so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        let book = self.book.lock().unwrap_or_else(PoisonError::into_inner);
        book.received.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request, records it, answers it and closes the connection.
async fn answer(mut stream: TcpStream, book: Arc<Mutex<Book>>, default: (u16, String)) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    // Recorded before the answer goes out: once the sender has its answer,
    // the test sees the request.
    let (status, body) = {
        let mut book = book.lock().unwrap_or_else(PoisonError::into_inner);
        book.received.push(request);
        book.script.pop_front().unwrap_or(default)
    };
    let answer = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut bytes = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 || bytes.len() > REQUEST_BYTES_MAX {
            return None;
        }
        bytes.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let mut names_as_sent = Vec::new();
    let mut headers = Vec::new();
    for line in head.split("\r\n").skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            names_as_sent.push(name.to_owned());
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0)
        .min(REQUEST_BYTES_MAX);
    let mut body = bytes[head_end + 4..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    body.truncate(length);
    Some(Received {
        names_as_sent,
        headers,
        body,
    })
}
