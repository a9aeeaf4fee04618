//! Source events for `ferry plan`, from a webhook payload file without its HTTP headers.
//!
//! Payloads are parsed by [`crate::events`], the one webhook parser; this module only tells
//! the forge and event type apart by the payload's shape (a file has no `X-Gitlab-Event` or
//! `X-GitHub-Event` header) and keeps the forge events that can trigger promotions.

use thiserror::Error;

use crate::domain::forge_event::Push;
use crate::domain::{Forge, ForgeEvent, GitRef, SourceEvent};
use crate::events;

/// What a payload means for promotions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Event(SourceEvent),
    /// A payload of a known kind that promotes nothing (a deleted branch, an opened merge
    /// request, ...), and why.
    Ignored(String),
}

#[derive(Debug, Error)]
pub enum EventError {
    #[error("the payload is not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error(
        "the payload is not a GitLab push, tag push or merge request event, nor a GitHub push, create or pull_request event: {0}"
    )]
    UnknownShape(String),
    #[error(transparent)]
    Payload(#[from] events::EventError),
}

/// Parses a webhook payload, telling GitLab and GitHub apart by its shape: GitLab payloads
/// carry `object_kind`, GitHub's do not.
pub fn parse(json: &str) -> Result<Parsed, EventError> {
    let value: serde_json::Value = serde_json::from_str(json)?;
    let Some(object) = value.as_object() else {
        return Err(EventError::UnknownShape("it is not a JSON object".into()));
    };
    let (forge, event_type) = if object.contains_key("object_kind") {
        // System hooks carry the same bodies and are told apart by `object_kind`, which is
        // exactly the situation of a payload file.
        (Forge::GitLab, "System Hook")
    } else if object.contains_key("pull_request") {
        (Forge::GitHub, "pull_request")
    } else if object.contains_key("ref_type") {
        (Forge::GitHub, "create")
    } else if object.contains_key("ref") && object.contains_key("after") {
        (Forge::GitHub, "push")
    } else {
        return Err(EventError::UnknownShape(
            "it has none of `object_kind`, `pull_request`, `ref_type`, or `ref` with `after`"
                .into(),
        ));
    };
    let event = events::parse(forge, event_type, json.as_bytes())?;
    Ok(source_event(forge, event))
}

/// The forge events that can trigger promotions, as source events.
fn source_event(forge: Forge, event: ForgeEvent) -> Parsed {
    let not_merged = |number: u64, action: &str| {
        Parsed::Ignored(format!(
            "{} was not merged (action `{action}`): nothing is promoted until it is",
            forge.merge_request_ref(number)
        ))
    };
    let pushed = |push: Push, git_ref: GitRef| {
        Parsed::Event(SourceEvent {
            project: push.project,
            git_ref,
            sha: Some(push.sha),
            changed_paths: push.changed_paths,
            merge_request: None,
            pipeline_id: None,
        })
    };
    match event {
        ForgeEvent::BranchPushed(push) => {
            let git_ref = GitRef::Branch(push.name.clone());
            pushed(push, git_ref)
        }
        ForgeEvent::TagPushed(push) => {
            let git_ref = GitRef::Tag(push.name.clone());
            pushed(push, git_ref)
        }
        // `create` carries no commit SHA: promotions whose tag template needs one are skipped
        // by the plan, the others are planned with an unknown SHA.
        ForgeEvent::RefCreated { project, git_ref } => Parsed::Event(SourceEvent {
            project,
            git_ref,
            sha: None,
            changed_paths: None,
            merge_request: None,
            pipeline_id: None,
        }),
        ForgeEvent::MrMerged(merge) => Parsed::Event(SourceEvent {
            project: merge.merge_request.project,
            git_ref: GitRef::Branch(merge.merge_request.target_branch),
            sha: Some(merge.merge_sha),
            changed_paths: None,
            merge_request: Some(merge.merge_request.number),
            pipeline_id: None,
        }),
        ForgeEvent::MrOpened(mr) => not_merged(mr.number, "opened"),
        ForgeEvent::MrUpdated(mr) => not_merged(mr.number, "updated"),
        ForgeEvent::MrClosed(mr) => not_merged(mr.number, "closed"),
        ForgeEvent::CommentCreated(_)
        | ForgeEvent::ReviewSubmitted(_)
        | ForgeEvent::PipelineFinished(_) => {
            Parsed::Ignored("comments, reviews and pipelines promote nothing".into())
        }
        ForgeEvent::Ignored(reason) => Parsed::Ignored(reason),
    }
}
