//! GitLab webhook payloads in GitLab's documented shapes (Push Hook, Tag Push Hook, Merge
//! Request Hook, Note Hook, Pipeline Hook), built from a few arguments or from the state of
//! the fake GitLab, and `post`, which delivers one the way GitLab does.
//!
//! Builders return `serde_json::Value` so a test can still change a field before posting
//! (`hook["object_attributes"]["draft"] = json!(true)`).

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use super::fake_gitlab::{
    FakeGitLab, GitLabState, MergeRequest as FakeMr, Project as FakeProject, merge_status,
};
use super::faults::{fake_sha, lock};

pub const PUSH_HOOK: &str = "Push Hook";
pub const TAG_PUSH_HOOK: &str = "Tag Push Hook";
pub const MERGE_REQUEST_HOOK: &str = "Merge Request Hook";
pub const NOTE_HOOK: &str = "Note Hook";
pub const PIPELINE_HOOK: &str = "Pipeline Hook";

pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

const HOST: &str = "https://gitlab.test";

/// Who caused an event: GitLab's user id and username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub id: u64,
    pub username: String,
}

impl Who {
    pub fn new(id: u64, username: &str) -> Self {
        Self {
            id,
            username: username.into(),
        }
    }

    /// A user of the fake GitLab, by id.
    pub fn from_fake(fake: &FakeGitLab, id: u64) -> Self {
        let state = lock(&fake.state);
        let user = state
            .users
            .get(&id)
            .unwrap_or_else(|| panic!("the fake GitLab has no user {id}"));
        Self::new(id, &user.username)
    }
}

/// The `X-Gitlab-Event` header that goes with a payload, from its `object_kind`.
pub fn event_of(hook: &Value) -> &'static str {
    match hook["object_kind"].as_str() {
        Some("push") => PUSH_HOOK,
        Some("tag_push") => TAG_PUSH_HOOK,
        Some("merge_request") => MERGE_REQUEST_HOOK,
        Some("note") => NOTE_HOOK,
        Some("pipeline") => PIPELINE_HOOK,
        other => panic!("no GitLab hook header for object_kind {other:?}"),
    }
}

/// GitLab's date format in note and pipeline hooks: `2025-03-14 08:02:31 UTC`.
pub fn gitlab_date(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn now() -> String {
    gitlab_date(jiff::Timestamp::now())
}

/// A stable project id for a path, for payloads not built from the fake.
fn project_id_of(path: &str) -> u64 {
    u64::from_str_radix(&fake_sha(path)[..6], 16).unwrap_or(1)
}

fn project_json(id: u64, path: &str) -> Value {
    let (namespace, name) = path.rsplit_once('/').unwrap_or(("", path));
    json!({
        "id": id,
        "name": name,
        "description": null,
        "web_url": format!("{HOST}/{path}"),
        "avatar_url": null,
        "git_ssh_url": format!("git@gitlab.test:{path}.git"),
        "git_http_url": format!("{HOST}/{path}.git"),
        "namespace": namespace,
        "visibility_level": 0,
        "path_with_namespace": path,
        "default_branch": "main",
        "ci_config_path": null,
        "homepage": format!("{HOST}/{path}"),
        "url": format!("git@gitlab.test:{path}.git"),
        "ssh_url": format!("git@gitlab.test:{path}.git"),
        "http_url": format!("{HOST}/{path}.git"),
    })
}

fn repository_json(path: &str) -> Value {
    let name = path.rsplit('/').next().unwrap_or(path);
    json!({
        "name": name,
        "url": format!("git@gitlab.test:{path}.git"),
        "description": null,
        "homepage": format!("{HOST}/{path}"),
    })
}

fn user_json(who: &Who) -> Value {
    json!({
        "id": who.id,
        "name": who.username,
        "username": who.username,
        "avatar_url": null,
        "email": "[REDACTED]",
    })
}

fn commit_json(path: &str, sha: &str, message: &str) -> Value {
    json!({
        "id": sha,
        "message": format!("{message}\n"),
        "title": message,
        "timestamp": jiff::Timestamp::now().to_string(),
        "url": format!("{HOST}/{path}/-/commit/{sha}"),
        "author": { "name": "Dana Dev", "email": "dana@example.com" },
    })
}

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
    /// A commit that modifies `paths`.
    pub fn modifying(id: &str, message: &str, paths: &[&str]) -> Self {
        Self {
            id: id.into(),
            message: message.into(),
            modified: paths.iter().map(|p| (*p).to_owned()).collect(),
            ..Self::default()
        }
    }
}

