//! GitLab `push` and `tag_push`: one shape for both.

use serde::Deserialize;

use crate::domain::forge_event::Push as PushEvent;
use crate::domain::{Actor, ForgeEvent, GitRef, UserId};
use crate::events::paths::{CommitFiles, before_sha, changed_paths, pushed_ref};
use crate::events::{EventError, decode};

use super::{Project, sha};

#[derive(Deserialize)]
struct Push {
    #[serde(rename = "ref")]
    git_ref: String,
    before: Option<String>,
    after: String,
    checkout_sha: Option<String>,
    user_id: Option<u64>,
    user_username: Option<String>,
    project: Project,
    #[serde(default)]
    commits: Vec<CommitFiles>,
    total_commits_count: Option<usize>,
}

pub(super) fn parse(body: &[u8], kind: &'static str) -> Result<ForgeEvent, EventError> {
    let push: Push = decode(kind, body)?;
    let git_ref = pushed_ref(kind, &push.git_ref)?;
    let after = sha(kind, "after", &push.after)?;
    if after.is_null() {
        return Ok(ForgeEvent::Ignored(format!("{git_ref} was deleted")));
    }
    // For annotated tags `after` is the tag object; `checkout_sha` is the commit.
    let commit = match &push.checkout_sha {
        Some(checkout) => sha(kind, "checkout_sha", checkout)?,
        None => after,
    };
    let before = before_sha(kind, push.before.as_deref())?;
    let pusher = match (push.user_id, push.user_username) {
        (Some(id), Some(username)) => Some(Actor {
            id: UserId(id),
            username,
        }),
        _ => None,
    };
    let project = push.project.path(kind)?;
    Ok(match git_ref {
        GitRef::Branch(name) => ForgeEvent::BranchPushed(PushEvent {
            project,
            name,
            before,
            sha: commit,
            changed_paths: changed_paths(&push.commits, push.total_commits_count),
            pusher,
        }),
        GitRef::Tag(name) => ForgeEvent::TagPushed(PushEvent {
            project,
            name,
            before,
            sha: commit,
            changed_paths: None,
            pusher,
        }),
    })
}
