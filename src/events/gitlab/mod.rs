//! GitLab webhooks: push, tag push, merge request, note (comment) and pipeline.
//!
//! GitLab names the kind twice: the `X-Gitlab-Event` header (`Push Hook`) and the body's
//! `object_kind` (`push`). Both are checked; system hooks (`System Hook`) say the kind only in
//! the body.

mod merge_request;
mod note;
mod pipeline;
mod push;

use serde::Deserialize;

use crate::domain::{Actor, CommitSha, ForgeEvent, ProjectPath, UserId};

use super::{EventError, decode};

#[derive(Deserialize)]
struct Envelope {
    object_kind: Option<String>,
    event_name: Option<String>,
}

/// The `object_kind` a header announces; `None` for system hooks, which say it only in the body.
/// `Err` holds why an unknown header is ignored.
fn expected_kind(header: &str) -> Result<Option<&'static str>, String> {
    Ok(Some(match header {
        "Push Hook" => "push",
        "Tag Push Hook" => "tag_push",
        "Merge Request Hook" => "merge_request",
        "Note Hook" | "Confidential Note Hook" => "note",
        "Pipeline Hook" => "pipeline",
        "System Hook" => return Ok(None),
        other => {
            return Err(format!("GitLab `{other}` events are not used by Ferry"));
        }
    }))
}

pub(super) fn parse(header: &str, body: &[u8]) -> Result<ForgeEvent, EventError> {
    let expected = match expected_kind(header) {
        Ok(expected) => expected,
        Err(reason) => return Ok(ForgeEvent::Ignored(reason)),
    };
    let envelope: Envelope = decode("GitLab", body)?;
    let Some(object_kind) = envelope.object_kind else {
        // System hooks for instance events (`project_create`, `user_add_to_team` ...) carry
        // `event_name` only.
        return match (expected, envelope.event_name) {
            (None, Some(name)) => Ok(ForgeEvent::Ignored(format!(
                "GitLab system `{name}` events are not used by Ferry"
            ))),
            _ => Err(EventError::bad("GitLab", "object_kind", "missing")),
        };
    };
    if let Some(expected) = expected
        && expected != object_kind
    {
        return Err(EventError::KindMismatch {
            header: header.to_owned(),
            object_kind,
        });
    }
    match object_kind.as_str() {
        "push" => push::parse(body, "GitLab push"),
        "tag_push" => push::parse(body, "GitLab tag push"),
        "merge_request" => merge_request::parse(body),
        "note" => note::parse(body),
        "pipeline" => pipeline::parse(body),
        other => Ok(ForgeEvent::Ignored(format!(
            "GitLab `{other}` events are not used by Ferry"
        ))),
    }
}

#[derive(Deserialize)]
struct Project {
    path_with_namespace: String,
}

impl Project {
    fn path(&self, kind: &'static str) -> Result<ProjectPath, EventError> {
        ProjectPath::parse(&self.path_with_namespace)
            .map_err(|e| EventError::bad(kind, "project.path_with_namespace", e))
    }
}

/// The `user` object: who caused the event.
#[derive(Deserialize)]
struct User {
    id: Option<u64>,
    username: Option<String>,
}

impl User {
    fn actor(&self) -> Option<Actor> {
        Some(Actor {
            id: UserId(self.id?),
            username: self.username.clone()?,
        })
    }
}

#[derive(Deserialize)]
struct LastCommit {
    id: String,
}

/// The merge request a note or pipeline belongs to.
#[derive(Deserialize)]
struct MergeRequestRef {
    iid: u64,
}

fn sha(kind: &'static str, field: &'static str, text: &str) -> Result<CommitSha, EventError> {
    CommitSha::parse(text).map_err(|e| EventError::bad(kind, field, e))
}
