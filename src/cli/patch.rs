use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct PatchArgs {
    /// The YAML file to patch.
    pub file: PathBuf,
    /// The JSON Patch document (RFC 6902).
    pub patch: String,
}

pub fn run(_args: PatchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("patch is not implemented yet")
}
