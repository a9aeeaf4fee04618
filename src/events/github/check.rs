//! GitHub `check_suite` and `status`: the two ways CI reports on a commit.

use serde::Deserialize;

use crate::domain::forge_event::{Pipeline, PipelineStatus};
use crate::domain::{ForgeEvent, GitRef};
use crate::events::{EventError, decode, time};

use super::{Repository, sha};

#[derive(Deserialize)]
struct CheckSuiteHook {
    action: String,
    repository: Repository,
    check_suite: CheckSuite,
}

#[derive(Deserialize)]
struct CheckSuite {
    id: u64,
    head_branch: Option<String>,
    head_sha: String,
    conclusion: Option<String>,
    updated_at: Option<String>,
    app: Option<App>,
    #[serde(default)]
    pull_requests: Vec<PullRequestNumber>,
}

#[derive(Deserialize)]
struct App {
    slug: Option<String>,
}

#[derive(Deserialize)]
struct PullRequestNumber {
    number: u64,
}

#[derive(Deserialize)]
struct StatusHook {
    sha: String,
    state: String,
    context: Option<String>,
    target_url: Option<String>,
    updated_at: Option<String>,
    repository: Repository,
    #[serde(default)]
    branches: Vec<BranchName>,
}

#[derive(Deserialize)]
struct BranchName {
    name: String,
}

pub(super) fn check_suite(body: &[u8]) -> Result<ForgeEvent, EventError> {
    const KIND: &str = "GitHub check_suite";
    let hook: CheckSuiteHook = decode(KIND, body)?;
    let suite = hook.check_suite;
    if hook.action != "completed" {
        return Ok(ForgeEvent::Ignored(format!(
            "check suite {}: action `{}`, not completed",
            suite.id, hook.action
        )));
    }
    let conclusion = suite.conclusion.as_deref().unwrap_or_default();
    let status = match conclusion {
        "success" => PipelineStatus::Success,
        "failure" | "timed_out" | "action_required" | "startup_failure" => PipelineStatus::Failed,
        "cancelled" => PipelineStatus::Canceled,
        "skipped" | "neutral" | "stale" => PipelineStatus::Skipped,
        other => {
            return Err(EventError::bad(
                KIND,
                "check_suite.conclusion",
                format!("`{other}` is not a conclusion GitHub documents"),
            ));
        }
    };
    // One suite can serve several pull requests; the number is kept only when unambiguous.
    let merge_request = match suite.pull_requests.as_slice() {
        [only] => Some(only.number),
        _ => None,
    };
    Ok(ForgeEvent::PipelineFinished(Pipeline {
        project: hook.repository.path(KIND)?,
        id: Some(suite.id),
        sha: sha(KIND, "check_suite.head_sha", &suite.head_sha)?,
        git_ref: suite
            .head_branch
            .filter(|b| !b.is_empty())
            .map(GitRef::Branch),
        status,
        name: suite.app.and_then(|app| app.slug),
        merge_request,
        url: None,
        finished_at: time::optional(KIND, "check_suite.updated_at", suite.updated_at.as_deref())?,
    }))
}

pub(super) fn status(body: &[u8]) -> Result<ForgeEvent, EventError> {
    const KIND: &str = "GitHub status";
    let hook: StatusHook = decode(KIND, body)?;
    let status = match hook.state.as_str() {
        "success" => PipelineStatus::Success,
        "failure" | "error" => PipelineStatus::Failed,
        "pending" => {
            return Ok(ForgeEvent::Ignored(format!(
                "status `{}` on {} is pending",
                hook.context.as_deref().unwrap_or("default"),
                hook.sha
            )));
        }
        other => {
            return Err(EventError::bad(
                KIND,
                "state",
                format!("`{other}` is not pending, success, failure or error"),
            ));
        }
    };
    // `branches` lists every branch whose head is the commit; a single one names the ref.
    let git_ref = match hook.branches.as_slice() {
        [only] => Some(GitRef::Branch(only.name.clone())),
        _ => None,
    };
    Ok(ForgeEvent::PipelineFinished(Pipeline {
        project: hook.repository.path(KIND)?,
        id: None,
        sha: sha(KIND, "sha", &hook.sha)?,
        git_ref,
        status,
        name: hook.context,
        merge_request: None,
        url: hook.target_url,
        finished_at: time::optional(KIND, "updated_at", hook.updated_at.as_deref())?,
    }))
}
