//! GitHub `issue_comment`: pull request conversations are issues to GitHub, so comments on
//! pull requests arrive here, told apart by `issue.pull_request`.

use serde::Deserialize;

use crate::domain::ForgeEvent;
use crate::domain::forge_event::Comment;
use crate::events::{EventError, decode, time};

use super::{Repository, User};

const KIND: &str = "GitHub issue_comment";

#[derive(Deserialize)]
struct Hook {
    action: String,
    repository: Repository,
    issue: Issue,
    comment: CommentBody,
}

#[derive(Deserialize)]
struct Issue {
    number: u64,
    /// Present (an object of links) only when the issue is a pull request.
    pull_request: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct CommentBody {
    id: u64,
    /// `null` for a comment whose text was removed.
    body: Option<String>,
    user: User,
    created_at: Option<String>,
    html_url: Option<String>,
}

pub(super) fn parse(body: &[u8]) -> Result<ForgeEvent, EventError> {
    let hook: Hook = decode(KIND, body)?;
    if hook.issue.pull_request.is_none() {
        return Ok(ForgeEvent::Ignored(format!(
            "comment {} is on issue #{}, not a pull request",
            hook.comment.id, hook.issue.number
        )));
    }
    let edited = match hook.action.as_str() {
        "created" => false,
        "edited" => true,
        other => {
            return Ok(ForgeEvent::Ignored(format!(
                "comment {}: action `{other}` is not used by Ferry",
                hook.comment.id
            )));
        }
    };
    let comment = hook.comment;
    Ok(ForgeEvent::CommentCreated(Comment {
        project: hook.repository.path(KIND)?,
        merge_request: hook.issue.number,
        note_id: comment.id,
        author: comment.user.actor(),
        author_is_bot: comment.user.is_bot(),
        body: comment.body.unwrap_or_default(),
        system: false,
        edited,
        created_at: time::optional(KIND, "comment.created_at", comment.created_at.as_deref())?,
        url: comment.html_url,
    }))
}
