//! GitHub adapter: octocrab for authentication and transport, Ferry's own JSON types and
//! retry policy on top (octocrab's retry layer is turned off so one policy decides).

mod wire;

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::domain::{CommitSha, MrIid, ProjectPath, UserId};

use super::http::{Call, HttpPolicy, RawResponse, SendError, Transport, encode};
use super::types::*;
use super::{Forge, ForgeError};
use wire::*;

const KIND: ForgeKind = ForgeKind::GitHub;
const PER_PAGE: u32 = 100;

pub struct GitHubConfig {
    /// `https://api.github.com`, or `https://HOST/api/v3` for GitHub Enterprise Server.
    pub api_url: String,
    /// A fine-grained or classic personal access token (see docs/forges.md for scopes).
    pub token: SecretString,
    pub policy: HttpPolicy,
}

pub struct GitHubForge {
    crab: Octocrab,
    /// Where the web pages are: `https://github.com` for the public API, the host's root for
    /// GitHub Enterprise Server.
    web: String,
    transport: Transport,
    me: OnceCell<User>,
    /// Collaborator and team endpoints take logins; decisions are keyed on ids.
    logins: Mutex<HashMap<UserId, String>>,
}

#[derive(Clone, Copy)]
enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

/// The web root that goes with an API URL: GitHub's API lives on its own host, GitHub
/// Enterprise Server's under `/api/v3` of the web host.
fn web_root(api_url: &str) -> String {
    let api = api_url.trim_end_matches('/');
    if let Some(rest) = api.strip_prefix("https://api.github.com") {
        return format!("https://github.com{rest}");
    }
    api.strip_suffix("/api/v3").unwrap_or(api).to_owned()
}

impl GitHubForge {
    pub fn new(config: GitHubConfig) -> Result<Self, ForgeError> {
        let invalid = |message: String| ForgeError::InvalidInput {
            forge: KIND,
            what: "configure the GitHub client".into(),
            message,
        };
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let crab = Octocrab::builder()
            .base_uri(config.api_url.trim_end_matches('/'))
            .map_err(|e| invalid(format!("API URL `{}` is not valid: {e}", config.api_url)))?
            .personal_token(config.token)
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(config.policy.request_timeout))
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            crab,
            web: web_root(&config.api_url),
            transport: Transport::new(KIND, config.policy),
            me: OnceCell::new(),
            logins: Mutex::new(HashMap::new()),
        })
    }

    async fn send(
        &self,
        call: &Call,
        verb: Verb,
        path: &str,
        body: Option<&Value>,
    ) -> Result<RawResponse, ForgeError> {
        self.transport
            .execute(call, || async move {
                let response = match verb {
                    Verb::Get => self.crab._get(path).await,
                    Verb::Post => self.crab._post(path, body).await,
                    Verb::Put => self.crab._put(path, body).await,
                    Verb::Patch => self.crab._patch(path, body).await,
                    Verb::Delete => self.crab._delete(path, body).await,
                }
                .map_err(|e| SendError::Other(e.to_string()))?;
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = self
                    .crab
                    .body_to_string(response)
                    .await
                    .map_err(|e| SendError::Other(e.to_string()))?;
                Ok(RawResponse {
                    status,
                    headers,
                    body: body.into_bytes(),
                })
            })
            .await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
    ) -> Result<T, ForgeError> {
        self.send(&Call::safe(what), Verb::Get, path, None)
            .await?
            .success(KIND, what)?
            .json(KIND, what)
    }

    /// Reads every page of a list, following the `Link: <...>; rel="next"` header.
    async fn get_all<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
    ) -> Result<Vec<T>, ForgeError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut next = Some(format!("{path}{separator}per_page={PER_PAGE}"));
        let mut items = Vec::new();
        while let Some(page) = next {
            let response = self
                .send(&Call::safe(what), Verb::Get, &page, None)
                .await?
                .success(KIND, what)?;
            let mut batch: Vec<T> = response.json(KIND, what)?;
            items.append(&mut batch);
            next = response.header("link").and_then(next_page);
        }
        Ok(items)
    }

    async fn read_pull(&self, repo: &Repo<'_>, iid: MrIid) -> Result<WirePull, ForgeError> {
        self.get_json(
            &format!("read pull request #{iid} of {}", repo.full),
            &format!("{}/pulls/{iid}", repo.api),
        )
        .await
    }

    async fn set_labels(
        &self,
        repo: &Repo<'_>,
        iid: MrIid,
        labels: &[String],
    ) -> Result<(), ForgeError> {
        let what = format!("set labels of pull request #{iid} of {}", repo.full);
        self.send(
            &Call::safe(&what),
            Verb::Put,
            &format!("{}/issues/{iid}/labels", repo.api),
            Some(&json!({ "labels": labels })),
        )
        .await?
        .success(KIND, &what)
        .map(|_| ())
    }

    /// The login of a user id, or `None` when GitHub knows no such account.
    async fn login_of(&self, user: UserId) -> Result<Option<String>, ForgeError> {
        if let Some(login) = self.cached_login(user) {
            return Ok(Some(login));
        }
        let what = format!("read the login of user {user}");
        let response = self
            .send(
                &Call::safe(&what),
                Verb::Get,
                &format!("/user/{user}"),
                None,
            )
            .await?;
        if response.status == 404 {
            return Ok(None);
        }
        let found: WireUser = response.success(KIND, &what)?.json(KIND, &what)?;
        if let Ok(mut logins) = self.logins.lock() {
            logins.insert(user, found.login.clone());
        }
        Ok(Some(found.login))
    }

    fn cached_login(&self, user: UserId) -> Option<String> {
        self.logins.lock().ok()?.get(&user).cloned()
    }
}

