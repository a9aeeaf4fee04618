//! Identifiers of merge requests, shared by the forges, the webhook intake and the engine.

use std::fmt;

use serde::Serialize;

/// A merge request's number inside its project: GitLab's `iid` (shown as `!12`), GitHub's pull
/// request `number` (shown as `#12`). Never the forge-wide `id`, which no person ever sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MrIid(pub u64);

impl fmt::Display for MrIid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
