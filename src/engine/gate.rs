//! Flows 2, 3 and 6 meet here: one refresh of a merge request sets its `ferry/policy` status,
//! for promotion merge requests its `ferry/gate` status, writes the one status comment, and
//! merges (with the head-SHA guard) when the gate is open.

use std::borrow::Cow;

use crate::domain::forge_event::{Pipeline, PipelineStatus};
use crate::domain::{GitRef, MrIid, UserId};
use crate::forge::{
    CommitStatus, ForgeKind, MergeOptions, MergeOutcome, MergeRequest, MrState, StatusState,
    upsert_own_comment,
};
use crate::gitops::trailers::MergeTrailers;
use crate::gitops::{Action, Trailers};
use crate::policy::gate::{self, Failure, FreezeOverride, GateInput, Hold};
use crate::policy::principal::{Person, Principal};
use crate::policy::{Environment, Gate, Policy};

use super::messages::{self, GateView};
use super::validate::{self, Review};
use super::{Engine, EngineError};

pub(super) async fn evaluate_number(engine: &Engine, number: u64) -> Result<(), EngineError> {
    refresh(engine, MrIid(number), None).await
}

// ---- Forge differences, in one place -------------------------------------------------------

/// Whether Ferry itself must see the head's pipeline pass before merging. GitLab merges
/// only when the pipeline succeeds (Ferry asks for auto-merge), so there the forge waits.
/// GitHub has no REST auto-merge: its adapter merges at once, and without branch protection
/// requiring checks nothing else would stop a promotion with failing CI, so Ferry waits.
pub(super) fn waits_for_pipeline(engine: &Engine) -> bool {
    engine
        .require_pipeline
        .unwrap_or(engine.forge.kind() == ForgeKind::GitHub)
}

/// The forge's name for a policy group. GitHub teams belong to an organisation and the
/// adapter asks for `org/team-slug`; a policy's bare `group:sre` names the team `sre` of the
/// organisation that owns the GitOps repository. GitLab group paths are already complete.
fn forge_group<'g>(engine: &Engine, group: &'g str) -> Cow<'g, str> {
    let owner = engine.config.gitops_project.as_str().split_once('/');
    match owner {
        Some((org, _)) if engine.forge.kind() == ForgeKind::GitHub && !group.contains('/') => {
            Cow::Owned(format!("{org}/{group}"))
        }
        _ => Cow::Borrowed(group),
    }
}

// ---------------------------------------------------------------------------------------------

/// A pipeline finished on a commit of the GitOps repository: remember its verdict and
/// re-check the merge request it ran for.
pub(super) async fn on_pipeline(engine: &Engine, pipeline: &Pipeline) -> Result<(), EngineError> {
    let name = pipeline.name.as_deref().unwrap_or_default();
    // Ferry's own statuses come back as `status` webhooks on GitHub: they are not CI, and
    // re-checking on them would set them again, which sends them again, forever.
    if name == messages::POLICY_CONTEXT || name == messages::GATE_CONTEXT {
        return Ok(());
    }
    let project = &engine.config.gitops_project;
    engine.state.record_pipeline(
        project,
        pipeline.sha.as_str(),
        name,
        pipeline.status,
        pipeline.finished_at,
    )?;
    let number = match (&pipeline.merge_request, &pipeline.git_ref) {
        (Some(number), _) => Some(MrIid(*number)),
        // GitHub statuses, and check suites finished before the pull request was opened,
        // name only the branch.
        (None, Some(GitRef::Branch(branch))) => engine
            .forge
            .find_open_merge_request(project, branch)
            .await?
            .map(|mr| mr.iid),
        (None, _) => None,
    };
    match number {
        Some(iid) => refresh(engine, iid, None).await,
        None => Ok(()),
    }
}

/// What the pipelines recorded for `head` say, when Ferry must wait for them.
fn pipeline_failure(engine: &Engine, head: &str) -> Result<Option<Failure>, EngineError> {
    if !waits_for_pipeline(engine) {
        return Ok(None);
    }
    let records = engine
        .state
        .pipelines(&engine.config.gitops_project, head)?;
    let short = head.get(..7).unwrap_or(head);
    let failed: Vec<&str> = records
        .iter()
        .filter(|r| matches!(r.status, PipelineStatus::Failed | PipelineStatus::Canceled))
        .map(|r| {
            if r.name.is_empty() {
                "CI"
            } else {
                r.name.as_str()
            }
        })
        .collect();
    // As on GitHub's own merge box, skipped and neutral checks do not block.
    let message = if !failed.is_empty() {
        format!("the checks on {short} failed ({})", failed.join(", "))
    } else if records.is_empty() {
        format!("the checks on {short} have not passed yet")
    } else {
        return Ok(None);
    };
    Ok(Some(Failure {
        reason: "pipeline",
        message,
    }))
}

