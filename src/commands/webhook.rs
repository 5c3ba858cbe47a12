//! `launchgate webhook sign|send`: tools for a team's own webhook receiver.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::redact::Redactor;

use super::stdout::say;
use super::{Error, Exit, UsageError};

/// What `launchgate webhook` does.
#[derive(Debug, Clone)]
pub enum WebhookTool {
    /// `sign`: print the signature of a file's bytes.
    Sign {
        /// The environment variable holding the shared secret.
        secret_env: String,
        /// The body to sign (`-`: standard input).
        file: PathBuf,
    },
    /// `send`: deliver good and forged events to a receiver.
    Send {
        /// The receiver's URL.
        url: String,
        /// The environment variable holding the shared secret.
        secret_env: String,
        /// The header carrying the signature.
        signature_header: String,
        /// Per-delivery timeout.
        timeout: Duration,
    },
}

/// `launchgate webhook sign|send`.
pub fn webhook(tool: WebhookTool) -> Result<Exit, Error> {
    match tool {
        WebhookTool::Sign { secret_env, file } => sign(&secret_env, &file),
        WebhookTool::Send {
            url,
            secret_env,
            signature_header,
            timeout,
        } => send(&url, &secret_env, &signature_header, timeout),
    }
}

/// Reads a webhook secret from the environment variable `var` (never from a file or argument).
fn secret_from_env(var: &str) -> Result<String, UsageError> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(UsageError::Invalid(format!(
            "the environment variable {var} holding the webhook secret is not set"
        ))),
    }
}

/// The largest body `webhook sign` reads (16 MiB): far above any webhook, and a
/// bound for an endless input such as `/dev/zero`.
const MAX_SIGN_INPUT: u64 = 16 * 1024 * 1024;

/// Reads at most [`MAX_SIGN_INPUT`] bytes; more is an error, not a truncated signature.
fn read_bounded(r: impl Read, what: &str) -> Result<Vec<u8>, UsageError> {
    let mut buf = Vec::new();
    r.take(MAX_SIGN_INPUT + 1)
        .read_to_end(&mut buf)
        .map_err(|e| UsageError::Invalid(format!("cannot read {what}: {e}")))?;
    if buf.len() as u64 > MAX_SIGN_INPUT {
        return Err(UsageError::Invalid(format!(
            "{what} is larger than {} MiB; a webhook body is far smaller, so this is not one",
            MAX_SIGN_INPUT / (1024 * 1024)
        )));
    }
    Ok(buf)
}

/// `launchgate webhook sign`: prints the hex HMAC-SHA256 signature of a file's raw bytes
/// (`-` reads standard input).
fn sign(secret_env: &str, file: &Path) -> Result<Exit, Error> {
    let secret = secret_from_env(secret_env)?;
    let body = if file == Path::new("-") {
        read_bounded(std::io::stdin(), "standard input")?
    } else {
        let what = file.display().to_string();
        let f = std::fs::File::open(file)
            .map_err(|e| UsageError::Invalid(format!("cannot read {what}: {e}")))?;
        read_bounded(f, &what)?
    };
    say(crate::signature::sign(secret.as_bytes(), &body));
    Ok(Exit::Passed)
}

/// `launchgate webhook send`: delivers signed, tampered, unsigned, replayed and
/// re-serialised events to the team's own receiver; exit 1 when it accepted a
/// forged one (or refused the good one), 3 when it never answered.
fn send(
    url: &str,
    secret_env: &str,
    signature_header: &str,
    timeout: Duration,
) -> Result<Exit, Error> {
    let secret = secret_from_env(secret_env)?;
    crate::target::normalize_base_url(url).map_err(|e| UsageError::Invalid(e.to_string()))?;
    // A header name the HTTP client cannot send is the caller's mistake, not the receiver's.
    if reqwest::header::HeaderName::from_bytes(signature_header.as_bytes()).is_err() {
        return Err(UsageError::Invalid(format!(
            "--signature-header `{signature_header}` is not a valid HTTP header name (letters, digits and - only, e.g. X-Signature-256)"
        ))
        .into());
    }
    let redactor = Redactor::new([secret.clone()].iter());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let outcomes = rt
        .block_on(crate::giftcard::tools::send(
            url,
            secret.as_bytes(),
            signature_header,
            timeout,
        ))
        .map_err(|e| Error::Unreachable(redactor.redact(&e).into_owned()))?;
    say(format_args!(
        "webhook receiver at {}:",
        redactor.redact(url)
    ));
    for o in &outcomes {
        say(format_args!("  {}", redactor.redact(&o.line())));
    }
    let failed = outcomes.iter().filter(|o| o.failed).count();
    if failed > 0 {
        say(format_args!("FAIL: the receiver mishandled {failed} of {} deliveries; it must verify X-Signature-256 over the raw body and refuse what does not match", outcomes.len()));
        Ok(Exit::Failed)
    } else {
        say("ok: forged and unsigned events were refused");
        Ok(Exit::Passed)
    }
}