fn ref_push(
    project: &str,
    full_ref: &str,
    before: &str,
    after: &str,
    checkout_sha: Option<&str>,
    pusher: &Who,
    commits: &[PushedCommit],
) -> Value {
    let kind = if full_ref.starts_with("refs/tags/") {
        "tag_push"
    } else {
        "push"
    };
    let id = project_id_of(project);
    let commits: Vec<Value> = commits
        .iter()
        .map(|c| {
            let mut value = commit_json(project, &c.id, &c.message);
            value["added"] = json!(c.added);
            value["modified"] = json!(c.modified);
            value["removed"] = json!(c.removed);
            value
        })
        .collect();
    json!({
        "object_kind": kind,
        "event_name": kind,
        "before": before,
        "after": after,
        "ref": full_ref,
        "ref_protected": false,
        "checkout_sha": checkout_sha,
        "message": null,
        "user_id": pusher.id,
        "user_name": pusher.username,
        "user_username": pusher.username,
        "user_email": "",
        "user_avatar": null,
        "project_id": id,
        "project": project_json(id, project),
        "total_commits_count": commits.len(),
        "commits": commits,
        "push_options": {},
        "repository": repository_json(project),
    })
}

/// `Push Hook` for `branch` moving from `before` to `after` (`ZERO_SHA` before: a new
/// branch; `ZERO_SHA` after: a deleted one). `commits` oldest first, as GitLab lists them.
pub fn push(
    project: &str,
    branch: &str,
    before: &str,
    after: &str,
    pusher: &Who,
    commits: &[PushedCommit],
) -> Value {
    let checkout = (after != ZERO_SHA).then_some(after);
    ref_push(
        project,
        &format!("refs/heads/{branch}"),
        before,
        after,
        checkout,
        pusher,
        commits,
    )
}

/// `Push Hook` for a push of one commit `after` on `branch` that changed `paths`.
pub fn push_one(
    project: &str,
    branch: &str,
    before: &str,
    after: &str,
    pusher: &Who,
    paths: &[&str],
) -> Value {
    let commit = PushedCommit::modifying(after, "Change", paths);
    push(project, branch, before, after, pusher, &[commit])
}

/// `Tag Push Hook` for a new annotated tag on `commit`: `after` is the tag object, as GitLab
/// sends it, and `checkout_sha` the tagged commit.
pub fn tag_push(project: &str, tag: &str, commit: &str, pusher: &Who) -> Value {
    let tag_object = fake_sha(&format!("tag object {project} {tag} {commit}"));
    let mut hook = ref_push(
        project,
        &format!("refs/tags/{tag}"),
        ZERO_SHA,
        &tag_object,
        Some(commit),
        pusher,
        &[],
    );
    hook["message"] = json!(format!("Release {tag}"));
    hook
}

/// What a Merge Request Hook says about the merge request.
#[derive(Debug, Clone)]
pub struct MrFacts {
    pub project: String,
    pub project_id: u64,
    /// The global id (`object_attributes.id`).
    pub id: u64,
    pub iid: u64,
    pub title: String,
    pub description: String,
    pub source_branch: String,
    pub target_branch: String,
    /// The source branch head (`last_commit.id`).
    pub head_sha: String,
    pub author_id: u64,
    /// `opened`, `closed`, `merged`, `locked`.
    pub state: String,
    pub labels: Vec<String>,
    pub draft: bool,
    pub merge_commit_sha: Option<String>,
    pub merge_status: String,
    pub detailed_merge_status: String,
    pub merge_when_pipeline_succeeds: bool,
    pub head_pipeline_id: Option<u64>,
}

