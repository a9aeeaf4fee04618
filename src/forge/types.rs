//! What the engine sends to and reads from a forge, in words that fit both GitLab and GitHub.

use std::fmt;

use serde::Serialize;

use crate::domain::{CommitSha, MrIid, UserId};

/// A comment's id on its forge (GitLab note id, GitHub issue comment id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CommentId(pub u64);

impl fmt::Display for CommentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which forge an adapter talks to: the one forge enum of the domain, under the name the
/// adapters use (`Forge` is their trait).
pub use crate::domain::Forge as ForgeKind;

/// A forge account as the forge reports it. Decisions use `id`; `username` is for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrState {
    Open,
    Closed,
    Merged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRequest {
    pub iid: MrIid,
    pub title: String,
    pub body: String,
    pub state: MrState,
    pub source_branch: String,
    pub target_branch: String,
    /// `None` only while the forge has not computed it yet (a GitLab MR just created).
    pub head_sha: Option<CommitSha>,
    pub labels: Vec<String>,
    pub author: UserId,
    pub web_url: String,
}

/// A merge request to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMergeRequest {
    pub source_branch: String,
    pub target_branch: String,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
}

/// Fields to change on a merge request; `None` leaves a field as it is. `labels` replaces the
/// whole set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MrUpdate {
    pub title: Option<String>,
    pub body: Option<String>,
    pub labels: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChange {
    Added,
    Modified,
    Deleted,
    Renamed,
}

/// One file a merge request touches. `previous_path` is set for renames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    pub path: String,
    pub previous_path: Option<String>,
    pub change: FileChange,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: CommentId,
    pub author: UserId,
    pub body: String,
}

/// The reactions Ferry uses to acknowledge commands; both forges know each of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    ThumbsUp,
    ThumbsDown,
    Eyes,
    Rocket,
    Confused,
}

impl Reaction {
    /// GitLab award emoji name.
    pub fn gitlab_name(self) -> &'static str {
        match self {
            Self::ThumbsUp => "thumbsup",
            Self::ThumbsDown => "thumbsdown",
            Self::Eyes => "eyes",
            Self::Rocket => "rocket",
            Self::Confused => "confused",
        }
    }

    /// GitHub reaction `content`.
    pub fn github_content(self) -> &'static str {
        match self {
            Self::ThumbsUp => "+1",
            Self::ThumbsDown => "-1",
            Self::Eyes => "eyes",
            Self::Rocket => "rocket",
            Self::Confused => "confused",
        }
    }
}

/// An approval that currently counts on the forge. `commit` is the head the approver saw when
/// the forge reports it (GitHub reviews do, GitLab approvals do not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub user: UserId,
    pub username: String,
    pub commit: Option<CommitSha>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeOptions {
    /// The head the decision was made on: the forge refuses to merge anything else.
    pub sha: CommitSha,
    /// GitLab: let GitLab merge once the pipeline passes. GitHub has no REST call for
    /// auto-merge, so the GitHub adapter merges at once and the engine calls when checks pass.
    pub when_pipeline_succeeds: bool,
    pub commit_message: Option<String>,
    pub remove_source_branch: bool,
}

/// What a merge attempt came to. The three ways a merge does not happen are distinct because
/// the engine answers them differently (report, re-evaluate on the new head, wait).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    Merged {
        merge_commit: Option<CommitSha>,
    },
    /// GitLab accepted the merge and will do it when the pipeline succeeds.
    AutoMergeScheduled,
    /// The head moved since the decision: nothing was merged.
    ShaMismatch,
    /// Conflicts, draft, closed, pipeline failing, or a forge rule not met.
    NotMergeable {
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusState {
    Pending,
    Running,
    Success,
    Failed,
}

impl StatusState {
    pub fn gitlab_name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Success => "success",
            Self::Failed => "failed",
        }
    }

    /// GitHub has no running state: a running check is pending there.
    pub fn github_name(self) -> &'static str {
        match self {
            Self::Pending | Self::Running => "pending",
            Self::Success => "success",
            Self::Failed => "failure",
        }
    }
}

/// Where people look at a source commit and its pipelines in the forge's web interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitLinks {
    pub commit: String,
    pub pipelines: String,
}

/// A commit status such as `ferry/gate` or `ferry/policy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitStatus {
    pub context: String,
    pub state: StatusState,
    pub description: Option<String>,
    pub target_url: Option<String>,
}

/// A person's role in a project, on one scale for both forges (see docs/forges.md for the
/// mapping). Ordered: `Write` or more can push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessLevel {
    None,
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

impl AccessLevel {
    /// GitLab's numeric access levels: 10 guest, 15 planner, 20 reporter, 30 developer,
    /// 40 maintainer, 50 owner (5 minimal access counts as none).
    pub fn from_gitlab(level: u32) -> Self {
        match level {
            0..=9 => Self::None,
            10..=19 => Self::Read,
            20..=29 => Self::Triage,
            30..=39 => Self::Write,
            40..=49 => Self::Maintain,
            _ => Self::Admin,
        }
    }

    /// GitHub's `role_name` (`read`, `triage`, `write`, `maintain`, `admin`); custom roles
    /// fall back on the base `permission`.
    pub fn from_github(role_name: &str, permission: &str) -> Self {
        let named = |name: &str| match name {
            "admin" => Some(Self::Admin),
            "maintain" => Some(Self::Maintain),
            "write" => Some(Self::Write),
            "triage" => Some(Self::Triage),
            "read" => Some(Self::Read),
            _ => None,
        };
        named(role_name)
            .or_else(|| named(permission))
            .unwrap_or(Self::None)
    }
}
