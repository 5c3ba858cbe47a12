//! Bench baseline for `bench/mock-load.sh`: a bare axum server answering one small JSON body,
//! on the same runtime flavour as the mock (`--threads`, default 1 = current-thread).

use axum::routing::get;
use axum::Router;

fn main() -> std::io::Result<()> {
    let mut port = 8081u16;
    let mut threads = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().and_then(|v| v.parse().ok()).unwrap_or(port),
            "--threads" => threads = args.next().and_then(|v| v.parse().ok()).unwrap_or(threads),
            _ => {}
        }
    }
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(async move {
        let app = Router::new().route(
            "/api/agent/v1/health",
            get(|| async {
                (
                    [("content-type", "application/json")],
                    r#"{"error":false,"data":{"status":"ok"}}"#,
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("hello_axum listening on http://127.0.0.1:{port}");
        axum::serve(listener, app).await
    })
}