impl MrFacts {
    /// An open merge request with GitLab's defaults for the rest.
    pub fn new(project: &str, iid: u64, source: &str, target: &str, head_sha: &str) -> Self {
        Self {
            project: project.into(),
            project_id: project_id_of(project),
            id: 90_000 + iid,
            iid,
            title: format!("Change on {source}"),
            description: String::new(),
            source_branch: source.into(),
            target_branch: target.into(),
            head_sha: head_sha.into(),
            author_id: 1,
            state: "opened".into(),
            labels: Vec::new(),
            draft: false,
            merge_commit_sha: None,
            merge_status: "can_be_merged".into(),
            detailed_merge_status: "mergeable".into(),
            merge_when_pipeline_succeeds: false,
            head_pipeline_id: None,
        }
    }

    /// The merge request as the fake GitLab holds it now (call after the change the hook
    /// reports, e.g. after the push for `Update`, after the merge for `Merge`).
    pub fn from_fake(fake: &FakeGitLab, project: &str, iid: u64) -> Self {
        // A GET through the fake's own API would also do; reading the state directly keeps
        // the request log clean. Attached projects are re-read from git by this call.
        let mr = fake.mr(project, iid);
        let state = lock(&fake.state);
        let p = find_project(&state, project);
        Self::of(p, &mr)
    }

    fn of(p: &FakeProject, mr: &FakeMr) -> Self {
        let (merge_status, detailed_merge_status, _) = merge_status(p, mr);
        Self {
            project: p.path.clone(),
            project_id: p.id,
            id: mr.id,
            iid: mr.iid,
            title: mr.title.clone(),
            description: mr.description.clone(),
            source_branch: mr.source_branch.clone(),
            target_branch: mr.target_branch.clone(),
            head_sha: mr.sha.clone(),
            author_id: mr.author_id,
            state: mr.state.clone(),
            labels: mr.labels.clone(),
            draft: false,
            merge_commit_sha: mr.merge_commit_sha.clone(),
            merge_status: merge_status.into(),
            detailed_merge_status: detailed_merge_status.into(),
            merge_when_pipeline_succeeds: mr.merge_when_pipeline_succeeds,
            head_pipeline_id: mr.head_pipeline_id,
        }
    }

    fn url(&self) -> String {
        format!("{HOST}/{}/-/merge_requests/{}", self.project, self.iid)
    }

    /// The short `merge_request` object of note and pipeline hooks.
    fn reference_json(&self) -> Value {
        json!({
            "id": self.id,
            "iid": self.iid,
            "title": self.title,
            "description": self.description,
            "source_branch": self.source_branch,
            "source_project_id": self.project_id,
            "target_branch": self.target_branch,
            "target_project_id": self.project_id,
            "state": self.state,
            "merge_status": self.merge_status,
            "detailed_merge_status": self.detailed_merge_status,
            "author_id": self.author_id,
            "draft": self.draft,
            "work_in_progress": self.draft,
            "last_commit": { "id": self.head_sha },
            "url": self.url(),
        })
    }
}

fn find_project<'a>(state: &'a GitLabState, key: &str) -> &'a FakeProject {
    state
        .projects
        .iter()
        .find(|p| p.path == key || p.id.to_string() == key)
        .unwrap_or_else(|| panic!("the fake GitLab has no project {key}"))
}

/// The `object_attributes.action` of a Merge Request Hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MrAction {
    Open,
    Reopen,
    /// New commits: `oldrev` is the head before the push.
    Update {
        oldrev: String,
    },
    /// An update without new commits (title, labels ...): GitLab sends no `oldrev`.
    UpdateFields,
    Merge,
    Close,
    /// One user approved (GitLab 16.x `approval`); `approved` is the rule-wide state.
    Approval,
    Unapproval,
}

