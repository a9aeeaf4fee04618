//! An in-memory GitLab (REST API v4) served over HTTP on 127.0.0.1: the endpoints Ferry uses,
//! with GitLab's request and response shapes and status codes, and state a test can seed and
//! inspect through `FakeGitLab`.
//!
//! A project can be attached to a real bare repository (`attach_repo`): its branches are then
//! that repository's `refs/heads`, merge requests follow their source branch, and merging
//! makes a real merge commit (see `fake_gitlab_git`).

use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::fake_gitlab_git::{self as git, MergeMethod, Refused};
use super::faults::{Fault, Faults, Seen, fake_sha, inject, lock, page_of};

#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub username: String,
}

#[derive(Debug, Clone, Default)]
pub struct Project {
    pub id: u64,
    pub path: String,
    /// Effective access level per user id, inherited membership included.
    pub members: BTreeMap<u64, u32>,
    pub branches: BTreeMap<String, String>,
    pub merge_requests: Vec<MergeRequest>,
    pub pipelines: Vec<Pipeline>,
    pub statuses: Vec<Status>,
    /// The bare repository behind the project, when attached.
    pub repo: Option<PathBuf>,
    pub merge_method: MergeMethod,
}

#[derive(Debug, Clone)]
pub struct MergeRequest {
    pub id: u64,
    pub iid: u64,
    pub title: String,
    pub description: String,
    /// `opened`, `closed` or `merged`.
    pub state: String,
    pub source_branch: String,
    pub target_branch: String,
    pub sha: String,
    pub labels: Vec<String>,
    pub author_id: u64,
    pub approved_by: Vec<u64>,
    pub notes: Vec<Note>,
    pub diffs: Vec<Diff>,
    pub head_pipeline_id: Option<u64>,
    pub merge_when_pipeline_succeeds: bool,
    pub merge_commit_sha: Option<String>,
    /// False makes merging answer 405, as for conflicts, drafts or failed pipelines.
    pub mergeable: bool,
    pub remove_source_branch: bool,
    /// Who merged, or who set auto-merge (GitLab `merge_user`).
    pub merge_user_id: Option<u64>,
    /// The `merge_commit_message` given with a scheduled auto-merge.
    pub merge_commit_message: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Note {
    pub id: u64,
    pub body: String,
    pub author_id: u64,
    pub system: bool,
    pub awards: Vec<Award>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Award {
    pub id: u64,
    pub name: String,
    pub user_id: u64,
}

#[derive(Debug, Clone)]
pub struct Diff {
    pub old_path: String,
    pub new_path: String,
    pub new_file: bool,
    pub renamed_file: bool,
    pub deleted_file: bool,
}

impl Diff {
    pub fn modified(path: &str) -> Self {
        Self {
            old_path: path.into(),
            new_path: path.into(),
            new_file: false,
            renamed_file: false,
            deleted_file: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pipeline {
    pub id: u64,
    pub sha: String,
    pub git_ref: String,
    /// `pending`, `running`, `success`, `failed` ...
    pub status: String,
    /// `merge_request_event`, `push`, or `external` for a pipeline GitLab made only to hold
    /// commit statuses posted without `pipeline_id`.
    pub source: String,
}

#[derive(Debug, Clone)]
pub struct Status {
    pub id: u64,
    pub sha: String,
    pub name: String,
    pub state: String,
    pub pipeline_id: u64,
    pub git_ref: Option<String>,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub author_id: u64,
}

#[derive(Debug, Default)]
pub struct GitLabState {
    next_id: u64,
    pub users: BTreeMap<u64, User>,
    tokens: BTreeMap<String, u64>,
    pub projects: Vec<Project>,
    /// Group path -> user id -> access level.
    pub groups: BTreeMap<String, BTreeMap<u64, u32>>,
}

impl GitLabState {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn project_mut(&mut self, key: &str) -> Option<&mut Project> {
        self.projects
            .iter_mut()
            .find(|p| p.path == key || p.id.to_string() == key)
    }

    fn user_json(&self, id: u64) -> Value {
        let username = self
            .users
            .get(&id)
            .map_or_else(|| format!("user{id}"), |u| u.username.clone());
        json!({
            "id": id,
            "username": username,
            "name": username,
            "state": "active",
            "avatar_url": null,
            "web_url": format!("http://gitlab.test/{username}"),
        })
    }
}

/// The handle a test holds: seed state, inject failures, read what the adapter did.
#[derive(Clone)]
pub struct FakeGitLab {
    pub base_url: String,
    pub state: Arc<Mutex<GitLabState>>,
    pub faults: Arc<Faults>,
}

type Shared = Arc<Mutex<GitLabState>>;

#[derive(Clone, Copy)]
struct Caller(u64);

impl FakeGitLab {
    pub async fn start() -> Self {
        let state: Shared = Arc::default();
        let faults = Faults::new();
        let api = Router::new()
            .route("/api/v4/user", get(current_user))
            .route(
                "/api/v4/projects/{id}/merge_requests",
                get(list_mrs).post(create_mr),
            )
            .route(
                "/api/v4/projects/{id}/merge_requests/{iid}",
                get(show_mr).put(update_mr),
            )
            .route(
                "/api/v4/projects/{id}/merge_requests/{iid}/diffs",
                get(diffs),
            )
            .route(
                "/api/v4/projects/{id}/merge_requests/{iid}/pipelines",
                get(mr_pipelines),
            )
            .route(
                "/api/v4/projects/{id}/merge_requests/{iid}/notes",
                get(list_notes).post(create_note),
            )
            .route(
                "/api/v4/projects/{id}/merge_requests/{iid}/notes/{note}",
                put(edit_note),
            )
            .route(
                "/api/v4/projects/{id}/merge_requests/{iid}/notes/{note}/award_emoji",
                get(list_awards).post(award),
            )
            .route(
                "/api/v4/projects/{id}/merge_requests/{iid}/approvals",
                get(approvals),
            )
            .route(
                "/api/v4/projects/{id}/merge_requests/{iid}/merge",
                put(merge),
            )
            .route("/api/v4/projects/{id}/statuses/{sha}", post(create_status))
            .route(
                "/api/v4/projects/{id}/members/all/{user}",
                get(project_member),
            )
            .route("/api/v4/groups/{id}/members/all/{user}", get(group_member))
            .layer(middleware::from_fn_with_state(state.clone(), authenticate))
            .with_state(state.clone())
            .layer(middleware::from_fn_with_state(faults.clone(), inject));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake GitLab");
        let address = listener.local_addr().expect("fake GitLab address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, api).await;
        });
        Self {
            base_url: format!("http://{address}"),
            state,
            faults,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut GitLabState) -> T) -> T {
        f(&mut synced(&self.state))
    }

    /// Backs `project` by the bare repository at `bare_repo`: branch heads are read from its
    /// `refs/heads` (on every request), a merge request needs its source branch there and
    /// follows it, and merging writes a real merge commit to the target branch.
    pub fn attach_repo(&self, project: &str, bare_repo: &FsPath) {
        self.with(|s| project_of(s, project).repo = Some(bare_repo.to_owned()));
    }

    /// GitLab's "Merge method" project setting for an attached project (default: merge commit).
    pub fn set_merge_method(&self, project: &str, method: MergeMethod) {
        self.with(|s| project_of(s, project).merge_method = method);
    }

    /// Opens a merge request from an existing branch of an attached project, at its head.
    pub fn open_mr_from_branch(
        &self,
        project: &str,
        author: u64,
        source: &str,
        target: &str,
        title: &str,
    ) -> u64 {
        self.with(|s| {
            let id = s.id();
            let p = project_of(s, project);
            let sha = p
                .branches
                .get(source)
                .cloned()
                .unwrap_or_else(|| panic!("{project} has no branch {source}"));
            let iid = p.merge_requests.len() as u64 + 1;
            p.merge_requests
                .push(new_mr(id, iid, author, source, target, &sha, title));
            iid
        })
    }

    pub fn add_user(&self, username: &str) -> u64 {
        self.with(|s| {
            let id = s.id();
            s.users.insert(
                id,
                User {
                    id,
                    username: username.into(),
                },
            );
            id
        })
    }

    pub fn add_token(&self, token: &str, user: u64) {
        self.with(|s| s.tokens.insert(token.into(), user));
    }

    pub fn add_project(&self, path: &str) -> u64 {
        self.with(|s| {
            let id = s.id();
            s.projects.push(Project {
                id,
                path: path.into(),
                ..Project::default()
            });
            id
        })
    }

    pub fn add_member(&self, project: &str, user: u64, access_level: u32) {
        self.with(|s| {
            project_of(s, project).members.insert(user, access_level);
        });
    }

    pub fn add_group_member(&self, group: &str, user: u64, access_level: u32) {
        self.with(|s| {
            s.groups
                .entry(group.into())
                .or_default()
                .insert(user, access_level);
        });
    }

    /// Points `branch` at `sha`, as a push would.
    /// On an attached project `sha` must be a commit of the repository, and the real branch
    /// moves.
    pub fn set_branch(&self, project: &str, branch: &str, sha: &str) {
        self.with(|s| {
            let p = project_of(s, project);
            match &p.repo {
                // Read back (with what follows from it) on the next request.
                Some(repo) => git::set_head(repo, branch, sha),
                None => {
                    p.branches.insert(branch.into(), sha.into());
                }
            }
        });
    }

    /// Opens a merge request as a person would (the branch is created if needed).
    pub fn open_mr(
        &self,
        project: &str,
        author: u64,
        source: &str,
        target: &str,
        sha: &str,
    ) -> u64 {
        self.set_branch(project, source, sha);
        self.with(|s| {
            let id = s.id();
            let p = project_of(s, project);
            let iid = p.merge_requests.len() as u64 + 1;
            p.merge_requests.push(new_mr(
                id,
                iid,
                author,
                source,
                target,
                sha,
                "Change by a person",
            ));
            iid
        })
    }

    /// Pushes a new head to the merge request's branch: approvals reset, as with GitLab's
    /// "reset approvals on push".
    /// On an attached project `sha` must be a commit of the repository: the real branch moves.
    pub fn push(&self, project: &str, iid: u64, sha: &str) {
        self.with(|s| {
            let p = project_of(s, project);
            if let Some(repo) = p.repo.clone() {
                // The merge request follows on the next request (see `sync`).
                let branch = mr_of(p, iid).source_branch.clone();
                git::set_head(&repo, &branch, sha);
                return;
            }
            let mr = mr_of(p, iid);
            mr.sha = sha.into();
            mr.approved_by.clear();
            let branch = mr.source_branch.clone();
            p.branches.insert(branch, sha.into());
        });
    }

    /// Starts a merge request pipeline on the current head; it becomes the head pipeline.
    pub fn add_pipeline(&self, project: &str, iid: u64, status: &str) -> u64 {
        self.with(|s| {
            let id = s.id();
            let p = project_of(s, project);
            let mr = mr_of(p, iid);
            mr.head_pipeline_id = Some(id);
            let pipeline = Pipeline {
                id,
                sha: mr.sha.clone(),
                git_ref: format!("refs/merge-requests/{iid}/head"),
                status: status.into(),
                source: "merge_request_event".into(),
            };
            p.pipelines.push(pipeline);
            id
        })
    }

    /// Finishes a pipeline; a merge request waiting for it to succeed is merged (for real on
    /// an attached project; a conflict there aborts the auto-merge with a system note).
    pub fn finish_pipeline(&self, project: &str, pipeline: u64, status: &str) {
        self.with(|s| {
            let pi = project_index(s, project);
            let p = &mut s.projects[pi];
            if let Some(found) = p.pipelines.iter_mut().find(|x| x.id == pipeline) {
                found.status = status.into();
            }
            let waiting: Vec<usize> = p
                .merge_requests
                .iter()
                .enumerate()
                .filter(|(_, mr)| {
                    mr.state == "opened"
                        && mr.head_pipeline_id == Some(pipeline)
                        && mr.merge_when_pipeline_succeeds
                        && status == "success"
                })
                .map(|(mi, _)| mi)
                .collect();
            for mi in waiting {
                let mr = &s.projects[pi].merge_requests[mi];
                let user = mr.merge_user_id.unwrap_or(mr.author_id);
                let message = mr.merge_commit_message.clone();
                if let Err(refused) = land(s, pi, mi, user, message) {
                    let reason = match refused {
                        Refused::Conflict => "the merge request has conflicts".to_owned(),
                        Refused::NeedsRebase => "the source branch needs a rebase".to_owned(),
                        Refused::NoBranch(b) => format!("branch {b} does not exist"),
                    };
                    abort_auto_merge(s, pi, mi, &reason);
                }
            }
        });
    }

    pub fn approve(&self, project: &str, iid: u64, user: u64) {
        self.with(|s| mr_of(project_of(s, project), iid).approved_by.push(user));
    }

    pub fn set_diffs(&self, project: &str, iid: u64, diffs: Vec<Diff>) {
        self.with(|s| mr_of(project_of(s, project), iid).diffs = diffs);
    }

    pub fn set_mergeable(&self, project: &str, iid: u64, mergeable: bool) {
        self.with(|s| mr_of(project_of(s, project), iid).mergeable = mergeable);
    }

    /// A comment written by a person (or a system note when `system`).
    pub fn add_note(&self, project: &str, iid: u64, author: u64, body: &str, system: bool) -> u64 {
        self.with(|s| {
            let id = s.id();
            mr_of(project_of(s, project), iid).notes.push(Note {
                id,
                body: body.into(),
                author_id: author,
                system,
                awards: Vec::new(),
            });
            id
        })
    }

    pub fn mr(&self, project: &str, iid: u64) -> MergeRequest {
        self.with(|s| mr_of(project_of(s, project), iid).clone())
    }

    pub fn mrs(&self, project: &str) -> Vec<MergeRequest> {
        self.with(|s| project_of(s, project).merge_requests.clone())
    }

    pub fn statuses(&self, project: &str, sha: &str) -> Vec<Status> {
        self.with(|s| {
            project_of(s, project)
                .statuses
                .iter()
                .filter(|x| x.sha == sha)
                .cloned()
                .collect()
        })
    }

    pub fn pipelines(&self, project: &str) -> Vec<Pipeline> {
        self.with(|s| project_of(s, project).pipelines.clone())
    }

    pub fn fail_next(&self, method: Method, pattern: &str, times: u32, fault: Fault) {
        self.faults.fail_next(method, pattern, times, fault);
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.faults.requests()
    }
}

fn project_of<'a>(s: &'a mut GitLabState, key: &str) -> &'a mut Project {
    s.project_mut(key)
        .unwrap_or_else(|| panic!("the fake GitLab has no project {key}"))
}

fn project_index(s: &GitLabState, key: &str) -> usize {
    s.projects
        .iter()
        .position(|p| p.path == key || p.id.to_string() == key)
        .unwrap_or_else(|| panic!("the fake GitLab has no project {key}"))
}

/// Locks the state and brings attached projects up to date with their repositories.
fn synced(state: &Shared) -> MutexGuard<'_, GitLabState> {
    let mut s = lock(state);
    sync(&mut s);
    s
}

/// For each attached project: branches are re-read from the repository; an open merge request
/// whose source branch moved takes the new head, loses its approvals (GitLab's "reset
/// approvals on push") and its scheduled auto-merge (GitLab aborts it when the source branch
/// is updated), with a system note.
fn sync(s: &mut GitLabState) {
    for pi in 0..s.projects.len() {
        let Some(repo) = s.projects[pi].repo.clone() else {
            continue;
        };
        let p = &mut s.projects[pi];
        p.branches = git::heads(&repo);
        let mut aborted = Vec::new();
        for (mi, mr) in p.merge_requests.iter_mut().enumerate() {
            if mr.state != "opened" {
                continue;
            }
            let Some(head) = p.branches.get(&mr.source_branch) else {
                continue;
            };
            if *head != mr.sha {
                mr.sha = head.clone();
                mr.approved_by.clear();
                if mr.merge_when_pipeline_succeeds {
                    aborted.push(mi);
                }
            }
        }
        for mi in aborted {
            abort_auto_merge(s, pi, mi, "the source branch was updated");
        }
    }
}

fn abort_auto_merge(s: &mut GitLabState, pi: usize, mi: usize, reason: &str) {
    let id = s.id();
    let mr = &mut s.projects[pi].merge_requests[mi];
    mr.merge_when_pipeline_succeeds = false;
    mr.merge_commit_message = None;
    let author = mr.merge_user_id.take().unwrap_or(mr.author_id);
    mr.notes.push(Note {
        id,
        body: format!("aborted the automatic merge because {reason}"),
        author_id: author,
        system: true,
        awards: Vec::new(),
    });
}

/// GitLab's default merge commit message.
fn default_merge_message(p: &Project, mr: &MergeRequest) -> String {
    format!(
        "Merge branch '{}' into '{}'\n\n{}\n\nSee merge request {}!{}",
        mr.source_branch, mr.target_branch, mr.title, p.path, mr.iid
    )
}

/// Merges the merge request now: a real merge on an attached project, else a fake merge
/// commit id. Removes the source branch when asked.
fn land(
    s: &mut GitLabState,
    pi: usize,
    mi: usize,
    user: u64,
    message: Option<String>,
) -> Result<(), Refused> {
    let username = s
        .users
        .get(&user)
        .map_or_else(|| format!("user{user}"), |u| u.username.clone());
    let p = &mut s.projects[pi];
    let Some(repo) = p.repo.clone() else {
        let mr = &mut p.merge_requests[mi];
        mr.merge_user_id = Some(user);
        complete_merge(mr);
        return Ok(());
    };
    let message = message.unwrap_or_else(|| default_merge_message(p, &p.merge_requests[mi]));
    let method = p.merge_method;
    let mr = &mut p.merge_requests[mi];
    if mr.diffs.is_empty() {
        // Keep what the merge request changed: after the merge the branches no longer say.
        mr.diffs = git::diffs(&repo, &mr.sha, &mr.target_branch);
    }
    let landed = git::merge(
        &repo,
        &mr.sha,
        &mr.target_branch,
        method,
        &message,
        &username,
    )?;
    mr.state = "merged".into();
    mr.merge_when_pipeline_succeeds = false;
    mr.merge_user_id = Some(user);
    mr.merge_commit_sha = landed.merge_commit;
    if mr.remove_source_branch {
        git::delete_branch(&repo, &mr.source_branch, &mr.sha);
    }
    p.branches = git::heads(&repo);
    Ok(())
}

fn mr_of(p: &mut Project, iid: u64) -> &mut MergeRequest {
    p.merge_requests
        .iter_mut()
        .find(|m| m.iid == iid)
        .unwrap_or_else(|| panic!("the fake GitLab has no merge request !{iid}"))
}

fn new_mr(
    id: u64,
    iid: u64,
    author: u64,
    source: &str,
    target: &str,
    sha: &str,
    title: &str,
) -> MergeRequest {
    MergeRequest {
        id,
        iid,
        title: title.into(),
        description: String::new(),
        state: "opened".into(),
        source_branch: source.into(),
        target_branch: target.into(),
        sha: sha.into(),
        labels: Vec::new(),
        author_id: author,
        approved_by: Vec::new(),
        notes: Vec::new(),
        diffs: Vec::new(),
        head_pipeline_id: None,
        merge_when_pipeline_succeeds: false,
        merge_commit_sha: None,
        mergeable: true,
        remove_source_branch: false,
        merge_user_id: None,
        merge_commit_message: None,
    }
}

fn complete_merge(mr: &mut MergeRequest) {
    mr.state = "merged".into();
    mr.merge_commit_sha = Some(fake_sha(&format!("merge {} {}", mr.iid, mr.sha)));
}

// ---- HTTP side --------------------------------------------------------------------------

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

fn not_found(what: &str) -> Response {
    error(StatusCode::NOT_FOUND, &format!("404 {what} Not Found"))
}

async fn authenticate(State(state): State<Shared>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get("private-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let caller = token.and_then(|t| lock(&state).tokens.get(&t).copied());
    match caller {
        Some(id) => {
            request.extensions_mut().insert(Caller(id));
            next.run(request).await
        }
        None => error(StatusCode::UNAUTHORIZED, "401 Unauthorized"),
    }
}

/// `merge_status`, `detailed_merge_status` and `has_conflicts` as GitLab reports them; for an
/// attached project computed from the repository.
pub fn merge_status(p: &Project, mr: &MergeRequest) -> (&'static str, &'static str, bool) {
    if mr.state != "opened" {
        return ("can_be_merged", "not_open", false);
    }
    if !mr.mergeable {
        return ("cannot_be_merged", "conflict", true);
    }
    if let Some(repo) = &p.repo {
        match git::check(repo, &mr.sha, &mr.target_branch, p.merge_method) {
            Ok(()) => {}
            Err(Refused::Conflict) => return ("cannot_be_merged", "conflict", true),
            Err(Refused::NeedsRebase) => return ("cannot_be_merged", "need_rebase", false),
            Err(Refused::NoBranch(_)) => return ("cannot_be_merged", "broken_status", false),
        }
    }
    ("can_be_merged", "mergeable", false)
}

fn mr_json(s: &GitLabState, p: &Project, mr: &MergeRequest, detailed: bool) -> Value {
    let (status, detailed_status, conflicts) = merge_status(p, mr);
    let merged = mr.state == "merged";
    let merge_user = mr.merge_user_id.map(|u| s.user_json(u));
    let mut value = json!({
        "id": mr.id,
        "iid": mr.iid,
        "project_id": p.id,
        "title": mr.title,
        "description": mr.description,
        "state": mr.state,
        "target_branch": mr.target_branch,
        "source_branch": mr.source_branch,
        "author": s.user_json(mr.author_id),
        "labels": mr.labels,
        "draft": false,
        "work_in_progress": false,
        "merge_when_pipeline_succeeds": mr.merge_when_pipeline_succeeds,
        "merge_status": status,
        "detailed_merge_status": detailed_status,
        "has_conflicts": conflicts,
        "merge_user": merge_user,
        "merged_by": if merged { merge_user.clone() } else { None },
        "sha": mr.sha,
        "merge_commit_sha": mr.merge_commit_sha,
        "force_remove_source_branch": mr.remove_source_branch,
        "references": { "short": format!("!{}", mr.iid), "full": format!("{}!{}", p.path, mr.iid) },
        "web_url": format!("http://gitlab.test/{}/-/merge_requests/{}", p.path, mr.iid),
    });
    if detailed {
        // Only the single-MR endpoints carry `head_pipeline`.
        let pipeline = mr
            .head_pipeline_id
            .and_then(|id| p.pipelines.iter().find(|x| x.id == id))
            .map(|x| pipeline_json(p, x));
        value["head_pipeline"] = pipeline.unwrap_or(Value::Null);
    }
    value
}

fn pipeline_json(p: &Project, x: &Pipeline) -> Value {
    json!({
        "id": x.id,
        "iid": x.id,
        "project_id": p.id,
        "sha": x.sha,
        "ref": x.git_ref,
        "status": x.status,
        "source": x.source,
        "web_url": format!("http://gitlab.test/{}/-/pipelines/{}", p.path, x.id),
    })
}

fn note_json(s: &GitLabState, note: &Note) -> Value {
    json!({
        "id": note.id,
        "type": null,
        "body": note.body,
        "author": s.user_json(note.author_id),
        "system": note.system,
        "noteable_type": "MergeRequest",
        "resolvable": false,
    })
}

fn award_json(s: &GitLabState, award: &Award, note: u64) -> Value {
    json!({
        "id": award.id,
        "name": award.name,
        "user": s.user_json(award.user_id),
        "awardable_id": note,
        "awardable_type": "Note",
    })
}

/// A JSON list with GitLab's offset pagination headers.
fn paged(items: Vec<Value>, query: &BTreeMap<String, String>) -> Response {
    let page = query.get("page").and_then(|v| v.parse().ok()).unwrap_or(1);
    let per_page = query
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let (slice, more) = page_of(&items, page, per_page);
    let mut headers = HeaderMap::new();
    let next = if more {
        (page + 1).to_string()
    } else {
        String::new()
    };
    headers.insert("x-page", HeaderValue::from(page));
    headers.insert("x-per-page", HeaderValue::from(per_page.clamp(1, 100)));
    headers.insert("x-total", HeaderValue::from(items.len()));
    if let Ok(value) = HeaderValue::from_str(&next) {
        headers.insert("x-next-page", value);
    }
    (headers, Json(Value::Array(slice))).into_response()
}

/// Labels arrive as a comma-separated string (or, from some clients, an array).
fn labels_of(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

async fn current_user(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
) -> Response {
    Json(lock(&state).user_json(caller.0)).into_response()
}

async fn list_mrs(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let s = synced(&state);
    let Some(p) = s
        .projects
        .iter()
        .find(|p| p.path == id || p.id.to_string() == id)
    else {
        return not_found("Project");
    };
    let wanted_state = query.get("state").map(String::as_str).unwrap_or("all");
    let items = p
        .merge_requests
        .iter()
        .rev()
        .filter(|m| wanted_state == "all" || m.state == wanted_state)
        .filter(|m| {
            query
                .get("source_branch")
                .is_none_or(|b| &m.source_branch == b)
        })
        .filter(|m| {
            query
                .get("target_branch")
                .is_none_or(|b| &m.target_branch == b)
        })
        .map(|m| mr_json(&s, p, m, false))
        .collect();
    paged(items, &query)
}

async fn create_mr(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut s = synced(&state);
    let mr_id = s.id();
    let Some(p) = s.project_mut(&id) else {
        return not_found("Project");
    };
    let field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (source, target, title) = (
        field("source_branch"),
        field("target_branch"),
        field("title"),
    );
    if source.is_empty() || target.is_empty() || title.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "source_branch, target_branch, title are missing" })),
        )
            .into_response();
    }
    if p.repo.is_some() {
        // GitLab's validation error, as `{"message": {"source_branch": ["does not exist"]}}`.
        for (field, branch) in [("source_branch", &source), ("target_branch", &target)] {
            if !p.branches.contains_key(branch) {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({ "message": { field: ["does not exist"] } })),
                )
                    .into_response();
            }
        }
    }
    if let Some(open) = p
        .merge_requests
        .iter()
        .find(|m| m.state == "opened" && m.source_branch == source && m.target_branch == target)
    {
        return error(
            StatusCode::CONFLICT,
            &format!(
                "Another open merge request already exists for this source branch: !{}",
                open.iid
            ),
        );
    }
    let sha = p
        .branches
        .get(&source)
        .cloned()
        .unwrap_or_else(|| fake_sha(&format!("{}:{source}", p.path)));
    let iid = p.merge_requests.len() as u64 + 1;
    let mut mr = new_mr(mr_id, iid, caller.0, &source, &target, &sha, &title);
    mr.description = field("description");
    mr.labels = body.get("labels").map(labels_of).unwrap_or_default();
    mr.remove_source_branch = body
        .get("remove_source_branch")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    p.merge_requests.push(mr);
    let p = p.clone();
    let created = mr_json(&s, &p, &p.merge_requests[p.merge_requests.len() - 1], true);
    (StatusCode::CREATED, Json(created)).into_response()
}