/// Re-checks merge request `iid` from scratch and says where it stands. `answer` is the reply
/// to commands just run; it replaces the previous one in the status comment.
pub(super) async fn refresh(
    engine: &Engine,
    iid: MrIid,
    answer: Option<String>,
) -> Result<(), EngineError> {
    let project = engine.config.gitops_project.clone();
    if let Some(answer) = &answer {
        engine.state.set_answer(&project, iid, answer)?;
    }
    let mr = engine.forge.merge_request(&project, iid).await?;
    if mr.state != MrState::Open {
        // Nothing to check or merge; answers to commands given here are still shown.
        if let Some(answer) = &answer {
            let mut closed = messages::closed_section();
            if let Some(outcome) = engine.state.csr_outcome(&project, iid)? {
                closed.push('\n');
                closed.push_str(&outcome);
            }
            let body = messages::status_comment(&closed, None, Some(answer));
            write_status_comment(engine, iid, &body).await?;
        }
        return Ok(());
    }
    let Some(head) = mr.head_sha.clone() else {
        return Ok(()); // the forge has not computed the head yet; its next event brings it
    };
    let review = validate::review(engine, &mr).await?;
    let policy_state = if review.violations.is_empty() {
        StatusState::Success
    } else {
        StatusState::Failed
    };
    let description = if review.violations.is_empty() {
        "Ferry: policy passes".to_owned()
    } else {
        format!("Ferry: {} policy problem(s)", review.violations.len())
    };
    set_status(
        engine,
        &mr,
        messages::POLICY_CONTEXT,
        policy_state,
        description,
    )
    .await?;

    let mut gate_text = None;
    if let Some(promotion) = &review.promotion {
        let view = match gate_failures(engine, &review, &mr, promotion).await? {
            Some(failures) => GateView::Waiting(failures),
            None => merge(engine, &mr, &head).await?,
        };
        let state = match view {
            GateView::Waiting(_) | GateView::HeadMoved => StatusState::Pending,
            GateView::NotMergeable(_) => StatusState::Failed,
            GateView::Merged | GateView::Scheduled => StatusState::Success,
        };
        set_status(
            engine,
            &mr,
            messages::GATE_CONTEXT,
            state,
            messages::gate_description(&view),
        )
        .await?;
        gate_text = Some(messages::gate_section(&view));
    }
    let mut sections = messages::policy_section(&review.violations);
    if let Some(csr) = super::csr::review(engine, &mr).await? {
        sections.push('\n');
        sections.push_str(&csr);
    }
    let answer = engine.state.answer(&project, iid)?;
    let body = messages::status_comment(&sections, gate_text.as_deref(), answer.as_deref());
    write_status_comment(engine, iid, &body).await
}

/// The one status comment of the merge request, created or edited in place.
async fn write_status_comment(engine: &Engine, iid: MrIid, body: &str) -> Result<(), EngineError> {
    let project = &engine.config.gitops_project;
    upsert_own_comment(
        engine.forge.as_ref(),
        project,
        iid,
        messages::STATUS_COMMENT,
        body,
    )
    .await?;
    Ok(())
}

async fn set_status(
    engine: &Engine,
    mr: &MergeRequest,
    context: &str,
    state: StatusState,
    description: String,
) -> Result<(), EngineError> {
    let Some(sha) = &mr.head_sha else {
        return Ok(());
    };
    let status = CommitStatus {
        context: context.to_owned(),
        state,
        description: Some(description),
        target_url: Some(mr.web_url.clone()),
    };
    engine
        .forge
        .set_commit_status(&engine.config.gitops_project, mr.iid, sha, &status)
        .await?;
    Ok(())
}

/// `None` when the gate is open, else everything it still needs.
async fn gate_failures(
    engine: &Engine,
    review: &Review,
    mr: &MergeRequest,
    promotion: &Trailers,
) -> Result<Option<Vec<Failure>>, EngineError> {
    let mut failures = Vec::new();
    if !review.violations.is_empty() {
        failures.push(Failure {
            reason: "policy",
            message: "the policy check fails (see above)".to_owned(),
        });
    }
    if review.head_behind {
        failures.push(Failure {
            reason: "stale",
            message: "the promotion branch is not built on the target branch's head yet; Ferry rebuilds it on the next promotion".to_owned(),
        });
    }
    let Some(environment) = promotion_environment(&review.policy, promotion) else {
        failures.push(Failure {
            reason: "environment",
            message: "the promotion names an environment the policy does not have".to_owned(),
        });
        return Ok(Some(failures));
    };
    // A fast rollback is judged as if the gate were automatic and no freeze were set.
    let fast;
    let environment = if promotion.action == Action::Rollback && environment.fast_rollback {
        fast = Environment {
            gate: Gate::Auto,
            freeze: Vec::new(),
            ..environment.clone()
        };
        &fast
    } else {
        environment
    };
    let project = &engine.config.gitops_project;
    let head = mr
        .head_sha
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let author = engine
        .state
        .requester(project, &mr.source_branch)?
        .unwrap_or(mr.author);
    let approvals = approvers(engine, mr, &head, environment).await?;
    let holds: Vec<Hold> = engine
        .state
        .held(project, mr.iid)?
        .map(|hold| Hold {
            by: hold.by,
            reason: hold
                .reason
                .unwrap_or_else(|| format!("@{} gave no reason", hold.by_name)),
        })
        .into_iter()
        .collect();
    let freeze_override = match engine.state.freeze_override(project, mr.iid)? {
        Some((user, reason)) => Some(FreezeOverride {
            by: person(engine, user, &environment.overrides).await?,
            reason,
        }),
        None => None,
    };
    let input = GateInput {
        author,
        approvals: &approvals,
        holds: &holds,
        freeze_override: freeze_override.as_ref(),
        now: jiff::Timestamp::now(),
    };
    if let Err(mut gate) = gate::evaluate(environment, &input) {
        failures.append(&mut gate);
    }
    failures.extend(pipeline_failure(engine, &head)?);
    Ok((!failures.is_empty()).then_some(failures))
}

