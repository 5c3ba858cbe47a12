//! The HTTP layer: one shared `reqwest` client, bounded requests, bounded bodies.

use std::time::Duration;

use serde_json::Value;

/// The most of a response body kept in memory (1 MiB); the rest is not read.
pub const DEFAULT_BODY_CAP: usize = 1024 * 1024;

/// The most redirects followed for one request; one more is an error (a loop).
pub const MAX_REDIRECTS: usize = 5;

/// One redirect a target answered with: where from, where to, and whether
/// launchgate followed it. Reports show every hop.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hop {
    /// The 3xx status.
    pub status: u16,
    /// The URL that answered with the redirect.
    pub from: String,
    /// Where its `Location` pointed (resolved against `from`).
    pub to: String,
    /// False when launchgate refused to follow it (another origin, or one hop too many).
    pub followed: bool,
}

/// An HTTP response as the runner received it.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers with lowercase names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body, up to the body cap.
    pub body: Vec<u8>,
    /// True if the body was longer than the cap and cut.
    pub truncated: bool,
    /// The same-origin redirects followed on the way to this response.
    pub redirects: Vec<Hop>,
}

impl Response {
    /// All values of a header (any case), joined with `, `.
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<Value, String> {
        if self.truncated {
            return Err(format!(
                "the body was cut at {} bytes, so it cannot be parsed",
                self.body.len()
            ));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            let ct = self.header("content-type").unwrap_or_else(|| "none".into());
            format!("the body is not JSON ({e}; content-type: {ct})")
        })
    }
}

/// What happened instead of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// The request or body read timed out.
    Timeout,
    /// Connecting failed, or the connection closed without a complete response.
    Connection,
    /// The target answered with a redirect launchgate refused to follow (to another
    /// origin, or one hop too many).
    Redirect,
}

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
    /// The redirects answered before the failure (the last one not followed, when
    /// launchgate refused it).
    pub redirects: Vec<Hop>,
}

/// The shared client.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    body_cap: usize,
    connects: ConnectStats,
    target_headers: TargetHeaders,
}

/// Headers every request to one origin carries unless it sets them itself: an
/// access gateway's credentials from the target file. Only that origin gets them.
#[derive(Debug, Clone, Default)]
struct TargetHeaders {
    origin: Option<url::Origin>,
    headers: Vec<(String, String)>,
}

impl TargetHeaders {
    /// The headers for a request to `url` that `present` does not already name.
    fn for_request<'a>(
        &'a self,
        url: &str,
        present: &'a [(String, String)],
    ) -> impl Iterator<Item = &'a (String, String)> + 'a {
        // Most targets have none: parse no URL for them on every request.
        let same = !self.headers.is_empty()
            && url::Url::parse(url).ok().map(|u| u.origin()) == self.origin;
        self.headers
            .iter()
            .filter(move |(n, _)| same && !present.iter().any(|(p, _)| p.eq_ignore_ascii_case(n)))
    }
}

/// Connections the client opened (DNS, TCP and TLS included) and how long that took,
/// apart from the requests' own latency.
#[derive(Debug, Clone, Default)]
pub struct ConnectStats(std::sync::Arc<parking_lot::Mutex<Connections>>);

/// What [`ConnectStats`] counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Connections {
    /// Connections opened.
    pub opened: u64,
    /// Of those, opened ahead of the run by [`Http::warm`].
    pub warmed: u64,
    /// Time spent opening them, summed, in milliseconds.
    pub setup_ms: f64,
    /// The slowest one, in milliseconds.
    pub slowest_ms: f64,
}

impl ConnectStats {
    fn record(&self, d: Duration) {
        let ms = d.as_secs_f64() * 1000.0;
        let mut c = self.0.lock();
        c.opened += 1;
        c.setup_ms += ms;
        c.slowest_ms = c.slowest_ms.max(ms);
    }
}

/// Times every connection the client opens (a `reqwest` connector layer).
#[derive(Clone)]
struct TimeConnects(ConnectStats);

impl<S> tower_layer::Layer<S> for TimeConnects {
    type Service = TimedConnect<S>;
    fn layer(&self, inner: S) -> TimedConnect<S> {
        TimedConnect {
            inner,
            stats: self.0.clone(),
        }
    }
}

/// A connector that records how long each connection took to open.
#[derive(Clone)]
struct TimedConnect<S> {
    inner: S,
    stats: ConnectStats,
}

impl<S, R> tower_service::Service<R> for TimedConnect<S>
where
    S: tower_service::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let t = std::time::Instant::now();
        let stats = self.stats.clone();
        let connecting = self.inner.call(req);
        Box::pin(async move {
            let conn = connecting.await;
            if conn.is_ok() {
                stats.record(t.elapsed());
            }
            conn
        })
    }
}

/// Errors building the client.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientError(String);

