//! Flow 1: a push or tag in a source project becomes promotion merge requests.

use crate::domain::forge_event::Push;
use crate::domain::{GitRef, SourceEvent};
use crate::gitops::{OverlayChange, Promotion};
use crate::policy::plan::plan;

use super::{Engine, EngineError, promote};

pub(super) async fn on_push(engine: &Engine, push: Push, tag: bool) -> Result<(), EngineError> {
    if push.sha.is_null() {
        return Ok(()); // a deleted branch or tag promotes nothing
    }
    let event = SourceEvent {
        project: push.project.clone(),
        git_ref: if tag {
            GitRef::Tag(push.name.clone())
        } else {
            GitRef::Branch(push.name.clone())
        },
        sha: Some(push.sha.clone()),
        changed_paths: push.changed_paths.clone(),
        merge_request: None,
        pipeline_id: None,
    };
    let policy = engine.policy().await?;
    let planned = plan(&policy, &event);
    for skipped in &planned.skipped {
        tracing::info!(service = %skipped.service, environment = %skipped.environment, reason = %skipped.reason, "skipped");
    }
    for planned in planned.promotions {
        let change = OverlayChange::from_policy(
            &policy,
            planned.service.as_str(),
            planned.environment.as_str(),
            planned.image.clone(),
        )?;
        let mut promotion = Promotion::new(vec![change]);
        promotion.source = Some(planned.source.clone());
        promotion.requested_by = push.pusher.as_ref().map(|actor| actor.username.clone());
        let requester = push.pusher.as_ref().map(|actor| actor.id);
        promote::open(engine, &policy, promotion, requester).await?;
    }
    Ok(())
}
