//! Small tools: `launchgate junit merge` and `launchgate webhook sign|send`.

use super::*;

/// `launchgate junit merge OUT IN...`: one JUnit report from the shards of a CI matrix.
pub fn junit_merge(out: &Path, inputs: &[PathBuf]) -> Exit {
    let mut texts = Vec::new();
    for p in inputs {
        match std::fs::read_to_string(p) {
            Ok(t) => texts.push((p.display().to_string(), t)),
            Err(e) => {
                eprintln!("launchgate: cannot read {}: {e}", p.display());
                return Exit::Usage;
            }
        }
    }
    let merged = match junit::merge(texts.iter().map(|(l, t)| (l.as_str(), t.as_str()))) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("launchgate: {e}");
            return Exit::Usage;
        }
    };
    for d in &merged.duplicates {
        eprintln!("launchgate: warning: `{d}` appears more than once (was a shard given twice?)");
    }
    if let Err(e) = report::write_atomic(out, merged.xml.as_bytes()) {
        eprintln!("launchgate: cannot write {}: {e}", out.display());
        return Exit::Failed;
    }
    println!(
        "launchgate: merged {} report{} ({} cases) into {}",
        inputs.len(),
        if inputs.len() == 1 { "" } else { "s" },
        merged.cases,
        out.display()
    );
    Exit::Passed
}

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
        timeout: std::time::Duration,
    },
}

/// `launchgate webhook sign|send`.
pub fn webhook(tool: WebhookTool) -> Exit {
    match tool {
        WebhookTool::Sign { secret_env, file } => webhook_sign(&secret_env, &file),
        WebhookTool::Send {
            url,
            secret_env,
            signature_header,
            timeout,
        } => webhook_send(&url, &secret_env, &signature_header, timeout),
    }
}

/// Reads a webhook secret from the environment variable `var` (never from a file or argument).
fn secret_from_env(var: &str) -> Result<String, String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(format!(
            "the environment variable {var} holding the webhook secret is not set"
        )),
    }
}

/// The largest body `webhook sign` reads (16 MiB): far above any webhook, and a
/// bound for an endless input such as `/dev/zero`.
pub const MAX_SIGN_INPUT: u64 = 16 * 1024 * 1024;

/// Reads at most [`MAX_SIGN_INPUT`] bytes; more is an error, not a truncated signature.
fn read_bounded(r: impl std::io::Read, what: &str) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    std::io::Read::read_to_end(&mut r.take(MAX_SIGN_INPUT + 1), &mut buf)
        .map_err(|e| format!("cannot read {what}: {e}"))?;
    if buf.len() as u64 > MAX_SIGN_INPUT {
        return Err(format!(
            "{what} is larger than {} MiB; a webhook body is far smaller, so this is not one",
            MAX_SIGN_INPUT / (1024 * 1024)
        ));
    }
    Ok(buf)
}

/// `launchgate webhook sign`: prints the hex HMAC-SHA256 signature of a file's raw bytes
/// (`-` reads standard input).
fn webhook_sign(secret_env: &str, file: &Path) -> Exit {
    let secret = match secret_from_env(secret_env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("launchgate webhook sign: {e}");
            return Exit::Usage;
        }
    };
    let body = if file == Path::new("-") {
        read_bounded(std::io::stdin(), "standard input")
    } else {
        let what = file.display().to_string();
        std::fs::File::open(file)
            .map_err(|e| format!("cannot read {what}: {e}"))
            .and_then(|f| read_bounded(f, &what))
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            eprintln!("launchgate webhook sign: {e}");
            return Exit::Usage;
        }
    };
    println!(
        "{}",
        crate::giftcard::signature::sign(secret.as_bytes(), &body)
    );
    Exit::Passed
}

/// `launchgate webhook send`: delivers signed, tampered, unsigned, replayed and
/// re-serialised events to the team's own receiver; exit 1 when it accepted a
/// forged one (or refused the good one), 3 when it never answered.
fn webhook_send(
    url: &str,
    secret_env: &str,
    signature_header: &str,
    timeout: std::time::Duration,
) -> Exit {
    let secret = match secret_from_env(secret_env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("launchgate webhook send: {e}");
            return Exit::Usage;
        }
    };
    if let Err(e) = crate::target::normalize_base_url(url) {
        eprintln!("launchgate webhook send: {e}");
        return Exit::Usage;
    }
    // A header name the HTTP client cannot send is the caller's mistake, not the receiver's.
    if reqwest::header::HeaderName::from_bytes(signature_header.as_bytes()).is_err() {
        eprintln!(
            "launchgate webhook send: --signature-header `{signature_header}` is not a valid HTTP header name (letters, digits and - only, e.g. X-Signature-256)"
        );
        return Exit::Usage;
    }
    let redactor = Redactor::new([secret.clone()].iter());
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("launchgate: cannot start the async runtime: {e}");
            return Exit::Usage;
        }
    };
    let result = rt.block_on(crate::giftcard::tools::send(
        url,
        secret.as_bytes(),
        signature_header,
        timeout,
    ));
    match result {
        Err(e) => {
            eprintln!("launchgate webhook send: {}", redactor.redact(&e));
            Exit::Unreachable
        }
        Ok(outcomes) => {
            println!("webhook receiver at {}:", redactor.redact(url));
            for o in &outcomes {
                println!("  {}", redactor.redact(&o.line()));
            }
            let failed = outcomes.iter().filter(|o| o.failed).count();
            if failed > 0 {
                println!("FAIL: the receiver mishandled {failed} of {} deliveries; it must verify X-Signature-256 over the raw body and refuse what does not match", outcomes.len());
                Exit::Failed
            } else {
                println!("ok: forged and unsigned events were refused");
                Exit::Passed
            }
        }
    }
}
