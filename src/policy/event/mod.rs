//! Source events from forge webhook payloads, for `ferry plan`. Only the few fields Ferry
//! needs are read, into small structs of our own that ignore every other field, so new
//! fields and actions the forges add do not break parsing.

mod github;
mod gitlab;

use thiserror::Error;

use crate::domain::SourceEvent;

/// What a payload means for promotions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Event(SourceEvent),
    /// A payload of a known kind that promotes nothing (a deleted branch, an opened merge
    /// request, ...), and why.
    Ignored(String),
}

#[derive(Debug, Error)]
pub enum EventError {
    #[error("the payload is not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error(
        "the payload is not a GitLab push, tag push or merge request event, nor a GitHub push, create or pull_request event: {0}"
    )]
    UnknownShape(String),
    #[error("the {kind} payload is missing or has a bad `{field}`: {detail}")]
    BadField {
        kind: &'static str,
        field: &'static str,
        detail: String,
    },
}

/// Parses a webhook payload, telling GitLab and GitHub apart by its shape: GitLab payloads
/// carry `object_kind`, GitHub's do not.
pub fn parse(json: &str) -> Result<Parsed, EventError> {
    let value: serde_json::Value = serde_json::from_str(json)?;
    let Some(object) = value.as_object() else {
        return Err(EventError::UnknownShape("it is not a JSON object".into()));
    };
    if object.contains_key("object_kind") {
        gitlab::parse(value)
    } else if object.contains_key("pull_request") {
        github::pull_request(value)
    } else if object.contains_key("ref_type") {
        github::create(value)
    } else if object.contains_key("ref") && object.contains_key("after") {
        github::push(value)
    } else {
        Err(EventError::UnknownShape(
            "it has none of `object_kind`, `pull_request`, `ref_type`, or `ref` with `after`"
                .into(),
        ))
    }
}

fn bad(kind: &'static str, field: &'static str, detail: impl ToString) -> EventError {
    EventError::BadField {
        kind,
        field,
        detail: detail.to_string(),
    }
}

/// The branch or tag a push's `ref` (`refs/heads/...`, `refs/tags/...`) names.
fn pushed_ref(kind: &'static str, full_name: &str) -> Result<crate::domain::GitRef, EventError> {
    crate::domain::GitRef::from_full_name(full_name)
        .ok_or_else(|| bad(kind, "ref", format!("`{full_name}` is not a branch or tag")))
}

/// The files one commit touched: the same three lists in GitLab and GitHub push payloads.
#[derive(serde::Deserialize)]
struct CommitFiles {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

/// The paths touched by a list of commits, or `None` when the forge truncated the list
/// (both forges send at most 20 commits) and the set may be incomplete.
fn changed_paths(commits: &[CommitFiles], total: Option<usize>) -> Option<Vec<String>> {
    if total.is_some_and(|total| total > commits.len()) || commits.is_empty() {
        return None;
    }
    let mut paths: Vec<String> = commits
        .iter()
        .flat_map(|c| c.added.iter().chain(&c.modified).chain(&c.removed))
        .cloned()
        .collect();
    paths.sort();
    paths.dedup();
    Some(paths)
}
