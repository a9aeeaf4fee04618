//! GitHub `pull_request` and `pull_request_review`.

use serde::Deserialize;

use crate::domain::ForgeEvent;
use crate::domain::forge_event::{MergeRequest, MergeRequestMerge, Review, ReviewState};
use crate::events::{EventError, decode};

use super::{Repository, User, sha};

#[derive(Deserialize)]
struct PullRequestHook {
    action: String,
    repository: Repository,
    pull_request: PullRequest,
    sender: Option<User>,
}

#[derive(Deserialize)]
struct PullRequest {
    number: u64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    merged: bool,
    merge_commit_sha: Option<String>,
    merged_by: Option<User>,
    user: Option<User>,
    head: Branch,
    base: Branch,
    #[serde(default)]
    draft: bool,
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct Branch {
    #[serde(rename = "ref")]
    git_ref: String,
    sha: Option<String>,
}

#[derive(Deserialize)]
struct ReviewHook {
    action: String,
    repository: Repository,
    pull_request: PullRequest,
    review: ReviewBody,
}

#[derive(Deserialize)]
struct ReviewBody {
    user: User,
    state: String,
    commit_id: Option<String>,
}

fn merge_request(
    kind: &'static str,
    repository: &Repository,
    pr: &PullRequest,
    sender: Option<&User>,
) -> Result<MergeRequest, EventError> {
    Ok(MergeRequest {
        project: repository.path(kind)?,
        number: pr.number,
        title: pr.title.clone(),
        source_branch: pr.head.git_ref.clone(),
        target_branch: pr.base.git_ref.clone(),
        head_sha: match &pr.head.sha {
            Some(head) => Some(sha(kind, "pull_request.head.sha", head)?),
            None => None,
        },
        author_id: pr.user.as_ref().map(|u| u.actor().id),
        actor: sender.map(User::actor),
        draft: pr.draft,
        url: pr.html_url.clone(),
    })
}

pub(super) fn pull_request(body: &[u8]) -> Result<ForgeEvent, EventError> {
    const KIND: &str = "GitHub pull_request";
    let hook: PullRequestHook = decode(KIND, body)?;
    let pr = &hook.pull_request;
    let mr = merge_request(KIND, &hook.repository, pr, hook.sender.as_ref())?;
    match hook.action.as_str() {
        "opened" | "reopened" => Ok(ForgeEvent::MrOpened(mr)),
        "synchronize" => Ok(ForgeEvent::MrUpdated(mr)),
        "closed" if pr.merged => {
            let merge_sha = pr.merge_commit_sha.as_deref().ok_or_else(|| {
                EventError::bad(
                    KIND,
                    "pull_request.merge_commit_sha",
                    "missing on a merged pull request",
                )
            })?;
            Ok(ForgeEvent::MrMerged(MergeRequestMerge {
                merge_sha: sha(KIND, "pull_request.merge_commit_sha", merge_sha)?,
                merged_by: pr.merged_by.as_ref().map(User::actor),
                merge_request: mr,
            }))
        }
        "closed" => Ok(ForgeEvent::MrClosed(mr)),
        other => Ok(ForgeEvent::Ignored(format!(
            "pull request #{}: action `{other}` is not used by Ferry",
            pr.number
        ))),
    }
}

pub(super) fn review(body: &[u8]) -> Result<ForgeEvent, EventError> {
    const KIND: &str = "GitHub pull_request_review";
    let hook: ReviewHook = decode(KIND, body)?;
    let number = hook.pull_request.number;
    // Webhooks write the state in lowercase, the REST API in uppercase: accept both.
    let review_state = hook.review.state.to_ascii_lowercase();
    let state = match (hook.action.as_str(), review_state.as_str()) {
        ("dismissed", _) => ReviewState::Dismissed,
        ("submitted", "approved") => ReviewState::Approved,
        ("submitted", "changes_requested") => ReviewState::ChangesRequested,
        ("submitted", "commented") => ReviewState::Commented,
        ("submitted", other) => {
            return Err(EventError::bad(
                KIND,
                "review.state",
                format!("`{other}` is not approved, changes_requested or commented"),
            ));
        }
        (other, _) => {
            return Ok(ForgeEvent::Ignored(format!(
                "review on pull request #{number}: action `{other}` is not used by Ferry"
            )));
        }
    };
    Ok(ForgeEvent::ReviewSubmitted(Review {
        project: hook.repository.path(KIND)?,
        merge_request: number,
        reviewer: hook.review.user.actor(),
        state,
        head_sha: match &hook.review.commit_id {
            Some(commit) => Some(sha(KIND, "review.commit_id", commit)?),
            None => None,
        },
    }))
}
