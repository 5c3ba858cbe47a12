//! Shared by the end-to-end tests.

use assert_cmd::Command;

pub mod standalone;

/// The real `launchgate` binary, without the developer's ambient `LAUNCHGATE_*`
/// variables (a test must see only the inputs it sets).
pub fn bin() -> Command {
    let mut c = Command::cargo_bin("launchgate").expect("binary builds");
    for (k, _) in std::env::vars() {
        if k.starts_with("LAUNCHGATE_") {
            c.env_remove(k);
        }
    }
    c
}
