//! An in-memory GitHub (REST API) served over HTTP on 127.0.0.1: the endpoints Ferry uses,
//! with GitHub's request and response shapes and status codes, and state a test can seed and
//! inspect through `FakeGitHub`.
//!
//! A repository can be attached to a real bare repository (`attach_repo`): its branches are
//! then that repository's `refs/heads`, an open pull request's head follows its branch, its
//! files and mergeability come from the commits, and merging makes a real merge commit (see
//! `fake_github_git`).

use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::fake_github_git as git;
use super::faults::{Fault, Faults, Seen, fake_sha, inject, lock, page_of};

#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub login: String,
}

#[derive(Debug, Clone, Default)]
pub struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    /// Collaborator user id -> role name (`read`, `triage`, `write`, `maintain`, `admin`).
    pub collaborators: BTreeMap<u64, String>,
    pub branches: BTreeMap<String, String>,
    pub pulls: Vec<Pull>,
    pub statuses: Vec<Status>,
    pub check_suites: Vec<CheckSuite>,
    /// The bare repository behind it, when attached.
    pub repo: Option<PathBuf>,
}

impl Repo {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

#[derive(Debug, Clone)]
pub struct Pull {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: String,
    /// `open` or `closed`.
    pub state: String,
    pub head_ref: String,
    pub head_sha: String,
    pub base_ref: String,
    pub user_id: u64,
    pub labels: Vec<String>,
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
    pub merged_by: Option<u64>,
    /// False makes merging answer 405, as for conflicts or failing required checks.
    pub mergeable: bool,
    pub files: Vec<File>,
    pub comments: Vec<IssueComment>,
    pub reviews: Vec<Review>,
}

#[derive(Debug, Clone)]
pub struct File {
    pub filename: String,
    /// `added`, `removed`, `modified`, `renamed` ...
    pub status: String,
    pub previous_filename: Option<String>,
}

#[derive(Debug, Clone)]
pub struct IssueComment {
    pub id: u64,
    pub body: String,
    pub user_id: u64,
    pub reactions: Vec<Reaction>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub id: u64,
    pub user_id: u64,
    pub content: String,
}

#[derive(Debug, Clone)]
pub struct Review {
    pub id: u64,
    pub user_id: u64,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`.
    pub state: String,
    pub commit_id: String,
}

#[derive(Debug, Clone)]
pub struct Status {
    pub id: u64,
    pub sha: String,
    pub context: String,
    pub state: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub creator_id: u64,
}

/// A check suite on a commit: one CI app's verdict.
#[derive(Debug, Clone)]
pub struct CheckSuite {
    pub id: u64,
    pub head_sha: String,
    pub head_branch: Option<String>,
    pub app_slug: String,
    /// `queued`, `in_progress` or `completed`.
    pub status: String,
    /// Set once completed: `success`, `failure`, `neutral`, `cancelled`, `timed_out` ...
    pub conclusion: Option<String>,
}

#[derive(Debug, Default)]
pub struct GitHubState {
    next_id: u64,
    base_url: String,
    pub users: BTreeMap<u64, User>,
    tokens: BTreeMap<String, u64>,
    pub repos: Vec<Repo>,
    /// (org, team slug) -> user id -> membership state (`active` or `pending`).
    pub teams: BTreeMap<(String, String), BTreeMap<u64, String>>,
    pub deleted_branches: Vec<(String, String)>,
}

impl GitHubState {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn user_json(&self, id: u64) -> Value {
        let login = self
            .users
            .get(&id)
            .map_or_else(|| format!("user{id}"), |u| u.login.clone());
        json!({
            "login": login,
            "id": id,
            "node_id": format!("U_{id}"),
            "type": "User",
            "site_admin": false,
            "html_url": format!("https://github.test/{login}"),
        })
    }

    fn user_by_login(&self, login: &str) -> Option<u64> {
        self.users.values().find(|u| u.login == login).map(|u| u.id)
    }

    fn repo_index(&self, owner: &str, name: &str) -> Option<usize> {
        self.repos
            .iter()
            .position(|r| r.owner == owner && r.name == name)
    }
}

/// The handle a test holds: seed state, inject failures, read what the adapter did.
#[derive(Clone)]
pub struct FakeGitHub {
    pub base_url: String,
    pub state: Arc<Mutex<GitHubState>>,
    pub faults: Arc<Faults>,
}

type Shared = Arc<Mutex<GitHubState>>;

#[derive(Clone, Copy)]
struct Caller(u64);

impl FakeGitHub {
    pub async fn start() -> Self {
        let state: Shared = Arc::default();
        let faults = Faults::new();
        let api = Router::new()
            .route("/user", get(current_user))
            .route("/user/{id}", get(user_by_id))
            .route(
                "/repos/{owner}/{repo}/pulls",
                get(list_pulls).post(create_pull),
            )
            .route(
                "/repos/{owner}/{repo}/pulls/{number}",
                get(show_pull).patch(update_pull),
            )
            .route("/repos/{owner}/{repo}/pulls/{number}/files", get(files))
            .route("/repos/{owner}/{repo}/pulls/{number}/reviews", get(reviews))
            .route("/repos/{owner}/{repo}/pulls/{number}/merge", put(merge))
            .route(
                "/repos/{owner}/{repo}/issues/{number}/comments",
                get(list_comments).post(create_comment),
            )
            .route(
                "/repos/{owner}/{repo}/issues/{number}/labels",
                put(set_labels),
            )
            .route(
                "/repos/{owner}/{repo}/issues/comments/{id}",
                patch(edit_comment),
            )
            .route(
                "/repos/{owner}/{repo}/issues/comments/{id}/reactions",
                post(react),
            )
            .route("/repos/{owner}/{repo}/statuses/{sha}", post(create_status))
            .route(
                "/repos/{owner}/{repo}/commits/{reference}/status",
                get(combined_status),
            )
            .route(
                "/repos/{owner}/{repo}/commits/{reference}/check-suites",
                get(check_suites),
            )
            .route(
                "/repos/{owner}/{repo}/collaborators/{login}/permission",
                get(permission),
            )
            .route(
                "/repos/{owner}/{repo}/git/refs/heads/{*branch}",
                axum::routing::delete(delete_branch),
            )
            .route(
                "/orgs/{org}/teams/{team}/memberships/{login}",
                get(team_membership),
            )
            .layer(middleware::from_fn_with_state(state.clone(), authenticate))
            .with_state(state.clone())
            .layer(middleware::from_fn_with_state(faults.clone(), inject));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake GitHub");
        let address = listener.local_addr().expect("fake GitHub address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, api).await;
        });
        let base_url = format!("http://{address}");
        lock(&state).base_url = base_url.clone();
        Self {
            base_url,
            state,
            faults,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut GitHubState) -> T) -> T {
        f(&mut synced(&self.state))
    }

    /// Backs `repo` by the bare repository at `bare_repo`: branches are read from its
    /// `refs/heads` (on every request), a pull request needs its head branch there and
    /// follows it, and merging writes a real merge commit to the base branch.
    pub fn attach_repo(&self, repo: &str, bare_repo: &FsPath) {
        self.with(|s| repo_of(s, repo).repo = Some(bare_repo.to_owned()));
    }

    /// Opens a pull request from an existing branch of an attached repository, at its head.
    pub fn open_pull_from_branch(
        &self,
        repo: &str,
        author: u64,
        head: &str,
        base: &str,
        title: &str,
    ) -> u64 {
        self.with(|s| {
            let id = s.id();
            let r = repo_of(s, repo);
            let sha = r
                .branches
                .get(head)
                .cloned()
                .unwrap_or_else(|| panic!("{repo} has no branch {head}"));
            let number = r.pulls.len() as u64 + 1;
            r.pulls
                .push(new_pull(id, number, author, head, base, &sha, title));
            number
        })
    }

    /// A check suite of `app` on `sha`, queued until [`FakeGitHub::complete_check_suite`].
    pub fn add_check_suite(&self, repo: &str, sha: &str, branch: Option<&str>, app: &str) -> u64 {
        self.with(|s| {
            let id = s.id();
            repo_of(s, repo).check_suites.push(CheckSuite {
                id,
                head_sha: sha.into(),
                head_branch: branch.map(str::to_owned),
                app_slug: app.into(),
                status: "queued".into(),
                conclusion: None,
            });
            id
        })
    }

    pub fn complete_check_suite(&self, repo: &str, id: u64, conclusion: &str) {
        self.with(|s| {
            let suite = repo_of(s, repo)
                .check_suites
                .iter_mut()
                .find(|c| c.id == id)
                .unwrap_or_else(|| panic!("no check suite {id}"));
            suite.status = "completed".into();
            suite.conclusion = Some(conclusion.into());
        });
    }

    pub fn check_suite(&self, repo: &str, id: u64) -> CheckSuite {
        self.with(|s| {
            repo_of(s, repo)
                .check_suites
                .iter()
                .find(|c| c.id == id)
                .cloned()
                .unwrap_or_else(|| panic!("no check suite {id}"))
        })
    }

    /// A commit status set by `creator`, as CI would (`POST /statuses/{sha}`); returns its id.
    pub fn add_status(
        &self,
        repo: &str,
        sha: &str,
        context: &str,
        state: &str,
        creator: u64,
    ) -> u64 {
        self.with(|s| {
            let id = s.id();
            repo_of(s, repo).statuses.push(Status {
                id,
                sha: sha.into(),
                context: context.into(),
                state: state.into(),
                description: None,
                target_url: None,
                creator_id: creator,
            });
            id
        })
    }

    /// The open pull requests whose head is `sha`: what GitHub lists in a check
    /// suite's `pull_requests`.
    pub fn pulls_at(&self, repo: &str, sha: &str) -> Vec<u64> {
        self.with(|s| {
            repo_of(s, repo)
                .pulls
                .iter()
                .filter(|p| p.state == "open" && p.head_sha == sha)
                .map(|p| p.number)
                .collect()
        })
    }

    pub fn add_user(&self, login: &str) -> u64 {
        self.with(|s| {
            let id = s.id() + 1000;
            s.next_id = id;
            s.users.insert(
                id,
                User {
                    id,
                    login: login.into(),
                },
            );
            id
        })
    }

    pub fn add_token(&self, token: &str, user: u64) {
        self.with(|s| s.tokens.insert(token.into(), user));
    }

    pub fn add_repo(&self, full_name: &str) -> u64 {
        let (owner, name) = full_name.split_once('/').expect("owner/name");
        self.with(|s| {
            let id = s.id();
            s.repos.push(Repo {
                id,
                owner: owner.into(),
                name: name.into(),
                ..Repo::default()
            });
            id
        })
    }

    pub fn add_collaborator(&self, repo: &str, user: u64, role: &str) {
        self.with(|s| {
            repo_of(s, repo).collaborators.insert(user, role.into());
        });
    }

    pub fn add_team_member(&self, team: &str, user: u64, state: &str) {
        let (org, slug) = team.split_once('/').expect("org/team");
        self.with(|s| {
            s.teams
                .entry((org.into(), slug.into()))
                .or_default()
                .insert(user, state.into());
        });
    }

    /// On an attached repository `sha` must be a commit of it: the real branch moves.
    pub fn set_branch(&self, repo: &str, branch: &str, sha: &str) {
        self.with(|s| {
            let r = repo_of(s, repo);
            if let Some(path) = &r.repo {
                git::set_head(path, branch, sha);
            }
            r.branches.insert(branch.into(), sha.into());
        });
    }

    /// Opens a pull request as a person would.
    pub fn open_pull(&self, repo: &str, author: u64, head: &str, base: &str, sha: &str) -> u64 {
        self.set_branch(repo, head, sha);
        self.with(|s| {
            let id = s.id();
            let r = repo_of(s, repo);
            let number = r.pulls.len() as u64 + 1;
            r.pulls.push(new_pull(
                id,
                number,
                author,
                head,
                base,
                sha,
                "Change by a person",
            ));
            number
        })
    }

    pub fn push(&self, repo: &str, number: u64, sha: &str) {
        self.with(|s| {
            let r = repo_of(s, repo);
            let path = r.repo.clone();
            let pull = pull_of(r, number);
            pull.head_sha = sha.into();
            let branch = pull.head_ref.clone();
            if let Some(path) = path {
                git::set_head(&path, &branch, sha);
            }
            r.branches.insert(branch, sha.into());
        });
    }

    /// A review by `user` on the current head.
    pub fn review(&self, repo: &str, number: u64, user: u64, state: &str) {
        self.with(|s| {
            let id = s.id();
            let pull = pull_of(repo_of(s, repo), number);
            let commit_id = pull.head_sha.clone();
            pull.reviews.push(Review {
                id,
                user_id: user,
                state: state.into(),
                commit_id,
            });
        });
    }

    pub fn add_comment(&self, repo: &str, number: u64, user: u64, body: &str) -> u64 {
        self.with(|s| {
            let id = s.id();
            pull_of(repo_of(s, repo), number)
                .comments
                .push(IssueComment {
                    id,
                    body: body.into(),
                    user_id: user,
                    reactions: Vec::new(),
                });
            id
        })
    }

    pub fn set_files(&self, repo: &str, number: u64, files: Vec<File>) {
        self.with(|s| pull_of(repo_of(s, repo), number).files = files);
    }

    pub fn set_mergeable(&self, repo: &str, number: u64, mergeable: bool) {
        self.with(|s| pull_of(repo_of(s, repo), number).mergeable = mergeable);
    }

    pub fn pull(&self, repo: &str, number: u64) -> Pull {
        self.with(|s| pull_of(repo_of(s, repo), number).clone())
    }

    pub fn pulls(&self, repo: &str) -> Vec<Pull> {
        self.with(|s| repo_of(s, repo).pulls.clone())
    }

    pub fn statuses(&self, repo: &str, sha: &str) -> Vec<Status> {
        self.with(|s| {
            repo_of(s, repo)
                .statuses
                .iter()
                .filter(|x| x.sha == sha)
                .cloned()
                .collect()
        })
    }

    pub fn deleted_branches(&self) -> Vec<(String, String)> {
        self.with(|s| s.deleted_branches.clone())
    }

    pub fn fail_next(&self, method: Method, pattern: &str, times: u32, fault: Fault) {
        self.faults.fail_next(method, pattern, times, fault);
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.faults.requests()
    }
}

fn repo_of<'a>(s: &'a mut GitHubState, full_name: &str) -> &'a mut Repo {
    s.repos
        .iter_mut()
        .find(|r| r.full_name() == full_name)
        .unwrap_or_else(|| panic!("the fake GitHub has no repository {full_name}"))
}

fn pull_of(r: &mut Repo, number: u64) -> &mut Pull {
    r.pulls
        .iter_mut()
        .find(|p| p.number == number)
        .unwrap_or_else(|| panic!("the fake GitHub has no pull request #{number}"))
}

/// Locks the state and brings attached repositories up to date with their git repositories.
fn synced(state: &Mutex<GitHubState>) -> MutexGuard<'_, GitHubState> {
    let mut s = lock(state);
    for r in &mut s.repos {
        let Some(path) = r.repo.clone() else {
            continue;
        };
        r.branches = git::heads(&path);
        // GitHub moves an open pull request's head with its branch; reviews stay (dismissing
        // stale approvals is a branch protection setting the fake does not model).
        for pull in r.pulls.iter_mut().filter(|p| p.state == "open") {
            if let Some(head) = r.branches.get(&pull.head_ref) {
                pull.head_sha = head.clone();
            }
        }
    }
    s
}

/// Whether the pull request can be merged now: the seeded flag, and on an attached
/// repository also a clean merge of its head into its base.
fn mergeable_now(r: &Repo, p: &Pull) -> bool {
    p.mergeable
        && r.repo
            .as_deref()
            .is_none_or(|path| git::mergeable(path, &p.head_sha, &p.base_ref).is_ok())
}

/// GitHub's default merge commit message for the "merge" method.
fn default_merge_message(r: &Repo, p: &Pull) -> (String, String) {
    (
        format!(
            "Merge pull request #{} from {}/{}",
            p.number, r.owner, p.head_ref
        ),
        p.title.clone(),
    )
}

fn new_pull(
    id: u64,
    number: u64,
    user: u64,
    head: &str,
    base: &str,
    sha: &str,
    title: &str,
) -> Pull {
    Pull {
        id,
        number,
        title: title.into(),
        body: String::new(),
        state: "open".into(),
        head_ref: head.into(),
        head_sha: sha.into(),
        base_ref: base.into(),
        user_id: user,
        labels: Vec::new(),
        merged: false,
        merge_commit_sha: None,
        merged_by: None,
        mergeable: true,
        files: Vec::new(),
        comments: Vec::new(),
        reviews: Vec::new(),
    }
}

// ---- HTTP side --------------------------------------------------------------------------

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": status.as_u16().to_string(),
        })),
    )
        .into_response()
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found")
}

async fn authenticate(State(state): State<Shared>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("token "))
        })
        .map(str::to_owned);
    let caller = token.and_then(|t| lock(&state).tokens.get(&t).copied());
    match caller {
        Some(id) => {
            request.extensions_mut().insert(Caller(id));
            let mut response = next.run(request).await;
            let headers = response.headers_mut();
            headers.insert("x-ratelimit-limit", HeaderValue::from_static("5000"));
            headers.insert("x-ratelimit-remaining", HeaderValue::from_static("4999"));
            response
        }
        None => error(StatusCode::UNAUTHORIZED, "Bad credentials"),
    }
}

pub fn pull_json(s: &GitHubState, r: &Repo, p: &Pull) -> Value {
    let labels: Vec<Value> = p
        .labels
        .iter()
        .enumerate()
        .map(|(i, name)| json!({ "id": i + 1, "name": name, "color": "ededed", "default": false }))
        .collect();
    let base_sha = r
        .branches
        .get(&p.base_ref)
        .cloned()
        .unwrap_or_else(|| fake_sha(&p.base_ref));
    json!({
        "id": p.id,
        "number": p.number,
        "state": p.state,
        "locked": false,
        "title": p.title,
        "body": p.body,
        "user": s.user_json(p.user_id),
        "labels": labels,
        "draft": false,
        "merged": p.merged,
        "merged_at": if p.merged { json!("2026-01-01T00:00:00Z") } else { Value::Null },
        "merged_by": p.merged_by.map(|id| s.user_json(id)),
        "merge_commit_sha": p.merge_commit_sha,
        "mergeable": p.state != "open" || mergeable_now(r, p),
        "mergeable_state": if p.state != "open" { "unknown" } else if mergeable_now(r, p) { "clean" } else { "dirty" },
        "head": { "label": format!("{}:{}", r.owner, p.head_ref), "ref": p.head_ref, "sha": p.head_sha },
        "base": { "label": format!("{}:{}", r.owner, p.base_ref), "ref": p.base_ref, "sha": base_sha },
        "html_url": format!("https://github.test/{}/pull/{}", r.full_name(), p.number),
        "url": format!("{}/repos/{}/pulls/{}", s.base_url, r.full_name(), p.number),
    })
}

pub fn comment_json(s: &GitHubState, r: &Repo, c: &IssueComment) -> Value {
    json!({
        "id": c.id,
        "body": c.body,
        "user": s.user_json(c.user_id),
        "html_url": format!("https://github.test/{}#issuecomment-{}", r.full_name(), c.id),
        "author_association": "MEMBER",
    })
}

/// A JSON list with GitHub's `Link` pagination header.
fn paged(
    s: &GitHubState,
    path: &str,
    items: Vec<Value>,
    query: &BTreeMap<String, String>,
) -> Response {
    let page = query.get("page").and_then(|v| v.parse().ok()).unwrap_or(1);
    let per_page = query
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let (slice, more) = page_of(&items, page, per_page);
    let mut headers = HeaderMap::new();
    if more {
        let link = format!(
            "<{}{path}?per_page={per_page}&page={}>; rel=\"next\"",
            s.base_url,
            page + 1
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.insert("link", value);
        }
    }
    (headers, Json(Value::Array(slice))).into_response()
}

/// Runs `f` on the repository and pull request named in the path, or answers 404.
fn with_pull(
    state: &Shared,
    owner: &str,
    repo: &str,
    number: u64,
    f: impl FnOnce(&mut GitHubState, usize, usize) -> Response,
) -> Response {
    let mut s = synced(state);
    let Some(ri) = s.repo_index(owner, repo) else {
        return not_found();
    };
    let Some(pi) = s.repos[ri].pulls.iter().position(|p| p.number == number) else {
        return not_found();
    };
    f(&mut s, ri, pi)
}

fn render_pull(s: &GitHubState, ri: usize, pi: usize) -> Value {
    let r = &s.repos[ri];
    pull_json(s, r, &r.pulls[pi])
}

async fn current_user(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
) -> Response {
    Json(synced(&state).user_json(caller.0)).into_response()
}

async fn user_by_id(State(state): State<Shared>, Path(id): Path<u64>) -> Response {
    let s = synced(&state);
    if s.users.contains_key(&id) {
        Json(s.user_json(id)).into_response()
    } else {
        not_found()
    }
}

async fn list_pulls(
    State(state): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let s = synced(&state);
    let Some(ri) = s.repo_index(&owner, &repo) else {
        return not_found();
    };
    let r = &s.repos[ri];
    let wanted = query.get("state").map(String::as_str).unwrap_or("open");
    let items = r
        .pulls
        .iter()
        .rev()
        .filter(|p| wanted == "all" || p.state == wanted)
        .filter(|p| {
            query
                .get("head")
                .is_none_or(|h| *h == format!("{}:{}", r.owner, p.head_ref))
        })
        .filter(|p| query.get("base").is_none_or(|b| *b == p.base_ref))
        .map(|p| pull_json(&s, r, p))
        .collect();
    let path = format!("/repos/{owner}/{repo}/pulls");
    paged(&s, &path, items, &query)
}

async fn create_pull(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (head, base, title) = (field("head"), field("base"), field("title"));
    let mut s = synced(&state);
    let id = s.id();
    let Some(ri) = s.repo_index(&owner, &repo) else {
        return not_found();
    };
    let r = &mut s.repos[ri];
    if head.is_empty() || base.is_empty() || title.is_empty() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed");
    }
    if r.pulls
        .iter()
        .any(|p| p.state == "open" && p.head_ref == head && p.base_ref == base)
    {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "message": "Validation Failed",
                "errors": [{ "resource": "PullRequest", "code": "custom",
                    "message": format!("A pull request already exists for {owner}:{head}.") }],
            })),
        )
            .into_response();
    }
    let sha = match (r.branches.get(&head), &r.repo) {
        (Some(sha), _) => sha.clone(),
        (None, None) => fake_sha(&head),
        // A real repository has no such branch: GitHub refuses the head.
        (None, Some(_)) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({
                    "message": "Validation Failed",
                    "errors": [{ "resource": "PullRequest", "field": "head", "code": "invalid" }],
                })),
            )
                .into_response();
        }
    };
    let number = r.pulls.len() as u64 + 1;
    let mut pull = new_pull(id, number, caller.0, &head, &base, &sha, &title);
    pull.body = field("body");
    r.pulls.push(pull);
    let pi = r.pulls.len() - 1;
    (StatusCode::CREATED, Json(render_pull(&s, ri, pi))).into_response()
}

async fn show_pull(
    State(state): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
) -> Response {
    with_pull(&state, &owner, &repo, number, |s, ri, pi| {
        Json(render_pull(s, ri, pi)).into_response()
    })
}

async fn update_pull(
    State(state): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    Json(body): Json<Value>,
) -> Response {
    with_pull(&state, &owner, &repo, number, |s, ri, pi| {
        let pull = &mut s.repos[ri].pulls[pi];
        if let Some(title) = body.get("title").and_then(Value::as_str) {
            pull.title = title.into();
        }
        if let Some(text) = body.get("body").and_then(Value::as_str) {
            pull.body = text.into();
        }
        match body.get("state").and_then(Value::as_str) {
            Some("closed") => pull.state = "closed".into(),
            Some("open") if !pull.merged => pull.state = "open".into(),
            Some(_) | None => {}
        }
        Json(render_pull(s, ri, pi)).into_response()
    })
}

async fn files(
    State(state): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    with_pull(&state, &owner, &repo, number, |s, ri, pi| {
        let (r, pull) = (&s.repos[ri], &s.repos[ri].pulls[pi]);
        let computed = match &r.repo {
            Some(path) if pull.files.is_empty() && pull.state == "open" => {
                git::files(path, &pull.head_sha, &pull.base_ref)
            }
            _ => pull.files.clone(),
        };
        let items = computed
            .iter()
            .map(|f| {
                let mut value = json!({
                    "sha": fake_sha(&f.filename),
                    "filename": f.filename,
                    "status": f.status,
                    "additions": 1,
                    "deletions": 1,
                    "changes": 2,
                });
                if let Some(previous) = &f.previous_filename {
                    value["previous_filename"] = json!(previous);
                }
                value
            })
            .collect();
        let path = format!("/repos/{owner}/{repo}/pulls/{number}/files");
        paged(s, &path, items, &query)
    })
}

async fn reviews(
    State(state): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    with_pull(&state, &owner, &repo, number, |s, ri, pi| {
        let items = s.repos[ri].pulls[pi]
            .reviews
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "user": s.user_json(r.user_id),
                    "body": "",
                    "state": r.state,
                    "commit_id": r.commit_id,
                    "submitted_at": "2026-01-01T00:00:00Z",
                })
            })
            .collect();
        let path = format!("/repos/{owner}/{repo}/pulls/{number}/reviews");
        paged(s, &path, items, &query)
    })
}

async fn merge(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    Json(body): Json<Value>,
) -> Response {
    with_pull(&state, &owner, &repo, number, |s, ri, pi| {
        let merger = s
            .users
            .get(&caller.0)
            .map_or_else(|| format!("user{}", caller.0), |u| u.login.clone());
        let r = &s.repos[ri];
        let pull = &r.pulls[pi];
        if pull.state != "open" || !mergeable_now(r, pull) {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Pull Request is not mergeable",
            );
        }
        if let Some(sha) = body.get("sha").and_then(Value::as_str)
            && sha != pull.head_sha
        {
            return error(
                StatusCode::CONFLICT,
                "Head branch was modified. Review and try the merge again.",
            );
        }
        match body.get("merge_method").and_then(Value::as_str) {
            None | Some("merge") => {}
            Some("squash" | "rebase") => {
                return error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Only merge commits are allowed on this fake repository.",
                );
            }
            Some(_) => return error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed"),
        }
        // What the pull request changed, kept: after the merge the branches no longer say.
        let files = match &r.repo {
            Some(path) if pull.files.is_empty() => git::files(path, &pull.head_sha, &pull.base_ref),
            _ => pull.files.clone(),
        };
        let merge_sha = match r.repo.clone() {
            None => fake_sha(&format!("merge {} {}", pull.number, pull.head_sha)),
            Some(path) => {
                let (title, text) = default_merge_message(r, pull);
                let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
                let title = field("commit_title").unwrap_or(title);
                let text = field("commit_message").unwrap_or(text);
                let message = if text.is_empty() {
                    title
                } else {
                    format!("{title}\n\n{text}")
                };
                let (head, base) = (pull.head_sha.clone(), pull.base_ref.clone());
                match git::merge(&path, &head, &base, &message, (caller.0, &merger)) {
                    Ok(sha) => sha,
                    Err(_) => {
                        return error(
                            StatusCode::METHOD_NOT_ALLOWED,
                            "Pull Request is not mergeable",
                        );
                    }
                }
            }
        };
        let r = &mut s.repos[ri];
        let pull = &mut r.pulls[pi];
        pull.files = files;
        pull.state = "closed".into();
        pull.merged = true;
        pull.merged_by = Some(caller.0);
        pull.merge_commit_sha = Some(merge_sha.clone());
        let base = pull.base_ref.clone();
        r.branches.insert(base, merge_sha.clone());
        Json(json!({ "sha": merge_sha, "merged": true, "message": "Pull Request successfully merged" }))
            .into_response()
    })
}

async fn list_comments(
    State(state): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    with_pull(&state, &owner, &repo, number, |s, ri, pi| {
        let r = &s.repos[ri];
        let items = r.pulls[pi]
            .comments
            .iter()
            .map(|c| comment_json(s, r, c))
            .collect();
        let path = format!("/repos/{owner}/{repo}/issues/{number}/comments");
        paged(s, &path, items, &query)
    })
}

async fn create_comment(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    Json(body): Json<Value>,
) -> Response {
    let Some(text) = body.get("body").and_then(Value::as_str).map(str::to_owned) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed");
    };
    with_pull(&state, &owner, &repo, number, |s, ri, pi| {
        let comment = IssueComment {
            id: s.id(),
            body: text,
            user_id: caller.0,
            reactions: Vec::new(),
        };
        let rendered = comment_json(s, &s.repos[ri], &comment);
        s.repos[ri].pulls[pi].comments.push(comment);
        (StatusCode::CREATED, Json(rendered)).into_response()
    })
}

async fn set_labels(
    State(state): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    Json(body): Json<Value>,
) -> Response {
    let labels: Vec<String> = body
        .get("labels")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    with_pull(&state, &owner, &repo, number, |s, ri, pi| {
        s.repos[ri].pulls[pi].labels = labels.clone();
        let items: Vec<Value> = labels
            .iter()
            .enumerate()
            .map(|(i, name)| json!({ "id": i + 1, "name": name, "color": "ededed" }))
            .collect();
        Json(items).into_response()
    })
}

/// The comment with `id` anywhere in the repository, as (pull index, comment index).
fn find_comment(r: &Repo, id: u64) -> Option<(usize, usize)> {
    r.pulls.iter().enumerate().find_map(|(pi, p)| {
        p.comments
            .iter()
            .position(|c| c.id == id)
            .map(|ci| (pi, ci))
    })
}

async fn edit_comment(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo, id)): Path<(String, String, u64)>,
    Json(body): Json<Value>,
) -> Response {
    let Some(text) = body.get("body").and_then(Value::as_str).map(str::to_owned) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed");
    };
    let mut s = synced(&state);
    let Some(ri) = s.repo_index(&owner, &repo) else {
        return not_found();
    };
    let Some((pi, ci)) = find_comment(&s.repos[ri], id) else {
        return not_found();
    };
    let comment = &mut s.repos[ri].pulls[pi].comments[ci];
    if comment.user_id != caller.0 {
        return error(
            StatusCode::FORBIDDEN,
            "Must have admin rights to Repository.",
        );
    }
    comment.body = text;
    let comment = comment.clone();
    Json(comment_json(&s, &s.repos[ri], &comment)).into_response()
}

async fn react(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo, id)): Path<(String, String, u64)>,
    Json(body): Json<Value>,
) -> Response {
    let content = body
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if ![
        "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
    ]
    .contains(&content.as_str())
    {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed");
    }
    let mut s = synced(&state);
    let reaction_id = s.id();
    let Some(ri) = s.repo_index(&owner, &repo) else {
        return not_found();
    };
    let Some((pi, ci)) = find_comment(&s.repos[ri], id) else {
        return not_found();
    };
    let comment = &mut s.repos[ri].pulls[pi].comments[ci];
    let (status, reaction) = match comment
        .reactions
        .iter()
        .find(|r| r.user_id == caller.0 && r.content == content)
    {
        // GitHub answers 200 with the existing reaction when it is there already.
        Some(existing) => (StatusCode::OK, existing.clone()),
        None => {
            let reaction = Reaction {
                id: reaction_id,
                user_id: caller.0,
                content,
            };
            comment.reactions.push(reaction.clone());
            (StatusCode::CREATED, reaction)
        }
    };
    let user = s.user_json(reaction.user_id);
    (
        status,
        Json(json!({ "id": reaction.id, "user": user, "content": reaction.content })),
    )
        .into_response()
}

async fn create_status(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo, sha)): Path<(String, String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    let Some(new_state) =
        text("state").filter(|s| ["error", "failure", "pending", "success"].contains(&s.as_str()))
    else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed");
    };
    let mut s = synced(&state);
    let id = s.id();
    let Some(ri) = s.repo_index(&owner, &repo) else {
        return not_found();
    };
    // GitHub keeps every status; the latest per context is the one shown.
    let status = Status {
        id,
        sha,
        context: text("context").unwrap_or_else(|| "default".into()),
        state: new_state,
        description: text("description"),
        target_url: text("target_url"),
        creator_id: caller.0,
    };
    s.repos[ri].statuses.push(status.clone());
    let creator = s.user_json(caller.0);
    (
        StatusCode::CREATED,
        Json(json!({
            "id": status.id,
            "state": status.state,
            "description": status.description,
            "target_url": status.target_url,
            "context": status.context,
            "creator": creator,
        })),
    )
        .into_response()
}

async fn permission(
    State(state): State<Shared>,
    Path((owner, repo, login)): Path<(String, String, String)>,
) -> Response {
    let s = synced(&state);
    let Some(ri) = s.repo_index(&owner, &repo) else {
        return not_found();
    };
    let Some(user) = s.user_by_login(&login) else {
        return not_found();
    };
    let role = s.repos[ri]
        .collaborators
        .get(&user)
        .cloned()
        .unwrap_or_else(|| "none".into());
    // `permission` is the legacy scale: maintain shows as write, triage as read.
    let permission = match role.as_str() {
        "maintain" => "write",
        "triage" => "read",
        other => other,
    };
    Json(json!({ "permission": permission, "role_name": role, "user": s.user_json(user) }))
        .into_response()
}

async fn delete_branch(
    State(state): State<Shared>,
    Path((owner, repo, branch)): Path<(String, String, String)>,
) -> Response {
    let mut s = synced(&state);
    let Some(ri) = s.repo_index(&owner, &repo) else {
        return not_found();
    };
    let Some(sha) = s.repos[ri].branches.remove(&branch) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Reference does not exist");
    };
    if let Some(path) = &s.repos[ri].repo {
        git::delete_branch(path, &branch, &sha);
    }
    s.deleted_branches.push((format!("{owner}/{repo}"), branch));
    StatusCode::NO_CONTENT.into_response()
}

async fn team_membership(
    State(state): State<Shared>,
    Path((org, team, login)): Path<(String, String, String)>,
) -> Response {
    let s = synced(&state);
    let Some(user) = s.user_by_login(&login) else {
        return not_found();
    };
    match s.teams.get(&(org, team)).and_then(|t| t.get(&user)) {
        Some(membership) => Json(json!({ "role": "member", "state": membership })).into_response(),
        None => not_found(),
    }
}

/// A `{ref}` of the commits endpoints: a commit id, or a branch name resolved to its head.
fn commit_of(r: &Repo, reference: &str) -> String {
    r.branches
        .get(reference)
        .cloned()
        .unwrap_or_else(|| reference.to_owned())
}

/// `GET /repos/{o}/{r}/commits/{ref}/status`: the latest status per context and their
/// combination (failure if any failed or errored, else pending if any is pending or there
/// are none, else success).
async fn combined_status(
    State(state): State<Shared>,
    Path((owner, repo, reference)): Path<(String, String, String)>,
) -> Response {
    let s = synced(&state);
    let Some(ri) = s.repo_index(&owner, &repo) else {
        return not_found();
    };
    let r = &s.repos[ri];
    let sha = commit_of(r, &reference);
    let mut latest: BTreeMap<&str, &Status> = BTreeMap::new();
    for status in r.statuses.iter().filter(|x| x.sha == sha) {
        latest.insert(&status.context, status);
    }
    let states: Vec<&str> = latest.values().map(|x| x.state.as_str()).collect();
    let combined = if states.iter().any(|x| *x == "failure" || *x == "error") {
        "failure"
    } else if states.is_empty() || states.contains(&"pending") {
        "pending"
    } else {
        "success"
    };
    let statuses: Vec<Value> = latest
        .values()
        .map(|x| {
            json!({
                "id": x.id,
                "state": x.state,
                "context": x.context,
                "description": x.description,
                "target_url": x.target_url,
                "creator": s.user_json(x.creator_id),
            })
        })
        .collect();
    Json(json!({
        "state": combined,
        "sha": sha,
        "total_count": statuses.len(),
        "statuses": statuses,
        "repository": { "id": r.id, "full_name": r.full_name() },
    }))
    .into_response()
}

pub(crate) fn check_suite_json(r: &Repo, c: &CheckSuite) -> Value {
    let pulls: Vec<Value> = r
        .pulls
        .iter()
        .filter(|p| p.state == "open" && p.head_sha == c.head_sha)
        .map(|p| {
            json!({
                "id": p.id,
                "number": p.number,
                "url": format!("https://api.github.test/repos/{}/pulls/{}", r.full_name(), p.number),
                "head": { "ref": p.head_ref, "sha": p.head_sha, "repo": { "id": r.id, "name": r.name } },
                "base": { "ref": p.base_ref, "sha": r.branches.get(&p.base_ref), "repo": { "id": r.id, "name": r.name } },
            })
        })
        .collect();
    json!({
        "id": c.id,
        "node_id": format!("CS_{}", c.id),
        "head_branch": c.head_branch,
        "head_sha": c.head_sha,
        "status": c.status,
        "conclusion": c.conclusion,
        "url": format!("https://api.github.test/repos/{}/check-suites/{}", r.full_name(), c.id),
        "before": null,
        "after": c.head_sha,
        "pull_requests": pulls,
        "app": { "id": 15368, "slug": c.app_slug, "name": c.app_slug },
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:01:00Z",
    })
}

/// `GET /repos/{o}/{r}/commits/{ref}/check-suites`.
async fn check_suites(
    State(state): State<Shared>,
    Path((owner, repo, reference)): Path<(String, String, String)>,
) -> Response {
    let s = synced(&state);
    let Some(ri) = s.repo_index(&owner, &repo) else {
        return not_found();
    };
    let r = &s.repos[ri];
    let sha = commit_of(r, &reference);
    let suites: Vec<Value> = r
        .check_suites
        .iter()
        .filter(|c| c.head_sha == sha)
        .map(|c| check_suite_json(r, c))
        .collect();
    Json(json!({ "total_count": suites.len(), "check_suites": suites })).into_response()
}