/// Runs `f` on the project and merge request named in the path, or answers 404.
fn with_mr(
    state: &Shared,
    id: &str,
    iid: u64,
    f: impl FnOnce(&mut GitLabState, usize, usize) -> Response,
) -> Response {
    let mut s = synced(state);
    let Some(pi) = s
        .projects
        .iter()
        .position(|p| p.path == id || p.id.to_string() == id)
    else {
        return not_found("Project");
    };
    let Some(mi) = s.projects[pi]
        .merge_requests
        .iter()
        .position(|m| m.iid == iid)
    else {
        return not_found("Merge Request");
    };
    f(&mut s, pi, mi)
}

fn render_mr(s: &GitLabState, pi: usize, mi: usize) -> Value {
    let p = &s.projects[pi];
    mr_json(s, p, &p.merge_requests[mi], true)
}

async fn show_mr(State(state): State<Shared>, Path((id, iid)): Path<(String, u64)>) -> Response {
    with_mr(&state, &id, iid, |s, pi, mi| {
        Json(render_mr(s, pi, mi)).into_response()
    })
}

async fn update_mr(
    State(state): State<Shared>,
    Path((id, iid)): Path<(String, u64)>,
    Json(body): Json<Value>,
) -> Response {
    with_mr(&state, &id, iid, |s, pi, mi| {
        let mr = &mut s.projects[pi].merge_requests[mi];
        if let Some(title) = body.get("title").and_then(Value::as_str) {
            mr.title = title.into();
        }
        if let Some(text) = body.get("description").and_then(Value::as_str) {
            mr.description = text.into();
        }
        if let Some(labels) = body.get("labels") {
            mr.labels = labels_of(labels);
        }
        match body.get("state_event").and_then(Value::as_str) {
            Some("close") if mr.state == "opened" => mr.state = "closed".into(),
            Some("reopen") if mr.state == "closed" => mr.state = "opened".into(),
            _ => {}
        }
        Json(render_mr(s, pi, mi)).into_response()
    })
}

