//! Opening and superseding promotion merge requests, and the chain to the next environment
//! once one merges.

use crate::domain::forge_event::MergeRequestMerge;
use crate::domain::{MrIid, UserId};
use crate::forge::{MergeRequest, MrUpdate, NewMergeRequest};
use crate::gitops::{self, OverlayChange, Promotion, Retry, Trailers};
use crate::policy::Policy;

use super::{Engine, EngineError, gate, messages};

impl Engine {
    /// The policy as the GitOps repository's default branch has it (`main` until the policy
    /// says otherwise: the policy names its own target branch).
    pub(super) async fn policy(&self) -> Result<Policy, EngineError> {
        self.with_mirror(|mirror| {
            let head = mirror
                .repo()
                .find_reference("HEAD")
                .ok()
                .and_then(|head| head.symbolic_target().ok().flatten().map(str::to_owned));
            let branch = head
                .as_deref()
                .and_then(|name| name.strip_prefix("refs/heads/"))
                .filter(|branch| mirror.head(branch).ok().flatten().is_some())
                .unwrap_or("main")
                .to_owned();
            gitops::policy_at(mirror, &branch)
        })
        .await
    }
}

/// Lands `promotion` on its branch and opens (or updates) its merge request. Returns the
/// merge request, or `None` when the environment already runs the images.
pub(super) async fn open(
    engine: &Engine,
    policy: &Policy,
    promotion: Promotion,
    requester: Option<UserId>,
) -> Result<Option<MergeRequest>, EngineError> {
    let Some(first) = promotion.changes.first() else {
        return Ok(None);
    };
    let environment = policy
        .environment(first.environment.as_str())
        .ok_or_else(|| EngineError::Other(format!("no environment {}", first.environment)))?
        .clone();
    let target = policy.gitops.branch.clone();
    let branch = promotion.branch();
    let settings = engine.config.commit.clone();
    let to_land = promotion.clone();
    let (target_for_git, branch_for_git) = (target.clone(), branch.clone());
    let (previous, running) = engine
        .with_mirror(move |mirror| {
            let mut previous = Vec::new();
            let mut running = true;
            for change in &to_land.changes {
                let current = gitops::current_image(mirror, &target_for_git, change)?;
                running &= current.as_deref() == Some(change.image.to_string().as_str());
                previous.push(current);
            }
            if !running {
                gitops::land(
                    mirror,
                    &settings,
                    &Retry::default(),
                    &target_for_git,
                    &branch_for_git,
                    &to_land,
                )?;
            }
            Ok((previous, running))
        })
        .await?;
    let project = &engine.config.gitops_project;
    let existing = engine
        .forge
        .find_open_merge_request(project, &branch)
        .await?;
    if running {
        tracing::info!(%branch, "the environment already runs this; no merge request");
        return Ok(existing);
    }
    if let Some(user) = requester {
        engine.state.set_requester(project, &branch, user)?;
    }
    let templates = &engine.config.templates;
    let links = promotion.source.as_ref().and_then(|source| {
        let sha = source.sha.as_ref()?;
        engine.forge.commit_links(&source.project, sha)
    });
    let values = |replaces| {
        messages::promotion_values(
            &promotion,
            &previous,
            &environment,
            links.as_ref(),
            replaces,
        )
    };
    let title = templates.title(&values(None));
    let metadata = messages::promotion_metadata(&promotion, &previous);
    let labels = vec![
        "ferry".to_owned(),
        format!("environment::{}", environment.name),
    ];
    let mr = match existing {
        Some(mr) => {
            let replaces = (mr.title != title).then_some(mr.title.as_str());
            let body = templates.body(&values(replaces)) + &metadata;
            let update = MrUpdate {
                title: Some(title),
                body: Some(body),
                labels: Some(labels),
            };
            engine
                .forge
                .update_merge_request(project, mr.iid, &update)
                .await?
        }
        None => {
            let body = templates.body(&values(None)) + &metadata;
            let new = NewMergeRequest {
                source_branch: branch,
                target_branch: target,
                title,
                body,
                labels,
            };
            engine.forge.create_merge_request(project, &new).await?
        }
    };
    gate::refresh(engine, mr.iid, None).await?;
    Ok(Some(mr))
}

/// Flow 4: after a promotion merges into an environment with `next`, the next promotion is
/// prepared and waits at its gate.
pub(super) async fn on_merged(
    engine: &Engine,
    merge: &MergeRequestMerge,
) -> Result<(), EngineError> {
    if !merge.merge_request.source_branch.starts_with("ferry/") {
        return Ok(());
    }
    let sha = merge.merge_sha.to_string();
    let merged: Vec<Trailers> = engine
        .with_mirror(move |mirror| gitops::audit::trailers_brought_by(mirror.repo(), &sha))
        .await?;
    let policy = engine.policy().await?;
    for trailers in merged {
        for change in &trailers.changes {
            let Some(next) = policy
                .environment(&change.environment)
                .and_then(|environment| environment.next.clone())
            else {
                continue;
            };
            let image = crate::domain::ImageRef::parse(&change.image)
                .map_err(|err| EngineError::Other(format!("history names a bad image: {err}")))?;
            let next_change =
                OverlayChange::from_policy(&policy, &change.service, next.as_str(), image)?;
            let mut promotion = Promotion::new(vec![next_change]);
            promotion.source = source_of(&trailers);
            promotion.requested_by = trailers.requested_by.clone();
            open(engine, &policy, promotion, None).await?;
        }
    }
    Ok(())
}

pub(super) fn source_of(trailers: &Trailers) -> Option<crate::domain::Source> {
    trailers.source.as_ref()?.to_source()
}

/// The merge request number as the forge adapter types it.
pub(super) fn iid(number: u64) -> MrIid {
    MrIid(number)
}
