//! GitHub `push` and `create`.

use serde::Deserialize;

use crate::domain::forge_event::Push as PushEvent;
use crate::domain::{ForgeEvent, GitRef};
use crate::events::paths::{CommitFiles, before_sha, changed_paths, pushed_ref};
use crate::events::{EventError, decode};

use super::{Repository, User, sha};

#[derive(Deserialize)]
struct Push {
    #[serde(rename = "ref")]
    git_ref: String,
    before: Option<String>,
    after: String,
    #[serde(default)]
    deleted: bool,
    repository: Repository,
    sender: Option<User>,
    #[serde(default)]
    commits: Vec<CommitFiles>,
    head_commit: Option<HeadCommit>,
}

#[derive(Deserialize)]
struct HeadCommit {
    id: String,
}

#[derive(Deserialize)]
struct Create {
    #[serde(rename = "ref")]
    git_ref: String,
    ref_type: String,
    repository: Repository,
}

/// GitHub truncates `commits` to 20 and gives no total, so 20 listed commits mean the paths
/// may be incomplete.
const GITHUB_COMMIT_LIMIT: usize = 20;

pub(super) fn push(body: &[u8]) -> Result<ForgeEvent, EventError> {
    const KIND: &str = "GitHub push";
    let push: Push = decode(KIND, body)?;
    let git_ref = pushed_ref(KIND, &push.git_ref)?;
    let after = sha(KIND, "after", &push.after)?;
    if push.deleted || after.is_null() {
        return Ok(ForgeEvent::Ignored(format!("{git_ref} was deleted")));
    }
    let before = before_sha(KIND, push.before.as_deref())?;
    let project = push.repository.path(KIND)?;
    let pusher = push.sender.as_ref().map(User::actor);
    Ok(match git_ref {
        GitRef::Branch(name) => {
            let truncated = (push.commits.len() >= GITHUB_COMMIT_LIMIT).then_some(usize::MAX);
            ForgeEvent::BranchPushed(PushEvent {
                project,
                name,
                before,
                sha: after,
                changed_paths: changed_paths(&push.commits, truncated),
                pusher,
            })
        }
        // `after` names the tag object for annotated tags; `head_commit` is the tagged commit.
        GitRef::Tag(name) => ForgeEvent::TagPushed(PushEvent {
            project,
            name,
            before,
            sha: match &push.head_commit {
                Some(head) => sha(KIND, "head_commit.id", &head.id)?,
                None => after,
            },
            changed_paths: None,
            pusher,
        }),
    })
}

pub(super) fn create(body: &[u8]) -> Result<ForgeEvent, EventError> {
    const KIND: &str = "GitHub create";
    let create: Create = decode(KIND, body)?;
    let git_ref = match create.ref_type.as_str() {
        "tag" => GitRef::Tag(create.git_ref),
        "branch" => GitRef::Branch(create.git_ref),
        other => {
            return Err(EventError::bad(
                KIND,
                "ref_type",
                format!("`{other}` is not `tag` or `branch`"),
            ));
        }
    };
    Ok(ForgeEvent::RefCreated {
        project: create.repository.path(KIND)?,
        git_ref,
    })
}
