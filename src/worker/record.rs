//! The handler `ferry serve` runs until the workflow engine exists: it parses each delivery
//! into a domain event, logs it and records it in `handled.sqlite3` in the data directory. A
//! payload that does not parse is a permanent failure: it goes to the dead letters with the
//! parser's reason, since retrying cannot change it.
//!
//! It is also the reference for the handler contract. Every call is logged in `invocations`
//! (at least once: repeats show up there), while the effect, a row in `handled`, is applied
//! only when no row with the same (forge, delivery id) exists, checked and written in one
//! transaction. `handled` deliberately has no unique constraint: the idempotency check is
//! what keeps effects single, so a test that counts rows per key tests the check itself.
//!
//! With [`RecordingHandler::with_comments`] it also stands in for the engine's handling of
//! comment commands: each command handed on by [`CommentCommands`] is "run" by writing a
//! row to `commands_run` (with the answer the engine would give), checked against the
//! command id in the same transaction, and then marked ran in the store.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rusqlite::{Connection, params};

use super::comments::{CommandToRun, CommentCommands, CommentPlan};
use super::{Handler, HandlerError};
use crate::domain::ForgeEvent;
use crate::domain::forge_event::Comment;
use crate::store::{BoxFuture, Delivery, StoreError};

pub struct RecordingHandler {
    connection: Arc<Mutex<Connection>>,
    comments: Option<CommentCommands>,
}

impl RecordingHandler {
    /// Opens (creating) `path`. WAL with `synchronous = NORMAL`: a committed effect
    /// survives a process crash; the store's own queue uses FULL for acknowledgements.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let connection = Connection::open(path)?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS handled (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 forge TEXT NOT NULL,
                 delivery_id TEXT NOT NULL,
                 event_id INTEGER NOT NULL,
                 event_type TEXT NOT NULL,
                 event_kind TEXT NOT NULL,
                 repository TEXT NOT NULL,
                 body_len INTEGER NOT NULL,
                 handled_at INTEGER NOT NULL
             );
             CREATE INDEX IF NOT EXISTS handled_key ON handled (forge, delivery_id);
             CREATE TABLE IF NOT EXISTS invocations (
                 forge TEXT NOT NULL,
                 delivery_id TEXT NOT NULL,
                 attempt INTEGER NOT NULL,
                 at INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS commands_run (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 command_id INTEGER NOT NULL,
                 forge TEXT NOT NULL,
                 project TEXT NOT NULL,
                 merge_request INTEGER NOT NULL,
                 comment_id INTEGER NOT NULL,
                 line INTEGER NOT NULL,
                 ok INTEGER NOT NULL,
                 answer TEXT NOT NULL,
                 delivery_id TEXT NOT NULL,
                 ran_at INTEGER NOT NULL
             );
             CREATE INDEX IF NOT EXISTS commands_run_key ON commands_run (command_id);",
        )?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            comments: None,
        })
    }

    /// Runs the commands of comment events too (see the module documentation).
    pub fn with_comments(mut self, comments: CommentCommands) -> Self {
        self.comments = Some(comments);
        self
    }

    async fn run_commands(
        &self,
        comments: &CommentCommands,
        delivery: &Delivery,
        comment: &Comment,
    ) -> Result<(), HandlerError> {
        let commands = match comments.to_run(delivery, comment).await? {
            CommentPlan::Skipped { reason } => {
                tracing::info!(delivery = %delivery.delivery_id, comment = comment.note_id, reason, "comment skipped");
                return Ok(());
            }
            CommentPlan::Run(commands) => commands,
        };
        for command in commands {
            let row = CommandRow {
                command: command.clone(),
                forge: delivery.forge.as_str(),
                project: comment.project.as_str().to_owned(),
                merge_request: comment.merge_request,
                comment_id: comment.note_id,
                delivery_id: delivery.delivery_id.clone(),
            };
            let applied = blocking(
                move |connection| record_command(connection, &row),
                Arc::clone(&self.connection),
            )
            .await?;
            tracing::info!(
                delivery = %delivery.delivery_id,
                comment = comment.note_id,
                line = command.line,
                command = %answer(&command),
                applied,
                "comment command handed on"
            );
            comments.ran(command.id).await?;
        }
        Ok(())
    }
}

