//! Runs the mock standalone, as `launchgate mock` will (used by `bench/mock-load.sh`
//! until the subcommand is wired into main.rs).

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