async fn diffs(
    State(state): State<Shared>,
    Path((id, iid)): Path<(String, u64)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    with_mr(&state, &id, iid, |s, pi, mi| {
        let p = &s.projects[pi];
        let mr = &p.merge_requests[mi];
        let computed = match &p.repo {
            Some(repo) if mr.diffs.is_empty() && mr.state == "opened" => {
                git::diffs(repo, &mr.sha, &mr.target_branch)
            }
            _ => mr.diffs.clone(),
        };
        let items = computed
            .iter()
            .map(|d| {
                json!({
                    "old_path": d.old_path,
                    "new_path": d.new_path,
                    "a_mode": "100644",
                    "b_mode": "100644",
                    "new_file": d.new_file,
                    "renamed_file": d.renamed_file,
                    "deleted_file": d.deleted_file,
                    "diff": "",
                })
            })
            .collect();
        paged(items, &query)
    })
}

async fn mr_pipelines(
    State(state): State<Shared>,
    Path((id, iid)): Path<(String, u64)>,
) -> Response {
    with_mr(&state, &id, iid, |s, pi, _mi| {
        let p = &s.projects[pi];
        let prefix = format!("refs/merge-requests/{iid}/");
        let items: Vec<Value> = p
            .pipelines
            .iter()
            .rev()
            .filter(|x| x.git_ref.starts_with(&prefix))
            .map(|x| pipeline_json(p, x))
            .collect();
        Json(items).into_response()
    })
}

