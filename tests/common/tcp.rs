//! Raw TCP on loopback: a server whose handler writes whatever bytes a test wants
//! (slowloris, endless bodies, resets, forbidden characters, redirects), and a
//! plain HTTP/1.0 GET for talking to a server without an HTTP client library.
//!
//! Every server is a std `TcpListener` on 127.0.0.1:0 with a bounded life: it stops
//! when the test drops it, or after [`SERVER_LIFETIME`] at the latest.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// No server lives longer than this, whatever the test does.
pub const SERVER_LIFETIME: Duration = Duration::from_secs(60);

/// What a connection handler can see: whether to stop, and a byte counter.
#[derive(Clone)]
pub struct Ctx {
    stop: Arc<AtomicBool>,
    born: Instant,
    /// Bytes of response the server managed to write (all connections).
    pub sent: Arc<AtomicU64>,
}

impl Ctx {
    pub fn done(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.born.elapsed() > SERVER_LIFETIME
    }

    /// Writes everything or gives up (client gone, or time to stop).
    pub fn write(&self, s: &mut TcpStream, bytes: &[u8]) -> bool {
        if self.done() {
            return false;
        }
        match s.write_all(bytes) {
            Ok(()) => {
                self.sent.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                true
            }
            Err(_) => false,
        }
    }
}

/// A running server; stopped when dropped.
pub struct Server {
    pub port: u16,
    pub ctx: Ctx,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Bytes of response written so far.
    pub fn sent(&self) -> u64 {
        self.ctx.sent.load(Ordering::Relaxed)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.ctx.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// Starts a server that runs `handler` on a thread per connection.
pub fn serve<F>(handler: F) -> Server
where
    F: Fn(TcpStream, &Ctx) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let ctx = Ctx {
        stop: Arc::default(),
        born: Instant::now(),
        sent: Arc::default(),
    };
    let handler = Arc::new(handler);
    let c = ctx.clone();
    let accept = std::thread::spawn(move || {
        while !c.done() {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let h = handler.clone();
                    let c2 = c.clone();
                    std::thread::spawn(move || h(stream, &c2));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    Server {
        port,
        ctx,
        accept: Some(accept),
    }
}

/// Every request head a [`recording`] server was sent, in arrival order.
pub type Heads = Arc<std::sync::Mutex<Vec<String>>>;

/// The Agent API's 401 envelope, a plausible answer for a server that only records.
pub const MISSING_KEY_ENVELOPE: &[u8] =
    br#"{"error":true,"code":"AUTH_MISSING_KEY","message":"No key.","retry_strategy":"no_retry"}"#;

/// A server that records every request head and answers each with what
/// `answer(head)` gives: a status line, a content type and a body.
pub fn recording<F>(answer: F) -> (Server, Heads)
where
    F: Fn(&str) -> (&'static str, &'static str, &'static [u8]) + Send + Sync + 'static,
{
    let heads: Heads = Arc::default();
    let log = heads.clone();
    let server = serve(move |mut s, ctx| {
        let head = read_head(&mut s);
        let (status, content_type, body) = answer(&head);
        if let Ok(mut l) = log.lock() {
            l.push(head);
        }
        respond(&mut s, ctx, status, &[("Content-Type", content_type)], body);
    });
    (server, heads)
}

/// Reads a request head (up to the blank line, at most 64 KiB).
pub fn read_head(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
        match s.read(&mut byte) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&byte[..n]),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// The path of a request head's request line, without its query.
pub fn path_of(head: &str) -> String {
    head.split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/")
        .to_string()
}

/// A complete response with a Content-Length, then the write side closed.
pub fn respond(s: &mut TcpStream, ctx: &Ctx, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    if ctx.write(s, head.as_bytes()) {
        ctx.write(s, body);
    }
    let _ = s.flush();
    let _ = s.shutdown(Shutdown::Write);
    // Let the client read before the socket closes (a close with unread input resets).
    let _ = read_head(s);
}

/// A plain HTTP/1.0 GET on a fresh connection (2 s to connect, 10 s to answer):
/// the status and body, or `None` when no answer came.
pub fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut buf = Vec::new();
    // Read until the server closes; a reset after the response is not an error here.
    let mut chunk = [0u8; 8192];
    while let Ok(n) = s.read(&mut chunk) {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

/// A loopback port that was free a moment ago, for a server that must be told its
/// port before it starts. Chosen below the kernel's ephemeral range (32768 and up
/// on Linux): a port the kernel handed out for `:0` was free again the moment it
/// was closed, and the next `:0` bind or outgoing connection of a test running
/// beside this one could take it before the server did ("Address already in use").
/// Here only another test choosing the same number at the same moment could.
pub fn free_port() -> u16 {
    use std::sync::atomic::AtomicU32;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let seed = std::process::id()
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
    for _ in 0..1000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 20_000 + (seed.wrapping_add(n.wrapping_mul(7919)) % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The socket address of an `http://HOST:PORT` base URL.
pub fn addr_of(base: &str) -> SocketAddr {
    base.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("{base}: {e}"))
}

/// At most 3000 characters of `s`, so a failing assertion does not flood the log.
pub fn clip(s: &str) -> String {
    if s.chars().count() <= 3000 {
        return s.to_string();
    }
    let head: String = s.chars().take(3000).collect();
    format!("{head}… ({} bytes)", s.len())
}
