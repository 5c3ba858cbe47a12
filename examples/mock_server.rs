//! The Agent API mock alone, with the same flags as `launchgate mock` (which serves
//! the same mock): a small binary for `bench/mock-load.sh`, which load-tests it beside
//! a bare axum server (`examples/hello_axum.rs`) to measure what the mock itself costs.

use clap::Parser;

/// The launchgate Agent API mock.
#[derive(Parser)]
#[command(name = "mock_server")]
struct Cli {
    #[command(flatten)]
    args: launchgate::cli::MockArgs,
}

fn main() {
    let cli = Cli::parse();
    let result = cli
        .args
        .into_config()
        .map_err(|e| e.to_string())
        .and_then(|cfg| launchgate::commands::mock::run(cfg).map_err(|e| e.to_string()));
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
