//! The `launchgate` binary: parses the command line (`launchgate::cli`) and
//! dispatches to the commands (`launchgate::commands`). Nothing else happens here.

use std::process::ExitCode;

use clap::Parser;
use launchgate::cli::{Cli, Command, JunitAction};
use launchgate::commands::{self, Error, Exit};

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
    commands::finish(prefix, dispatch(cli.command)).into()
}

fn dispatch(command: Command) -> Result<Exit, Error> {
    match command {
        Command::Run(a) => commands::run(a.into_config()?),
        Command::Mock(a) => {
            commands::mock::run(a.into_config()?)?;
            Ok(Exit::Passed)
        }
        Command::Referee(a) => commands::referee(a.into_config()?),
        Command::Checklist(a) => commands::checklist_from(a.into_config()),
        Command::Webhook(a) => commands::webhook(a.into_config()?),
        Command::Doctor(a) => commands::doctor(a.into_config()),
        Command::Init(a) => commands::init(a.into_config()),
        Command::Check(a) => commands::check(&a.paths),
        Command::Junit(a) => match a.action {
            JunitAction::Merge { out, inputs } => commands::junit_merge(&out, &inputs),
        },
    }
}
