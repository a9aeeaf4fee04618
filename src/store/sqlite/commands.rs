//! The comment command record in SQLite (`comment_commands` in the queue file), so that a
//! command is recorded in the same durable file, and by the same writer, as its delivery.

use std::time::SystemTime;

use rusqlite::{Connection, params};

use super::super::{
    CommandId, CommandRecord, CommentKey, EventId, NewCommand, StoreError, from_millis, to_millis,
};
use crate::domain::{MrIid, ProjectPath};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS comment_commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    forge TEXT NOT NULL,
    project TEXT NOT NULL,
    merge_request INTEGER NOT NULL,
    comment_id INTEGER NOT NULL,
    command TEXT NOT NULL,
    occurrence INTEGER NOT NULL,
    line INTEGER NOT NULL,
    event_id INTEGER NOT NULL,
    state TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    finished_at INTEGER,
    UNIQUE (forge, project, merge_request, comment_id, command, occurrence)
);
CREATE INDEX IF NOT EXISTS comment_commands_by_event ON comment_commands (event_id, id);
";

const COLUMNS: &str = "id, forge, project, merge_request, comment_id, command, occurrence, \
     line, event_id, state, recorded_at, finished_at";

fn stored(what: &str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange(format!("{what} {value}")))
}

fn corrupt(what: &str) -> impl FnOnce(String) -> StoreError + '_ {
    move |message| StoreError::Corrupt(format!("comment command {what}: {message}"))
}

pub(super) fn record(
    connection: &Connection,
    comment: &CommentKey,
    commands: &[NewCommand],
    event: EventId,
) -> Result<Vec<CommandRecord>, StoreError> {
    let merge_request = stored("merge request", comment.merge_request.0)?;
    let comment_id = stored("comment id", comment.comment_id)?;
    let now = to_millis(SystemTime::now());
    let mut records = Vec::with_capacity(commands.len());
    for command in commands {
        let line = stored("line", u64::try_from(command.line).unwrap_or(u64::MAX))?;
        let key = params![
            comment.forge.as_str(),
            comment.project.as_str(),
            merge_request,
            comment_id,
            command.text,
            command.occurrence,
        ];
        connection
            .prepare_cached(
                "INSERT INTO comment_commands (forge, project, merge_request, comment_id, \
                 command, occurrence, line, event_id, state, recorded_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9) \
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![
                comment.forge.as_str(),
                comment.project.as_str(),
                merge_request,
                comment_id,
                command.text,
                command.occurrence,
                line,
                event.0,
                now
            ])?;
        let raw = connection
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM comment_commands WHERE forge = ?1 AND project = ?2 \
                 AND merge_request = ?3 AND comment_id = ?4 AND command = ?5 AND occurrence = ?6"
            ))?
            .query_row(key, raw_from)?;
        records.push(raw.into_record()?);
    }
    Ok(records)
}

pub(super) fn finish(connection: &Connection, id: CommandId) -> Result<bool, StoreError> {
    let changed = connection
        .prepare_cached(
            "UPDATE comment_commands SET state = 'done', finished_at = ?2 \
             WHERE id = ?1 AND state = 'pending'",
        )?
        .execute(params![id.0, to_millis(SystemTime::now())])?;
    Ok(changed == 1)
}

pub(super) fn of_event(
    connection: &Connection,
    event: EventId,
) -> Result<Vec<CommandRecord>, StoreError> {
    let raws: Vec<Raw> = connection
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM comment_commands WHERE event_id = ?1 ORDER BY id"
        ))?
        .query_map(params![event.0], raw_from)?
        .collect::<Result<_, _>>()?;
    raws.into_iter().map(Raw::into_record).collect()
}

struct Raw {
    id: i64,
    forge: String,
    project: String,
    merge_request: i64,
    comment_id: i64,
    command: String,
    occurrence: i64,
    line: i64,
    event_id: i64,
    state: String,
    recorded_at: i64,
    finished_at: Option<i64>,
}

fn raw_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    Ok(Raw {
        id: row.get(0)?,
        forge: row.get(1)?,
        project: row.get(2)?,
        merge_request: row.get(3)?,
        comment_id: row.get(4)?,
        command: row.get(5)?,
        occurrence: row.get(6)?,
        line: row.get(7)?,
        event_id: row.get(8)?,
        state: row.get(9)?,
        recorded_at: row.get(10)?,
        finished_at: row.get(11)?,
    })
}

impl Raw {
    fn into_record(self) -> Result<CommandRecord, StoreError> {
        let number = |what: &str, value: i64| {
            u64::try_from(value)
                .map_err(|_| StoreError::Corrupt(format!("comment command {what} {value}")))
        };
        Ok(CommandRecord {
            id: CommandId(self.id),
            comment: CommentKey {
                forge: self.forge.parse().map_err(corrupt("forge"))?,
                project: ProjectPath::parse(&self.project)
                    .map_err(|error| corrupt("project")(error.to_string()))?,
                merge_request: MrIid(number("merge request", self.merge_request)?),
                comment_id: number("comment id", self.comment_id)?,
            },
            text: self.command,
            occurrence: u32::try_from(number("occurrence", self.occurrence)?).unwrap_or(u32::MAX),
            line: usize::try_from(number("line", self.line)?).unwrap_or(usize::MAX),
            event: EventId(self.event_id),
            state: self.state.parse().map_err(corrupt("state"))?,
            recorded_at: from_millis(self.recorded_at),
            finished_at: self.finished_at.map(from_millis),
        })
    }
}
