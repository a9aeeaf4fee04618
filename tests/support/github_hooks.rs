//! GitHub webhook deliveries in GitHub's documented shapes (push, create, pull_request,
//! issue_comment, pull_request_review, check_suite, status), built from a few arguments or
//! from the state of the fake GitHub, and `post`, which delivers one the way GitHub does:
//! `X-GitHub-Event`, a fresh `X-GitHub-Delivery` GUID, and `X-Hub-Signature-256`, the
//! HMAC-SHA256 of the exact body bytes under the webhook secret.
//!
//! GitHub names the kind only in the `X-GitHub-Event` header, so a builder returns a
//! [`Hook`]: the header value and the body, which a test can still change before posting
//! (`hook.body["pull_request"]["draft"] = json!(true)`).

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::fake_github::{FakeGitHub, GitHubState, Repo, comment_json, pull_json};
use super::faults::{fake_sha, lock};
use super::gitlab_hooks::new_uuid;

pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

const HOST: &str = "https://github.test";
const API: &str = "https://api.github.test";

/// One delivery: the `X-GitHub-Event` header and the JSON body.
#[derive(Debug, Clone)]
pub struct Hook {
    pub event: &'static str,
    pub body: Value,
}

/// Who caused an event: GitHub's numeric user id and login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub id: u64,
    pub login: String,
}

impl Who {
    pub fn new(id: u64, login: &str) -> Self {
        Self {
            id,
            login: login.into(),
        }
    }

    /// A user of the fake GitHub, by id.
    pub fn from_fake(fake: &FakeGitHub, id: u64) -> Self {
        let state = lock(&fake.state);
        let user = state
            .users
            .get(&id)
            .unwrap_or_else(|| panic!("the fake GitHub has no user {id}"));
        Self::new(id, &user.login)
    }
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn user_json(who: &Who) -> Value {
    json!({
        "login": who.login,
        "id": who.id,
        "node_id": format!("U_{}", who.id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", who.id),
        "html_url": format!("{HOST}/{}", who.login),
        "type": if who.login.ends_with("[bot]") { "Bot" } else { "User" },
        "site_admin": false,
    })
}

/// A stable repository id for a name, for repositories the fake does not hold.
fn repository_id_of(full_name: &str) -> u64 {
    u64::from_str_radix(&fake_sha(full_name)[..8], 16).unwrap_or(1)
}

fn repository_json(full_name: &str, id: Option<u64>) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap_or(("", full_name));
    let id = id.unwrap_or_else(|| repository_id_of(full_name));
    json!({
        "id": id,
        "node_id": format!("R_{id}"),
        "name": name,
        "full_name": full_name,
        "private": true,
        "owner": {
            "login": owner,
            "id": repository_id_of(owner),
            "type": "Organization",
            "site_admin": false,
        },
        "html_url": format!("{HOST}/{full_name}"),
        "url": format!("{API}/repos/{full_name}"),
        "clone_url": format!("{HOST}/{full_name}.git"),
        "default_branch": "main",
        "visibility": "private",
    })
}

fn fake_repo<'a>(state: &'a GitHubState, full_name: &str) -> &'a Repo {
    state
        .repos
        .iter()
        .find(|r| r.full_name() == full_name)
        .unwrap_or_else(|| panic!("the fake GitHub has no repository {full_name}"))
}

fn organization_json(full_name: &str) -> Value {
    let owner = full_name.split_once('/').map_or(full_name, |(o, _)| o);
    json!({ "login": owner, "id": repository_id_of(owner), "url": format!("{API}/orgs/{owner}") })
}

// ---- push and create ---------------------------------------------------------------------

/// One commit of a push, with the files it touched.
#[derive(Debug, Clone, Default)]
pub struct PushedCommit {
    pub id: String,
    pub message: String,
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub removed: Vec<String>,
}

impl PushedCommit {
    pub fn modifying(id: &str, message: &str, files: &[&str]) -> Self {
        Self {
            id: id.into(),
            message: message.into(),
            modified: files.iter().map(|f| (*f).to_owned()).collect(),
            ..Self::default()
        }
    }
}

fn commit_json(repo: &str, commit: &PushedCommit) -> Value {
    json!({
        "id": commit.id,
        "tree_id": fake_sha(&format!("tree {}", commit.id)),
        "distinct": true,
        "message": commit.message,
        "timestamp": now(),
        "url": format!("{HOST}/{repo}/commit/{}", commit.id),
        "author": { "name": "Dana Dev", "email": "dana@example.com", "username": "dana" },
        "committer": { "name": "Dana Dev", "email": "dana@example.com", "username": "dana" },
        "added": commit.added,
        "removed": commit.removed,
        "modified": commit.modified,
    })
}

