use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::policy::{self, LoadError};

use super::EXIT_REJECTED;

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check a policy directory: exit 0 when valid, 1 with every problem listed when not.
    Check {
        /// The directory holding promotion.yaml.
        #[arg(default_value = "policies")]
        dir: PathBuf,
    },
}

pub fn run(args: PolicyArgs) -> anyhow::Result<ExitCode> {
    let PolicyCommand::Check { dir } = args.command;
    match policy::load_dir(&dir) {
        Ok(policy) => {
            outln!(
                "{}: valid ({} services, {} environments)",
                dir.join(policy::load::POLICY_FILE).display(),
                policy.services.len(),
                policy.environments.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(LoadError::Invalid(diagnostics)) => {
            for diagnostic in &diagnostics {
                eprintln!("{diagnostic}");
            }
            eprintln!("{} problem(s) found", diagnostics.len());
            Ok(ExitCode::from(EXIT_REJECTED))
        }
        Err(error @ LoadError::Io { .. }) => Err(error.into()),
    }
}
