//! `launchgate webhook sign|send`.

use std::path::PathBuf;
use std::time::Duration;

use super::{values, UsageError};
use crate::commands::WebhookTool;

/// Flags of `launchgate webhook`.
#[derive(Debug, Clone, clap::Args)]
pub struct WebhookArgs {
    /// The environment variable holding the shared secret (never the secret itself).
    #[arg(long, global = true, value_name = "VAR")]
    pub secret_env: Option<String>,
    /// The header carrying the signature (`send`).
    #[arg(
        long,
        global = true,
        default_value = "X-Signature-256",
        value_name = "NAME"
    )]
    pub signature_header: String,
    /// Sign or send.
    #[command(subcommand)]
    pub command: WebhookCommand,
}

/// What `launchgate webhook` does.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum WebhookCommand {
    /// Print the hex HMAC-SHA256 signature of a file's raw bytes (`-`: standard input).
    Sign {
        /// The body to sign, byte for byte.
        file: PathBuf,
    },
    /// Deliver signed, tampered, unsigned, replayed and re-serialised events to your
    /// receiver; exit 1 if it accepts a tampered or unsigned one.
    Send {
        /// Your receiver's URL.
        url: String,
        /// Per-delivery timeout.
        #[arg(long, default_value = "10s", value_parser = values::duration)]
        timeout: Duration,
    },
}

impl WebhookArgs {
    /// What `launchgate webhook` does; the secret's variable is required (the
    /// secret itself is never an argument).
    pub fn into_config(self) -> Result<WebhookTool, UsageError> {
        let Some(secret_env) = self.secret_env else {
            return Err(UsageError::Invalid(
                "pass --secret-env VAR, the environment variable holding the shared secret".into(),
            ));
        };
        Ok(match self.command {
            WebhookCommand::Sign { file } => WebhookTool::Sign { secret_env, file },
            WebhookCommand::Send { url, timeout } => WebhookTool::Send {
                url,
                secret_env,
                signature_header: self.signature_header,
                timeout,
            },
        })
    }
}