fn ref_push(
    repo: &str,
    full_ref: &str,
    before: &str,
    after: &str,
    pusher: &Who,
    commits: &[PushedCommit],
    head_commit: Option<Value>,
) -> Hook {
    Hook {
        event: "push",
        body: json!({
            "ref": full_ref,
            "before": before,
            "after": after,
            "created": before == ZERO_SHA,
            "deleted": after == ZERO_SHA,
            "forced": false,
            "base_ref": null,
            "compare": format!("{HOST}/{repo}/compare/{}...{}", &before[..12.min(before.len())], &after[..12.min(after.len())]),
            "commits": commits.iter().map(|c| commit_json(repo, c)).collect::<Vec<_>>(),
            "head_commit": head_commit,
            "repository": repository_json(repo, None),
            "pusher": { "name": pusher.login, "email": format!("{}@example.com", pusher.login) },
            "organization": organization_json(repo),
            "sender": user_json(pusher),
        }),
    }
}

/// A push of `commits` to `branch` (the last one becomes `after` and `head_commit`).
pub fn push(
    repo: &str,
    branch: &str,
    before: &str,
    pusher: &Who,
    commits: &[PushedCommit],
) -> Hook {
    let last = commits.last().expect("a push has commits");
    let head = commit_json(repo, last);
    ref_push(
        repo,
        &format!("refs/heads/{branch}"),
        before,
        &last.id,
        pusher,
        commits,
        Some(head),
    )
}

/// A push of one commit `after` changing `files` to `branch`.
pub fn push_one(
    repo: &str,
    branch: &str,
    before: &str,
    after: &str,
    pusher: &Who,
    files: &[&str],
) -> Hook {
    push(
        repo,
        branch,
        before,
        pusher,
        &[PushedCommit::modifying(after, "Change the site", files)],
    )
}

/// A lightweight tag `tag` pushed on `commit`: GitHub sends a `push` for `refs/tags/...`
/// with no commits and the tagged commit as `head_commit`.
pub fn tag_push(repo: &str, tag: &str, commit: &str, pusher: &Who) -> Hook {
    let head = commit_json(repo, &PushedCommit::modifying(commit, "Release", &[]));
    ref_push(
        repo,
        &format!("refs/tags/{tag}"),
        ZERO_SHA,
        commit,
        pusher,
        &[],
        Some(head),
    )
}

/// The `create` event GitHub sends beside the push of a new tag.
pub fn create_tag(repo: &str, tag: &str, sender: &Who) -> Hook {
    Hook {
        event: "create",
        body: json!({
            "ref": tag,
            "ref_type": "tag",
            "master_branch": "main",
            "description": null,
            "pusher_type": "user",
            "repository": repository_json(repo, None),
            "organization": organization_json(repo),
            "sender": user_json(sender),
        }),
    }
}

// ---- pull requests, comments, reviews -------------------------------------------------------

/// What happened to a pull request.
#[derive(Debug, Clone)]
pub enum PrAction {
    Opened,
    Reopened,
    /// New commits on the head branch; `before` is the previous head.
    Synchronize {
        before: String,
    },
    /// Closed: `merged` in the payload comes from the fake's state.
    Closed,
}

fn pull_payload(state: &GitHubState, repo: &Repo, number: u64) -> Value {
    let pull = repo
        .pulls
        .iter()
        .find(|p| p.number == number)
        .unwrap_or_else(|| panic!("{} has no pull request #{number}", repo.full_name()));
    let mut value = pull_json(state, repo, pull);
    // Webhook pull requests carry the repositories of head and base.
    let repository = repository_json(&repo.full_name(), Some(repo.id));
    value["head"]["repo"] = repository.clone();
    value["base"]["repo"] = repository;
    value["head"]["user"] = value["user"].clone();
    value["created_at"] = json!("2026-01-01T00:00:00Z");
    value["updated_at"] = json!(now());
    value["closed_at"] = if pull.state == "closed" {
        json!(now())
    } else {
        Value::Null
    };
    value["commits"] = json!(1);
    value
}

