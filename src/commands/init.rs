//! `launchgate init`: writes a commented target file and a secrets template that
//! list every input the built-in suite asks a staging environment for, and what
//! each must be there. Never overwrites a file without `--force`.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::inputs::{InputKind, AGENT_API_INPUTS};
use crate::report::write_atomic;
use crate::target::POS_SCOPES;

use super::stdout::say;
use super::{Error, Exit, UsageError};

/// Everything `launchgate init` needs.
pub struct InitConfig {
    /// The directory the files go to.
    pub dir: PathBuf,
    /// The environment's name: the files are `<name>.yaml` and `<name>.env`.
    pub name: String,
    /// The base URL to write (a placeholder when absent).
    pub base_url: Option<String>,
    /// Overwrite existing files.
    pub force: bool,
}

fn target_file(name: &str, base_url: Option<&str>, secrets: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# launchgate target file for `{name}`. Commit it: it holds no secret, only the"
    );
    let _ = writeln!(
        s,
        "# NAMES of the environment variables that hold keys and fixture ids."
    );
    let _ = writeln!(s, "#");
    let _ = writeln!(s, "#   launchgate doctor --target {name}.yaml --secrets {secrets}   # check every input first");
    let _ = writeln!(s, "#   launchgate run --target {name}.yaml --secrets {secrets} --referee target/launchgate/referee.json");
    let _ = writeln!(s, "#");
    let _ = writeln!(
        s,
        "# Values come from the environment, or from the secrets file ({secrets}); when a"
    );
    let _ = writeln!(
        s,
        "# variable is set in both, the environment wins (the usual .env convention).\n"
    );
    let _ = writeln!(s, "name: {name}");
    match base_url {
        Some(u) => {
            let _ = writeln!(s, "base_url: {u}");
        }
        None => {
            let _ = writeln!(
                s,
                "# The server root (or the prefix under which {} lives).",
                crate::agent_api::BASE_PATH
            );
            let _ = writeln!(
                s,
                "base_url: https://staging.example.com   # or: base_url_env: MY_URL_VARIABLE"
            );
        }
    }
    let _ = writeln!(
        s,
        "\n# The key your integration launches with (scenarios see it as keys.integration),"
    );
    let _ = writeln!(
        s,
        "# the role it must have, and the scopes it needs: a key holding more fails"
    );
    let _ = writeln!(s, "# \"Scopes minimized and verified via /health\".");
    let _ = writeln!(s, "integration_key: partner");
    let _ = writeln!(s, "role: partner");
    let needs: Vec<String> = POS_SCOPES.iter().map(|s| format!("\"{s}\"")).collect();
    let _ = writeln!(
        s,
        "needs: [{}]   # the point-of-sale preset",
        needs.join(", ")
    );
    let _ = writeln!(
        s,
        "\n# Every key NAME is read from LAUNCHGATE_<NAME>_KEY and every fixture from"
    );
    let _ = writeln!(
        s,
        "# LAUNCHGATE_<NAME> unless mapped here to another variable, e.g."
    );
    let _ = writeln!(s, "#   keys: {{partner: POS_AGENT_KEY}}");
    let _ = writeln!(s, "keys: {{}}");
    for i in AGENT_API_INPUTS.iter().filter(|i| i.kind == InputKind::Key) {
        let _ = writeln!(s, "#   {:<18} {}", format!("{}:", i.name), i.must_be);
    }
    let _ = writeln!(s, "fixtures: {{}}");
    for i in AGENT_API_INPUTS
        .iter()
        .filter(|i| i.kind == InputKind::Fixture)
    {
        let _ = writeln!(s, "#   {:<26} {}", format!("{}:", i.name), i.must_be);
    }
    let _ = writeln!(
        s,
        "\n# Behind an access gateway? Headers every request carries, each read from a"
    );
    let _ = writeln!(
        s,
        "# variable (a secret: redacted everywhere, sent to this target only), e.g."
    );
    let _ = writeln!(
        s,
        "#   headers: {{CF-Access-Client-Secret: CF_ACCESS_SECRET}}"
    );
    let _ = writeln!(s, "headers: {{}}");
    s
}

fn secrets_template(name: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# launchgate secrets for `{name}`: keys and fixture ids, one NAME=value a line."
    );
    let _ = writeln!(
        s,
        "# NEVER COMMIT THIS FILE (add it to .gitignore); a secrets file git tracks fails"
    );
    let _ = writeln!(
        s,
        "# \"Keys stored in environment variables or a secrets manager\". In CI, set the"
    );
    let _ = writeln!(
        s,
        "# same variables from the CI's secret store instead; they win over this file."
    );
    let _ = writeln!(
        s,
        "# An empty value counts as missing: the cases that need it are skipped, never passed,"
    );
    let _ = writeln!(s, "# and `launchgate doctor` names them.\n");
    let _ = writeln!(
        s,
        "# Keys (secrets): each a key of the environment you launch in, never production's."
    );
    for i in AGENT_API_INPUTS.iter().filter(|i| i.kind == InputKind::Key) {
        let _ = writeln!(s, "# {}\n{}=\n", i.must_be, i.default_var());
    }
    let _ = writeln!(s, "# Fixture ids (not secret).");
    for i in AGENT_API_INPUTS
        .iter()
        .filter(|i| i.kind == InputKind::Fixture)
    {
        let _ = writeln!(s, "# {}\n{}=\n", i.must_be, i.default_var());
    }
    let _ = writeln!(
        s,
        "# Optional: production keys under LAUNCHGATE_PROD_<NAME>_KEY are compared with the"
    );
    let _ = writeln!(
        s,
        "# ones above (\"Separate keys per environment\"); they are never sent anywhere."
    );
    s
}

/// The environment's name becomes two file names: letters, digits, `-`, `_`, `.`.
fn check_name(name: &str) -> Result<(), UsageError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(UsageError::Invalid(format!(
            "--name `{name}` must be letters, digits, `-`, `_` or `.`"
        )));
    }
    Ok(())
}

/// `launchgate init`: writes `<name>.yaml` and `<name>.env`, never over an existing
/// file without `--force`.
pub fn init(cfg: InitConfig) -> Result<Exit, Error> {
    check_name(&cfg.name)?;
    if let Some(u) = &cfg.base_url {
        crate::target::normalize_base_url(u).map_err(|e| UsageError::Flag {
            flag: "--base-url",
            reason: e.to_string(),
        })?;
    }
    let target = cfg.dir.join(format!("{}.yaml", cfg.name));
    let secrets = cfg.dir.join(format!("{}.env", cfg.name));
    let secrets_name = secrets
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let existing: Vec<PathBuf> = [&target, &secrets]
        .into_iter()
        .filter(|p| p.exists())
        .cloned()
        .collect();
    if !cfg.force && !existing.is_empty() {
        return Err(UsageError::Exists(existing).into());
    }
    let files = [
        (
            &target,
            target_file(&cfg.name, cfg.base_url.as_deref(), &secrets_name),
        ),
        (&secrets, secrets_template(&cfg.name)),
    ];
    for (path, text) in files {
        write_atomic(path, text.as_bytes()).map_err(|source| UsageError::CannotWrite {
            path: path.clone(),
            source,
        })?;
        say(format_args!("wrote {}", path.display()));
    }
    say(format_args!(
        "next: fill in {} (keep it out of git), set base_url in {}, then `launchgate doctor --target {} --secrets {}`",
        secrets.display(),
        target.display(),
        target.display(),
        secrets.display()
    ));
    Ok(Exit::Passed)
}