/// A repository split into what paths need.
struct Repo<'a> {
    full: &'a ProjectPath,
    owner: &'a str,
    api: String,
}

fn repo(project: &ProjectPath) -> Result<Repo<'_>, ForgeError> {
    match project.as_str().split_once('/') {
        Some((owner, name)) if !name.contains('/') => Ok(Repo {
            full: project,
            owner,
            api: format!("/repos/{}/{}", encode(owner), encode(name)),
        }),
        _ => Err(ForgeError::InvalidInput {
            forge: KIND,
            what: format!("address repository {project}"),
            message: "a GitHub repository is `owner/name`, without subgroups".into(),
        }),
    }
}

/// The path and query of the `rel="next"` link, if there is one.
fn next_page(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        if !params.split(';').any(|p| p.trim() == "rel=\"next\"") {
            return None;
        }
        let url = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let uri: http::Uri = url.parse().ok()?;
        uri.path_and_query().map(|pq| pq.as_str().to_owned())
    })
}

fn sha_of(text: Option<&str>) -> Option<CommitSha> {
    text.and_then(|s| CommitSha::parse(s).ok())
}

#[async_trait]
impl Forge for GitHubForge {
    fn kind(&self) -> ForgeKind {
        KIND
    }

    fn commit_links(&self, project: &ProjectPath, sha: &CommitSha) -> Option<CommitLinks> {
        let commit = format!("{}/{project}/commit/{sha}", self.web);
        Some(CommitLinks {
            pipelines: format!("{commit}/checks"),
            commit,
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
        let repo = repo(project)?;
        let what = format!(
            "open a pull request from `{}` into `{}` of {project}",
            new.source_branch, new.target_branch
        );
        let body = json!({
            "title": new.title,
            "head": new.source_branch,
            "base": new.target_branch,
            "body": new.body,
        });
        let response = self
            .send(
                &Call::unsafe_(&what),
                Verb::Post,
                &format!("{}/pulls", repo.api),
                Some(&body),
            )
            .await?;
        if response.status == 422 && response.body_mentions("already exists") {
            return Err(ForgeError::Conflict {
                forge: KIND,
                what,
                message: response.message(),
            });
        }
        let pull: WirePull = response.success(KIND, &what)?.json(KIND, &what)?;
        let mut mr = MergeRequest::from(pull);
        if !new.labels.is_empty() {
            self.set_labels(&repo, mr.iid, &new.labels).await?;
            mr.labels = new.labels.clone();
        }
        Ok(mr)
    }

    async fn merge_request(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<MergeRequest, ForgeError> {
        Ok(self.read_pull(&repo(project)?, iid).await?.into())
    }

    async fn find_open_merge_request(
        &self,
        project: &ProjectPath,
        source_branch: &str,
    ) -> Result<Option<MergeRequest>, ForgeError> {
        let repo = repo(project)?;
        let what = format!("find the open pull request from `{source_branch}` of {project}");
        let path = format!(
            "{}/pulls?state=open&head={}",
            repo.api,
            encode(&format!("{}:{source_branch}", repo.owner))
        );
        let found: Vec<WirePull> = self.get_json(&what, &path).await?;
        Ok(found.into_iter().next().map(MergeRequest::from))
    }

    async fn update_merge_request(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        update: &MrUpdate,
    ) -> Result<MergeRequest, ForgeError> {
        let repo = repo(project)?;
        let mut body = serde_json::Map::new();
        if let Some(title) = &update.title {
            body.insert("title".into(), json!(title));
        }
        if let Some(text) = &update.body {
            body.insert("body".into(), json!(text));
        }
        if !body.is_empty() {
            let what = format!("update pull request #{iid} of {project}");
            self.send(
                &Call::safe(&what),
                Verb::Patch,
                &format!("{}/pulls/{iid}", repo.api),
                Some(&Value::Object(body)),
            )
            .await?
            .success(KIND, &what)?;
        }
        if let Some(labels) = &update.labels {
            self.set_labels(&repo, iid, labels).await?;
        }
        Ok(self.read_pull(&repo, iid).await?.into())
    }

    async fn close_merge_request(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<MergeRequest, ForgeError> {
        let repo = repo(project)?;
        let what = format!("close pull request #{iid} of {project}");
        let pull: WirePull = self
            .send(
                &Call::safe(&what),
                Verb::Patch,
                &format!("{}/pulls/{iid}", repo.api),
                Some(&json!({ "state": "closed" })),
            )
            .await?
            .success(KIND, &what)?
            .json(KIND, &what)?;
        Ok(pull.into())
    }

    async fn changed_files(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<ChangedFile>, ForgeError> {
        let repo = repo(project)?;
        let files: Vec<WireFile> = self
            .get_all(
                &format!("list the changed files of pull request #{iid} of {project}"),
                &format!("{}/pulls/{iid}/files", repo.api),
            )
            .await?;
        Ok(files.into_iter().map(ChangedFile::from).collect())
    }

    async fn create_comment(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        body: &str,
    ) -> Result<Comment, ForgeError> {
        let repo = repo(project)?;
        let what = format!("comment on pull request #{iid} of {project}");
        let comment: WireComment = self
            .send(
                &Call::unsafe_(&what),
                Verb::Post,
                &format!("{}/issues/{iid}/comments", repo.api),
                Some(&json!({ "body": body })),
            )
            .await?
            .success(KIND, &what)?
            .json(KIND, &what)?;
        Ok(comment.into())
    }

    async fn edit_comment(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        comment: CommentId,
        body: &str,
    ) -> Result<Comment, ForgeError> {
        let repo = repo(project)?;
        let what = format!("edit comment {comment} on pull request #{iid} of {project}");
        let comment: WireComment = self
            .send(
                &Call::safe(&what),
                Verb::Patch,
                &format!("{}/issues/comments/{comment}", repo.api),
                Some(&json!({ "body": body })),
            )
            .await?
            .success(KIND, &what)?
            .json(KIND, &what)?;
        Ok(comment.into())
    }

    async fn comments(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<Comment>, ForgeError> {
        let repo = repo(project)?;
        let comments: Vec<WireComment> = self
            .get_all(
                &format!("list comments of pull request #{iid} of {project}"),
                &format!("{}/issues/{iid}/comments", repo.api),
            )
            .await?;
        Ok(comments.into_iter().map(Comment::from).collect())
    }

    async fn react(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        comment: CommentId,
        reaction: Reaction,
    ) -> Result<(), ForgeError> {
        let repo = repo(project)?;
        let what = format!("react to comment {comment} on pull request #{iid} of {project}");
        // 201 for a new reaction, 200 when the bot had already reacted so.
        self.send(
            &Call::safe(&what),
            Verb::Post,
            &format!("{}/issues/comments/{comment}/reactions", repo.api),
            Some(&json!({ "content": reaction.github_content() })),
        )
        .await?
        .success(KIND, &what)
        .map(|_| ())
    }

    async fn approvals(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<Approval>, ForgeError> {
        let repo = repo(project)?;
        let reviews: Vec<WireReview> = self
            .get_all(
                &format!("read reviews of pull request #{iid} of {project}"),
                &format!("{}/pulls/{iid}/reviews", repo.api),
            )
            .await?;
        // A person's latest approving, rejecting or dismissed review decides; a later plain
        // comment review does not withdraw an approval (as on GitHub's own merge box).
        let mut latest: Vec<(WireUser, String, Option<String>)> = Vec::new();
        for review in reviews {
            if !matches!(
                review.state.as_str(),
                "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED"
            ) {
                continue;
            }
            let Some(user) = review.user else { continue };
            match latest.iter_mut().find(|(u, _, _)| u.id == user.id) {
                Some(entry) => *entry = (user, review.state, review.commit_id),
                None => latest.push((user, review.state, review.commit_id)),
            }
        }
        Ok(latest
            .into_iter()
            .filter(|(_, state, _)| state == "APPROVED")
            .map(|(user, _, commit)| Approval {
                user: UserId(user.id),
                username: user.login,
                commit: sha_of(commit.as_deref()),
            })
            .collect())
    }

    async fn merge(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        options: &MergeOptions,
    ) -> Result<MergeOutcome, ForgeError> {
        let repo = repo(project)?;
        let what = format!("merge pull request #{iid} of {project}");
        let mut body = json!({ "sha": options.sha.as_str(), "merge_method": "merge" });
        if let Some(message) = &options.commit_message {
            let (title, rest) = message.split_once('\n').unwrap_or((message, ""));
            body["commit_title"] = json!(title);
            body["commit_message"] = json!(rest.trim_start_matches('\n'));
        }
        let response = self
            .send(
                &Call::safe(&what),
                Verb::Put,
                &format!("{}/pulls/{iid}/merge", repo.api),
                Some(&body),
            )
            .await?;
        let outcome = match response.status {
            200..=299 => {
                let merged: WireMerge = response.json(KIND, &what)?;
                if merged.merged {
                    MergeOutcome::Merged {
                        merge_commit: sha_of(merged.sha.as_deref()),
                    }
                } else {
                    MergeOutcome::NotMergeable {
                        reason: merged.message,
                    }
                }
            }
            409 => MergeOutcome::ShaMismatch,
            405 | 422 => {
                // A retried merge whose first attempt went through lands here: read back.
                let pull = self.read_pull(&repo, iid).await?;
                let merged = pull.merged.unwrap_or(false) || pull.merged_at.is_some();
                if merged && pull.head.sha.eq_ignore_ascii_case(options.sha.as_str()) {
                    MergeOutcome::Merged { merge_commit: None }
                } else {
                    MergeOutcome::NotMergeable {
                        reason: response.message(),
                    }
                }
            }
            _ => return Err(response.into_error(KIND, &what)),
        };
        if options.remove_source_branch && matches!(outcome, MergeOutcome::Merged { .. }) {
            let pull = self.read_pull(&repo, iid).await?;
            let what = format!("delete branch `{}` of {project}", pull.head.name);
            let deleted = self
                .send(
                    &Call::safe(&what),
                    Verb::Delete,
                    &format!("{}/git/refs/heads/{}", repo.api, pull.head.name),
                    None,
                )
                .await
                .and_then(|r| r.success(KIND, &what));
            // The merge stands either way; a left-over branch is only untidy.
            if let Err(error) = deleted {
                tracing::warn!(%error, "merged, but the source branch was not deleted");
            }
        }
        Ok(outcome)
    }

    async fn set_commit_status(
        &self,
        project: &ProjectPath,
        _iid: MrIid,
        sha: &CommitSha,
        status: &CommitStatus,
    ) -> Result<(), ForgeError> {
        let repo = repo(project)?;
        let what = format!(
            "set status `{}` on {} of {project}",
            status.context,
            sha.short()
        );
        let mut body = json!({
            "state": status.state.github_name(),
            "context": status.context,
        });
        if let Some(description) = &status.description {
            body["description"] = json!(description);
        }
        if let Some(url) = &status.target_url {
            body["target_url"] = json!(url);
        }
        self.send(
            &Call::safe(&what).retrying_conflicts(),
            Verb::Post,
            &format!("{}/statuses/{}", repo.api, sha.as_str()),
            Some(&body),
        )
        .await?
        .success(KIND, &what)
        .map(|_| ())
    }

    async fn access_level(
        &self,
        project: &ProjectPath,
        user: UserId,
    ) -> Result<AccessLevel, ForgeError> {
        let repo = repo(project)?;
        let Some(login) = self.login_of(user).await? else {
            return Ok(AccessLevel::None);
        };
        let what = format!("read the permission of {login} ({user}) in {project}");
        let response = self
            .send(
                &Call::safe(&what),
                Verb::Get,
                &format!("{}/collaborators/{}/permission", repo.api, encode(&login)),
                None,
            )
            .await?;
        if response.status == 404 {
            return Ok(AccessLevel::None);
        }
        let permission: WirePermission = response.success(KIND, &what)?.json(KIND, &what)?;
        Ok(AccessLevel::from_github(
            &permission.role_name,
            &permission.permission,
        ))
    }

    async fn is_group_member(&self, group: &str, user: UserId) -> Result<bool, ForgeError> {
        let Some((org, team)) = group.split_once('/') else {
            return Err(ForgeError::InvalidInput {
                forge: KIND,
                what: format!("read membership of team `{group}`"),
                message: "write a GitHub team as `org/team-slug`".into(),
            });
        };
        let Some(login) = self.login_of(user).await? else {
            return Ok(false);
        };
        let what = format!("read whether {login} ({user}) is in team {group}");
        let response = self
            .send(
                &Call::safe(&what),
                Verb::Get,
                &format!(
                    "/orgs/{}/teams/{}/memberships/{}",
                    encode(org),
                    encode(team),
                    encode(&login)
                ),
                None,
            )
            .await?;
        if response.status == 404 {
            return Ok(false);
        }
        let membership: WireMembership = response.success(KIND, &what)?.json(KIND, &what)?;
        Ok(membership.state == "active")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_pages_live_beside_the_api() {
        assert_eq!(web_root("https://api.github.com/"), "https://github.com");
        assert_eq!(
            web_root("https://ghe.example.com/api/v3"),
            "https://ghe.example.com"
        );
        assert_eq!(web_root("http://127.0.0.1:9/"), "http://127.0.0.1:9");
    }

    #[test]
    fn next_page_is_read_from_the_link_header() {
        let link = "<https://api.github.com/repositories/1/pulls/2/files?per_page=100&page=2>; rel=\"next\", <https://api.github.com/repositories/1/pulls/2/files?per_page=100&page=5>; rel=\"last\"";
        assert_eq!(
            next_page(link).as_deref(),
            Some("/repositories/1/pulls/2/files?per_page=100&page=2")
        );
        let last = "<https://api.github.com/x?page=1>; rel=\"prev\", <https://api.github.com/x?page=1>; rel=\"first\"";
        assert_eq!(next_page(last), None);
    }

    #[test]
    fn repositories_are_owner_and_name() {
        let path = ProjectPath::parse("eap/gitops").unwrap();
        let repo = repo(&path).unwrap();
        assert_eq!(
            (repo.owner, repo.api.as_str()),
            ("eap", "/repos/eap/gitops")
        );
        let nested = ProjectPath::parse("eap/sub/gitops").unwrap();
        assert!(matches!(repo_err(&nested), ForgeError::InvalidInput { .. }));
    }

    fn repo_err(path: &ProjectPath) -> ForgeError {
        match repo(path) {
            Ok(_) => panic!("accepted {path}"),
            Err(e) => e,
        }
    }
}
