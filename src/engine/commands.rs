//! Flow 7: comment commands. Each is acknowledged at once with a reaction, then answered in
//! the merge request's status comment; a refusal says who may do it instead.

use crate::commands::{self, Command, CommandError, CommandLine};
use crate::domain::forge_event::Comment;
use crate::domain::{Actor, ImageRef, MrIid};
use crate::forge::{AccessLevel, CommentId, MergeRequest, Reaction};
use crate::gitops::{self, AuditLog, OverlayChange, OverlayMap, Promotion, Trailers};
use crate::policy::principal;
use crate::policy::{Gate, Policy};
use crate::store::CommandId;
use crate::worker::comments::mention_name;

use super::state::HoldRecord;
use super::{Engine, EngineError, gate, messages, promote};

/// A command handed to the engine: `id` is its durable record, when there is one.
pub(super) struct Pending {
    pub id: Option<CommandId>,
    pub line: usize,
    pub command: Result<Command, CommandError>,
}

/// The commands of a comment when no durable record is kept: all of a new comment's, none
/// of an edited one's (an edit must not run again what already ran).
pub(super) fn unrecorded(engine: &Engine, comment: &Comment) -> Vec<Pending> {
    if comment.skip_reason(&engine.config.bot).is_some() || comment.edited {
        return Vec::new();
    }
    commands::parse_comment(&comment.body, mention_name(&engine.config.bot))
        .into_iter()
        .map(|CommandLine { line, result, .. }| Pending {
            id: None,
            line,
            command: result,
        })
        .collect()
}

/// Runs (or answers) `lines`, each acknowledged by a reaction on the comment and answered in
/// the status comment. Every effect is idempotent, since a crash can hand a command on again.
pub(super) async fn on_comment(
    engine: &Engine,
    comment: &Comment,
    lines: Vec<Pending>,
) -> Result<(), EngineError> {
    if lines.is_empty() {
        return Ok(());
    }
    let project = engine.config.gitops_project.clone();
    let iid = MrIid(comment.merge_request);
    engine
        .forge
        .react(&project, iid, CommentId(comment.note_id), Reaction::Eyes)
        .await?;
    let mr = engine.forge.merge_request(&project, iid).await?;
    let context = Context::load(engine, &mr).await?;
    let mut answer = String::new();
    for Pending { id, line, command } in lines {
        match command {
            Ok(command) => {
                answer.push_str(&run(engine, &context, &mr, &comment.author, &command).await?)
            }
            Err(error) => answer.push_str(&messages::command_error(line, &error.to_string())),
        }
        if let (Some(id), Some(record)) = (id, &engine.comments) {
            record
                .ran(id)
                .await
                .map_err(|e| EngineError::Other(e.message))?;
        }
    }
    gate::refresh(engine, iid, Some(answer)).await
}

/// What the commands of one comment need to know about its merge request.
struct Context {
    policy: Policy,
    /// The audit trailers of the head, when this is one of Ferry's promotion MRs.
    promotion: Option<Trailers>,
}

impl Context {
    async fn load(engine: &Engine, mr: &MergeRequest) -> Result<Self, EngineError> {
        let target = mr.target_branch.clone();
        let source = mr.source_branch.clone();
        let (policy, promotion) = engine
            .with_mirror(move |mirror| {
                let policy = gitops::policy_at(mirror, &target)?;
                let promotion = match mirror.head(&source)? {
                    Some(head) if source.starts_with("ferry/") => {
                        mirror.repo().find_commit(head).ok().and_then(|commit| {
                            Trailers::parse(&String::from_utf8_lossy(commit.message_bytes()))
                        })
                    }
                    _ => None,
                };
                Ok((policy, promotion))
            })
            .await?;
        Ok(Self { policy, promotion })
    }
}

