//! `ferry rollback`: the previous (or a named) image of a service in an environment, from
//! history, landed as a new promotion.

use std::process::ExitCode;

use clap::Args;

use crate::gitops;

use super::repo_args::{CommitArgs, RepoArgs};

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    #[arg(long)]
    pub environment: String,
    #[arg(long)]
    pub service: String,
    /// The version to go back to: a tag, a digest or a whole image reference that ran there
    /// before. Default: the image before the current one.
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    #[arg(long, value_name = "BRANCH")]
    pub push_to: Option<String>,
    #[command(flatten)]
    pub commit: CommitArgs,
}

pub fn run(args: RollbackArgs) -> anyhow::Result<ExitCode> {
    let mirror = args.repo.mirror()?;
    let policy = args.repo.policy(&mirror)?;
    let log = args.repo.log(&mirror, Some(&policy))?;
    let mut promotion = gitops::rollback(
        &mirror,
        &policy,
        &log,
        &args.repo.branch,
        &args.service,
        &args.environment,
        args.to.as_deref(),
    )?;
    promotion.requested_by = args.commit.requested_by.clone();
    super::promote::land(
        &args.repo,
        &args.commit,
        args.push_to.as_deref(),
        &mirror,
        &policy,
        &promotion,
    )
}
