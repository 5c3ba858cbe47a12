//! The `launchgate` binary: parses the command line (`launchgate::cli`) and
//! dispatches to the commands (`launchgate::app`). Nothing else happens here.

use std::process::ExitCode;

use clap::Parser;
use launchgate::app::{self, Exit};
use launchgate::cli::{Cli, Command, JunitAction, UsageError};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // `--help` and `--version` are errors to clap, but not to the user.
            return if e.use_stderr() {
                Exit::Usage.into()
            } else {
                Exit::Passed.into()
            };
        }
    };
    let prefix = cli.command.prefix();
    match dispatch(cli.command) {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("{prefix}: {e}");
            Exit::Usage
        }
    }
    .into()
}

fn dispatch(command: Command) -> Result<Exit, UsageError> {
    Ok(match command {
        Command::Run(a) => app::run(a.into_config()?),
        Command::Mock(a) => {
            app::mock::run(a.into_config()?)?;
            Exit::Passed
        }
        Command::Referee(a) => app::referee(a.into_config()?),
        Command::Checklist(a) => app::checklist_from(a.into_config()),
        Command::Webhook(a) => app::webhook(a.into_config()?),
        Command::Doctor(a) => app::doctor(a.into_config()),
        Command::Init(a) => app::init(a.into_config()),
        Command::Check(a) => app::check(&a.paths),
        Command::Junit(a) => match a.action {
            JunitAction::Merge { out, inputs } => app::junit_merge(&out, &inputs),
        },
    })
}
