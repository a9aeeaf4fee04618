//! Paths touched by a push, from the commit lists both forges send.

use serde::Deserialize;

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