impl MrAction {
    fn name(&self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Reopen => "reopen",
            Self::Update { .. } | Self::UpdateFields => "update",
            Self::Merge => "merge",
            Self::Close => "close",
            Self::Approval => "approval",
            Self::Unapproval => "unapproval",
        }
    }
}

/// `Merge Request Hook` for `action` by `user` on the merge request `mr`. The state follows
/// the action (`merged` for Merge, `closed` for Close, `opened` otherwise).
pub fn merge_request(mr: &MrFacts, action: &MrAction, user: &Who) -> Value {
    let state = match action {
        MrAction::Merge => "merged",
        MrAction::Close => "closed",
        _ => "opened",
    };
    let (state_id, merge_status) = match state {
        "merged" => (3, "can_be_merged"),
        "closed" => (2, mr.merge_status.as_str()),
        _ => (1, mr.merge_status.as_str()),
    };
    let project = project_json(mr.project_id, &mr.project);
    let labels: Vec<Value> = mr
        .labels
        .iter()
        .enumerate()
        .map(|(i, title)| json!({ "id": i + 1, "title": title, "type": "ProjectLabel" }))
        .collect();
    let at = now();
    let mut attributes = json!({
        "id": mr.id,
        "iid": mr.iid,
        "target_branch": mr.target_branch,
        "source_branch": mr.source_branch,
        "source_project_id": mr.project_id,
        "target_project_id": mr.project_id,
        "author_id": mr.author_id,
        "assignee_ids": [],
        "reviewer_ids": [],
        "title": mr.title,
        "description": mr.description,
        "created_at": at,
        "updated_at": at,
        "state": state,
        "state_id": state_id,
        "blocking_discussions_resolved": true,
        "work_in_progress": mr.draft,
        "draft": mr.draft,
        "first_contribution": false,
        "merge_status": merge_status,
        "detailed_merge_status": mr.detailed_merge_status,
        "merge_when_pipeline_succeeds": mr.merge_when_pipeline_succeeds,
        "head_pipeline_id": mr.head_pipeline_id,
        "url": mr.url(),
        "source": project.clone(),
        "target": project.clone(),
        "last_commit": commit_json(&mr.project, &mr.head_sha, &mr.title),
        "merge_commit_sha": if state == "merged" { json!(mr.merge_commit_sha) } else { Value::Null },
        "squash_commit_sha": null,
        "labels": labels.clone(),
        "action": action.name(),
    });
    if let MrAction::Update { oldrev } = action {
        attributes["oldrev"] = json!(oldrev);
    }
    if state == "merged" {
        attributes["merge_user_id"] = json!(user.id);
    }
    json!({
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": user_json(user),
        "project": project,
        "object_attributes": attributes,
        "labels": labels,
        "changes": {},
        "repository": repository_json(&mr.project),
    })
}

/// `Merge Request Hook` for a merge request of the fake GitLab, in the state it has now.
pub fn merge_request_from(
    fake: &FakeGitLab,
    project: &str,
    iid: u64,
    action: &MrAction,
    user: &Who,
) -> Value {
    merge_request(&MrFacts::from_fake(fake, project, iid), action, user)
}

/// A comment for a Note Hook.
#[derive(Debug, Clone)]
pub struct NoteFacts {
    pub id: u64,
    pub body: String,
    pub author: Who,
    /// Written by GitLab ("added 1 commit", "approved this merge request").
    pub system: bool,
    /// The hook for an edit (`action: update`) rather than a new comment.
    pub edited: bool,
}

impl NoteFacts {
    pub fn new(id: u64, author: &Who, body: &str) -> Self {
        Self {
            id,
            body: body.into(),
            author: author.clone(),
            system: false,
            edited: false,
        }
    }

