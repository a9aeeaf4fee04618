//! GitLab `note`: comments. Only comments on merge requests matter to Ferry.

use serde::Deserialize;

use crate::domain::forge_event::Comment;
use crate::domain::{Actor, ForgeEvent, UserId};
use crate::events::{EventError, decode, time};

use super::{MergeRequestRef, Project, User};

const KIND: &str = "GitLab note";

#[derive(Deserialize)]
struct Hook {
    user: Option<User>,
    project: Project,
    object_attributes: Attributes,
    merge_request: Option<MergeRequestRef>,
}

#[derive(Deserialize)]
struct Attributes {
    id: u64,
    note: String,
    noteable_type: String,
    author_id: Option<u64>,
    #[serde(default)]
    system: bool,
    /// `create` or `update`; absent on older GitLab versions, which sent no hook for edits.
    action: Option<String>,
    created_at: Option<String>,
    url: Option<String>,
}

pub(super) fn parse(body: &[u8]) -> Result<ForgeEvent, EventError> {
    let hook: Hook = decode(KIND, body)?;
    let attrs = hook.object_attributes;
    if attrs.noteable_type != "MergeRequest" {
        return Ok(ForgeEvent::Ignored(format!(
            "GitLab comment {} is not on a merge request (noteable_type `{}`)",
            attrs.id, attrs.noteable_type
        )));
    }
    let edited = match attrs.action.as_deref() {
        None | Some("create") => false,
        Some("update") => true,
        Some(other) => {
            return Ok(ForgeEvent::Ignored(format!(
                "GitLab comment {}: action `{other}` is not used by Ferry",
                attrs.id
            )));
        }
    };
    let merge_request = hook
        .merge_request
        .ok_or_else(|| EventError::bad(KIND, "merge_request", "missing on a merge request note"))?;
    // `user` is the author; `author_id` is the fallback for payloads without the user's id.
    let user = hook.user.as_ref();
    let id = user
        .and_then(|u| u.id)
        .or(attrs.author_id)
        .ok_or_else(|| EventError::bad(KIND, "user.id", "the comment has no author id"))?;
    let username = user
        .and_then(|u| u.username.clone())
        .ok_or_else(|| EventError::bad(KIND, "user.username", "the comment has no author"))?;
    Ok(ForgeEvent::CommentCreated(Comment {
        project: hook.project.path(KIND)?,
        merge_request: merge_request.iid,
        note_id: attrs.id,
        author: Actor {
            id: UserId(id),
            username,
        },
        body: attrs.note,
        system: attrs.system,
        edited,
        author_is_bot: false,
        created_at: time::optional(
            KIND,
            "object_attributes.created_at",
            attrs.created_at.as_deref(),
        )?,
        url: attrs.url,
    }))
}
