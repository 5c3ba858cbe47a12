//! Shared helpers for the mock's HTTP tests: a server on an ephemeral loopback port and a
//! small client that returns status, headers and JSON body.

use std::net::SocketAddr;

use launchgate::mock::{MockOptions, MockServer};
use launchgate::target::Inputs;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;

pub const BASE: &str = "/api/agent/v1";

pub struct H {
    pub server: MockServer,
    pub client: reqwest::Client,
    pub inputs: Inputs,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn has_rate_headers(&self) -> bool {
        [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ]
        .iter()
        .all(|h| self.headers.contains_key(*h))
    }

    pub fn has_no_rate_headers(&self) -> bool {
        [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ]
        .iter()
        .all(|h| !self.headers.contains_key(*h))
    }

    /// Asserts the error envelope: status, code, retry_strategy, and `details` only when expected.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str, retry: &str) {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(self.body["error"], Value::Bool(true), "{}", self.text);
        assert_eq!(self.body["code"], code, "{}", self.text);
        assert_eq!(self.body["retry_strategy"], retry, "{}", self.text);
        assert!(self.body["message"].is_string(), "{}", self.text);
    }

    #[track_caller]
    pub fn assert_no_details(&self) {
        assert!(
            self.body.get("details").is_none(),
            "unexpected details in {}",
            self.text
        );
    }

    #[track_caller]
    pub fn assert_ok(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(self.body["error"], Value::Bool(false), "{}", self.text);
        &self.body["data"]
    }
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().unwrap()
}

pub async fn start(opts: MockOptions) -> H {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = MockServer::start(opts, addr).await.unwrap();
    let inputs = server.inputs();
    H {
        server,
        client: client(),
        inputs,
    }
}

pub async fn start_default() -> H {
    start(MockOptions::default()).await
}

impl H {
    pub fn key(&self, name: &str) -> String {
        self.inputs
            .keys
            .get(name)
            .unwrap_or_else(|| panic!("no key {name}"))
            .clone()
    }

    pub fn fx(&self, name: &str) -> String {
        self.inputs
            .fixtures
            .get(name)
            .unwrap_or_else(|| panic!("no fixture {name}"))
            .clone()
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("/__")
            || !path.starts_with('/')
            || path.starts_with("/api")
            || path.starts_with("/x")
        {
            format!("{}{}", self.server.base_url(), path)
        } else {
            format!("{}{}{}", self.server.base_url(), BASE, path)
        }
    }

    /// Sends a request with the named fixture key (or a raw key starting with `rl_`/`raw:`).
    pub async fn send(
        &self,
        method: Method,
        key: Option<&str>,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<Resp, reqwest::Error> {
        let mut req = self.client.request(method, self.url(path));
        if let Some(k) = key {
            let value = match k.strip_prefix("raw:") {
                Some(raw) => raw.to_owned(),
                None => self.key(k),
            };
            req = req.header("X-Agent-Key", value);
        }
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_owned());
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Resp {
            status,
            headers,
            body,
            text,
        })
    }

    pub async fn get(&self, key: &str, path: &str) -> Resp {
        self.send(Method::GET, Some(key), path, None, &[])
            .await
            .unwrap()
    }

    pub async fn post(&self, key: &str, path: &str, body: &Value) -> Resp {
        self.send(Method::POST, Some(key), path, Some(&body.to_string()), &[])
            .await
            .unwrap()
    }

    pub async fn patch(&self, key: &str, path: &str, body: &Value) -> Resp {
        self.send(Method::PATCH, Some(key), path, Some(&body.to_string()), &[])
            .await
            .unwrap()
    }

    /// Balance of a member (by identifier) on a card, read with a key that is not rate-limited by the test.
    pub async fn balance(&self, member: &str, card: &str) -> i64 {
        let r = self
            .get(
                "partner_readonly",
                &format!("/partner/members/{member}/balance/{card}"),
            )
            .await;
        r.assert_ok(200)["balance"].as_i64().unwrap()
    }

    pub async fn journal(&self, after: u64) -> Value {
        let r = self
            .client
            .get(self.url(&format!("/__launchgate/journal?after={after}&limit=100000")))
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }

    pub async fn control(&self, method: Method, path: &str) -> (u16, Value) {
        let r = self
            .client
            .request(method, self.url(path))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}