    pub fn edited(mut self) -> Self {
        self.edited = true;
        self
    }

    pub fn system(mut self) -> Self {
        self.system = true;
        self
    }
}

/// `Note Hook` for a comment on the merge request `mr`.
pub fn note(mr: &MrFacts, note: &NoteFacts) -> Value {
    let at = now();
    let project = project_json(mr.project_id, &mr.project);
    json!({
        "object_kind": "note",
        "event_type": "note",
        "user": user_json(&note.author),
        "project_id": mr.project_id,
        "project": project,
        "object_attributes": {
            "attachment": null,
            "author_id": note.author.id,
            "change_position": null,
            "commit_id": null,
            "created_at": at,
            "discussion_id": fake_sha(&format!("discussion {} {}", mr.project, note.id)),
            "id": note.id,
            "line_code": null,
            "note": note.body,
            "noteable_id": mr.id,
            "noteable_type": "MergeRequest",
            "original_position": null,
            "position": null,
            "project_id": mr.project_id,
            "resolved_at": null,
            "resolved_by_id": null,
            "resolved_by_push": null,
            "st_diff": null,
            "system": note.system,
            "type": null,
            "updated_at": at,
            "updated_by_id": if note.edited { json!(note.author.id) } else { Value::Null },
            "description": note.body,
            "url": format!("{}#note_{}", mr.url(), note.id),
            "action": if note.edited { "update" } else { "create" },
        },
        "repository": repository_json(&mr.project),
        "merge_request": mr.reference_json(),
    })
}

/// `Note Hook` for a note that exists in the fake GitLab (body, author, system flag as
/// stored there).
pub fn note_from(fake: &FakeGitLab, project: &str, iid: u64, note_id: u64, edited: bool) -> Value {
    let facts = MrFacts::from_fake(fake, project, iid);
    let state = lock(&fake.state);
    let p = find_project(&state, project);
    let mr = p
        .merge_requests
        .iter()
        .find(|m| m.iid == iid)
        .unwrap_or_else(|| panic!("no merge request !{iid}"));
    let stored = mr
        .notes
        .iter()
        .find(|n| n.id == note_id)
        .unwrap_or_else(|| panic!("no note {note_id} on !{iid}"));
    let username = state.users.get(&stored.author_id).map_or_else(
        || format!("user{}", stored.author_id),
        |u| u.username.clone(),
    );
    let facts_note = NoteFacts {
        id: stored.id,
        body: stored.body.clone(),
        author: Who::new(stored.author_id, &username),
        system: stored.system,
        edited,
    };
    drop(state);
    note(&facts, &facts_note)
}

/// What a pipeline ran for.
#[derive(Debug, Clone)]
pub enum PipelineFor {
    Branch(String),
    Tag(String),
    /// A merge request pipeline (`refs/merge-requests/N/head`, source `merge_request_event`).
    MergeRequest(Box<MrFacts>),
}

/// `Pipeline Hook` for pipeline `id` on `sha` in `status` (`success`, `failed`, `running` ...).
pub fn pipeline(
    project: &str,
    id: u64,
    sha: &str,
    status: &str,
    on: &PipelineFor,
    user: &Who,
) -> Value {
    let (git_ref, tag, source, mr, project_id) = match on {
        PipelineFor::Branch(b) => (
            b.clone(),
            false,
            "push",
            Value::Null,
            project_id_of(project),
        ),
        PipelineFor::Tag(t) => (t.clone(), true, "push", Value::Null, project_id_of(project)),
        PipelineFor::MergeRequest(mr) => (
            format!("refs/merge-requests/{}/head", mr.iid),
            false,
            "merge_request_event",
            mr.reference_json(),
            mr.project_id,
        ),
    };
    let finished = matches!(status, "success" | "failed" | "canceled" | "skipped");
    let at = now();
    json!({
        "object_kind": "pipeline",
        "object_attributes": {
            "id": id,
            "iid": id,
            "name": null,
            "ref": git_ref,
            "tag": tag,
            "sha": sha,
            "before_sha": ZERO_SHA,
            "source": source,
            "status": status,
            "detailed_status": status,
            "stages": ["test"],
            "created_at": at,
            "finished_at": if finished { json!(at) } else { Value::Null },
            "duration": if finished { json!(60) } else { Value::Null },
            "queued_duration": 1,
            "variables": [],
            "url": format!("{HOST}/{project}/-/pipelines/{id}"),
        },
        "merge_request": mr,
        "user": user_json(user),
        "project": project_json(project_id, project),
        "commit": commit_json(project, sha, "Change"),
        "source_pipeline": null,
        "builds": [],
    })
}