/// What the engine would answer: the command it runs, or the error.
fn answer(command: &CommandToRun) -> String {
    match &command.command {
        Ok(command) => command.to_string(),
        Err(error) => error.to_string(),
    }
}

/// Runs `work` on the record's connection off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    connection: Arc<Mutex<Connection>>,
) -> Result<T, HandlerError> {
    tokio::task::spawn_blocking(move || {
        let mut connection = connection
            .lock()
            .map_err(|_| HandlerError::retry("the record is unavailable"))?;
        work(&mut connection)
            .map_err(|error| HandlerError::retry(format!("cannot record: {error}")))
    })
    .await
    .map_err(|error| HandlerError::retry(format!("the record task failed: {error}")))?
}

/// One command the stand-in engine was handed, as `commands_run` records it.
struct CommandRow {
    command: CommandToRun,
    forge: &'static str,
    project: String,
    merge_request: u64,
    comment_id: u64,
    delivery_id: String,
}

fn record_command(connection: &mut Connection, row: &CommandRow) -> rusqlite::Result<bool> {
    let command = &row.command;
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let seen: bool = transaction.query_row(
        "SELECT EXISTS (SELECT 1 FROM commands_run WHERE command_id = ?1)",
        params![command.id.0],
        |row| row.get(0),
    )?;
    if !seen {
        transaction.execute(
            "INSERT INTO commands_run (command_id, forge, project, merge_request, comment_id, \
             line, ok, answer, delivery_id, ran_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                command.id.0,
                row.forge,
                row.project,
                i64::try_from(row.merge_request).unwrap_or(i64::MAX),
                i64::try_from(row.comment_id).unwrap_or(i64::MAX),
                i64::try_from(command.line).unwrap_or(i64::MAX),
                command.command.is_ok(),
                answer(command),
                row.delivery_id,
                crate::store::to_millis(SystemTime::now())
            ],
        )?;
    }
    transaction.commit()?;
    Ok(!seen)
}

fn record(
    connection: &mut Connection,
    delivery: &Delivery,
    event_kind: &str,
) -> rusqlite::Result<bool> {
    let now = crate::store::to_millis(SystemTime::now());
    let forge = delivery.forge.as_str();
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    transaction.execute(
        "INSERT INTO invocations (forge, delivery_id, attempt, at) VALUES (?1, ?2, ?3, ?4)",
        params![forge, delivery.delivery_id, delivery.attempt, now],
    )?;
    let seen: bool = transaction.query_row(
        "SELECT EXISTS (SELECT 1 FROM handled WHERE forge = ?1 AND delivery_id = ?2)",
        params![forge, delivery.delivery_id],
        |row| row.get(0),
    )?;
    if !seen {
        transaction.execute(
            "INSERT INTO handled (forge, delivery_id, event_id, event_type, event_kind, \
             repository, body_len, handled_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                forge,
                delivery.delivery_id,
                delivery.id.0,
                delivery.event_type,
                event_kind,
                delivery.repository,
                i64::try_from(delivery.body.len()).unwrap_or(i64::MAX),
                now
            ],
        )?;
    }
    transaction.commit()?;
    Ok(!seen)
}

impl Handler for RecordingHandler {
    fn handle<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), HandlerError>> {
        let connection = Arc::clone(&self.connection);
        let owned = delivery.clone();
        Box::pin(async move {
            let event = crate::events::parse(delivery.forge, &delivery.event_type, &delivery.body)
                .map_err(|error| {
                    HandlerError::permanent(format!("the payload does not parse: {error}"))
                })?;
            if let (ForgeEvent::CommentCreated(comment), Some(comments)) = (&event, &self.comments)
            {
                self.run_commands(comments, delivery, comment).await?;
            }
            let kind = event.kind();
            let applied = blocking(
                move |connection| record(connection, &owned, kind),
                connection,
            )
            .await?;
            tracing::info!(
                forge = %delivery.forge,
                delivery = %delivery.delivery_id,
                event = %delivery.event_type,
                kind,
                repository = %delivery.repository,
                attempt = delivery.attempt,
                applied,
                "delivery handled"
            );
            Ok(())
        })
    }
}
