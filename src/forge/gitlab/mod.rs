//! GitLab adapter: a thin reqwest client for REST API v4 (`PRIVATE-TOKEN` auth).
//!
//! A thin client rather than the `gitlab` crate: Ferry needs about fifteen endpoints, wants
//! its own retry policy around every one of them, and needs `auto_merge`, which that crate
//! does not offer.

mod wire;

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::domain::{CommitSha, MrIid, ProjectPath, UserId};

use super::http::{Call, HttpPolicy, RawResponse, SendError, Transport, encode};
use super::types::*;
use super::{Forge, ForgeError};
use wire::*;

const KIND: ForgeKind = ForgeKind::GitLab;
const PER_PAGE: u32 = 100;

pub struct GitLabConfig {
    /// The instance root, e.g. `https://gitlab.example.com` (no `/api/v4`).
    pub base_url: String,
    /// A project, group or personal access token with the `api` scope.
    pub token: SecretString,
    pub policy: HttpPolicy,
}

pub struct GitLabForge {
    api: String,
    /// The instance root, where the web pages are.
    web: String,
    token: HeaderValue,
    client: reqwest::Client,
    transport: Transport,
    me: OnceCell<User>,
}

impl GitLabForge {
    pub fn new(config: GitLabConfig) -> Result<Self, ForgeError> {
        let invalid = |message: String| ForgeError::InvalidInput {
            forge: KIND,
            what: "configure the GitLab client".into(),
            message,
        };
        let base = config.base_url.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(invalid(format!(
                "base URL `{base}` must start with https:// (or http:// for a local test instance)"
            )));
        }
        let mut token = HeaderValue::from_str(config.token.expose_secret())
            .map_err(|_| invalid("the token holds characters a header cannot carry".into()))?;
        token.set_sensitive(true);
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(config.policy.request_timeout)
            .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            api: format!("{base}/api/v4"),
            web: base.to_owned(),
            token,
            client,
            transport: Transport::new(KIND, config.policy),
            me: OnceCell::new(),
        })
    }

    async fn send(
        &self,
        call: &Call,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<RawResponse, ForgeError> {
        let url = format!("{}{path}", self.api);
        self.transport
            .execute(call, || {
                let mut request = self
                    .client
                    .request(method.clone(), &url)
                    .header("PRIVATE-TOKEN", self.token.clone());
                if let Some(body) = body {
                    request = request.json(body);
                }
                async move {
                    let response = request.send().await.map_err(send_error)?;
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    let body = response.bytes().await.map_err(send_error)?.to_vec();
                    Ok(RawResponse {
                        status,
                        headers,
                        body,
                    })
                }
            })
            .await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
    ) -> Result<T, ForgeError> {
        self.send(&Call::safe(what), Method::GET, path, None)
            .await?
            .success(KIND, what)?
            .json(KIND, what)
    }

    /// Reads every page of a list, following GitLab's `x-next-page` header.
    async fn get_all<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
    ) -> Result<Vec<T>, ForgeError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut page = String::from("1");
        loop {
            let paged = format!("{path}{separator}per_page={PER_PAGE}&page={page}");
            let response = self
                .send(&Call::safe(what), Method::GET, &paged, None)
                .await?
                .success(KIND, what)?;
            let mut batch: Vec<T> = response.json(KIND, what)?;
            items.append(&mut batch);
            match response.header("x-next-page").map(str::trim) {
                Some(next) if !next.is_empty() && next != page => page = next.to_owned(),
                _ => return Ok(items),
            }
        }
    }

    async fn read_mr(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<WireMergeRequest, ForgeError> {
        self.get_json(
            &format!("read merge request !{iid} of {project}"),
            &mr_path(project, iid),
        )
        .await
    }

    /// The pipeline a status on `sha` belongs to: the MR's head pipeline when it ran on
    /// that commit, else the newest MR pipeline that did. Without one GitLab would create a
    /// separate external pipeline for the status.
    async fn pipeline_for(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        mr: &WireMergeRequest,
        sha: &CommitSha,
    ) -> Result<Option<u64>, ForgeError> {
        if let Some(pipeline) = &mr.head_pipeline
            && pipeline.sha.eq_ignore_ascii_case(sha.as_str())
        {
            return Ok(Some(pipeline.id));
        }
        let pipelines: Vec<WirePipeline> = self
            .get_json(
                &format!("list pipelines of merge request !{iid} of {project}"),
                &format!("{}/pipelines", mr_path(project, iid)),
            )
            .await?;
        Ok(pipelines
            .into_iter()
            .find(|p| p.sha.eq_ignore_ascii_case(sha.as_str()))
            .map(|p| p.id))
    }

    async fn membership(&self, what: &str, path: &str) -> Result<Option<u32>, ForgeError> {
        let response = self
            .send(&Call::safe(what), Method::GET, path, None)
            .await?;
        if response.status == 404 {
            return Ok(None);
        }
        let member: WireMember = response.success(KIND, what)?.json(KIND, what)?;
        Ok(Some(member.access_level))
    }
}

