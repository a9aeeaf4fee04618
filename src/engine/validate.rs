//! Flow 6: every merge request of the GitOps repository, by people or by Ferry, is checked
//! against the policy of its target branch.

use crate::domain::forge_event;
use crate::forge::{FileChange as Forgechange, MergeRequest};
use crate::gitops::{self, AuditLog, OverlayMap, Trailers};
use crate::policy::Policy;
use crate::policy::principal::Person;
use crate::policy::validate::{FileChange, MergeRequest as Request, Violation, validate};

use super::gate::{self, person};
use super::{Engine, EngineError};

pub(super) async fn on_merge_request(
    engine: &Engine,
    mr: &forge_event::MergeRequest,
) -> Result<(), EngineError> {
    gate::refresh(engine, super::promote::iid(mr.number), None).await
}

/// What the checks found on a merge request's current head.
pub(super) struct Review {
    pub policy: Policy,
    pub violations: Vec<Violation>,
    /// The audit trailers of the head commit, for Ferry's promotion branches.
    pub promotion: Option<Trailers>,
    /// A promotion branch that does not contain the target head (the target moved on).
    pub head_behind: bool,
}

pub(super) async fn review(engine: &Engine, mr: &MergeRequest) -> Result<Review, EngineError> {
    let project = &engine.config.gitops_project;
    let files = engine.forge.changed_files(project, mr.iid).await?;
    let approvals = engine.forge.approvals(project, mr.iid).await?;
    let target = mr.target_branch.clone();
    let source = mr.source_branch.clone();
    let head = mr.head_sha.as_ref().map(ToString::to_string);
    // The policy owners' groups decide who counts for `policies/` changes: resolve the
    // people involved against them before the (blocking) git work.
    let owners = engine
        .with_mirror({
            let target = target.clone();
            move |mirror| Ok(gitops::policy_at(mirror, &target)?.gitops.policy_owners)
        })
        .await?;
    let author = person(engine, mr.author, &owners).await?;
    let mut approvers = Vec::new();
    for approval in approvals {
        approvers.push(person(engine, approval.user, &owners).await?);
    }
    let paths: Vec<(String, Option<String>, bool)> = files
        .into_iter()
        .filter(|file| !super::csr::is_request_path(&file.path)) // checked as `ferry/csr`
        .map(|file| {
            let deleted = file.change == Forgechange::Deleted;
            (file.path, file.previous_path, deleted)
        })
        .collect();
    engine
        .with_mirror(move |mirror| {
            check(
                mirror,
                &target,
                &source,
                head.as_deref(),
                &paths,
                &author,
                &approvers,
            )
        })
        .await
}

fn check(
    mirror: &gitops::Mirror,
    target: &str,
    source: &str,
    head: Option<&str>,
    paths: &[(String, Option<String>, bool)],
    author: &Person,
    approvals: &[Person],
) -> Result<Review, gitops::GitOpsError> {
    let policy = gitops::policy_at(mirror, target)?;
    let repo = mirror.repo();
    let git = |e: git2::Error| {
        gitops::GitOpsError::Invalid(format!("cannot read the merge request's commits: {e}"))
    };
    let target_head = mirror
        .head(target)?
        .ok_or_else(|| gitops::GitOpsError::NoBranch {
            branch: target.to_owned(),
            remote: mirror.remote().display_url(),
        })?;
    let source_head = match head.and_then(|h| git2::Oid::from_str(h).ok()) {
        Some(oid) if repo.find_commit(oid).is_ok() => oid,
        _ => mirror.head(source)?.ok_or_else(|| {
            gitops::GitOpsError::Invalid(format!("the source branch `{source}` is not in the repository (merge requests from forks are not checked)"))
        })?,
    };
    let base = repo.merge_base(target_head, source_head).map_err(git)?;
    let base_tree = repo.find_commit(base).and_then(|c| c.tree()).map_err(git)?;
    let head_commit = repo.find_commit(source_head).map_err(git)?;
    let head_tree = head_commit.tree().map_err(git)?;
    let mut changes = Vec::new();
    for (path, previous, deleted) in paths {
        let old_path = previous.as_deref().unwrap_or(path);
        changes.push(FileChange {
            path: path.clone(),
            old: gitops::tree::read_text(repo, &base_tree, old_path)?,
            new: if *deleted {
                None
            } else {
                gitops::tree::read_text(repo, &head_tree, path)?
            },
        });
    }
    let promotion = source
        .starts_with("ferry/")
        .then(|| Trailers::parse(&String::from_utf8_lossy(head_commit.message_bytes())))
        .flatten();
    let declared = promotion.as_ref().and_then(super::promote::source_of);
    let log = AuditLog::load(mirror, target, &OverlayMap::from_policy(&policy))?;
    let request = Request {
        changes: &changes,
        author,
        approvals,
        source: declared.as_ref(),
    };
    let mut violations = validate(&policy, &request, &log)
        .map_err(|e| gitops::GitOpsError::Invalid(e.to_string()))?;
    // A rollback returns to an image that already ran in that very environment: where it
    // was built before that is settled history, not a question for this merge request.
    if let Some(rollback) = promotion
        .as_ref()
        .filter(|t| t.action == gitops::Action::Rollback)
    {
        let ran_here = |change: &gitops::trailers::ChangeTrailers| {
            log.filter(Some(&change.environment), Some(&change.service), None, None)
                .any(|record| record.image == change.image)
        };
        if rollback.changes.iter().all(ran_here) {
            violations.retain(|v| !v.rule.starts_with("provenance-"));
        }
    }
    let head_behind = promotion.is_some() && base != target_head;
    Ok(Review {
        policy,
        violations,
        promotion,
        head_behind,
    })
}