/// reqwest is built without a default TLS provider; pick ring once per process.
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether `url` names this machine: `localhost` or a loopback address.
pub fn is_loopback(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A plain client for launchgate's own control calls (the mocks' journal and
/// webhook deliveries, `webhook send`). `direct`: ignore the proxies the
/// environment names (for this machine's own servers, which a proxy cannot reach).
pub fn control_client(timeout: Duration, direct: bool) -> Result<reqwest::Client, ClientError> {
    install_tls_provider();
    let mut builder = reqwest::Client::builder().timeout(timeout);
    if direct {
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| ClientError(e.to_string()))
}

impl Http {
    /// Builds the client. Redirects are followed by [`Http::send`] itself, within the
    /// request's origin only and at most [`MAX_REDIRECTS`] times.
    ///
    /// `tls_roots: false` skips loading the system's trust store (about half of
    /// launchgate's start-up): for plain-HTTP loopback targets such as the
    /// embedded mock, where no certificate is ever verified.
    ///
    /// `direct: true` ignores `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY`: for a
    /// target on this machine, which a proxy (a CI runner's, a company's) cannot
    /// reach. Any other target goes through the proxies the environment names,
    /// `NO_PROXY` honoured, as curl and other clients do.
    pub fn new(body_cap: usize, tls_roots: bool, direct: bool) -> Result<Http, ClientError> {
        install_tls_provider();
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("launchgate/", env!("CARGO_PKG_VERSION")))
            // Redirects are followed by hand (`exchange`), so that a secret header never
            // follows one to another origin and every hop can be reported.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(30));
        if !tls_roots {
            builder = builder.tls_certs_only(std::iter::empty());
        }
        if direct {
            builder = builder.no_proxy();
        }
        let connects = ConnectStats::default();
        let client = builder
            .connector_layer(TimeConnects(connects.clone()))
            .build()
            .map_err(|e| ClientError(e.to_string()))?;
        Ok(Http {
            client,
            body_cap,
            connects,
            target_headers: TargetHeaders::default(),
        })
    }

    /// Every request to `base_url`'s origin also carries `headers` (an access
    /// gateway's credentials), unless it sets a header of the same name itself.
    pub fn with_target_headers(mut self, base_url: &str, headers: Vec<(String, String)>) -> Http {
        self.target_headers = TargetHeaders {
            origin: url::Url::parse(base_url).ok().map(|u| u.origin()),
            headers,
        };
        self
    }

    /// The connections opened so far and their set-up time.
    pub fn connections(&self) -> Connections {
        *self.connects.0.lock()
    }

    /// Opens up to `n` keep-alive connections to `base_url` (TLS included) ahead of
    /// the run, so its first requests do not pay for them: `n` concurrent `HEAD`
    /// requests without any key or header of the scenarios, whose answers are
    /// ignored. Returns once they are answered (bounded by `timeout`).
    pub async fn warm(&self, base_url: &str, n: usize, timeout: Duration) {
        let before = self.connections().opened;
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..n {
            let mut request = self.client.head(base_url).timeout(timeout);
            // A gateway in front of the target would refuse the connection's first
            // request without its credentials.
            for (n, v) in self.target_headers.for_request(base_url, &[]) {
                request = request.header(n.as_str(), v.as_str());
            }
            set.spawn(async move {
                let _ = request.send().await;
            });
        }
        while set.join_next().await.is_some() {}
        let mut c = self.connects.0.lock();
        c.warmed += c.opened - before;
    }

    /// Sends a request and reads at most the body cap. Never panics on what the server sends.
    ///
    /// A redirect within the request's origin (scheme, host and port) is followed with
    /// the same headers; a redirect to another origin is not followed at all (the
    /// request may carry keys), and is reported as a [`TransportFailure::Redirect`]
    /// naming the hop.
    pub async fn send(&self, req: &Request) -> Result<Response, TransportError> {
        let mut hops = Vec::new();
        let result = tokio::time::timeout(req.timeout, self.exchange(req, &mut hops)).await;
        match result {
            Ok(r) => r,
            Err(_) => Err(TransportError {
                kind: TransportFailure::Timeout,
                message: format!(
                    "no complete response within {}",
                    humantime::format_duration(req.timeout)
                ),
                redirects: hops,
            }),
        }
    }

    async fn exchange(
        &self,
        req: &Request,
        hops: &mut Vec<Hop>,
    ) -> Result<Response, TransportError> {
        let fail = |t: TransportError, hops: &[Hop]| TransportError {
            redirects: hops.to_vec(),
            ..t
        };
        let origin = url::Url::parse(&req.url).map(|u| u.origin()).ok();
        let mut url = req.url.clone();
        let mut method = req.method.clone();
        let mut body = req.body.clone();
        let mut headers = req.headers.clone();
        let resp = loop {
            let mut builder = self.client.request(method.clone(), &url);
            for (n, v) in &headers {
                builder = builder.header(n.as_str(), v.as_str());
            }
            for (n, v) in self.target_headers.for_request(&url, &headers) {
                builder = builder.header(n.as_str(), v.as_str());
            }
            if let Some(b) = &body {
                builder = builder.body(b.clone());
            }
            let resp = builder.send().await.map_err(|e| fail(classify(&e), hops))?;
            let Some(next) = redirect_target(&url, &resp) else {
                break resp;
            };
            let status = resp.status().as_u16();
            let same_origin = origin.as_ref() == Some(&next.origin());
            let mut hop = Hop {
                status,
                from: url.clone(),
                to: next.to_string(),
                followed: false,
            };
            if !same_origin {
                let message = refused_redirect_message(&hop, &req.url);
                hops.push(hop);
                return Err(TransportError {
                    kind: TransportFailure::Redirect,
                    message,
                    redirects: hops.clone(),
                });
            }
            if hops.len() >= MAX_REDIRECTS {
                let message = format!(
                    "too many redirects: more than {MAX_REDIRECTS}, the last one HTTP {status} from {} to {}",
                    hop.from, hop.to
                );
                hops.push(hop);
                return Err(TransportError {
                    kind: TransportFailure::Redirect,
                    message,
                    redirects: hops.clone(),
                });
            }
            hop.followed = true;
            hops.push(hop);
            rewrite_for_redirect(status, &mut method, &mut body, &mut headers);
            url = next.to_string();
        };
        let mut r = self.read(resp).await.map_err(|t| fail(t, hops))?;
        r.redirects = hops.clone();
        Ok(r)
    }

    /// Reads status, headers and at most the body cap of a response.
    async fn read(&self, mut resp: reqwest::Response) -> Result<Response, TransportError> {
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
                        redirects: Vec::new(),
                    });
                }
            }
        }
        Ok(Response {
            status,
            headers,
            body,
            truncated,
            redirects: Vec::new(),
        })
    }
}

