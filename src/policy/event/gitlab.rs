//! GitLab push, tag push and merge request hooks.

use serde::Deserialize;

use crate::domain::{CommitSha, GitRef, ProjectPath, SourceEvent};

use super::{CommitFiles, EventError, Parsed, bad, changed_paths, pushed_ref};

#[derive(Deserialize)]
struct Project {
    path_with_namespace: String,
}

#[derive(Deserialize)]
struct Push {
    #[serde(rename = "ref")]
    git_ref: String,
    after: String,
    checkout_sha: Option<String>,
    project: Project,
    #[serde(default)]
    commits: Vec<CommitFiles>,
    total_commits_count: Option<usize>,
}

#[derive(Deserialize)]
struct MergeRequestHook {
    project: Project,
    object_attributes: MergeAttributes,
}

#[derive(Deserialize)]
struct MergeAttributes {
    action: Option<String>,
    state: Option<String>,
    iid: u64,
    target_branch: String,
    merge_commit_sha: Option<String>,
    squash_commit_sha: Option<String>,
    last_commit: Option<LastCommit>,
}

#[derive(Deserialize)]
struct LastCommit {
    id: String,
}

pub fn parse(value: serde_json::Value) -> Result<Parsed, EventError> {
    let kind = value
        .get("object_kind")
        .and_then(|k| k.as_str())
        .unwrap_or_default()
        .to_owned();
    match kind.as_str() {
        "push" | "tag_push" => push(value),
        "merge_request" => merge_request(value),
        other => Ok(Parsed::Ignored(format!(
            "GitLab `{other}` events promote nothing"
        ))),
    }
}

fn project(kind: &'static str, project: &Project) -> Result<ProjectPath, EventError> {
    ProjectPath::parse(&project.path_with_namespace)
        .map_err(|e| bad(kind, "project.path_with_namespace", e))
}

fn push(value: serde_json::Value) -> Result<Parsed, EventError> {
    const KIND: &str = "GitLab push";
    let push: Push = serde_json::from_value(value).map_err(|e| bad(KIND, "(payload)", e))?;
    let git_ref = pushed_ref(KIND, &push.git_ref)?;
    let after = CommitSha::parse(&push.after).map_err(|e| bad(KIND, "after", e))?;
    if after.is_null() {
        return Ok(Parsed::Ignored(format!("{git_ref} was deleted")));
    }
    // For annotated tags `after` is the tag object; `checkout_sha` is the commit.
    let sha = match &push.checkout_sha {
        Some(sha) => CommitSha::parse(sha).map_err(|e| bad(KIND, "checkout_sha", e))?,
        None => after,
    };
    let changed = match git_ref {
        GitRef::Tag(_) => None,
        GitRef::Branch(_) => changed_paths(&push.commits, push.total_commits_count),
    };
    Ok(Parsed::Event(SourceEvent {
        project: project(KIND, &push.project)?,
        git_ref,
        sha: Some(sha),
        changed_paths: changed,
        merge_request: None,
        pipeline_id: None,
    }))
}

fn merge_request(value: serde_json::Value) -> Result<Parsed, EventError> {
    const KIND: &str = "GitLab merge request";
    let hook: MergeRequestHook =
        serde_json::from_value(value).map_err(|e| bad(KIND, "(payload)", e))?;
    let attrs = hook.object_attributes;
    let merged =
        attrs.action.as_deref() == Some("merge") || attrs.state.as_deref() == Some("merged");
    if !merged {
        return Ok(Parsed::Ignored(format!(
            "merge request !{} was not merged (action `{}`): nothing is promoted until it is",
            attrs.iid,
            attrs.action.as_deref().unwrap_or("none")
        )));
    }
    // Fast-forward merges have no merge commit; the source branch's last commit lands as is.
    let sha = attrs
        .merge_commit_sha
        .or(attrs.squash_commit_sha)
        .or(attrs.last_commit.map(|c| c.id))
        .ok_or_else(|| bad(KIND, "object_attributes.merge_commit_sha", "no commit SHA"))?;
    Ok(Parsed::Event(SourceEvent {
        project: project(KIND, &hook.project)?,
        git_ref: GitRef::Branch(attrs.target_branch),
        sha: Some(CommitSha::parse(&sha).map_err(|e| bad(KIND, "merge_commit_sha", e))?),
        changed_paths: None,
        merge_request: Some(attrs.iid),
        pipeline_id: None,
    }))
}
