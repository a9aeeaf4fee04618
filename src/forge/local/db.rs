//! The local forge's SQLite file: schema and the few conversions every table needs.
//!
//! WAL, so the server and `ferry mr` in another process read while one of them writes; every
//! read-then-write runs in an IMMEDIATE transaction, so two processes never hand out the
//! same merge request number or record the same head twice.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::error::LocalError;

pub(crate) const FILE_NAME: &str = "forge.sqlite3";

pub(crate) fn open(dir: &Path) -> Result<Connection, LocalError> {
    std::fs::create_dir_all(dir).map_err(LocalError::io(format!(
        "cannot create the local forge directory {}",
        dir.display()
    )))?;
    let path = dir.join(FILE_NAME);
    let context = format!("open {}", path.display());
    let connection = Connection::open(&path).map_err(LocalError::store(&context))?;
    connection
        .busy_timeout(Duration::from_secs(10))
        .map_err(LocalError::store(&context))?;
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .map_err(LocalError::store(&context))?;
    connection
        .pragma_update(None, "foreign_keys", "ON")
        .map_err(LocalError::store(&context))?;
    connection
        .execute_batch(SCHEMA)
        .map_err(LocalError::store("create the tables"))?;
    Ok(connection)
}

/// Starts a write transaction that takes the write lock at once, so what it reads stays true
/// until it commits.
pub(crate) fn write(connection: &mut Connection) -> Result<Transaction<'_>, LocalError> {
    connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(LocalError::store("start a write"))
}

/// SQLite integers are signed; ids and numbers stay far below 2^63.
pub(crate) fn sql(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

pub(crate) fn unsql(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

pub(crate) fn now() -> String {
    jiff::Timestamp::now().to_string()
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    access TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS memberships (
    user_id INTEGER NOT NULL REFERENCES users(id),
    group_path TEXT NOT NULL,
    PRIMARY KEY (user_id, group_path)
);
CREATE TABLE IF NOT EXISTS projects (
    path TEXT PRIMARY KEY,
    repository TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS merge_requests (
    project TEXT NOT NULL REFERENCES projects(path),
    iid INTEGER NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    source_branch TEXT NOT NULL,
    target_branch TEXT NOT NULL,
    labels TEXT NOT NULL,
    author_id INTEGER NOT NULL REFERENCES users(id),
    -- the source branch head last announced (MrOpened / MrUpdated), to notice pushes
    seen_head TEXT,
    merge_sha TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (project, iid)
);
CREATE TABLE IF NOT EXISTS comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    iid INTEGER NOT NULL,
    author_id INTEGER NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    edited_at TEXT
);
CREATE TABLE IF NOT EXISTS reactions (
    comment_id INTEGER NOT NULL REFERENCES comments(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    PRIMARY KEY (comment_id, user_id, name)
);
CREATE TABLE IF NOT EXISTS approvals (
    project TEXT NOT NULL,
    iid INTEGER NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id),
    head_sha TEXT NOT NULL,
    PRIMARY KEY (project, iid, user_id)
);
CREATE TABLE IF NOT EXISTS statuses (
    project TEXT NOT NULL,
    sha TEXT NOT NULL,
    context TEXT NOT NULL,
    iid INTEGER NOT NULL,
    state TEXT NOT NULL,
    description TEXT,
    target_url TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (project, sha, context)
);
-- the last sha record_push saw per ref, for the event's `before`
CREATE TABLE IF NOT EXISTS pushed_refs (
    project TEXT NOT NULL,
    git_ref TEXT NOT NULL,
    sha TEXT NOT NULL,
    PRIMARY KEY (project, git_ref)
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL
);
";