async fn list_notes(
    State(state): State<Shared>,
    Path((id, iid)): Path<(String, u64)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    with_mr(&state, &id, iid, |s, pi, mi| {
        let mut notes: Vec<Value> = s.projects[pi].merge_requests[mi]
            .notes
            .iter()
            .map(|n| note_json(s, n))
            .collect();
        // GitLab lists notes newest first unless asked otherwise.
        if query.get("sort").map(String::as_str) != Some("asc") {
            notes.reverse();
        }
        paged(notes, &query)
    })
}

async fn create_note(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((id, iid)): Path<(String, u64)>,
    Json(body): Json<Value>,
) -> Response {
    let Some(text) = body.get("body").and_then(Value::as_str).map(str::to_owned) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "body is missing" })),
        )
            .into_response();
    };
    with_mr(&state, &id, iid, |s, pi, mi| {
        let note = Note {
            id: s.id(),
            body: text,
            author_id: caller.0,
            system: false,
            awards: Vec::new(),
        };
        let rendered = note_json(s, &note);
        s.projects[pi].merge_requests[mi].notes.push(note);
        (StatusCode::CREATED, Json(rendered)).into_response()
    })
}

async fn edit_note(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((id, iid, note)): Path<(String, u64, u64)>,
    Json(body): Json<Value>,
) -> Response {
    let Some(text) = body.get("body").and_then(Value::as_str).map(str::to_owned) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "body is missing" })),
        )
            .into_response();
    };
    with_mr(&state, &id, iid, |s, pi, mi| {
        let Some(found) = s.projects[pi].merge_requests[mi]
            .notes
            .iter_mut()
            .find(|n| n.id == note)
        else {
            return not_found("Note");
        };
        if found.author_id != caller.0 {
            return error(StatusCode::FORBIDDEN, "403 Forbidden");
        }
        found.body = text;
        let found = found.clone();
        Json(note_json(s, &found)).into_response()
    })
}

