//! The GitOps repository engine: every change Ferry makes is a commit built here with git2,
//! in a persistent bare mirror, and pushed as a compare-and-swap; its history is the audit
//! trail (see docs/gitops.md).
//!
//! All of it is blocking (libgit2 is): async callers run it with `spawn_blocking`.

pub mod audit;
pub mod commit;
pub mod error;
mod history;
pub mod land;
pub mod log;
pub mod mirror;
mod objects;
mod overlay_diff;
pub mod promotion;
pub mod push;
pub mod remote;
mod staging;
pub mod trailers;
pub mod tree;
pub mod tuning;

pub use audit::{AuditRecord, OverlayMap};
pub use commit::{CommitSettings, Identity};
pub use error::GitOpsError;
pub use land::{Change, Outcome, Prepared, Retry, land};
pub use log::AuditLog;
pub use mirror::Mirror;
pub use promotion::{OverlayChange, Promotion};
pub use remote::{Auth, Remote};
pub use trailers::{Action, Trailers};

use crate::domain::ImageRef;
use crate::policy::Policy;

/// Where the policy lives in the GitOps repository.
pub const POLICY_FILE: &str = "policies/promotion.yaml";

/// The promotion policy as the head of `branch` has it. Ferry reads policy from the
/// protected target branch, never from a branch under review.
pub fn policy_at(mirror: &Mirror, branch: &str) -> Result<Policy, GitOpsError> {
    let repo = mirror.repo();
    let head = mirror.head(branch)?.ok_or_else(|| GitOpsError::NoBranch {
        branch: branch.to_owned(),
        remote: mirror.remote().display_url(),
    })?;
    let tree = repo
        .find_commit(head)
        .and_then(|commit| commit.tree())
        .map_err(GitOpsError::git(format!(
            "cannot read the head of `{branch}`"
        )))?;
    let text = tree::read_text(repo, &tree, POLICY_FILE)?.ok_or_else(|| {
        GitOpsError::Invalid(format!(
            "`{branch}` has no {POLICY_FILE}; add one (see docs/policy.md) or pass `--policy DIR`"
        ))
    })?;
    crate::policy::parse(&format!("{branch}:{POLICY_FILE}"), &text).map_err(|diagnostics| {
        GitOpsError::Invalid(
            diagnostics
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })
}

/// The image `change`'s service runs in its environment at the head of `branch`.
pub fn current_image(
    mirror: &Mirror,
    branch: &str,
    change: &OverlayChange,
) -> Result<Option<String>, GitOpsError> {
    let repo = mirror.repo();
    let Some(head) = mirror.head(branch)? else {
        return Ok(None);
    };
    let tree = repo
        .find_commit(head)
        .and_then(|commit| commit.tree())
        .map_err(GitOpsError::git(format!(
            "cannot read the head of `{branch}`"
        )))?;
    promotion::current_image(repo, &tree, &change.overlay, &change.image_name)
}

/// A rollback of `service` in `environment` to the image before the current one (or to the
/// version `to`), carrying the provenance of the promotion that first brought that image.
pub fn rollback(
    mirror: &Mirror,
    policy: &Policy,
    log: &AuditLog,
    branch: &str,
    service: &str,
    environment: &str,
    to: Option<&str>,
) -> Result<Promotion, GitOpsError> {
    // The overlay coordinates come from the policy; the image is a placeholder until history
    // says which one to go back to.
    let placeholder = ImageRef::parse("ferry.invalid/rollback:placeholder")
        .map_err(|err| GitOpsError::Invalid(err.to_string()))?;
    let probe = OverlayChange::from_policy(policy, service, environment, placeholder)?;
    let current = current_image(mirror, branch, &probe)?.ok_or_else(|| {
        GitOpsError::Invalid(format!(
            "{service} runs no image in {environment} on `{branch}`; there is nothing to roll back"
        ))
    })?;
    let record = log.rollback_target(environment, service, &current, to)?;
    let image = ImageRef::parse(&record.image).map_err(|err| {
        GitOpsError::Invalid(format!(
            "history names `{}`, which is not an image: {err}",
            record.image
        ))
    })?;
    let mut promotion = Promotion::new(vec![OverlayChange { image, ..probe }]);
    promotion.action = Action::Rollback;
    promotion.source = record
        .source
        .as_ref()
        .and_then(trailers::SourceTrailer::to_source);
    Ok(promotion)
}
