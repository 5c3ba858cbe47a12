//! The target of a command: which one the flags name, the secrets it reads, and
//! the HTTP client that talks to it.

use std::path::{Path, PathBuf};

use crate::giftcard::VendorOptions;
use crate::http::Http;
use crate::mock::MockOptions;
use crate::target::{SecretSource, Target, TargetError};

use super::Error;

/// Which target to run against.
#[derive(Debug, Clone)]
pub enum TargetChoice {
    /// The embedded mock, with these options.
    Mock(MockOptions),
    /// The embedded gift-card vendor mock (`--api giftcard`), with these options.
    Vendor(VendorOptions),
    /// A base URL with the default variable names.
    Url(String),
    /// A target file.
    File(PathBuf),
}

impl TargetChoice {
    /// `mock`, a URL (anything with `scheme://`; only http and https are then accepted)
    /// or a path to a target file.
    pub fn parse(s: &str, mock: MockOptions) -> TargetChoice {
        if s == "mock" {
            TargetChoice::Mock(mock)
        } else if s.contains("://") {
            // Any `scheme://` is a URL (refused unless http/https), never a file name:
            // "cannot read ftp://user:password@..." would print the password.
            TargetChoice::Url(s.to_string())
        } else {
            TargetChoice::File(PathBuf::from(s))
        }
    }
}

/// Reads the environment and the secrets file, saying (by name) which variables the
/// environment overrides: it wins, as in the usual `.env` convention.
pub(crate) fn load_secrets(file: Option<&Path>) -> Result<SecretSource, TargetError> {
    let source = SecretSource::load(file)?;
    if let Some(f) = file {
        for var in source.shadowed() {
            eprintln!(
                "launchgate: note: {var} is set in the environment and in {}; the environment's value is used",
                f.display()
            );
        }
    }
    Ok(source)
}

/// Whether requests to this target could meet a certificate: anything but
/// plain HTTP on loopback (a plain-HTTP remote host may redirect to HTTPS).
fn needs_tls_roots(target: &Target) -> bool {
    !(target.base_url.starts_with("http://") && crate::http::is_loopback(&target.base_url))
}

/// The HTTP client for this target: the system's trust store only when it may be
/// needed, and no proxy for a target on this machine (the embedded mock included).
pub(crate) fn http_for(target: &Target, body_cap: usize) -> Result<Http, Error> {
    let direct = crate::http::is_loopback(&target.base_url);
    Ok(Http::new(body_cap, needs_tls_roots(target), direct)?
        .with_target_headers(&target.base_url, target.headers.clone()))
}
