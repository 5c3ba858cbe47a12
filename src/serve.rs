//! One server handle for launchgate's own HTTP servers: the Agent API mock, the
//! gift-card vendor mock and the webhook receiver.
//!
//! [`Server::start`] binds, serves an axum [`Router`] on the current tokio runtime with
//! the [`ServerLimits`] below, and stops on [`Server::shutdown`] (in-flight requests
//! finish) or when dropped (a server a test forgets cannot leak its listener).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The connection a request came on, in its request extensions: a number per connection
/// (in accept order) and when it was accepted. The mock's journal records it, so the
/// referee can tell a request a concurrent client already had on its way on another open
/// connection from one sent after an answer it had read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    /// 1 for the first connection accepted, then counting up.
    pub id: u64,
    /// When the server accepted it.
    pub opened_at: chrono::DateTime<chrono::Utc>,
}

/// `app`, with every request's [`Connection`] put in its extensions.
#[derive(Clone)]
struct OnConnection {
    app: Router,
    connection: Connection,
}

impl<B> tower_service::Service<axum::http::Request<B>> for OnConnection
where
    Router: tower_service::Service<axum::http::Request<B>>,
{
    type Response = <Router as tower_service::Service<axum::http::Request<B>>>::Response;
    type Error = <Router as tower_service::Service<axum::http::Request<B>>>::Error;
    type Future = <Router as tower_service::Service<axum::http::Request<B>>>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        tower_service::Service::<axum::http::Request<B>>::poll_ready(&mut self.app, cx)
    }

    fn call(&mut self, mut req: axum::http::Request<B>) -> Self::Future {
        req.extensions_mut().insert(self.connection);
        self.app.call(req)
    }
}

/// Limits that keep a server alive under slow or abandoned connections.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Time a connection may take to send a request's headers, and may sit idle between
    /// requests; then it is closed.
    pub header_timeout: Duration,
    /// Time a request may take to send its body; then it gets 408 (the Agent API mock
    /// enforces it per request; see its options).
    pub body_timeout: Duration,
    /// Connections served at once; a connection past the bound is closed at once, so
    /// abandoned connections cannot exhaust the process's file descriptors.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 512,
        }
    }
}

/// The listening socket could not be bound (or its address read).
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct BindError {
    /// The address we tried.
    pub addr: SocketAddr,
    /// Why it failed.
    #[source]
    pub source: std::io::Error,
}

/// How long a shutdown waits for in-flight requests before closing what is left.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A running server.
pub struct Server {
    base_url: String,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` (port 0: any free port) and serves `app` on the current tokio runtime.
    pub async fn start(
        addr: SocketAddr,
        app: Router,
        limits: ServerLimits,
    ) -> Result<Server, BindError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| BindError { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| BindError { addr, source })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_until_stopped(listener, app, limits, stopped));
        Ok(Server {
            base_url: format!("http://{local}"),
            addr: local,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://ADDR`, the server root.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address the server listens on (the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits for in-flight requests to finish
    /// (at most [`SHUTDOWN_GRACE`]).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    /// A server dropped without `shutdown` still stops, so tests cannot leak listeners.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The connection builder: HTTP/1 and HTTP/2 with the header-read (and idle) timeout.
fn builder(
    limits: ServerLimits,
) -> hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor> {
    use hyper_util::rt::{TokioExecutor, TokioTimer};
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // In hyper the header-read timer also runs while a kept-alive connection waits for
    // its next request, so it is the idle timeout too.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.header_timeout)
        .keep_alive_timeout(limits.header_timeout);
    builder
}

/// Serves `app` on `listener` until `stopped` fires (or its sender is dropped).
///
/// A hand-written accept loop rather than `axum::serve`, which sets no header-read or idle
/// timeout and no connection bound: with those missing, a thousand abandoned connections
/// exhaust the file descriptors and the server stops answering anyone.
async fn serve_until_stopped(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ServerLimits,
    mut stopped: oneshot::Receiver<()>,
) {
    use hyper_util::rt::TokioIo;

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let builder = builder(limits);
    let mut accepted_connections: u64 = 0;
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok(s) => s,
                Err(_) => {
                    // Out of descriptors or a connection reset before accept: wait a
                    // moment (timeouts are freeing descriptors) and go on.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        accepted_connections += 1;
        let service = hyper_util::service::TowerToHyperService::new(OnConnection {
            app: app.clone(),
            connection: Connection {
                id: accepted_connections,
                opened_at: chrono::Utc::now(),
            },
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    // In-flight requests finish; idle connections close. Bounded, like everything else.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_taken_port_is_a_bind_error_naming_the_address() {
        let first = Server::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            Router::new(),
            ServerLimits::default(),
        )
        .await
        .unwrap();
        let taken = first.local_addr();
        let e = Server::start(taken, Router::new(), ServerLimits::default())
            .await
            .err()
            .unwrap();
        assert_eq!(e.addr, taken);
        assert!(
            e.to_string()
                .starts_with(&format!("cannot listen on {taken}")),
            "{e}"
        );
        first.shutdown().await;
    }
}
