//! Comment events -> the commands to run now.
//!
//! A comment's commands are parsed with `commands::parse_comment`, then recorded in the
//! store keyed by the comment and each command's identity (canonical text and occurrence),
//! so that:
//! - an edited comment hands on only the commands its earlier versions did not have;
//! - the same delivery handled again (a crash before its done mark, a retry after a failed
//!   attempt) hands on again only the commands it recorded that have not finished, and a
//!   redelivery of the comment under another delivery id hands on none;
//! - system notes and Ferry's own comments hand on nothing (`Comment::skip_reason`).
//!
//! The engine calls [`CommentCommands::to_run`] from its handler for each
//! `ForgeEvent::CommentCreated`, runs or answers each command it gets (errors are answered
//! too), and calls [`CommentCommands::ran`] after each. Its effects must be idempotent per
//! [`CommandId`]: a command can be handed on again when the process dies between its effect
//! and `ran`.

use std::sync::Arc;

use super::HandlerError;
use crate::commands::{self, Command, CommandError};
use crate::domain::forge_event::Comment;
use crate::domain::{BotIdentity, Forge, MrIid};
use crate::store::{CommandId, CommandState, CommentKey, Delivery, NewCommand, Store, StoreError};

/// Who Ferry is on each forge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bots {
    pub gitlab: BotIdentity,
    pub github: BotIdentity,
}

impl Bots {
    pub fn on(&self, forge: Forge) -> &BotIdentity {
        match forge {
            Forge::GitLab => &self.gitlab,
            Forge::GitHub => &self.github,
        }
    }
}

impl From<&crate::config::ForgesConfig> for Bots {
    fn from(forges: &crate::config::ForgesConfig) -> Self {
        Self {
            gitlab: forges.gitlab.bot(),
            github: forges.github.bot(),
        }
    }
}

/// The name people mention the bot by: a GitHub App's user is `name[bot]`, mentioned as
/// `@name`.
pub fn mention_name(bot: &BotIdentity) -> &str {
    bot.username.strip_suffix("[bot]").unwrap_or(&bot.username)
}

/// What a comment event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentPlan {
    /// Its commands must not run, and why.
    Skipped { reason: &'static str },
    /// The commands to run or answer now, in comment order; empty when the comment has no
    /// command or each one was handed on before.
    Run(Vec<CommandToRun>),
}

/// One command handed to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandToRun {
    /// The idempotency key for the command's effects and for [`CommentCommands::ran`].
    pub id: CommandId,
    /// Its line in this version of the comment.
    pub line: usize,
    /// The command, or the error to answer with.
    pub command: Result<Command, CommandError>,
}

pub struct CommentCommands {
    store: Arc<dyn Store>,
    bots: Bots,
}

impl CommentCommands {
    pub fn new(store: Arc<dyn Store>, bots: Bots) -> Self {
        Self { store, bots }
    }

    pub fn bots(&self) -> &Bots {
        &self.bots
    }

    /// The commands of `comment`, delivered by `delivery`, that are to run now.
    pub async fn to_run(
        &self,
        delivery: &Delivery,
        comment: &Comment,
    ) -> Result<CommentPlan, HandlerError> {
        let bot = self.bots.on(delivery.forge);
        if let Some(reason) = comment.skip_reason(bot) {
            return Ok(CommentPlan::Skipped { reason });
        }
        let lines = commands::parse_comment(&comment.body, mention_name(bot));
        if lines.is_empty() {
            return Ok(CommentPlan::Run(Vec::new()));
        }
        let mut seen: Vec<(String, u32)> = Vec::new();
        let wanted: Vec<NewCommand> = lines
            .iter()
            .map(|line| {
                let text = line.identity();
                let occurrence = match seen.iter_mut().find(|(known, _)| *known == text) {
                    Some((_, count)) => {
                        *count += 1;
                        *count
                    }
                    None => {
                        seen.push((text.clone(), 1));
                        1
                    }
                };
                NewCommand {
                    text,
                    occurrence,
                    line: line.line,
                }
            })
            .collect();
        let key = CommentKey {
            forge: delivery.forge,
            project: comment.project.clone(),
            merge_request: MrIid(comment.merge_request),
            comment_id: comment.note_id,
        };
        let records = self
            .store
            .record_commands(key, wanted, delivery.id)
            .await
            .map_err(store_failure)?;
        if records.len() != lines.len() {
            return Err(HandlerError::retry(format!(
                "the store recorded {} of the comment's {} commands",
                records.len(),
                lines.len()
            )));
        }
        // Done ones ran already; pending ones recorded by another delivery belong to it (a
        // dead letter hands them on when it is retried, not when the comment is edited).
        let to_run = lines
            .into_iter()
            .zip(records)
            .filter(|(_, record)| {
                record.state == CommandState::Pending && record.event == delivery.id
            })
            .map(|(line, record)| CommandToRun {
                id: record.id,
                line: line.line,
                command: line.result,
            })
            .collect();
        Ok(CommentPlan::Run(to_run))
    }

    /// Records that a command ran (or its error was answered), so it is not handed on again.
    pub async fn ran(&self, id: CommandId) -> Result<(), HandlerError> {
        self.store
            .finish_command(id)
            .await
            .map(|_| ())
            .map_err(store_failure)
    }
}

fn store_failure(error: StoreError) -> HandlerError {
    match error {
        StoreError::OutOfRange(_) => HandlerError::permanent(error.to_string()),
        other => HandlerError::retry(format!("cannot record the comment's commands: {other}")),
    }
}