async fn run(
    engine: &Engine,
    context: &Context,
    mr: &MergeRequest,
    author: &Actor,
    command: &Command,
) -> Result<String, EngineError> {
    let project = &engine.config.gitops_project;
    match command {
        Command::Help(_) => Ok(format!(
            "\n{}\n",
            commands::help::overview(&engine.config.bot.username)
        )),
        Command::Status => status(engine, context, mr).await,
        Command::Retry => Ok(messages::nothing_to_do("checking again")),
        Command::Approve | Command::Unapprove => {
            let Some(promotion) = &context.promotion else {
                return Ok(messages::not_a_promotion(&command.to_string()));
            };
            let Some(environment) = gate::promotion_environment(&context.policy, promotion) else {
                return Ok(messages::not_a_promotion(&command.to_string()));
            };
            let Gate::Manual { approvers, .. } = &environment.gate else {
                return Ok(messages::nothing_to_do(&format!(
                    "{} has an automatic gate: no approval needed",
                    environment.name
                )));
            };
            let person = gate::person(engine, author.id, approvers).await?;
            if !principal::any_includes(approvers, &person) {
                return Ok(messages::not_allowed(
                    &author.username,
                    "approve promotions to this environment",
                    &principal::list(approvers),
                ));
            }
            if matches!(command, Command::Unapprove) {
                let had = engine.state.unapprove(project, mr.iid, author.id)?;
                return Ok(messages::unapproved(&author.username, had));
            }
            let head = mr
                .head_sha
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            engine
                .state
                .approve(project, mr.iid, author.id, &author.username, &head)?;
            Ok(messages::approved(&author.username))
        }
        Command::Hold(hold) => {
            if let Some(refusal) = needs_write(engine, author, "hold promotions").await? {
                return Ok(refusal);
            }
            let record = HoldRecord {
                by: author.id,
                by_name: author.username.clone(),
                reason: hold.reason.clone(),
            };
            engine.state.hold(project, mr.iid, &record)?;
            Ok(messages::held(&author.username, hold.reason.as_deref()))
        }
        Command::Unhold => {
            if let Some(refusal) = needs_write(engine, author, "lift holds").await? {
                return Ok(refusal);
            }
            let had = engine.state.unhold(project, mr.iid)?;
            Ok(messages::unheld(&author.username, had))
        }
        Command::Rollback(rollback) => {
            if let Some(refusal) = needs_write(engine, author, "roll back").await? {
                return Ok(refusal);
            }
            let environment = rollback.environment.to_string();
            let services = services_for(context, &environment, &rollback.services);
            let mut answer = String::new();
            for service in services {
                let to = rollback.to.as_ref().map(ToString::to_string);
                let policy = context.policy.clone();
                let (branch, env, svc) = (
                    context.policy.gitops.branch.clone(),
                    environment.clone(),
                    service.clone(),
                );
                let planned = engine
                    .with_mirror(move |mirror| {
                        let log =
                            AuditLog::load(mirror, &branch, &OverlayMap::from_policy(&policy))?;
                        gitops::rollback(mirror, &policy, &log, &branch, &svc, &env, to.as_deref())
                    })
                    .await;
                let mut promotion = match planned {
                    Ok(promotion) => promotion,
                    Err(EngineError::GitOps(
                        error @ (gitops::GitOpsError::Invalid(_) | gitops::GitOpsError::Edit(_)),
                    )) => {
                        answer.push_str(&messages::nothing_to_do(&error.to_string()));
                        continue;
                    }
                    Err(other) => return Err(other),
                };
                promotion.requested_by = Some(author.username.clone());
                answer.push_str(
                    &open(
                        engine,
                        context,
                        promotion,
                        author,
                        rollback.freeze_override.as_deref(),
                    )
                    .await?,
                );
            }
            Ok(answer)
        }
        Command::Promote(promote) => {
            if let Some(refusal) = needs_write(engine, author, "promote").await? {
                return Ok(refusal);
            }
            let Some(trailers) = &context.promotion else {
                return Ok(messages::not_a_promotion(&command.to_string()));
            };
            let target = match &promote.environment {
                Some(environment) => Some(environment.to_string()),
                None => gate::promotion_environment(&context.policy, trailers)
                    .and_then(|environment| environment.next.as_ref().map(ToString::to_string)),
            };
            let Some(target) = target else {
                return Ok(messages::nothing_to_do(
                    "this environment has no `next`: name one, as in `/ferry promote production`",
                ));
            };
            let mut answer = String::new();
            for change in &trailers.changes {
                if !promote.services.is_empty()
                    && !promote
                        .services
                        .iter()
                        .any(|s| s.as_str() == change.service)
                {
                    continue;
                }
                let image = ImageRef::parse(&change.image)
                    .map_err(|e| EngineError::Other(e.to_string()))?;
                let change = match OverlayChange::from_policy(
                    &context.policy,
                    &change.service,
                    &target,
                    image,
                ) {
                    Ok(change) => change,
                    Err(error) => {
                        answer.push_str(&messages::nothing_to_do(&error.to_string()));
                        continue;
                    }
                };
                let mut promotion = Promotion::new(vec![change]);
                promotion.source = promote::source_of(trailers);
                promotion.requested_by = Some(author.username.clone());
                answer.push_str(
                    &open(
                        engine,
                        context,
                        promotion,
                        author,
                        promote.freeze_override.as_deref(),
                    )
                    .await?,
                );
            }
            Ok(answer)
        }
    }
}

