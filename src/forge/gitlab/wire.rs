//! GitLab REST v4 JSON as read by the adapter: only the fields Ferry uses, so fields GitLab
//! adds later never break parsing.

use serde::Deserialize;

use crate::domain::{CommitSha, MrIid, UserId};
use crate::forge::types::{
    ChangedFile, Comment, CommentId, FileChange, MergeRequest, MrState, User,
};

#[derive(Debug, Deserialize)]
pub struct WireUser {
    pub id: u64,
    pub username: String,
}

impl From<WireUser> for User {
    fn from(user: WireUser) -> Self {
        Self {
            id: UserId(user.id),
            username: user.username,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WirePipeline {
    pub id: u64,
    pub sha: String,
}

#[derive(Debug, Deserialize)]
pub struct WireMergeRequest {
    pub iid: u64,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub state: String,
    pub source_branch: String,
    pub target_branch: String,
    #[serde(default)]
    pub sha: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    pub author: WireUser,
    #[serde(default)]
    pub web_url: String,
    #[serde(default)]
    pub head_pipeline: Option<WirePipeline>,
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    #[serde(default)]
    pub merge_when_pipeline_succeeds: bool,
}

impl From<WireMergeRequest> for MergeRequest {
    fn from(mr: WireMergeRequest) -> Self {
        let state = match mr.state.as_str() {
            "merged" => MrState::Merged,
            "closed" => MrState::Closed,
            // `locked` is GitLab's state while a merge is in progress: still open.
            _ => MrState::Open,
        };
        Self {
            iid: MrIid(mr.iid),
            title: mr.title,
            body: mr.description.unwrap_or_default(),
            state,
            source_branch: mr.source_branch,
            target_branch: mr.target_branch,
            head_sha: mr.sha.as_deref().and_then(|s| CommitSha::parse(s).ok()),
            labels: mr.labels,
            author: UserId(mr.author.id),
            web_url: mr.web_url,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WireDiff {
    pub old_path: String,
    pub new_path: String,
    #[serde(default)]
    pub new_file: bool,
    #[serde(default)]
    pub renamed_file: bool,
    #[serde(default)]
    pub deleted_file: bool,
}

impl From<WireDiff> for ChangedFile {
    fn from(diff: WireDiff) -> Self {
        let change = if diff.new_file {
            FileChange::Added
        } else if diff.deleted_file {
            FileChange::Deleted
        } else if diff.renamed_file {
            FileChange::Renamed
        } else {
            FileChange::Modified
        };
        let previous_path = (change == FileChange::Renamed).then_some(diff.old_path);
        let path = diff.new_path;
        Self {
            path,
            previous_path,
            change,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WireNote {
    pub id: u64,
    pub body: String,
    pub author: WireUser,
    #[serde(default)]
    pub system: bool,
}

impl From<WireNote> for Comment {
    fn from(note: WireNote) -> Self {
        Self {
            id: CommentId(note.id),
            author: UserId(note.author.id),
            body: note.body,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WireApprovals {
    #[serde(default)]
    pub approved_by: Vec<WireApprover>,
}

#[derive(Debug, Deserialize)]
pub struct WireApprover {
    pub user: WireUser,
}

#[derive(Debug, Deserialize)]
pub struct WireMember {
    pub access_level: u32,
}
