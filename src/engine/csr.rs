//! Flow 8: cluster client certificates by merge request (see docs/csr.md).
//!
//! A merge request that adds or changes `csr/<username>.csr` (or `csr/<username>.yaml`) gets
//! a `ferry/csr` status and a CSR section in its one status comment, refreshed with the rest
//! by `gate::refresh`. Nothing is signed before the merge. Once someone other than the author
//! merges it, one commit on the target branch adds, per requested cluster, the certificate, a
//! kubeconfig and a ledger line (`change`); a refusal is reported in the same comment.

mod change;
mod check;
mod renew;
mod repo;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use crate::csr::ca::CaKeySource;
use crate::csr::merge::Refusal;
use crate::domain::forge_event::MergeRequestMerge;
use crate::domain::{ForgeEvent, MrIid};
use crate::forge::{
    ChangedFile, CommitStatus, FileChange, MergeRequest, StatusState, upsert_own_comment,
};
use crate::gitops::{self, Outcome, Retry};

use super::messages::{self, csr::CSR_CONTEXT, csr::Signing};
use super::{Engine, EngineError};

/// Where the CA private keys come from, per cluster of `policies/csr.yaml`. The keys are
/// read only when a merged request is signed, held in redacted types, and never logged.
#[derive(Debug, Clone, Default)]
pub struct CsrSettings {
    pub ca_keys: BTreeMap<String, CaKeySource>,
    /// Certificates ending within this window get a renewal merge request; `None`: no
    /// renewals.
    pub renew_within: Option<crate::csr::duration::Ttl>,
}

impl Engine {
    /// Opens the renewal merge requests now due (see `csr/renew.rs`); nothing without a
    /// renewal window.
    pub async fn renew_certificates(
        &self,
        now: time::OffsetDateTime,
    ) -> Result<Vec<MrIid>, EngineError> {
        match self.config.csr.renew_within {
            Some(within) => renew::renew_expiring(self, within, now).await,
            None => Ok(Vec::new()),
        }
    }
}

/// The username a request path is for: `csr/<username>.csr` or `csr/<username>.yaml`.
pub(super) fn request_user(path: &str) -> Option<&str> {
    let name = path.strip_prefix("csr/")?;
    let user = name
        .strip_suffix(".csr")
        .or_else(|| name.strip_suffix(".yaml"))?;
    (!user.is_empty() && !user.contains('/')).then_some(user)
}

/// Paths the certificate flow checks, so the promotion policy does not call them stray.
pub(super) fn is_request_path(path: &str) -> bool {
    request_user(path).is_some()
}

