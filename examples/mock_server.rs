//! The Agent API mock alone, with the same flags as `launchgate mock` (which serves
//! the same mock): a small binary for `bench/mock-load.sh`, which load-tests it beside
//! a bare axum server (`examples/hello_axum.rs`) to measure what the mock itself costs.

use clap::Parser;

/// The launchgate Agent API mock.
#[derive(Parser)]
#[command(name = "mock_server")]
struct Cli {
    #[command(flatten)]
    args: launchgate::mock::cli::MockArgs,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = launchgate::mock::cli::run(cli.args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