fn send_error(error: reqwest::Error) -> SendError {
    if error.is_connect() {
        SendError::Connect(error.to_string())
    } else {
        SendError::Other(error.to_string())
    }
}

fn project_path(project: &ProjectPath) -> String {
    format!("/projects/{}", encode(project.as_str()))
}

fn mr_path(project: &ProjectPath, iid: MrIid) -> String {
    format!("{}/merge_requests/{iid}", project_path(project))
}

#[async_trait]
impl Forge for GitLabForge {
    fn kind(&self) -> ForgeKind {
        KIND
    }

    fn commit_links(&self, project: &ProjectPath, sha: &CommitSha) -> Option<CommitLinks> {
        let project = format!("{}/{project}", self.web);
        Some(CommitLinks {
            commit: format!("{project}/-/commit/{sha}"),
            pipelines: format!("{project}/-/pipelines?sha={sha}"),
        })
    }

    async fn current_user(&self) -> Result<User, ForgeError> {
        self.me
            .get_or_try_init(|| async {
                let user: WireUser = self.get_json("read the bot's own user", "/user").await?;
                Ok(User::from(user))
            })
            .await
            .cloned()
    }

    async fn create_merge_request(
        &self,
        project: &ProjectPath,
        new: &NewMergeRequest,
    ) -> Result<MergeRequest, ForgeError> {
        let what = format!(
            "open a merge request from `{}` into `{}` of {project}",
            new.source_branch, new.target_branch
        );
        let body = json!({
            "source_branch": new.source_branch,
            "target_branch": new.target_branch,
            "title": new.title,
            "description": new.body,
            "labels": new.labels.join(","),
            "remove_source_branch": true,
        });
        let path = format!("{}/merge_requests", project_path(project));
        let mr: WireMergeRequest = self
            .send(&Call::unsafe_(&what), Method::POST, &path, Some(&body))
            .await?
            .success(KIND, &what)?
            .json(KIND, &what)?;
        Ok(mr.into())
    }

