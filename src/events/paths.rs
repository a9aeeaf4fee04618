//! What both forges' push payloads share: the ref, `before`, and the commit lists.

use serde::Deserialize;

use crate::domain::{CommitSha, GitRef};

use super::EventError;

/// The files one commit touched: the same three lists in GitLab and GitHub push payloads.
#[derive(Deserialize)]
pub(crate) struct CommitFiles {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

/// The paths touched by a list of commits, or `None` when the forge truncated the list
/// (both forges send at most 20 commits) and the set may be incomplete.
pub(crate) fn changed_paths(commits: &[CommitFiles], total: Option<usize>) -> Option<Vec<String>> {
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

/// The branch or tag a push's full `ref` names.
pub(crate) fn pushed_ref(kind: &'static str, full_name: &str) -> Result<GitRef, EventError> {
    GitRef::from_full_name(full_name).ok_or_else(|| {
        EventError::bad(kind, "ref", format!("`{full_name}` is not a branch or tag"))
    })
}

/// A push's `before`: `None` when absent or all zeros (the ref is new).
pub(crate) fn before_sha(
    kind: &'static str,
    before: Option<&str>,
) -> Result<Option<CommitSha>, EventError> {
    match before {
        Some(text) => Ok(Some(
            CommitSha::parse(text).map_err(|e| EventError::bad(kind, "before", e))?,
        )
        .filter(|sha| !sha.is_null())),
        None => Ok(None),
    }
}
