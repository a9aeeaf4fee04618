//! GitLab `merge_request`: opened, updated, merged, closed, and individual approvals.

use serde::Deserialize;

use crate::domain::forge_event::{MergeRequest, MergeRequestMerge, Review, ReviewState};
use crate::domain::{ForgeEvent, UserId};
use crate::events::{EventError, decode};

use super::{LastCommit, Project, User, sha};

const KIND: &str = "GitLab merge request";

#[derive(Deserialize)]
struct Hook {
    user: Option<User>,
    project: Project,
    object_attributes: Attributes,
}

#[derive(Deserialize)]
struct Attributes {
    iid: u64,
    action: Option<String>,
    state: Option<String>,
    #[serde(default)]
    title: String,
    source_branch: String,
    target_branch: String,
    author_id: Option<u64>,
    last_commit: Option<LastCommit>,
    /// Present on `update` only when new commits were pushed.
    oldrev: Option<String>,
    merge_commit_sha: Option<String>,
    squash_commit_sha: Option<String>,
    draft: Option<bool>,
    work_in_progress: Option<bool>,
    url: Option<String>,
}

pub(super) fn parse(body: &[u8]) -> Result<ForgeEvent, EventError> {
    let hook: Hook = decode(KIND, body)?;
    let attrs = &hook.object_attributes;
    let actor = hook.user.as_ref().and_then(User::actor);
    let merge_request = MergeRequest {
        project: hook.project.path(KIND)?,
        number: attrs.iid,
        title: attrs.title.clone(),
        source_branch: attrs.source_branch.clone(),
        target_branch: attrs.target_branch.clone(),
        head_sha: match &attrs.last_commit {
            Some(commit) => Some(sha(KIND, "object_attributes.last_commit.id", &commit.id)?),
            None => None,
        },
        author_id: attrs.author_id.map(UserId),
        actor: actor.clone(),
        draft: attrs.draft.or(attrs.work_in_progress).unwrap_or(false),
        url: attrs.url.clone(),
    };
    let ignored = |what: &str| {
        Ok(ForgeEvent::Ignored(format!(
            "merge request !{}: {what}",
            attrs.iid
        )))
    };
    let review = |state| match &actor {
        Some(reviewer) => Ok(ForgeEvent::ReviewSubmitted(Review {
            project: merge_request.project.clone(),
            merge_request: attrs.iid,
            reviewer: reviewer.clone(),
            state,
            head_sha: merge_request.head_sha.clone(),
        })),
        None => Err(EventError::bad(
            KIND,
            "user",
            "an approval without its user",
        )),
    };
    // Older GitLab versions and some system hooks send no action: the state tells a merge.
    let action = attrs
        .action
        .as_deref()
        .unwrap_or(match attrs.state.as_deref() {
            Some("merged") => "merge",
            _ => "",
        });
    match action {
        "open" | "reopen" => Ok(ForgeEvent::MrOpened(merge_request)),
        "update" if attrs.oldrev.is_some() => Ok(ForgeEvent::MrUpdated(merge_request)),
        "update" => ignored("updated without new commits"),
        "close" => Ok(ForgeEvent::MrClosed(merge_request)),
        "merge" => merged(merge_request, attrs, actor),
        "approval" => review(ReviewState::Approved),
        "unapproval" => review(ReviewState::Unapproved),
        // `approved`/`unapproved` report the rule-wide state; Ferry counts approvals itself
        // from the individual `approval`/`unapproval` events.
        "approved" | "unapproved" => ignored("overall approval state changed"),
        "" => ignored("no action"),
        other => ignored(&format!("action `{other}` is not used by Ferry")),
    }
}

fn merged(
    merge_request: MergeRequest,
    attrs: &Attributes,
    merged_by: Option<crate::domain::Actor>,
) -> Result<ForgeEvent, EventError> {
    // Fast-forward merges have no merge commit; the source branch's last commit lands as is.
    let (field, text) = if let Some(sha) = &attrs.merge_commit_sha {
        ("object_attributes.merge_commit_sha", sha)
    } else if let Some(sha) = &attrs.squash_commit_sha {
        ("object_attributes.squash_commit_sha", sha)
    } else if let Some(commit) = &attrs.last_commit {
        ("object_attributes.last_commit.id", &commit.id)
    } else {
        return Err(EventError::bad(
            KIND,
            "object_attributes.merge_commit_sha",
            "no commit SHA",
        ));
    };
    Ok(ForgeEvent::MrMerged(MergeRequestMerge {
        merge_sha: sha(KIND, field, text)?,
        merge_request,
        merged_by,
    }))
}
