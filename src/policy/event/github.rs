//! GitHub push, create and pull_request webhooks.

use serde::Deserialize;

use crate::domain::{CommitSha, GitRef, ProjectPath, SourceEvent};

use super::{CommitFiles, EventError, Parsed, bad, changed_paths, pushed_ref};

#[derive(Deserialize)]
struct Repository {
    full_name: String,
}

#[derive(Deserialize)]
struct Push {
    #[serde(rename = "ref")]
    git_ref: String,
    after: String,
    #[serde(default)]
    deleted: bool,
    repository: Repository,
    #[serde(default)]
    commits: Vec<CommitFiles>,
}

#[derive(Deserialize)]
struct Create {
    #[serde(rename = "ref")]
    git_ref: String,
    ref_type: String,
    repository: Repository,
}

#[derive(Deserialize)]
struct PullRequestHook {
    action: String,
    repository: Repository,
    pull_request: PullRequest,
}

#[derive(Deserialize)]
struct PullRequest {
    number: u64,
    #[serde(default)]
    merged: bool,
    merge_commit_sha: Option<String>,
    base: Branch,
}

#[derive(Deserialize)]
struct Branch {
    #[serde(rename = "ref")]
    git_ref: String,
}

fn project(kind: &'static str, repository: &Repository) -> Result<ProjectPath, EventError> {
    ProjectPath::parse(&repository.full_name).map_err(|e| bad(kind, "repository.full_name", e))
}

/// GitHub truncates `commits` to 20 and gives no total, so 20 listed commits mean the paths
/// may be incomplete.
const GITHUB_COMMIT_LIMIT: usize = 20;

pub fn push(value: serde_json::Value) -> Result<Parsed, EventError> {
    const KIND: &str = "GitHub push";
    let push: Push = serde_json::from_value(value).map_err(|e| bad(KIND, "(payload)", e))?;
    let git_ref = pushed_ref(KIND, &push.git_ref)?;
    let sha = CommitSha::parse(&push.after).map_err(|e| bad(KIND, "after", e))?;
    if push.deleted || sha.is_null() {
        return Ok(Parsed::Ignored(format!("{git_ref} was deleted")));
    }
    let truncated = (push.commits.len() >= GITHUB_COMMIT_LIMIT).then_some(usize::MAX);
    let changed = match git_ref {
        GitRef::Tag(_) => None,
        GitRef::Branch(_) => changed_paths(&push.commits, truncated),
    };
    Ok(Parsed::Event(SourceEvent {
        project: project(KIND, &push.repository)?,
        git_ref,
        sha: Some(sha),
        changed_paths: changed,
        merge_request: None,
        pipeline_id: None,
    }))
}

/// `create` carries no commit SHA: promotions whose tag template needs one are skipped by
/// the plan, the others are planned with an unknown SHA.
pub fn create(value: serde_json::Value) -> Result<Parsed, EventError> {
    const KIND: &str = "GitHub create";
    let create: Create = serde_json::from_value(value).map_err(|e| bad(KIND, "(payload)", e))?;
    let git_ref = match create.ref_type.as_str() {
        "tag" => GitRef::Tag(create.git_ref),
        "branch" => GitRef::Branch(create.git_ref),
        other => {
            return Err(bad(
                KIND,
                "ref_type",
                format!("`{other}` is not `tag` or `branch`"),
            ));
        }
    };
    Ok(Parsed::Event(SourceEvent {
        project: project(KIND, &create.repository)?,
        git_ref,
        sha: None,
        changed_paths: None,
        merge_request: None,
        pipeline_id: None,
    }))
}

pub fn pull_request(value: serde_json::Value) -> Result<Parsed, EventError> {
    const KIND: &str = "GitHub pull_request";
    let hook: PullRequestHook =
        serde_json::from_value(value).map_err(|e| bad(KIND, "(payload)", e))?;
    let pr = hook.pull_request;
    if hook.action != "closed" || !pr.merged {
        return Ok(Parsed::Ignored(format!(
            "pull request #{} was not merged (action `{}`): nothing is promoted until it is",
            pr.number, hook.action
        )));
    }
    let sha = pr.merge_commit_sha.ok_or_else(|| {
        bad(
            KIND,
            "pull_request.merge_commit_sha",
            "missing on a merged pull request",
        )
    })?;
    Ok(Parsed::Event(SourceEvent {
        project: project(KIND, &hook.repository)?,
        git_ref: GitRef::Branch(pr.base.git_ref),
        sha: Some(CommitSha::parse(&sha).map_err(|e| bad(KIND, "merge_commit_sha", e))?),
        changed_paths: None,
        merge_request: Some(pr.number),
        pipeline_id: None,
    }))
}
