//! The promotion workflow: domain events from the intake, decisions from the policy, commits
//! through the GitOps engine, merge requests, statuses and comments through the forge.
//!
//! One handler file per flow (`source`: source events to promotion merge requests; `gate`:
//! the `ferry/gate` status and merging; `validate`: the `ferry/policy` status of every merge
//! request; `commands`: comment commands), all wording in `messages`. Git work is blocking
//! and runs on the blocking pool (`git`).

mod commands;
mod csr;
pub mod feed;
mod gate;
mod git;
pub mod messages;
mod promote;
mod source;
pub mod state;
mod validate;

use std::path::PathBuf;
use std::sync::Arc;

use crate::domain::{BotIdentity, ForgeEvent, ProjectPath};
use crate::forge::{Forge, ForgeError};
use crate::gitops::{CommitSettings, GitOpsError, Remote};
use crate::store::{BoxFuture, Delivery};
use crate::worker::{CommentCommands, CommentPlan, Handler, HandlerError};

pub use csr::CsrSettings;
pub use feed::{FeedReport, LocalFeed};
pub use messages::template::MrTemplates;
pub use state::State;

/// What the engine needs to know about the one GitOps repository it serves.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The GitOps repository's path on the forge.
    pub gitops_project: ProjectPath,
    /// Its git remote, with credentials.
    pub gitops_remote: Remote,
    /// Where mirrors and the workflow state live.
    pub data_dir: PathBuf,
    pub commit: CommitSettings,
    pub bot: BotIdentity,
    /// CA keys for signing merged certificate requests.
    pub csr: CsrSettings,
    /// The promotion merge request's title and body.
    pub templates: MrTemplates,
}

pub struct Engine {
    config: EngineConfig,
    forge: Arc<dyn Forge>,
    state: State,
    /// The durable record of which comment commands ran; without it (tests driving
    /// [`Engine::on_event`] directly) every command of a new comment runs and edits run none.
    comments: Option<CommentCommands>,
    /// Whether promotion merge requests wait for a green pipeline on their head before
    /// Ferry merges; `None`: the forge's default (see `gate::waits_for_pipeline`).
    require_pipeline: Option<bool>,
}

/// Why handling an event failed; transient failures are retried by the workers.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error(transparent)]
    GitOps(#[from] GitOpsError),
    #[error(transparent)]
    State(#[from] state::StateError),
    #[error("{0}")]
    Other(String),
}

impl EngineError {
    /// Whether handling the same event again cannot succeed (the change itself is invalid).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            EngineError::GitOps(GitOpsError::Edit(_) | GitOpsError::Invalid(_))
        )
    }

    fn into_handler_error(self) -> HandlerError {
        let permanent = self.is_permanent();
        let message = self.to_string();
        if permanent {
            HandlerError::permanent(message)
        } else {
            HandlerError::retry(message)
        }
    }
}

impl Engine {
    pub fn new(config: EngineConfig, forge: Arc<dyn Forge>, state: State) -> Self {
        Self {
            config,
            forge,
            state,
            comments: None,
            require_pipeline: None,
        }
    }

    /// Makes Ferry wait (or not) for the GitOps repository's CI to pass on a promotion
    /// merge request's head before it merges. The default is to wait on GitHub, which has
    /// no REST "merge when the pipeline succeeds", and to leave it to GitLab's own
    /// merge-when-pipeline-succeeds there. Turn it off on GitHub for a repository with no
    /// CI at all, or promotions would wait forever.
    pub fn require_pipeline(mut self, require: bool) -> Self {
        self.require_pipeline = Some(require);
        self
    }

    pub fn with_comments(mut self, comments: CommentCommands) -> Self {
        self.comments = Some(comments);
        self
    }

    /// Who the engine acts as: its comments are not read as commands.
    pub fn bot(&self) -> &BotIdentity {
        &self.config.bot
    }

    fn is_gitops(&self, project: &ProjectPath) -> bool {
        *project == self.config.gitops_project
    }

    /// How trailers name a merge request of the GitOps repository: `eap/gitops!12` on
    /// GitLab, `owner/repo#12` on GitHub.
    pub(crate) fn merge_request_ref(&self, iid: crate::domain::MrIid) -> String {
        let sign = match self.forge.kind() {
            crate::forge::ForgeKind::GitLab => '!',
            crate::forge::ForgeKind::GitHub => '#',
        };
        format!("{}{sign}{}", self.config.gitops_project, iid.0)
    }

    /// Acts on one domain event.
    pub async fn on_event(&self, event: ForgeEvent) -> Result<(), EngineError> {
        csr::remember_actors(self, &event)?;
        match event {
            ForgeEvent::BranchPushed(push) if !self.is_gitops(&push.project) => {
                source::on_push(self, push, false).await
            }
            ForgeEvent::TagPushed(push) if !self.is_gitops(&push.project) => {
                source::on_push(self, push, true).await
            }
            ForgeEvent::MrOpened(mr) | ForgeEvent::MrUpdated(mr) if self.is_gitops(&mr.project) => {
                validate::on_merge_request(self, &mr).await
            }
            ForgeEvent::MrMerged(merge) if self.is_gitops(&merge.merge_request.project) => {
                promote::on_merged(self, &merge).await?;
                csr::on_merged(self, &merge).await
            }
            ForgeEvent::CommentCreated(comment) if self.is_gitops(&comment.project) => {
                commands::on_comment(self, &comment, commands::unrecorded(self, &comment)).await
            }
            ForgeEvent::ReviewSubmitted(review) if self.is_gitops(&review.project) => {
                gate::evaluate_number(self, review.merge_request).await
            }
            ForgeEvent::PipelineFinished(pipeline) if self.is_gitops(&pipeline.project) => {
                gate::on_pipeline(self, &pipeline).await
            }
            other => {
                tracing::debug!(kind = other.kind(), "nothing to do");
                Ok(())
            }
        }
    }
}

impl Handler for Engine {
    fn handle<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let event = crate::events::parse(delivery.forge, &delivery.event_type, &delivery.body)
                .map_err(|error| {
                    HandlerError::permanent(format!("the payload does not parse: {error}"))
                })?;
            tracing::info!(
                forge = %delivery.forge,
                delivery = %delivery.delivery_id,
                kind = event.kind(),
                "handling"
            );
            match (&event, &self.comments) {
                (ForgeEvent::CommentCreated(comment), Some(record))
                    if self.is_gitops(&comment.project) =>
                {
                    let CommentPlan::Run(to_run) = record.to_run(delivery, comment).await? else {
                        return Ok(());
                    };
                    let pending = to_run
                        .into_iter()
                        .map(|c| commands::Pending {
                            id: Some(c.id),
                            line: c.line,
                            command: c.command,
                        })
                        .collect();
                    commands::on_comment(self, comment, pending)
                        .await
                        .map_err(EngineError::into_handler_error)
                }
                _ => self
                    .on_event(event)
                    .await
                    .map_err(EngineError::into_handler_error),
            }
        })
    }
}
