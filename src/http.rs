//! The HTTP layer: one shared `reqwest` client, bounded requests, bounded bodies.

use std::time::Duration;

use crate::expect::{Response, TransportFailure};

/// The most of a response body kept in memory (1 MiB); the rest is not read.
pub const DEFAULT_BODY_CAP: usize = 1024 * 1024;

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// HTTP method.
    pub method: reqwest::Method,
    /// Full URL.
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes, if any.
    pub body: Option<Vec<u8>>,
    /// Whole-exchange timeout (connect, send, headers and body).
    pub timeout: Duration,
}

/// Why no response came back.
#[derive(Debug, Clone)]
pub struct TransportError {
    /// Timeout or connection failure.
    pub kind: TransportFailure,
    /// A human explanation.
    pub message: String,
}

/// The shared client.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    body_cap: usize,
}

/// Errors building the client.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientError(String);

/// reqwest is built without a default TLS provider; pick ring once per process.
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A plain client for launchgate's own control calls (the mock's journal).
pub fn control_client(timeout: Duration) -> Result<reqwest::Client, ClientError> {
    install_tls_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| ClientError(e.to_string()))
}

impl Http {
    /// Builds the client. Redirects are followed at most 5 times (a loop becomes an error).
    ///
    /// `tls_roots: false` skips loading the system's trust store (about half of
    /// launchgate's start-up): for plain-HTTP loopback targets such as the
    /// embedded mock, where no certificate is ever verified.
    pub fn new(body_cap: usize, tls_roots: bool) -> Result<Http, ClientError> {
        install_tls_provider();
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("launchgate/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::limited(5))
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(30));
        if !tls_roots {
            builder = builder.tls_certs_only(std::iter::empty());
        }
        let client = builder.build().map_err(|e| ClientError(e.to_string()))?;
        Ok(Http { client, body_cap })
    }

    /// Sends a request and reads at most the body cap. Never panics on what the server sends.
    pub async fn send(&self, req: &Request) -> Result<Response, TransportError> {
        match tokio::time::timeout(req.timeout, self.exchange(req)).await {
            Ok(r) => r,
            Err(_) => Err(TransportError {
                kind: TransportFailure::Timeout,
                message: format!(
                    "no complete response within {}",
                    humantime::format_duration(req.timeout)
                ),
            }),
        }
    }

    async fn exchange(&self, req: &Request) -> Result<Response, TransportError> {
        let mut builder = self.client.request(req.method.clone(), &req.url);
        for (n, v) in &req.headers {
            builder = builder.header(n.as_str(), v.as_str());
        }
        if let Some(b) = &req.body {
            builder = builder.body(b.clone());
        }
        let mut resp = builder.send().await.map_err(|e| classify(&e))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let mut truncated = false;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let room = self.body_cap.saturating_sub(body.len());
                    if chunk.len() > room {
                        body.extend_from_slice(&chunk[..room]);
                        truncated = true;
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    let t = classify(&e);
                    return Err(TransportError {
                        kind: t.kind,
                        message: format!(
                            "HTTP {status} arrived but the body broke off after {} bytes: {}",
                            body.len(),
                            t.message
                        ),
                    });
                }
            }
        }
        Ok(Response {
            status,
            headers,
            body,
            truncated,
        })
    }
}

fn classify(e: &reqwest::Error) -> TransportError {
    let kind = if e.is_timeout() {
        TransportFailure::Timeout
    } else {
        TransportFailure::Connection
    };
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_redirect() {
        "too many redirects"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "the response body could not be read"
    } else {
        "the connection failed"
    };
    // The source chain says why (refused, reset, TLS); the URL is in the step already.
    let mut detail = String::new();
    let mut tls = false;
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        detail = s.to_string();
        tls |= is_tls(s);
        src = s.source();
    }
    if tls {
        // rustls' own words ("corrupt message of type InvalidContentType") do not say TLS.
        detail = format!("TLS handshake failed: {detail}");
    }
    let message = if detail.is_empty() || detail == what {
        what.to_string()
    } else {
        format!("{what}: {detail}")
    };
    TransportError { kind, message }
}

/// True for a rustls error, also inside (nested) io::Errors, whose `source()` skips
/// the error they wrap.
fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    if e.is::<rustls::Error>() {
        return true;
    }
    let mut io = e.downcast_ref::<std::io::Error>();
    while let Some(inner) = io.and_then(std::io::Error::get_ref) {
        if inner.is::<rustls::Error>() {
            return true;
        }
        io = inner.downcast_ref::<std::io::Error>();
    }
    false
}