/// RFC 9110 §15.4: after a 303 (and, as every client does, a 301/302 answering a
/// POST) the request continues as a GET without its body; 307/308 repeat it as is.
fn rewrite_for_redirect(
    status: u16,
    method: &mut reqwest::Method,
    body: &mut Option<Vec<u8>>,
    headers: &mut Vec<(String, String)>,
) {
    let to_get = status == 303 && *method != reqwest::Method::HEAD
        || matches!(status, 301 | 302) && *method == reqwest::Method::POST;
    if to_get {
        *method = reqwest::Method::GET;
        *body = None;
        headers.retain(|(n, _)| {
            !["content-type", "content-length", "transfer-encoding"]
                .iter()
                .any(|h| n.eq_ignore_ascii_case(h))
        });
    }
}

/// Where a redirect response points, resolved against the URL that answered; `None`
/// for anything that is not a redirect with a usable `Location` (that response is
/// then the answer, as in browsers).
fn redirect_target(url: &str, resp: &reqwest::Response) -> Option<url::Url> {
    if !matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)?
        .to_str()
        .ok()?;
    let next = url::Url::parse(url).ok()?.join(location.trim()).ok()?;
    matches!(next.scheme(), "http" | "https").then_some(next)
}

/// Why a redirect to another origin was not followed, naming the hop.
fn refused_redirect_message(hop: &Hop, first: &str) -> String {
    let upgrade = url::Url::parse(first)
        .ok()
        .zip(url::Url::parse(&hop.to).ok())
        .is_some_and(|(a, b)| {
            a.scheme() == "http" && b.scheme() == "https" && a.host() == b.host()
        });
    let hint = if upgrade {
        "; the target moves to https: give it as https://… so launchgate starts there"
    } else {
        ""
    };
    format!(
        "the target redirected to another origin (HTTP {} from {} to {}); launchgate does not follow a redirect off the target's origin, so no header of this request (keys included) was sent there{hint}",
        hop.status, hop.from, hop.to
    )
}

fn classify(e: &reqwest::Error) -> TransportError {
    let kind = if e.is_timeout() {
        TransportFailure::Timeout
    } else {
        TransportFailure::Connection
    };
    let what = if e.is_connect() {
        "cannot connect"
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
        if detail.contains("invalid peer certificate") {
            // Staging behind a company's own CA is common; the fix is one variable.
            detail.push_str(
                " (if the target's certificate comes from an internal CA, point SSL_CERT_FILE at a PEM file holding it, or SSL_CERT_DIR at a directory of them)",
            );
        }
    }
    let message = if detail.is_empty() || detail == what {
        what.to_string()
    } else {
        format!("{what}: {detail}")
    };
    TransportError {
        kind,
        message,
        redirects: Vec::new(),
    }
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