    async fn merge_request(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<MergeRequest, ForgeError> {
        Ok(self.read_mr(project, iid).await?.into())
    }

    async fn find_open_merge_request(
        &self,
        project: &ProjectPath,
        source_branch: &str,
    ) -> Result<Option<MergeRequest>, ForgeError> {
        let what = format!("find the open merge request from `{source_branch}` of {project}");
        let path = format!(
            "{}/merge_requests?state=opened&source_branch={}",
            project_path(project),
            encode(source_branch)
        );
        let found: Vec<WireMergeRequest> = self.get_json(&what, &path).await?;
        Ok(found.into_iter().next().map(MergeRequest::from))
    }

    async fn update_merge_request(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        update: &MrUpdate,
    ) -> Result<MergeRequest, ForgeError> {
        let mut body = serde_json::Map::new();
        if let Some(title) = &update.title {
            body.insert("title".into(), json!(title));
        }
        if let Some(text) = &update.body {
            body.insert("description".into(), json!(text));
        }
        if let Some(labels) = &update.labels {
            body.insert("labels".into(), json!(labels.join(",")));
        }
        if body.is_empty() {
            return self.merge_request(project, iid).await;
        }
        let what = format!("update merge request !{iid} of {project}");
        let mr: WireMergeRequest = self
            .send(
                &Call::safe(&what),
                Method::PUT,
                &mr_path(project, iid),
                Some(&Value::Object(body)),
            )
            .await?
            .success(KIND, &what)?
            .json(KIND, &what)?;
        Ok(mr.into())
    }

    async fn close_merge_request(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<MergeRequest, ForgeError> {
        let what = format!("close merge request !{iid} of {project}");
        let mr: WireMergeRequest = self
            .send(
                &Call::safe(&what),
                Method::PUT,
                &mr_path(project, iid),
                Some(&json!({ "state_event": "close" })),
            )
            .await?
            .success(KIND, &what)?
            .json(KIND, &what)?;
        Ok(mr.into())
    }

    async fn changed_files(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<ChangedFile>, ForgeError> {
        let diffs: Vec<WireDiff> = self
            .get_all(
                &format!("list the changed files of merge request !{iid} of {project}"),
                &format!("{}/diffs", mr_path(project, iid)),
            )
            .await?;
        Ok(diffs.into_iter().map(ChangedFile::from).collect())
    }

    async fn create_comment(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        body: &str,
    ) -> Result<Comment, ForgeError> {
        let what = format!("comment on merge request !{iid} of {project}");
        let note: WireNote = self
            .send(
                &Call::unsafe_(&what),
                Method::POST,
                &format!("{}/notes", mr_path(project, iid)),
                Some(&json!({ "body": body })),
            )
            .await?
            .success(KIND, &what)?
            .json(KIND, &what)?;
        Ok(note.into())
    }

    async fn edit_comment(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        comment: CommentId,
        body: &str,
    ) -> Result<Comment, ForgeError> {
        let what = format!("edit comment {comment} on merge request !{iid} of {project}");
        let note: WireNote = self
            .send(
                &Call::safe(&what),
                Method::PUT,
                &format!("{}/notes/{comment}", mr_path(project, iid)),
                Some(&json!({ "body": body })),
            )
            .await?
            .success(KIND, &what)?
            .json(KIND, &what)?;
        Ok(note.into())
    }

    async fn comments(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<Comment>, ForgeError> {
        let notes: Vec<WireNote> = self
            .get_all(
                &format!("list comments of merge request !{iid} of {project}"),
                &format!(
                    "{}/notes?sort=asc&order_by=created_at",
                    mr_path(project, iid)
                ),
            )
            .await?;
        Ok(notes
            .into_iter()
            .filter(|n| !n.system)
            .map(Comment::from)
            .collect())
    }

    async fn react(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        comment: CommentId,
        reaction: Reaction,
    ) -> Result<(), ForgeError> {
        let what = format!("react to comment {comment} on merge request !{iid} of {project}");
        let response = self
            .send(
                &Call::safe(&what),
                Method::POST,
                &format!("{}/notes/{comment}/award_emoji", mr_path(project, iid)),
                Some(&json!({ "name": reaction.gitlab_name() })),
            )
            .await?;
        // GitLab refuses a second identical award with 404 "has already been taken".
        if response.status == 404 && response.message().contains("already been taken") {
            return Ok(());
        }
        response.success(KIND, &what).map(|_| ())
    }

    async fn approvals(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<Approval>, ForgeError> {
        let approvals: WireApprovals = self
            .get_json(
                &format!("read approvals of merge request !{iid} of {project}"),
                &format!("{}/approvals", mr_path(project, iid)),
            )
            .await?;
        Ok(approvals
            .approved_by
            .into_iter()
            .map(|a| Approval {
                user: UserId(a.user.id),
                username: a.user.username,
                commit: None,
            })
            .collect())
    }

    async fn merge(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        options: &MergeOptions,
    ) -> Result<MergeOutcome, ForgeError> {
        let what = format!("merge merge request !{iid} of {project}");
        let mut body = json!({
            "sha": options.sha.as_str(),
            "should_remove_source_branch": options.remove_source_branch,
        });
        if options.when_pipeline_succeeds {
            // `auto_merge` since GitLab 17.11; older servers read the deprecated name.
            body["auto_merge"] = json!(true);
            body["merge_when_pipeline_succeeds"] = json!(true);
        }
        if let Some(message) = &options.commit_message {
            body["merge_commit_message"] = json!(message);
        }
        let response = self
            .send(
                &Call::safe(&what),
                Method::PUT,
                &format!("{}/merge", mr_path(project, iid)),
                Some(&body),
            )
            .await?;
        match response.status {
            200..=299 => {
                let mr: WireMergeRequest = response.json(KIND, &what)?;
                Ok(match mr.state.as_str() {
                    "merged" => MergeOutcome::Merged {
                        merge_commit: mr
                            .merge_commit_sha
                            .as_deref()
                            .and_then(|s| CommitSha::parse(s).ok()),
                    },
                    _ if mr.merge_when_pipeline_succeeds => MergeOutcome::AutoMergeScheduled,
                    state => MergeOutcome::NotMergeable {
                        reason: format!(
                            "GitLab accepted the merge but the merge request is {state}"
                        ),
                    },
                })
            }
            409 => Ok(MergeOutcome::ShaMismatch),
            405 | 406 | 422 => {
                // A retried merge whose first attempt went through lands here: read back.
                let mr = self.read_mr(project, iid).await?;
                if mr.state == "merged"
                    && mr
                        .sha
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case(options.sha.as_str()))
                {
                    return Ok(MergeOutcome::Merged {
                        merge_commit: mr
                            .merge_commit_sha
                            .as_deref()
                            .and_then(|s| CommitSha::parse(s).ok()),
                    });
                }
                Ok(MergeOutcome::NotMergeable {
                    reason: response.message(),
                })
            }
            _ => Err(response.into_error(KIND, &what)),
        }
    }

    async fn set_commit_status(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        sha: &CommitSha,
        status: &CommitStatus,
    ) -> Result<(), ForgeError> {
        let what = format!(
            "set status `{}` on {} of {project}",
            status.context,
            sha.short()
        );
        let mr = self.read_mr(project, iid).await?;
        let pipeline = self.pipeline_for(project, iid, &mr, sha).await?;
        if pipeline.is_none() {
            tracing::warn!(%project, %iid, sha = sha.short(), "no merge request pipeline for this commit: GitLab will show the status in a separate pipeline");
        }
        let mut body = json!({
            "state": status.state.gitlab_name(),
            "name": status.context,
            "ref": mr.source_branch,
        });
        if let Some(id) = pipeline {
            body["pipeline_id"] = json!(id);
        }
        if let Some(description) = &status.description {
            body["description"] = json!(description);
        }
        if let Some(url) = &status.target_url {
            body["target_url"] = json!(url);
        }
        let response = self
            .send(
                &Call::safe(&what).retrying_conflicts(),
                Method::POST,
                &format!("{}/statuses/{}", project_path(project), sha.as_str()),
                Some(&body),
            )
            .await?;
        // Setting the state a status already has is refused with 400 "Cannot transition
        // status via :run from :running": the status is already what was asked.
        if response.status == 400 && response.message().contains("Cannot transition status") {
            return Ok(());
        }
        response.success(KIND, &what).map(|_| ())
    }

    async fn access_level(
        &self,
        project: &ProjectPath,
        user: UserId,
    ) -> Result<AccessLevel, ForgeError> {
        let level = self
            .membership(
                &format!("read the role of user {user} in {project}"),
                &format!("{}/members/all/{user}", project_path(project)),
            )
            .await?;
        Ok(level.map_or(AccessLevel::None, AccessLevel::from_gitlab))
    }

    async fn is_group_member(&self, group: &str, user: UserId) -> Result<bool, ForgeError> {
        let level = self
            .membership(
                &format!("read whether user {user} is in group {group}"),
                &format!("/groups/{}/members/all/{user}", encode(group)),
            )
            .await?;
        Ok(level.is_some_and(|l| AccessLevel::from_gitlab(l) > AccessLevel::None))
    }
}