pub(super) fn promotion_environment<'p>(
    policy: &'p Policy,
    promotion: &Trailers,
) -> Option<&'p Environment> {
    let name = &promotion.changes.first()?.environment;
    policy.environment(name)
}

/// Everyone whose approval of the current head counts, with the groups of the policy they
/// belong to: `/ferry approve` votes for this head, and the forge's own approvals.
async fn approvers(
    engine: &Engine,
    mr: &MergeRequest,
    head: &str,
    environment: &Environment,
) -> Result<Vec<Person>, EngineError> {
    let project = &engine.config.gitops_project;
    let mut users: Vec<UserId> = engine
        .state
        .approvals(project, mr.iid, head)?
        .into_iter()
        .map(|(user, _)| user)
        .collect();
    for approval in engine.forge.approvals(project, mr.iid).await? {
        let current = approval.commit.as_ref().is_none_or(|c| c.as_str() == head);
        if current && !users.contains(&approval.user) {
            users.push(approval.user);
        }
    }
    let principals = match &environment.gate {
        Gate::Manual { approvers, .. } => approvers.clone(),
        Gate::Auto => Vec::new(),
    };
    let mut people = Vec::new();
    for user in users {
        people.push(person(engine, user, &principals).await?);
    }
    Ok(people)
}

/// `user` with the groups among `principals` the forge says they belong to.
pub(super) async fn person(
    engine: &Engine,
    user: UserId,
    principals: &[Principal],
) -> Result<Person, EngineError> {
    let mut groups = Vec::new();
    for principal in principals {
        if let Principal::Group(group) = principal
            && engine
                .forge
                .is_group_member(&forge_group(engine, group), user)
                .await?
        {
            groups.push(group.clone());
        }
    }
    Ok(Person { user, groups })
}

/// The merge commit's message: the forge's usual words, then the merge request and whoever
/// approved this head, as trailers for the audit.
async fn merge_message(
    engine: &Engine,
    mr: &MergeRequest,
    head: &str,
) -> Result<String, EngineError> {
    let project = &engine.config.gitops_project;
    let mut approved_by: Vec<String> = engine
        .state
        .approvals(project, mr.iid, head)?
        .into_iter()
        .map(|(_, username)| username)
        .collect();
    for approval in engine.forge.approvals(project, mr.iid).await? {
        let current = approval.commit.as_ref().is_none_or(|c| c.as_str() == head);
        if current && !approved_by.contains(&approval.username) {
            approved_by.push(approval.username);
        }
    }
    let trailers = MergeTrailers {
        merge_request: engine.merge_request_ref(mr.iid),
        approved_by,
    };
    // The first line in the forge's own words, so that history reads as usual there.
    let subject = match engine.forge.kind() {
        ForgeKind::GitLab => format!(
            "Merge branch '{}' into '{}'",
            mr.source_branch, mr.target_branch
        ),
        ForgeKind::GitHub => {
            let owner = project.as_str().split('/').next().unwrap_or_default();
            format!(
                "Merge pull request #{} from {owner}/{}",
                mr.iid, mr.source_branch
            )
        }
    };
    Ok(format!(
        "{subject}\n\n{}\n\n{}",
        mr.title,
        trailers.render()
    ))
}

async fn merge(
    engine: &Engine,
    mr: &MergeRequest,
    head: &crate::domain::CommitSha,
) -> Result<GateView, EngineError> {
    let options = MergeOptions {
        sha: head.clone(),
        when_pipeline_succeeds: true,
        commit_message: Some(merge_message(engine, mr, head.as_str()).await?),
        remove_source_branch: true,
    };
    let outcome = engine
        .forge
        .merge(&engine.config.gitops_project, mr.iid, &options)
        .await?;
    tracing::info!(mr = mr.iid.0, ?outcome, "merge requested");
    Ok(match outcome {
        MergeOutcome::Merged { .. } => GateView::Merged,
        MergeOutcome::AutoMergeScheduled => GateView::Scheduled,
        MergeOutcome::ShaMismatch => GateView::HeadMoved,
        MergeOutcome::NotMergeable { reason } => GateView::NotMergeable(reason),
    })
}
