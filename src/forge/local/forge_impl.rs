//! The `Forge` trait on the local forge: each call runs the blocking method of the same
//! meaning on the blocking pool.

use async_trait::async_trait;

use crate::domain::{CommitSha, MrIid, ProjectPath, UserId};
use crate::forge::{
    AccessLevel, Approval, ChangedFile, Comment, CommentId, CommitStatus, Forge, ForgeError,
    ForgeKind, MergeOptions, MergeOutcome, MergeRequest, MrUpdate, NewMergeRequest, Reaction, User,
};

use super::{LocalError, LocalForge};

async fn blocking<T, F>(what: String, work: F) -> Result<T, ForgeError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, LocalError> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|error| error.into_forge_error(&what)),
        Err(error) => Err(ForgeError::Transport {
            forge: ForgeKind::GitLab,
            what: format!("local forge: {what}"),
            attempts: 1,
            message: format!("the task failed: {error}"),
        }),
    }
}

#[async_trait]
impl Forge for LocalForge {
    /// The local forge speaks GitLab's words (`!12`, merge requests, no quick actions of its
    /// own); a kind of its own would touch every match on the forge enum (docs/forges.md).
    fn kind(&self) -> ForgeKind {
        ForgeKind::GitLab
    }

    async fn current_user(&self) -> Result<User, ForgeError> {
        Ok(self.user.clone())
    }

    async fn create_merge_request(
        &self,
        project: &ProjectPath,
        new: &NewMergeRequest,
    ) -> Result<MergeRequest, ForgeError> {
        let (this, project, new) = (self.clone(), project.clone(), new.clone());
        let what = format!(
            "open a merge request from `{}` in {project}",
            new.source_branch
        );
        blocking(what, move || this.create(&project, &new)).await
    }

    async fn merge_request(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<MergeRequest, ForgeError> {
        let (this, project) = (self.clone(), project.clone());
        let what = format!("read merge request !{iid} of {project}");
        blocking(what, move || this.get(&project, iid)).await
    }

    async fn find_open_merge_request(
        &self,
        project: &ProjectPath,
        source_branch: &str,
    ) -> Result<Option<MergeRequest>, ForgeError> {
        let (this, project, branch) = (self.clone(), project.clone(), source_branch.to_owned());
        let what = format!("find the open merge request from `{branch}` in {project}");
        blocking(what, move || this.find_open(&project, &branch)).await
    }

    async fn update_merge_request(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        update: &MrUpdate,
    ) -> Result<MergeRequest, ForgeError> {
        let (this, project, update) = (self.clone(), project.clone(), update.clone());
        let what = format!("update merge request !{iid} of {project}");
        blocking(what, move || this.update(&project, iid, &update)).await
    }

    async fn close_merge_request(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<MergeRequest, ForgeError> {
        let (this, project) = (self.clone(), project.clone());
        let what = format!("close merge request !{iid} of {project}");
        blocking(what, move || this.close(&project, iid)).await
    }

    async fn changed_files(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<ChangedFile>, ForgeError> {
        let (this, project) = (self.clone(), project.clone());
        let what = format!("read the changes of merge request !{iid} of {project}");
        blocking(what, move || this.changed(&project, iid)).await
    }

    async fn create_comment(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        body: &str,
    ) -> Result<Comment, ForgeError> {
        let (this, project, body) = (self.clone(), project.clone(), body.to_owned());
        let what = format!("comment on merge request !{iid} of {project}");
        blocking(what, move || this.comment(&project, iid, &body)).await
    }

    async fn edit_comment(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        comment: CommentId,
        body: &str,
    ) -> Result<Comment, ForgeError> {
        let (this, project, body) = (self.clone(), project.clone(), body.to_owned());
        let what = format!("edit comment {comment} on merge request !{iid} of {project}");
        blocking(what, move || this.edit(&project, iid, comment, &body)).await
    }

    async fn comments(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<Comment>, ForgeError> {
        let (this, project) = (self.clone(), project.clone());
        let what = format!("read the comments of merge request !{iid} of {project}");
        blocking(what, move || this.comment_list(&project, iid)).await
    }

    async fn react(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        comment: CommentId,
        reaction: Reaction,
    ) -> Result<(), ForgeError> {
        let (this, project) = (self.clone(), project.clone());
        let what = format!("react to comment {comment} on merge request !{iid} of {project}");
        blocking(what, move || {
            this.add_reaction(&project, iid, comment, reaction)
        })
        .await
    }

    async fn approvals(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<Approval>, ForgeError> {
        let (this, project) = (self.clone(), project.clone());
        let what = format!("read the approvals of merge request !{iid} of {project}");
        blocking(what, move || this.approval_list(&project, iid)).await
    }

    async fn merge(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        options: &MergeOptions,
    ) -> Result<MergeOutcome, ForgeError> {
        let (this, project, options) = (self.clone(), project.clone(), options.clone());
        let what = format!("merge merge request !{iid} of {project}");
        blocking(what, move || this.accept(&project, iid, &options)).await
    }

    async fn set_commit_status(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        sha: &CommitSha,
        status: &CommitStatus,
    ) -> Result<(), ForgeError> {
        let (this, project, sha, status) =
            (self.clone(), project.clone(), sha.clone(), status.clone());
        let what = format!(
            "set status {} on {} in {project}",
            status.context,
            sha.short()
        );
        blocking(what, move || this.set_status(&project, iid, &sha, &status)).await
    }

    async fn access_level(
        &self,
        project: &ProjectPath,
        user: UserId,
    ) -> Result<AccessLevel, ForgeError> {
        let this = self.clone();
        let what = format!("read the access of user {user} to {project}");
        blocking(what, move || this.access(user)).await
    }

    async fn is_group_member(&self, group: &str, user: UserId) -> Result<bool, ForgeError> {
        let (this, group) = (self.clone(), group.to_owned());
        let what = format!("read whether user {user} is in group {group}");
        blocking(what, move || this.member_of(&group, user)).await
    }
}
