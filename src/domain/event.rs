//! Source events: something happened in a source project that may trigger promotions.

use super::source::{CommitSha, GitRef, ProjectPath};

/// A branch was pushed or merged into, or a tag was pushed, in a source project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEvent {
    pub project: ProjectPath,
    pub git_ref: GitRef,
    /// `None` only for events that carry no commit (GitHub `create`).
    pub sha: Option<CommitSha>,
    /// Paths changed by the event, when the payload lists all of them. `None` means unknown
    /// (tags, merges, payloads truncated by the forge): path filters then let the event through,
    /// because missing a deployment is worse than building one too many.
    pub changed_paths: Option<Vec<String>>,
    /// The merge request whose merge caused the event.
    pub merge_request: Option<u64>,
    pub pipeline_id: Option<u64>,
}