/// A `pull_request` delivery for pull request `number` as the fake GitHub has it now.
pub fn pull_request_from(
    fake: &FakeGitHub,
    repo: &str,
    number: u64,
    action: &PrAction,
    sender: &Who,
) -> Hook {
    let state = lock(&fake.state);
    let r = fake_repo(&state, repo);
    let pull = pull_payload(&state, r, number);
    let mut body = json!({
        "action": match action {
            PrAction::Opened => "opened",
            PrAction::Reopened => "reopened",
            PrAction::Synchronize { .. } => "synchronize",
            PrAction::Closed => "closed",
        },
        "number": number,
        "pull_request": pull,
        "repository": repository_json(repo, Some(r.id)),
        "organization": organization_json(repo),
        "sender": user_json(sender),
    });
    if let PrAction::Synchronize { before } = action {
        body["before"] = json!(before);
        body["after"] = body["pull_request"]["head"]["sha"].clone();
    }
    Hook {
        event: "pull_request",
        body,
    }
}

/// An `issue_comment` delivery for comment `comment_id` on pull request `number`: `created`,
/// or `edited` with the previous body in `changes`.
pub fn issue_comment_from(
    fake: &FakeGitHub,
    repo: &str,
    number: u64,
    comment_id: u64,
    edited_from: Option<&str>,
) -> Hook {
    let state = lock(&fake.state);
    let r = fake_repo(&state, repo);
    let pull = r
        .pulls
        .iter()
        .find(|p| p.number == number)
        .unwrap_or_else(|| panic!("{repo} has no pull request #{number}"));
    let comment = pull
        .comments
        .iter()
        .find(|c| c.id == comment_id)
        .unwrap_or_else(|| panic!("#{number} has no comment {comment_id}"));
    let mut rendered = comment_json(&state, r, comment);
    rendered["url"] = json!(format!("{API}/repos/{repo}/issues/comments/{comment_id}"));
    rendered["created_at"] = json!("2026-01-01T00:00:00Z");
    rendered["updated_at"] = json!(now());
    let sender = rendered["user"].clone();
    // To GitHub a pull request's conversation is an issue; `pull_request` says which kind.
    let issue = json!({
        "url": format!("{API}/repos/{repo}/issues/{number}"),
        "id": pull.id,
        "number": number,
        "title": pull.title,
        "user": state.user_json(pull.user_id),
        "labels": pull.labels.iter().map(|l| json!({ "name": l })).collect::<Vec<_>>(),
        "state": pull.state,
        "locked": false,
        "comments": pull.comments.len(),
        "body": pull.body,
        "pull_request": {
            "url": format!("{API}/repos/{repo}/pulls/{number}"),
            "html_url": format!("{HOST}/{repo}/pull/{number}"),
            "diff_url": format!("{HOST}/{repo}/pull/{number}.diff"),
            "patch_url": format!("{HOST}/{repo}/pull/{number}.patch"),
            "merged_at": if pull.merged { json!("2026-01-01T00:00:00Z") } else { Value::Null },
        },
    });
    let mut body = json!({
        "action": if edited_from.is_some() { "edited" } else { "created" },
        "issue": issue,
        "comment": rendered,
        "repository": repository_json(repo, Some(r.id)),
        "organization": organization_json(repo),
        "sender": sender,
    });
    if let Some(previous) = edited_from {
        body["changes"] = json!({ "body": { "from": previous } });
    }
    Hook {
        event: "issue_comment",
        body,
    }
}

/// A `pull_request_review` `submitted` delivery for review `review_id` of pull request
/// `number` (GitHub writes the state in lowercase in webhooks).
pub fn review_from(fake: &FakeGitHub, repo: &str, number: u64, review_id: u64) -> Hook {
    let state = lock(&fake.state);
    let r = fake_repo(&state, repo);
    let pull = r
        .pulls
        .iter()
        .find(|p| p.number == number)
        .unwrap_or_else(|| panic!("{repo} has no pull request #{number}"));
    let review = pull
        .reviews
        .iter()
        .find(|x| x.id == review_id)
        .unwrap_or_else(|| panic!("#{number} has no review {review_id}"));
    let reviewer = state.user_json(review.user_id);
    let body = json!({
        "action": if review.state == "DISMISSED" { "dismissed" } else { "submitted" },
        "review": {
            "id": review.id,
            "node_id": format!("PRR_{}", review.id),
            "user": reviewer,
            "body": null,
            "state": review.state.to_lowercase(),
            "commit_id": review.commit_id,
            "submitted_at": now(),
            "html_url": format!("{HOST}/{repo}/pull/{number}#pullrequestreview-{}", review.id),
            "author_association": "MEMBER",
        },
        "pull_request": pull_payload(&state, r, number),
        "repository": repository_json(repo, Some(r.id)),
        "organization": organization_json(repo),
        "sender": reviewer,
    });
    Hook {
        event: "pull_request_review",
        body,
    }
}

// ---- CI -----------------------------------------------------------------------------------

