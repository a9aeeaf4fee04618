//! Forges: the one `Forge` trait the engine calls, and its GitLab, GitHub and local adapters.
//!
//! Each forge's quirks (paths, field names, status codes, pagination, which status means
//! "head moved") stay inside its adapter; the engine sees `types` and `ForgeError` only.
//! `http` holds what both adapters share: client-side pacing, timeouts and retries.
//! See docs/forges.md for token scopes and what each operation maps to.

pub mod error;
pub mod github;
pub mod gitlab;
pub mod http;
pub mod identity;
pub mod local;
pub mod marker;
pub mod types;

use async_trait::async_trait;

use crate::domain::{CommitSha, MrIid, ProjectPath, UserId};

pub use error::ForgeError;
pub use github::{GitHubConfig, GitHubForge};
pub use gitlab::{GitLabConfig, GitLabForge};
pub use http::HttpPolicy;
pub use identity::bot_identity;
pub use local::LocalForge;
pub use marker::upsert_own_comment;
pub use types::*;

/// A code forge as the engine needs it. Object safe: the engine holds an `Arc<dyn Forge>`.
///
/// `project` is the GitOps repository (GitLab `path_with_namespace`, GitHub `owner/repo`).
#[async_trait]
pub trait Forge: Send + Sync {
    fn kind(&self) -> ForgeKind;

    /// The web pages of `sha` in `project` and of its pipelines, for links in merge request
    /// bodies; `None` where the forge has no web interface.
    fn commit_links(&self, project: &ProjectPath, sha: &CommitSha) -> Option<CommitLinks> {
        let _ = (project, sha);
        None
    }

    /// The account the token acts as; its comments are the bot's own.
    async fn current_user(&self) -> Result<User, ForgeError>;

    async fn create_merge_request(
        &self,
        project: &ProjectPath,
        new: &NewMergeRequest,
    ) -> Result<MergeRequest, ForgeError>;

    async fn merge_request(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<MergeRequest, ForgeError>;

    /// The open merge request from `source_branch`, if any.
    async fn find_open_merge_request(
        &self,
        project: &ProjectPath,
        source_branch: &str,
    ) -> Result<Option<MergeRequest>, ForgeError>;

    async fn update_merge_request(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        update: &MrUpdate,
    ) -> Result<MergeRequest, ForgeError>;

    async fn close_merge_request(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<MergeRequest, ForgeError>;

    /// Every file the merge request changes, all pages read.
    async fn changed_files(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<ChangedFile>, ForgeError>;

    async fn create_comment(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        body: &str,
    ) -> Result<Comment, ForgeError>;

    async fn edit_comment(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        comment: CommentId,
        body: &str,
    ) -> Result<Comment, ForgeError>;

    /// The comments people and bots wrote (GitLab system notes left out), oldest first.
    async fn comments(&self, project: &ProjectPath, iid: MrIid)
    -> Result<Vec<Comment>, ForgeError>;

    /// The first comment by the bot's own account whose body contains `marker`.
    async fn find_own_comment(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        marker: &str,
    ) -> Result<Option<Comment>, ForgeError> {
        let me = self.current_user().await?;
        let comments = self.comments(project, iid).await?;
        Ok(comments
            .into_iter()
            .find(|c| c.author == me.id && c.body.contains(marker)))
    }

    /// Adds the bot's reaction to a comment; reacting twice is not an error.
    async fn react(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        comment: CommentId,
        reaction: Reaction,
    ) -> Result<(), ForgeError>;

    /// Approvals that count now, one per user.
    async fn approvals(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<Approval>, ForgeError>;

    /// Merges only if the head is still `options.sha`.
    async fn merge(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        options: &MergeOptions,
    ) -> Result<MergeOutcome, ForgeError>;

    /// Sets a status on `sha`, the head of merge request `iid` (GitLab attaches it to that
    /// merge request's pipeline so no separate pipeline appears).
    async fn set_commit_status(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        sha: &CommitSha,
        status: &CommitStatus,
    ) -> Result<(), ForgeError>;

    /// The user's effective role in the project, inherited membership included; `None` for
    /// someone who is not a member.
    async fn access_level(
        &self,
        project: &ProjectPath,
        user: UserId,
    ) -> Result<AccessLevel, ForgeError>;

    /// Whether the user belongs to `group`: a GitLab group path (`eap/admins`, inherited
    /// membership counts) or a GitHub team as `org/team-slug` (active members only).
    async fn is_group_member(&self, group: &str, user: UserId) -> Result<bool, ForgeError>;
}