async fn list_awards(
    State(state): State<Shared>,
    Path((id, iid, note)): Path<(String, u64, u64)>,
) -> Response {
    with_mr(&state, &id, iid, |s, pi, mi| {
        let Some(found) = s.projects[pi].merge_requests[mi]
            .notes
            .iter()
            .find(|n| n.id == note)
        else {
            return not_found("Note");
        };
        let items: Vec<Value> = found
            .awards
            .iter()
            .map(|a| award_json(s, a, note))
            .collect();
        Json(items).into_response()
    })
}

async fn award(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((id, iid, note)): Path<(String, u64, u64)>,
    Json(body): Json<Value>,
) -> Response {
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    with_mr(&state, &id, iid, |s, pi, mi| {
        let award_id = s.id();
        let Some(found) = s.projects[pi].merge_requests[mi]
            .notes
            .iter_mut()
            .find(|n| n.id == note)
        else {
            return not_found("Note");
        };
        if found
            .awards
            .iter()
            .any(|a| a.name == name && a.user_id == caller.0)
        {
            // What GitLab answers for a second identical award.
            return error(
                StatusCode::NOT_FOUND,
                "404 Award Emoji Name has already been taken",
            );
        }
        let award = Award {
            id: award_id,
            name,
            user_id: caller.0,
        };
        found.awards.push(award.clone());
        (StatusCode::CREATED, Json(award_json(s, &award, note))).into_response()
    })
}