/// A `check_suite` delivery for suite `id` as the fake has it (`completed` once it is, else
/// `requested`); `pull_requests` lists the open pull requests at its head, as GitHub does.
pub fn check_suite_from(fake: &FakeGitHub, repo: &str, id: u64) -> Hook {
    let state = lock(&fake.state);
    let r = fake_repo(&state, repo);
    let suite = r
        .check_suites
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("{repo} has no check suite {id}"));
    let mut rendered = super::fake_github::check_suite_json(r, suite);
    rendered["latest_check_runs_count"] = json!(1);
    rendered["head_commit"] = json!({
        "id": suite.head_sha,
        "tree_id": fake_sha(&format!("tree {}", suite.head_sha)),
        "message": "CI",
        "timestamp": "2026-01-01T00:00:00Z",
        "author": { "name": "Ferry", "email": "ferry@localhost" },
        "committer": { "name": "Ferry", "email": "ferry@localhost" },
    });
    let action = if suite.status == "completed" {
        "completed"
    } else {
        "requested"
    };
    Hook {
        event: "check_suite",
        body: json!({
            "action": action,
            "check_suite": rendered,
            "repository": repository_json(repo, Some(r.id)),
            "organization": organization_json(repo),
            "sender": { "login": "github-actions[bot]", "id": 41898282, "type": "Bot", "site_admin": false },
        }),
    }
}

/// A `status` delivery for status `id` as the fake has it; `branches` lists every branch
/// whose head is the commit, as GitHub does.
pub fn status_from(fake: &FakeGitHub, repo: &str, id: u64) -> Hook {
    let state = lock(&fake.state);
    let r = fake_repo(&state, repo);
    let status = r
        .statuses
        .iter()
        .find(|x| x.id == id)
        .unwrap_or_else(|| panic!("{repo} has no status {id}"));
    let branches: Vec<Value> = r
        .branches
        .iter()
        .filter(|(_, sha)| **sha == status.sha)
        .map(|(name, sha)| {
            json!({
                "name": name,
                "commit": { "sha": sha, "url": format!("{API}/repos/{repo}/commits/{sha}") },
                "protected": name == "main",
            })
        })
        .collect();
    let creator = state.user_json(status.creator_id);
    Hook {
        event: "status",
        body: json!({
            "id": status.id,
            "sha": status.sha,
            "name": repo,
            "target_url": status.target_url,
            "context": status.context,
            "description": status.description,
            "state": status.state,
            "commit": {
                "sha": status.sha,
                "url": format!("{API}/repos/{repo}/commits/{}", status.sha),
                "html_url": format!("{HOST}/{repo}/commit/{}", status.sha),
            },
            "branches": branches,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": now(),
            "repository": repository_json(repo, Some(r.id)),
            "organization": organization_json(repo),
            "sender": creator,
        }),
    }
}

// ---- delivery -----------------------------------------------------------------------------

/// The `X-Hub-Signature-256` value of `body` under `secret`, computed here rather than by
/// Ferry's own helper so a mistake there cannot hide.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// A fresh `X-GitHub-Delivery` GUID, unique within the test process.
pub fn new_delivery() -> String {
    new_uuid()
}

/// Posts `hook` to `url` as GitHub delivers a webhook, signed under `secret`, with a fresh
/// delivery id; returns the HTTP status.
pub async fn post(url: &str, secret: &str, hook: &Hook) -> u16 {
    post_with_delivery(url, secret, hook, &new_delivery()).await
}

/// [`post`] with a given `X-GitHub-Delivery`, as GitHub's "Redeliver" sends it again.
pub async fn post_with_delivery(url: &str, secret: &str, hook: &Hook, delivery: &str) -> u16 {
    let bytes = serde_json::to_vec(&hook.body).expect("serialise the hook");
    let signed = signature(secret, &bytes);
    post_raw(url, hook.event, bytes, Some(&signed), delivery).await
}

/// Posts `body` bytes with the given signature header (or none): for forged deliveries.
pub async fn post_raw(
    url: &str,
    event: &str,
    body: Vec<u8>,
    signature: Option<&str>,
    delivery: &str,
) -> u16 {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .header("User-Agent", "GitHub-Hookshot/5f2c1e9")
        .header("Accept", "*/*")
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", delivery)
        .header("X-GitHub-Hook-ID", "482901733")
        .header("X-GitHub-Hook-Installation-Target-Type", "repository")
        .header("X-GitHub-Hook-Installation-Target-ID", "912001");
    if let Some(signature) = signature {
        request = request.header("X-Hub-Signature-256", signature);
    }
    request
        .body(body)
        .send()
        .await
        .expect("deliver the webhook")
        .status()
        .as_u16()
}
