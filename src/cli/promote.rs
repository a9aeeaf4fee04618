//! `ferry promote`: one promotion as a commit with trailers, pushed, without a forge.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::domain::{CommitSha, GitRef, ImageRef, ProjectPath, Source};
use crate::gitops::{self, Mirror, Outcome, OverlayChange, Promotion, Retry};
use crate::policy::Policy;
use crate::policy::principal::Person;
use crate::policy::validate::{FileChange, MergeRequest, validate};

use super::EXIT_REJECTED;
use super::repo_args::{CommitArgs, RepoArgs};

#[derive(Debug, Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    #[arg(long)]
    pub environment: String,
    #[arg(long)]
    pub service: String,
    /// The image to run, with a tag or digest.
    #[arg(long, value_name = "REF")]
    pub image: String,
    /// Push to this branch instead of the target branch (for example a branch to open a
    /// merge request from).
    #[arg(long, value_name = "BRANCH")]
    pub push_to: Option<String>,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub commit: CommitArgs,
}

/// Where the image was built; in GitLab CI the predefined variables fill these in.
#[derive(Debug, Args)]
pub struct SourceArgs {
    #[arg(long, env = "CI_PROJECT_PATH", value_name = "GROUP/PROJECT")]
    pub source_project: Option<String>,
    /// A branch or tag name, or a full ref (`refs/tags/v1.0.0`).
    #[arg(long, env = "CI_COMMIT_REF_NAME", value_name = "REF")]
    pub source_ref: Option<String>,
    #[arg(long, env = "CI_COMMIT_SHA", value_name = "SHA")]
    pub source_sha: Option<String>,
    /// Recorded as `Ferry-Merge-Request`.
    #[arg(long, value_name = "MR")]
    pub merge_request: Option<String>,
}

impl SourceArgs {
    fn source(&self) -> anyhow::Result<Option<Source>> {
        let Some(project) = &self.source_project else {
            return Ok(None);
        };
        let project = ProjectPath::parse(project)?;
        let git_ref = match self.source_ref.as_deref() {
            Some(full) if full.starts_with("refs/") => GitRef::from_full_name(full)
                .with_context(|| format!("`{full}` is neither refs/heads/... nor refs/tags/..."))?,
            Some(name) if std::env::var("CI_COMMIT_TAG").is_ok_and(|tag| tag == name) => {
                GitRef::Tag(name.to_owned())
            }
            Some(name) => GitRef::Branch(name.to_owned()),
            None => anyhow::bail!("--source-project needs --source-ref too"),
        };
        let sha = self
            .source_sha
            .as_deref()
            .map(CommitSha::parse)
            .transpose()?;
        Ok(Some(Source {
            project,
            git_ref,
            sha,
            merge_request: None,
        }))
    }
}

pub fn run(args: PromoteArgs) -> anyhow::Result<ExitCode> {
    let mirror = args.repo.mirror()?;
    let policy = args.repo.policy(&mirror)?;
    let image = ImageRef::parse(&args.image).with_context(|| format!("--image {}", args.image))?;
    let change = OverlayChange::from_policy(&policy, &args.service, &args.environment, image)?;
    let mut promotion = Promotion::new(vec![change]);
    promotion.source = args.source.source()?;
    promotion.merge_request = args.source.merge_request.clone();
    promotion.requested_by = args.commit.requested_by.clone();
    land(
        &args.repo,
        &args.commit,
        args.push_to.as_deref(),
        &mirror,
        &policy,
        &promotion,
    )
}

/// Checks `promotion` against the policy, lands it and prints the commit; shared with
/// `ferry rollback`.
pub fn land(
    repo: &RepoArgs,
    commit: &CommitArgs,
    push_to: Option<&str>,
    mirror: &Mirror,
    policy: &Policy,
    promotion: &Promotion,
) -> anyhow::Result<ExitCode> {
    let violations = check(repo, mirror, policy, promotion)?;
    if !violations.is_empty() {
        for violation in &violations {
            eprintln!("{violation}");
        }
        eprintln!("the policy refuses this promotion; nothing was pushed");
        return Ok(ExitCode::from(EXIT_REJECTED));
    }
    let push_to = push_to.unwrap_or(&repo.branch);
    let outcome = gitops::land(
        mirror,
        &commit.settings(),
        &Retry::default(),
        &repo.branch,
        push_to,
        promotion,
    )?;
    match outcome {
        Outcome::Landed {
            commit, attempts, ..
        } => {
            eprintln!(
                "{}: pushed to {push_to}{}",
                promotion.summary(),
                if attempts > 1 {
                    format!(" (after {attempts} attempts)")
                } else {
                    String::new()
                }
            );
            outln!("{commit}");
        }
        Outcome::Unchanged { head } => {
            eprintln!("{push_to} already has this; nothing pushed");
            outln!("{head}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The policy's verdict on the overlay edits the promotion makes at the target head.
fn check(
    repo: &RepoArgs,
    mirror: &Mirror,
    policy: &Policy,
    promotion: &Promotion,
) -> anyhow::Result<Vec<String>> {
    let git = mirror.repo();
    let Some(head) = mirror.head(&repo.branch)? else {
        anyhow::bail!("branch `{}` does not exist in {}", repo.branch, repo.repo);
    };
    let tree = git.find_commit(head)?.tree()?;
    let Some(prepared) = gitops::Change::prepare(promotion, git, &tree, &tree)? else {
        return Ok(Vec::new());
    };
    let mut changes = Vec::new();
    for write in prepared.writes {
        let old = gitops::tree::read_text(git, &tree, &write.path)?;
        let new = String::from_utf8(write.content).ok();
        changes.push(FileChange {
            path: write.path,
            old,
            new,
        });
    }
    let log = repo.log(mirror, Some(policy))?;
    let requester = Person::new(0, &[]);
    let request = MergeRequest {
        changes: &changes,
        author: &requester,
        approvals: &[],
        source: promotion.source.as_ref(),
    };
    Ok(validate(policy, &request, &log)?
        .into_iter()
        .map(|v| format!("{}:{}: error[{}]: {}", v.file, v.line, v.rule, v.message))
        .collect())
}
