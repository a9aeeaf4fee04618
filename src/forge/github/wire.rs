//! GitHub REST JSON as read by the adapter: only the fields Ferry uses. Octocrab's own
//! models are not used because they break when GitHub adds fields or values.

use serde::Deserialize;

use crate::domain::{CommitSha, MrIid, UserId};
use crate::forge::types::{
    ChangedFile, Comment, CommentId, FileChange, MergeRequest, MrState, User,
};

#[derive(Debug, Deserialize)]
pub struct WireUser {
    pub id: u64,
    pub login: String,
}

impl From<WireUser> for User {
    fn from(user: WireUser) -> Self {
        Self {
            id: UserId(user.id),
            username: user.login,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WireBranch {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
}

#[derive(Debug, Deserialize)]
pub struct WireLabel {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct WirePull {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    pub state: String,
    #[serde(default)]
    pub merged_at: Option<String>,
    #[serde(default)]
    pub merged: Option<bool>,
    pub head: WireBranch,
    pub base: WireBranch,
    #[serde(default)]
    pub labels: Vec<WireLabel>,
    pub user: WireUser,
    #[serde(default)]
    pub html_url: String,
}

impl From<WirePull> for MergeRequest {
    fn from(pull: WirePull) -> Self {
        let merged = pull.merged.unwrap_or(false) || pull.merged_at.is_some();
        let state = match (pull.state.as_str(), merged) {
            (_, true) => MrState::Merged,
            ("closed", false) => MrState::Closed,
            _ => MrState::Open,
        };
        Self {
            iid: MrIid(pull.number),
            title: pull.title,
            body: pull.body.unwrap_or_default(),
            state,
            source_branch: pull.head.name,
            target_branch: pull.base.name,
            head_sha: CommitSha::parse(&pull.head.sha).ok(),
            labels: pull.labels.into_iter().map(|l| l.name).collect(),
            author: UserId(pull.user.id),
            web_url: pull.html_url,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WireFile {
    pub filename: String,
    pub status: String,
    #[serde(default)]
    pub previous_filename: Option<String>,
}

impl From<WireFile> for ChangedFile {
    fn from(file: WireFile) -> Self {
        let change = match file.status.as_str() {
            "added" | "copied" => FileChange::Added,
            "removed" => FileChange::Deleted,
            "renamed" => FileChange::Renamed,
            _ => FileChange::Modified,
        };
        Self {
            path: file.filename,
            previous_path: file.previous_filename,
            change,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WireComment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    pub user: WireUser,
}

impl From<WireComment> for Comment {
    fn from(comment: WireComment) -> Self {
        Self {
            id: CommentId(comment.id),
            author: UserId(comment.user.id),
            body: comment.body.unwrap_or_default(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WireReview {
    /// `null` for reviews by deleted accounts.
    pub user: Option<WireUser>,
    pub state: String,
    #[serde(default)]
    pub commit_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct WireMerge {
    #[serde(default)]
    pub sha: Option<String>,
    #[serde(default)]
    pub merged: bool,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Deserialize)]
pub struct WirePermission {
    #[serde(default)]
    pub permission: String,
    #[serde(default)]
    pub role_name: String,
}

#[derive(Debug, Deserialize)]
pub struct WireMembership {
    pub state: String,
}