/// Opens the promotion asked for by `author`; a freeze override given with the command is
/// recorded on the new merge request before its gate is evaluated again.
async fn open(
    engine: &Engine,
    context: &Context,
    promotion: Promotion,
    author: &Actor,
    freeze_override: Option<&str>,
) -> Result<String, EngineError> {
    let summary = promotion.summary();
    Ok(
        match promote::open(engine, &context.policy, promotion, Some(author.id)).await? {
            Some(mr) => {
                if let Some(reason) = freeze_override {
                    engine.state.set_override(
                        &engine.config.gitops_project,
                        mr.iid,
                        author.id,
                        reason,
                    )?;
                    gate::refresh(engine, mr.iid, None).await?;
                }
                messages::opened(&summary, &mr.web_url)
            }
            None => messages::nothing_to_do(&format!("{summary}: already running there")),
        },
    )
}

/// The services a command is about: those it names, else the promotion's, else every
/// service the environment deploys.
fn services_for(
    context: &Context,
    environment: &str,
    named: &[crate::domain::ServiceName],
) -> Vec<String> {
    if !named.is_empty() {
        return named.iter().map(ToString::to_string).collect();
    }
    if let Some(trailers) = &context.promotion {
        return trailers.changes.iter().map(|c| c.service.clone()).collect();
    }
    context
        .policy
        .environment(environment)
        .map(|env| {
            context
                .policy
                .services_in(env)
                .map(|s| s.name.to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Holds, rollbacks and promotions need write access to the GitOps repository.
async fn needs_write(
    engine: &Engine,
    author: &Actor,
    what: &str,
) -> Result<Option<String>, EngineError> {
    let level = engine
        .forge
        .access_level(&engine.config.gitops_project, author.id)
        .await?;
    Ok((level < AccessLevel::Write).then(|| {
        messages::not_allowed(
            &author.username,
            what,
            "someone with write (Developer) access to the GitOps repository",
        )
    }))
}

async fn status(
    engine: &Engine,
    context: &Context,
    mr: &MergeRequest,
) -> Result<String, EngineError> {
    let services: Vec<String> = match &context.promotion {
        Some(trailers) => trailers.changes.iter().map(|c| c.service.clone()).collect(),
        None => context
            .policy
            .services
            .iter()
            .map(|s| s.name.to_string())
            .collect(),
    };
    let policy = context.policy.clone();
    let branch = mr.target_branch.clone();
    let rows = engine
        .with_mirror(move |mirror| {
            let mut rows = Vec::new();
            for environment in &policy.environments {
                for service in policy.services_in(environment) {
                    if !services.contains(&service.name.to_string()) {
                        continue;
                    }
                    let placeholder = ImageRef {
                        name: service.image.clone(),
                        tag: None,
                        digest: None,
                    };
                    let change = OverlayChange {
                        service: service.name.clone(),
                        environment: environment.name.clone(),
                        overlay: policy.overlay_dir(service, environment),
                        image_name: service.image.clone(),
                        image: placeholder,
                    };
                    rows.push((
                        environment.name.to_string(),
                        service.name.to_string(),
                        gitops::current_image(mirror, &branch, &change)?,
                    ));
                }
            }
            Ok(rows)
        })
        .await?;
    Ok(messages::status_table(&rows))
}
