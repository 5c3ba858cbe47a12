//! `launchgate init`.

use std::path::PathBuf;

use crate::commands::InitConfig;

/// Flags of `launchgate init`.
#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    /// The environment's name: writes `<NAME>.yaml` and `<NAME>.env`.
    #[arg(long, default_value = "staging")]
    pub name: String,
    /// The directory to write them to.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// The environment's base URL, written into the target file.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Overwrite files that exist.
    #[arg(long)]
    pub force: bool,
}

impl InitArgs {
    /// What `launchgate init` needs.
    pub fn into_config(self) -> InitConfig {
        InitConfig {
            dir: self.dir,
            name: self.name,
            base_url: self.base_url,
            force: self.force,
        }
    }
}
