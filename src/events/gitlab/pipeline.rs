//! GitLab `pipeline`: only final states matter.

use serde::Deserialize;

use crate::domain::forge_event::{Pipeline, PipelineStatus};
use crate::domain::{ForgeEvent, GitRef};
use crate::events::{EventError, decode, time};

use super::{MergeRequestRef, Project, sha};

const KIND: &str = "GitLab pipeline";

#[derive(Deserialize)]
struct Hook {
    project: Project,
    object_attributes: Attributes,
    merge_request: Option<MergeRequestRef>,
}

#[derive(Deserialize)]
struct Attributes {
    id: u64,
    #[serde(rename = "ref")]
    git_ref: String,
    #[serde(default)]
    tag: bool,
    sha: String,
    status: String,
    finished_at: Option<String>,
    url: Option<String>,
}

pub(super) fn parse(body: &[u8]) -> Result<ForgeEvent, EventError> {
    let hook: Hook = decode(KIND, body)?;
    let attrs = hook.object_attributes;
    let status = match attrs.status.as_str() {
        "success" => PipelineStatus::Success,
        "failed" => PipelineStatus::Failed,
        "canceled" => PipelineStatus::Canceled,
        "skipped" => PipelineStatus::Skipped,
        other => {
            return Ok(ForgeEvent::Ignored(format!(
                "GitLab pipeline {} is `{other}`, not finished",
                attrs.id
            )));
        }
    };
    Ok(ForgeEvent::PipelineFinished(Pipeline {
        project: hook.project.path(KIND)?,
        id: Some(attrs.id),
        sha: sha(KIND, "object_attributes.sha", &attrs.sha)?,
        git_ref: pipeline_ref(&attrs.git_ref, attrs.tag),
        status,
        name: None,
        merge_request: hook.merge_request.map(|mr| mr.iid),
        url: attrs.url,
        finished_at: time::optional(
            KIND,
            "object_attributes.finished_at",
            attrs.finished_at.as_deref(),
        )?,
    }))
}

/// Pipelines name their ref by short name plus a `tag` flag; merge request pipelines run on
/// `refs/merge-requests/N/head`, which is neither a branch nor a tag.
fn pipeline_ref(name: &str, tag: bool) -> Option<GitRef> {
    if name.starts_with("refs/") {
        GitRef::from_full_name(name)
    } else if name.is_empty() {
        None
    } else if tag {
        Some(GitRef::Tag(name.to_owned()))
    } else {
        Some(GitRef::Branch(name.to_owned()))
    }
}