fn request_users(files: &[ChangedFile]) -> Vec<String> {
    files
        .iter()
        .filter(|file| file.change != FileChange::Deleted)
        .filter_map(|file| request_user(&file.path).map(str::to_owned))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Learns usernames from verified webhooks: the forge API names a merge request's author by
/// id only, and CSRs are named by username.
pub(super) fn remember_actors(engine: &Engine, event: &ForgeEvent) -> Result<(), EngineError> {
    let actors = match event {
        ForgeEvent::MrOpened(mr) | ForgeEvent::MrUpdated(mr) | ForgeEvent::MrClosed(mr) => {
            vec![mr.actor.as_ref()]
        }
        ForgeEvent::MrMerged(merge) => {
            vec![merge.merge_request.actor.as_ref(), merge.merged_by.as_ref()]
        }
        ForgeEvent::CommentCreated(comment) => vec![Some(&comment.author)],
        ForgeEvent::ReviewSubmitted(review) => vec![Some(&review.reviewer)],
        _ => Vec::new(),
    };
    for actor in actors.into_iter().flatten() {
        engine.state.remember_username(actor.id, &actor.username)?;
    }
    Ok(())
}

/// The CSR section of an open merge request's status comment, after setting its `ferry/csr`
/// status; `None` when the merge request carries no certificate request.
pub(super) async fn review(
    engine: &Engine,
    mr: &MergeRequest,
) -> Result<Option<String>, EngineError> {
    let project = &engine.config.gitops_project;
    let files = engine.forge.changed_files(project, mr.iid).await?;
    let usernames = request_users(&files);
    if usernames.is_empty() {
        return Ok(None);
    }
    let inputs = check::Inputs {
        target: mr.target_branch.clone(),
        source: mr.source_branch.clone(),
        head: mr.head_sha.as_ref().map(ToString::to_string),
        usernames,
        author: renew::requester(engine, mr).await?,
        ca_keys: engine.config.csr.ca_keys.clone(),
    };
    let review = engine
        .with_mirror(move |mirror| check::review(mirror, &inputs))
        .await?;
    if let Some(sha) = &mr.head_sha {
        let status = CommitStatus {
            context: CSR_CONTEXT.to_owned(),
            state: if review.accepted() {
                StatusState::Success
            } else {
                StatusState::Failed
            },
            description: Some(messages::csr::review_description(&review)),
            target_url: Some(mr.web_url.clone()),
        };
        engine
            .forge
            .set_commit_status(project, mr.iid, sha, &status)
            .await?;
    }
    Ok(Some(messages::csr::review_section(&review)))
}

/// Signs the certificates of a merged CSR merge request, or says why not, in its comment.
pub(super) async fn on_merged(
    engine: &Engine,
    merge: &MergeRequestMerge,
) -> Result<(), EngineError> {
    let project = engine.config.gitops_project.clone();
    let iid = MrIid(merge.merge_request.number);
    let files = engine.forge.changed_files(&project, iid).await?;
    let usernames = request_users(&files);
    let Some(username) = usernames.first().cloned() else {
        return Ok(());
    };
    let mr = engine.forge.merge_request(&project, iid).await?;
    let author = renew::requester(engine, &mr).await?;
    let refusal = match (&merge.merged_by, &author) {
        _ if usernames.len() > 1 => Some(
            "the merge request carries the CSRs of several people; each must come in its own merge request".to_owned(),
        ),
        (None, _) => Some("the forge did not say who merged the merge request".to_owned()),
        // Ids, not names, decide who merged: names can change hands.
        (Some(merger), _) if merger.id == mr.author => {
            Some(Refusal::SelfMerge(merger.username.clone()).to_string())
        }
        (_, None) => Some(
            "Ferry does not know the username of the merge request's author (it learns usernames from webhooks)".to_owned(),
        ),
        _ => None,
    };
    let signing = match (refusal, &merge.merged_by, author) {
        (Some(why), _, _) => Signing::Refused(why),
        (None, Some(merger), Some(author)) => {
            let change = change::CertificateChange {
                merge_request: engine.merge_request_ref(iid),
                merge_sha: git2::Oid::from_str(merge.merge_sha.as_str()).map_err(|err| {
                    EngineError::Other(format!("the merge commit id is not a SHA: {err}"))
                })?,
                target_branch: mr.target_branch.clone(),
                username,
                author,
                merged_by: merger.username.clone(),
                ca_keys: engine.config.csr.ca_keys.clone(),
                now: time::OffsetDateTime::now_utc(),
                outcome: RefCell::new(None),
            };
            let settings = engine.config.commit.clone();
            let target = mr.target_branch.clone();
            engine
                .with_mirror(move |mirror| {
                    let outcome = gitops::land(
                        mirror,
                        &settings,
                        &Retry::default(),
                        &target,
                        &target,
                        &change,
                    )?;
                    let decided = change.outcome.take();
                    Ok(match (outcome, decided) {
                        (
                            Outcome::Landed { commit, .. },
                            Some(Signing::Issued { certificates, .. }),
                        ) => Signing::Issued {
                            commit: commit.to_string(),
                            certificates,
                        },
                        (_, Some(decided)) => decided,
                        (_, None) => Signing::Already(Vec::new()),
                    })
                })
                .await?
        }
        (None, _, _) => Signing::Refused("the merge cannot be attributed".to_owned()),
    };
    match &signing {
        Signing::Issued {
            commit,
            certificates,
        } => tracing::info!(
            mr = iid.0,
            %commit,
            certificates = certificates.len(),
            "certificates issued"
        ),
        Signing::Already(_) => tracing::info!(mr = iid.0, "certificates already issued"),
        Signing::Refused(why) => tracing::info!(mr = iid.0, %why, "nothing signed"),
    }
    let section = messages::csr::merged_section(&signing);
    engine.state.set_csr_outcome(&project, iid, &section)?;
    let answer = engine.state.answer(&project, iid)?;
    let body = messages::status_comment(&section, None, answer.as_deref());
    upsert_own_comment(
        engine.forge.as_ref(),
        &project,
        iid,
        messages::STATUS_COMMENT,
        &body,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths_name_one_user() {
        assert_eq!(request_user("csr/alice.csr"), Some("alice"));
        assert_eq!(request_user("csr/alice.yaml"), Some("alice"));
        assert_eq!(request_user("csr/.csr"), None);
        assert_eq!(request_user("csr/team/alice.csr"), None);
        assert_eq!(request_user("csr/alice.key"), None);
        assert_eq!(request_user("certs/integration/alice.crt"), None);
        assert!(!is_request_path("csr/README.md"));
    }
}
