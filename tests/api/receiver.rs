//! A webhook receiver inside the tests: an HTTP server on a free loopback port that keeps
//! every request and answers as the test tells it to, and a signature check written from
//! the Standard Webhooks specification (HMAC-SHA256 built on SHA-256 here, not the
//! server's code).

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::support::{eventually, Value};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Header names in lowercase.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("a JSON body: {e}"))
    }

    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What to answer.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    /// Wait this long, then answer 200.
    Slow(Duration),
    /// `302 Found` to another path of the receiver.
    Redirect(&'static str),
}

type Decide = Box<dyn FnMut(&Received, usize) -> Reply + Send>;

pub struct Receiver {
    pub port: u16,
    server: Arc<tiny_http::Server>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Answers 204 to everything.
    pub fn start() -> Self {
        Self::answering(|_, _| Reply::Status(204))
    }

    /// Answers what `decide` says, given the request and how many came before it.
    pub fn answering(decide: impl FnMut(&Received, usize) -> Reply + Send + 'static) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("a receiver"));
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let decide: Arc<Mutex<Decide>> = Arc::new(Mutex::new(Box::new(decide)));
        let (listening, kept) = (server.clone(), received.clone());
        std::thread::spawn(move || {
            for mut request in listening.incoming_requests() {
                let mut body = Vec::new();
                let _ = std::io::Read::read_to_end(request.as_reader(), &mut body);
                let headers = request
                    .headers()
                    .iter()
                    .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_owned()))
                    .collect();
                let got = Received { path: request.url().to_owned(), headers, body };
                let reply = {
                    let mut list = kept.lock().unwrap();
                    let reply = (decide.lock().unwrap())(&got, list.len());
                    list.push(got);
                    reply
                };
                // Each answer on its own thread, so that a slow one holds up nobody.
                std::thread::spawn(move || {
                    let (status, location) = match reply {
                        Reply::Status(status) => (status, None),
                        Reply::Slow(wait) => {
                            std::thread::sleep(wait);
                            (200, None)
                        }
                        Reply::Redirect(path) => (302, Some(format!("http://127.0.0.1:{port}{path}"))),
                    };
                    let body = if status >= 400 { "x".repeat(5000) } else { "ok".to_owned() };
                    let mut response = tiny_http::Response::from_string(body).with_status_code(status);
                    if let Some(location) = location {
                        let header = tiny_http::Header::from_bytes("Location", location).expect("a header");
                        response = response.with_header(header);
                    }
                    let _ = request.respond(response);
                });
            }
        });
        Self { port, server, received }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The requests to `path`.
    pub fn at(&self, path: &str) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.path == path).collect()
    }

    /// Waits until `path` got a request of `event_type`, and answers the first.
    pub fn wait_for(&self, path: &str, event_type: &str) -> Received {
        let mut found = None;
        eventually(30, &format!("a {event_type} event at {path}"), || {
            found = self.at(path).into_iter().find(|r| r.event_type() == event_type);
            found.is_some()
        });
        found.unwrap()
    }

    /// Waits until `path` got `count` requests.
    pub fn wait_for_count(&self, path: &str, count: usize, seconds: u64) -> Vec<Received> {
        let mut got = Vec::new();
        eventually(seconds, &format!("{count} requests at {path}"), || {
            got = self.at(path);
            got.len() >= count
        });
        got
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// HMAC-SHA256 (RFC 2104) on SHA-256, written out.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

/// Standard Webhooks verification: is one of the `v1,` signatures of the request the
/// HMAC-SHA256 of `id.timestamp.body` under the secret's key, with a timestamp within
/// five minutes?
pub fn verifies(request: &Received, secret: &str) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").expect("a whsec_ secret")).expect("base64");
    let (id, timestamp) = (request.header("webhook-id"), request.header("webhook-timestamp"));
    let sent: i64 = timestamp.parse().expect("a numeric timestamp");
    let now = chrono::Utc::now().timestamp();
    if (now - sent).abs() > 300 {
        return false;
    }
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(&request.body);
    let expected = STANDARD.encode(hmac_sha256(&key, &signed));
    request.header("webhook-signature").split(' ').any(|part| part.strip_prefix("v1,") == Some(expected.as_str()))
}

#[test]
fn the_written_out_hmac_matches_the_specifications_vector() {
    let received = Received {
        path: "/".into(),
        headers: [
            ("webhook-id".to_owned(), "msg_p5jXN8AQM9LWM0D4loKWxJek".to_owned()),
            ("webhook-timestamp".to_owned(), "1614265330".to_owned()),
            ("webhook-signature".to_owned(), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".to_owned()),
        ]
        .into(),
        body: br#"{"test": 2432232314}"#.to_vec(),
    };
    let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let mut signed = b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.".to_vec();
    signed.extend_from_slice(&received.body);
    assert_eq!(STANDARD.encode(hmac_sha256(&key, &signed)), "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    assert!(!verifies(&received, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "the vector's timestamp is years old");
}
