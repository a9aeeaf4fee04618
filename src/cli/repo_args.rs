//! Arguments shared by the commands that work on a GitOps repository (`promote`, `rollback`,
//! `audit`): where it is, how to authenticate, and who Ferry commits as.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use secrecy::SecretString;

use crate::gitops::{AuditLog, Auth, CommitSettings, Identity, Mirror, OverlayMap, Remote};
use crate::policy::{self, Policy};

#[derive(Debug, Args)]
pub struct RepoArgs {
    /// The GitOps repository: a path, a `file://`, `https://` or SSH URL.
    #[arg(long, value_name = "PATH_OR_URL")]
    pub repo: String,
    /// The target branch (where environments are defined).
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// Where Ferry keeps its mirror of the repository (reused, fetched incrementally).
    #[arg(long, env = "FERRY_DATA_DIR", default_value = ".ferry")]
    pub data_dir: PathBuf,
    /// The policy directory; by default `policies/` as the target branch has it.
    #[arg(long, value_name = "DIR")]
    pub policy: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Author name of Ferry's commits.
    #[arg(long, env = "FERRY_GIT_AUTHOR_NAME", default_value = "Ferry")]
    pub author_name: String,
    /// Author e-mail of Ferry's commits.
    #[arg(
        long,
        env = "FERRY_GIT_AUTHOR_EMAIL",
        default_value = "ferry@localhost"
    )]
    pub author_email: String,
    /// Sign commits with this SSH private key (verify with `git verify-commit`, docs/gitops.md).
    #[arg(long, env = "FERRY_GIT_SIGNING_KEY", value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
    /// Who asked for the change (recorded as `Ferry-Requested-By`).
    #[arg(long, env = "GITLAB_USER_LOGIN")]
    pub requested_by: Option<String>,
}

impl CommitArgs {
    pub fn settings(&self) -> CommitSettings {
        CommitSettings {
            author: Identity {
                name: self.author_name.clone(),
                email: self.author_email.clone(),
            },
            committer: None,
            signing_key: self.signing_key.clone(),
        }
    }
}

impl RepoArgs {
    /// The remote, with credentials from the environment: `FERRY_GIT_TOKEN` (or
    /// `FERRY_GIT_TOKEN_FILE`) for HTTPS, `FERRY_GIT_SSH_KEY` for SSH.
    pub fn remote(&self) -> anyhow::Result<Remote> {
        let user = std::env::var("FERRY_GIT_USER").unwrap_or_else(|_| "oauth2".into());
        let token = match (
            std::env::var("FERRY_GIT_TOKEN"),
            std::env::var("FERRY_GIT_TOKEN_FILE"),
        ) {
            (Ok(token), _) => Some(token),
            (_, Ok(file)) => Some(
                std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read FERRY_GIT_TOKEN_FILE {file}"))?
                    .trim()
                    .to_owned(),
            ),
            _ => None,
        };
        let auth = match (token, std::env::var_os("FERRY_GIT_SSH_KEY")) {
            (Some(token), _) => Auth::Token {
                user,
                token: SecretString::from(token),
            },
            (None, Some(key)) => Auth::SshKey {
                user: std::env::var("FERRY_GIT_USER").unwrap_or_else(|_| "git".into()),
                key: PathBuf::from(key),
                passphrase: std::env::var("FERRY_GIT_SSH_PASSPHRASE")
                    .ok()
                    .map(SecretString::from),
            },
            (None, None) => Auth::None,
        };
        let remote = Remote::new(self.repo.clone(), auth);
        Ok(match remote.local_path() {
            Some(path) if !self.repo.starts_with("file://") => Remote::local(&path),
            _ => remote,
        })
    }

    /// The mirror, fetched.
    pub fn mirror(&self) -> anyhow::Result<Mirror> {
        let mirror = Mirror::open(&self.data_dir, self.remote()?)?;
        mirror.fetch()?;
        Ok(mirror)
    }

    /// The policy from `--policy`, else from the target branch.
    pub fn policy(&self, mirror: &Mirror) -> anyhow::Result<Policy> {
        match &self.policy {
            Some(dir) => policy::load_dir(dir).map_err(|err| match err {
                policy::LoadError::Invalid(diagnostics) => anyhow::anyhow!(
                    "{}",
                    diagnostics
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
                other => other.into(),
            }),
            None => Ok(crate::gitops::policy_at(mirror, &self.branch)?),
        }
    }

    pub fn log(&self, mirror: &Mirror, policy: Option<&Policy>) -> anyhow::Result<AuditLog> {
        let overlays = policy.map(OverlayMap::from_policy).unwrap_or_default();
        Ok(AuditLog::load(mirror, &self.branch, &overlays)?)
    }
}
