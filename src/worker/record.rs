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

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rusqlite::{Connection, params};

use super::{Handler, HandlerError};
use crate::store::{BoxFuture, Delivery, StoreError};

pub struct RecordingHandler {
    connection: Arc<Mutex<Connection>>,
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
             );",
        )?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }
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
            let kind = event.kind();
            let applied = tokio::task::spawn_blocking(move || {
                let mut connection = connection
                    .lock()
                    .map_err(|_| HandlerError::retry("the record is unavailable"))?;
                record(&mut connection, &owned, kind)
                    .map_err(|error| HandlerError::retry(format!("cannot record: {error}")))
            })
            .await
            .map_err(|error| HandlerError::retry(format!("the record task failed: {error}")))??;
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