async fn approvals(State(state): State<Shared>, Path((id, iid)): Path<(String, u64)>) -> Response {
    with_mr(&state, &id, iid, |s, pi, mi| {
        let p = &s.projects[pi];
        let mr = &p.merge_requests[mi];
        let approved_by: Vec<Value> = mr
            .approved_by
            .iter()
            .map(|u| json!({ "user": s.user_json(*u) }))
            .collect();
        Json(json!({
            "id": mr.id,
            "iid": mr.iid,
            "project_id": p.id,
            "title": mr.title,
            "state": mr.state,
            "approved": !mr.approved_by.is_empty(),
            "approved_by": approved_by,
        }))
        .into_response()
    })
}

async fn merge(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((id, iid)): Path<(String, u64)>,
    Json(body): Json<Value>,
) -> Response {
    with_mr(&state, &id, iid, |s, pi, mi| {
        let p = &mut s.projects[pi];
        let head_status = p.merge_requests[mi]
            .head_pipeline_id
            .and_then(|id| p.pipelines.iter().find(|x| x.id == id))
            .map(|x| x.status.clone());
        let (repo, method) = (p.repo.clone(), p.merge_method);
        let mr = &mut p.merge_requests[mi];
        if mr.state != "opened" {
            return error(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed");
        }
        if let Some(sha) = body.get("sha").and_then(Value::as_str)
            && sha != mr.sha
        {
            return error(
                StatusCode::CONFLICT,
                &format!("SHA does not match HEAD of source branch: {}", mr.sha),
            );
        }
        if !mr.mergeable {
            return error(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed");
        }
        let auto = ["auto_merge", "merge_when_pipeline_succeeds"]
            .iter()
            .any(|k| body.get(*k).and_then(Value::as_bool) == Some(true));
        let pipeline_running = matches!(
            head_status.as_deref(),
            Some("created" | "pending" | "running" | "waiting_for_resource")
        );
        if head_status.as_deref() == Some("failed") {
            return error(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed");
        }
        // Conflicts (or a needed rebase) refuse both merging now and auto-merge.
        if let Some(repo) = &repo
            && git::check(repo, &mr.sha, &mr.target_branch, method).is_err()
        {
            return error(StatusCode::NOT_ACCEPTABLE, "Branch cannot be merged");
        }
        if body
            .get("should_remove_source_branch")
            .and_then(Value::as_bool)
            == Some(true)
        {
            mr.remove_source_branch = true;
        }
        let message = body
            .get("merge_commit_message")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if auto && pipeline_running {
            mr.merge_when_pipeline_succeeds = true;
            mr.merge_user_id = Some(caller.0);
            mr.merge_commit_message = message;
        } else if pipeline_running {
            return error(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed");
        } else if land(s, pi, mi, caller.0, message).is_err() {
            return error(StatusCode::NOT_ACCEPTABLE, "Branch cannot be merged");
        }
        Json(render_mr(s, pi, mi)).into_response()
    })
}

async fn create_status(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((id, sha)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    let Some(new_state) = text("state").filter(|s| {
        [
            "pending", "running", "success", "failed", "canceled", "skipped",
        ]
        .contains(&s.as_str())
    }) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "state does not have a valid value" })),
        )
            .into_response();
    };
    let name = text("name")
        .or_else(|| text("context"))
        .unwrap_or_else(|| "default".into());
    let mut s = lock(&state);
    let new_id = s.id();
    let Some(p) = s.project_mut(&id) else {
        return not_found("Project");
    };
    let pipeline_id = match body.get("pipeline_id").and_then(Value::as_u64) {
        Some(wanted) => match p.pipelines.iter().find(|x| x.id == wanted && x.sha == sha) {
            Some(found) => found.id,
            None => return not_found("Pipeline"),
        },
        None => {
            // No pipeline named: GitLab makes (or reuses) an external one for the commit.
            match p
                .pipelines
                .iter()
                .find(|x| x.sha == sha && x.source == "external")
            {
                Some(found) => found.id,
                None => {
                    p.pipelines.push(Pipeline {
                        id: new_id + 1_000_000,
                        sha: sha.clone(),
                        git_ref: text("ref").unwrap_or_default(),
                        status: new_state.clone(),
                        source: "external".into(),
                    });
                    new_id + 1_000_000
                }
            }
        }
    };
    let existing = p
        .statuses
        .iter_mut()
        .rev()
        .find(|x| x.sha == sha && x.name == name && x.pipeline_id == pipeline_id);
    let status = match existing {
        Some(current) if matches!(current.state.as_str(), "pending" | "running") => {
            if current.state == new_state {
                let verb = if new_state == "pending" {
                    "enqueue"
                } else {
                    "run"
                };
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({ "message": format!("Cannot transition status via :{verb} from :{new_state}") })),
                )
                    .into_response();
            }
            current.state = new_state;
            current.description = text("description");
            current.target_url = text("target_url");
            current.clone()
        }
        _ => {
            let status = Status {
                id: new_id,
                sha: sha.clone(),
                name,
                state: new_state,
                pipeline_id,
                git_ref: text("ref"),
                description: text("description"),
                target_url: text("target_url"),
                author_id: caller.0,
            };
            p.statuses.push(status.clone());
            status
        }
    };
    let author = s.user_json(status.author_id);
    (
        StatusCode::CREATED,
        Json(json!({
            "id": status.id,
            "sha": status.sha,
            "ref": status.git_ref,
            "status": status.state,
            "name": status.name,
            "target_url": status.target_url,
            "description": status.description,
            "pipeline_id": status.pipeline_id,
            "allow_failure": false,
            "author": author,
        })),
    )
        .into_response()
}

fn member_json(s: &GitLabState, user: u64, level: u32) -> Response {
    let mut value = s.user_json(user);
    value["access_level"] = json!(level);
    Json(value).into_response()
}

async fn project_member(
    State(state): State<Shared>,
    Path((id, user)): Path<(String, u64)>,
) -> Response {
    let mut s = lock(&state);
    let Some(level) = s.project_mut(&id).map(|p| p.members.get(&user).copied()) else {
        return not_found("Project");
    };
    match level {
        Some(level) => member_json(&s, user, level),
        None => not_found(""),
    }
}

async fn group_member(
    State(state): State<Shared>,
    Path((id, user)): Path<(String, u64)>,
) -> Response {
    let s = lock(&state);
    let Some(group) = s.groups.get(&id) else {
        return not_found("Group");
    };
    match group.get(&user) {
        Some(level) => member_json(&s, user, *level),
        None => not_found(""),
    }
}