/// `Pipeline Hook` for a pipeline of the fake GitLab as it is now (its merge request too, for
/// merge request pipelines).
pub fn pipeline_from(fake: &FakeGitLab, project: &str, pipeline_id: u64, user: &Who) -> Value {
    let found = fake
        .pipelines(project)
        .into_iter()
        .find(|p| p.id == pipeline_id)
        .unwrap_or_else(|| panic!("no pipeline {pipeline_id} in {project}"));
    let path = {
        let state = lock(&fake.state);
        find_project(&state, project).path.clone()
    };
    let on = match found
        .git_ref
        .strip_prefix("refs/merge-requests/")
        .and_then(|rest| rest.split('/').next())
        .and_then(|n| n.parse::<u64>().ok())
    {
        Some(iid) => PipelineFor::MergeRequest(Box::new(MrFacts::from_fake(fake, project, iid))),
        None => match found.git_ref.strip_prefix("refs/tags/") {
            Some(tag) => PipelineFor::Tag(tag.into()),
            None => PipelineFor::Branch(
                found
                    .git_ref
                    .strip_prefix("refs/heads/")
                    .unwrap_or(&found.git_ref)
                    .into(),
            ),
        },
    };
    let mut hook = pipeline(&path, found.id, &found.sha, &found.status, &on, user);
    hook["object_attributes"]["source"] = json!(found.source);
    hook
}

static DELIVERIES: AtomicU64 = AtomicU64::new(0);

/// A fresh delivery id in UUID form, unique within the test process.
pub fn new_uuid() -> String {
    let n = DELIVERIES.fetch_add(1, Ordering::Relaxed);
    let seed = fake_sha(&format!(
        "{} {n} {:?}",
        std::process::id(),
        std::time::SystemTime::now()
    ));
    format!(
        "{}-{}-4{}-8{}-{}",
        &seed[0..8],
        &seed[8..12],
        &seed[13..16],
        &seed[17..20],
        &seed[20..32]
    )
}

/// Posts `body` to `url` as GitLab delivers a webhook (`X-Gitlab-Token`, `X-Gitlab-Event`,
/// a fresh `X-Gitlab-Event-UUID`), and returns the HTTP status.
pub async fn post(url: &str, secret: &str, event: &str, body: &Value) -> u16 {
    post_with_uuid(url, secret, event, body, &new_uuid()).await
}

/// [`post`] with a given `X-Gitlab-Event-UUID`, to redeliver the same event.
pub async fn post_with_uuid(url: &str, secret: &str, event: &str, body: &Value, uuid: &str) -> u16 {
    let bytes = serde_json::to_vec(body).expect("serialise the hook");
    reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .header("User-Agent", "GitLab/17.11.0")
        .header("X-Gitlab-Event", event)
        .header("X-Gitlab-Token", secret)
        .header("X-Gitlab-Instance", HOST)
        .header(
            "X-Gitlab-Webhook-UUID",
            "6a0c6e5d-2f1b-4c8e-9d3a-5b7f1e2c4a90",
        )
        .header("X-Gitlab-Event-UUID", uuid)
        .header("Idempotency-Key", uuid)
        .body(bytes)
        .send()
        .await
        .expect("deliver the webhook")
        .status()
        .as_u16()
}
