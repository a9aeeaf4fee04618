use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct SetImageArgs {
    /// A kustomization file, or a directory holding one.
    pub path: PathBuf,
    /// Image specs, applied in order.
    #[arg(required = true)]
    pub specs: Vec<String>,
}

pub fn run(_args: SetImageArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("set-image is not implemented yet")
}
