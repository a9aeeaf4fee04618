//! The embedded store: one SQLite file in WAL mode, written by one dedicated thread.
//!
//! Why one writer thread: SQLite has a single writer anyway, rusqlite calls block, and a
//! thread that drains its channel into one transaction per batch gives group commit: under
//! load, hundreds of deliveries share one fsync, and each caller is answered only after the
//! commit that holds its change (so a webhook is acknowledged only once it is durable).
//! Each operation runs inside its own savepoint, so one failing operation does not undo the
//! others in its batch.

mod commands;
mod prune;

use std::fs::File;
use std::path::Path;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};

use super::{
    AfterFailure, BoxFuture, CommandId, CommandRecord, CommentKey, Delivery, EventId, EventRecord,
    Forge, Inserted, Intake, ListFilter, NewCommand, NewDelivery, Pruned, RetryOutcome, State,
    Store, StoreError, WorkerId, from_millis, to_millis,
};
use crate::config::Synchronous;

/// How the SQLite file is opened.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub synchronous: Synchronous,
    pub busy_timeout: Duration,
    pub batch_max: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            batch_max: 512,
        }
    }
}

type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
// A job runs its work and says whether it succeeded (so its savepoint can be undone), and
// hands back the reply to send once the batch's commit is known.
// Without a connection (the transaction could not begin) it only answers with the error.
type Job = Box<dyn FnOnce(Option<&Connection>) -> (bool, Reply) + Send>;

pub struct SqliteStore {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    // Held for the life of a serving store: a second `ferry serve` on the same data
    // directory would otherwise steal the first one's leases at start-up.
    _serve_lock: Option<File>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    forge TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    repository TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    received_at INTEGER NOT NULL,
    next_attempt_at INTEGER,
    finished_at INTEGER,
    claimed_by TEXT,
    lease_until INTEGER,
    last_error TEXT,
    body BLOB NOT NULL,
    UNIQUE (forge, delivery_id)
);
CREATE INDEX IF NOT EXISTS deliveries_active ON deliveries (repository, id)
    WHERE state IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS deliveries_by_state ON deliveries (state, id);
CREATE TABLE IF NOT EXISTS repositories (name TEXT PRIMARY KEY) WITHOUT ROWID;
";

const RECORD_COLUMNS: &str = "id, forge, delivery_id, event_type, repository, state, attempts, \
     received_at, next_attempt_at, finished_at, claimed_by, lease_until, last_error, length(body)";

impl SqliteStore {
    /// Opens (creating if needed) the queue at `path` for operators' commands.
    pub fn open(path: &Path, options: &SqliteOptions) -> Result<Self, StoreError> {
        let connection = connect(path, options)?;
        Ok(Self::start(connection, options.batch_max, None))
    }

    /// Opens the queue for `ferry serve`: takes the data directory's lock (one server per
    /// directory), then gives back every lease left by a previous process, which can only
    /// have been this directory's earlier server that died (kill -9, power loss).
    pub fn open_for_serve(path: &Path, options: &SqliteOptions) -> Result<Self, StoreError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|error| data_dir_error(dir, &error.to_string()))?;
        let lock_path = dir.join("serve.lock");
        let lock =
            File::create(&lock_path).map_err(|error| data_dir_error(dir, &error.to_string()))?;
        lock.try_lock().map_err(|_| {
            data_dir_error(
                dir,
                "another `ferry serve` is using it; stop it or give this one another store.data_dir",
            )
        })?;
        let connection = connect(path, options)?;
        let recovered = connection.execute(
            "UPDATE deliveries SET state = 'pending', claimed_by = NULL, lease_until = NULL, \
             next_attempt_at = ?1 WHERE state = 'running'",
            params![to_millis(SystemTime::now())],
        )?;
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "requeued deliveries left running by a previous process"
            );
        }
        Ok(Self::start(connection, options.batch_max, Some(lock)))
    }

    fn start(connection: Connection, batch_max: usize, lock: Option<File>) -> Self {
        let (sender, receiver) = mpsc::channel::<Job>(batch_max.saturating_mul(8).max(64));
        let writer = std::thread::Builder::new()
            .name("ferry-store".to_owned())
            .spawn(move || write_loop(connection, receiver, batch_max))
            .ok();
        Self {
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(writer),
            _serve_lock: lock,
        }
    }

    /// Runs `work` in the writer thread and answers after its batch is committed.
    fn submit<R, W>(&self, work: W) -> BoxFuture<'_, Result<R, StoreError>>
    where
        R: Send + 'static,
        W: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let sender = self.sender.lock().ok().and_then(|guard| guard.clone());
        Box::pin(async move {
            let sender = sender.ok_or(StoreError::Closed)?;
            let (reply_to, reply) = oneshot::channel();
            let job: Job = Box::new(move |connection| {
                let result = match connection {
                    Some(connection) => work(connection),
                    None => Err(StoreError::Commit(
                        "the transaction could not begin".to_owned(),
                    )),
                };
                let succeeded = result.is_ok();
                let reply: Reply = Box::new(move |commit: Result<(), String>| {
                    let answer = match commit {
                        Ok(()) => result,
                        Err(message) => Err(StoreError::Commit(message)),
                    };
                    let _ = reply_to.send(answer);
                });
                (succeeded, reply)
            });
            sender.send(job).await.map_err(|_| StoreError::Closed)?;
            reply.await.map_err(|_| StoreError::Closed)?
        })
    }

    /// Stops the writer after the work already queued; later calls answer `Closed`.
    pub fn close(&self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        if let Some(writer) = self.writer.lock().ok().and_then(|mut guard| guard.take()) {
            let _ = writer.join();
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

fn data_dir_error(dir: &Path, message: &str) -> StoreError {
    StoreError::DataDir {
        path: dir.display().to_string(),
        message: message.to_owned(),
    }
}

fn connect(path: &Path, options: &SqliteOptions) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|error| data_dir_error(dir, &error.to_string()))?;
    }
    let connection = Connection::open(path)?;
    connection.busy_timeout(options.busy_timeout)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    let synchronous = match options.synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    connection.pragma_update(None, "synchronous", synchronous)?;
    connection.execute_batch(SCHEMA)?;
    connection.execute_batch(commands::SCHEMA)?;
    connection.execute_batch(prune::SCHEMA)?;
    Ok(connection)
}

fn write_loop(connection: Connection, mut receiver: mpsc::Receiver<Job>, batch_max: usize) {
    let mut batch: Vec<Job> = Vec::with_capacity(batch_max);
    while let Some(first) = receiver.blocking_recv() {
        batch.push(first);
        while batch.len() < batch_max {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&connection, &mut batch);
    }
    // Fold the WAL back into the main file so a stopped server leaves one file to back up.
    let _ = connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
}

fn run_batch(connection: &Connection, batch: &mut Vec<Job>) {
    if let Err(error) = connection.execute_batch("BEGIN IMMEDIATE") {
        let message = error.to_string();
        for job in batch.drain(..) {
            // The job never ran; its reply says why.
            let (_, reply) = job(None);
            reply(Err(message.clone()));
        }
        return;
    }
    let mut replies: Vec<Reply> = Vec::with_capacity(batch.len());
    for job in batch.drain(..) {
        let savepoint = connection.execute_batch("SAVEPOINT job");
        let (succeeded, reply) = job(Some(connection));
        if savepoint.is_ok() {
            // A job that failed reports through `reply`; its partial writes are undone.
            if !succeeded {
                let _ = connection.execute_batch("ROLLBACK TO job");
            }
            let _ = connection.execute_batch("RELEASE job");
        }
        replies.push(reply);
    }
    let commit = connection
        .execute_batch("COMMIT")
        .map_err(|error| error.to_string());
    if commit.is_err() {
        let _ = connection.execute_batch("ROLLBACK");
    }
    for reply in replies {
        reply(commit.clone());
    }
}

fn state_from(text: &str) -> Result<State, StoreError> {
    text.parse::<State>().map_err(StoreError::Corrupt)
}

fn forge_from(text: &str) -> Result<Forge, StoreError> {
    text.parse::<Forge>().map_err(StoreError::Corrupt)
}

fn record_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok(RawRecord {
        id: row.get(0)?,
        forge: row.get(1)?,
        delivery_id: row.get(2)?,
        event_type: row.get(3)?,
        repository: row.get(4)?,
        state: row.get(5)?,
        attempts: row.get(6)?,
        received_at: row.get(7)?,
        next_attempt_at: row.get(8)?,
        finished_at: row.get(9)?,
        claimed_by: row.get(10)?,
        lease_until: row.get(11)?,
        last_error: row.get(12)?,
        body_len: row.get(13)?,
    })
}

struct RawRecord {
    id: i64,
    forge: String,
    delivery_id: String,
    event_type: String,
    repository: Option<String>,
    state: String,
    attempts: i64,
    received_at: i64,
    next_attempt_at: Option<i64>,
    finished_at: Option<i64>,
    claimed_by: Option<String>,
    lease_until: Option<i64>,
    last_error: Option<String>,
    body_len: i64,
}

impl RawRecord {
    fn into_record(self) -> Result<EventRecord, StoreError> {
        Ok(EventRecord {
            id: EventId(self.id),
            forge: forge_from(&self.forge)?,
            delivery_id: self.delivery_id,
            event_type: self.event_type,
            repository: self.repository,
            state: state_from(&self.state)?,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            received_at: from_millis(self.received_at),
            next_attempt_at: self.next_attempt_at.map(from_millis),
            finished_at: self.finished_at.map(from_millis),
            claimed_by: self.claimed_by,
            lease_until: self.lease_until.map(from_millis),
            last_error: self.last_error,
            body_len: usize::try_from(self.body_len).unwrap_or(0),
        })
    }
}

fn insert(connection: &Connection, delivery: NewDelivery) -> Result<Inserted, StoreError> {
    let now = to_millis(SystemTime::now());
    let (state, repository, next_attempt_at, finished_at, last_error) = match &delivery.intake {
        Intake::Queued { repository } => (
            State::Pending,
            Some(repository.as_str()),
            Some(now),
            None,
            None,
        ),
        Intake::Ignored { reason } => {
            (State::Ignored, None, None, Some(now), Some(reason.as_str()))
        }
        Intake::Failed { reason } => (State::Failed, None, None, Some(now), Some(reason.as_str())),
    };
    let inserted: Option<i64> = connection
        .prepare_cached(
            "INSERT INTO deliveries (forge, delivery_id, event_type, repository, state, \
             received_at, next_attempt_at, finished_at, last_error, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
             ON CONFLICT (forge, delivery_id) DO NOTHING RETURNING id",
        )?
        .query_row(
            params![
                delivery.forge.as_str(),
                delivery.delivery_id,
                delivery.event_type,
                repository,
                state.as_str(),
                now,
                next_attempt_at,
                finished_at,
                last_error,
                delivery.body,
            ],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(id) = inserted {
        if let Some(repository) = repository {
            connection
                .prepare_cached("INSERT OR IGNORE INTO repositories (name) VALUES (?1)")?
                .execute(params![repository])?;
        }
        return Ok(Inserted::New(EventId(id)));
    }
    let existing: i64 = connection
        .prepare_cached("SELECT id FROM deliveries WHERE forge = ?1 AND delivery_id = ?2")?
        .query_row(
            params![delivery.forge.as_str(), delivery.delivery_id],
            |row| row.get(0),
        )?;
    Ok(Inserted::Duplicate(EventId(existing)))
}

fn claim(
    connection: &Connection,
    worker: &str,
    lease: Duration,
    limit: usize,
) -> Result<Vec<Delivery>, StoreError> {
    let now = to_millis(SystemTime::now());
    let lease_until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
    // Each repository's head is its earliest pending-or-running delivery (the partial index
    // makes that one seek per repository); only a head that is due can be leased.
    let heads: Vec<i64> = connection
        .prepare_cached(
            "SELECT d.id FROM repositories r \
             JOIN deliveries d ON d.id = (SELECT a.id FROM deliveries a \
                 WHERE a.repository = r.name AND a.state IN ('pending', 'running') \
                 ORDER BY a.id LIMIT 1) \
             WHERE (d.state = 'pending' AND d.next_attempt_at <= ?1) \
                OR (d.state = 'running' AND d.lease_until <= ?1) \
             ORDER BY d.id LIMIT ?2",
        )?
        .query_map(
            params![now, i64::try_from(limit).unwrap_or(i64::MAX)],
            |row| row.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let mut claimed = Vec::with_capacity(heads.len());
    for id in heads {
        let delivery = connection
            .prepare_cached(
                "UPDATE deliveries SET state = 'running', claimed_by = ?2, lease_until = ?3, \
                 attempts = attempts + 1 WHERE id = ?1 \
                 RETURNING forge, delivery_id, event_type, repository, body, attempts",
            )?
            .query_row(params![id, worker, lease_until], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, Vec<u8>>(4)?,
                    row.get::<_, i64>(5)?,
                ))
            })?;
        let (forge, delivery_id, event_type, repository, body, attempts) = delivery;
        claimed.push(Delivery {
            id: EventId(id),
            forge: forge_from(&forge)?,
            delivery_id,
            event_type,
            repository,
            body,
            attempt: u32::try_from(attempts).unwrap_or(u32::MAX),
        });
    }
    Ok(claimed)
}

fn lease_millis(lease: Duration) -> i64 {
    to_millis(SystemTime::now()).saturating_add(i64::try_from(lease.as_millis()).unwrap_or(0))
}

impl Store for SqliteStore {
    fn insert(&self, delivery: NewDelivery) -> BoxFuture<'_, Result<Inserted, StoreError>> {
        self.submit(move |connection| insert(connection, delivery))
    }

    fn claim<'a>(
        &'a self,
        worker: &'a WorkerId,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<Delivery>, StoreError>> {
        let worker = worker.0.clone();
        self.submit(move |connection| claim(connection, &worker, lease, limit))
    }

    fn extend_lease<'a>(
        &'a self,
        id: EventId,
        worker: &'a WorkerId,
        lease: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let worker = worker.0.clone();
        self.submit(move |connection| {
            let changed = connection
                .prepare_cached(
                    "UPDATE deliveries SET lease_until = ?3 \
                     WHERE id = ?1 AND state = 'running' AND claimed_by = ?2",
                )?
                .execute(params![id.0, worker, lease_millis(lease)])?;
            Ok(changed == 1)
        })
    }

    fn complete<'a>(
        &'a self,
        id: EventId,
        worker: &'a WorkerId,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let worker = worker.0.clone();
        self.submit(move |connection| {
            let changed = connection
                .prepare_cached(
                    "UPDATE deliveries SET state = 'done', finished_at = ?3, claimed_by = NULL, \
                     lease_until = NULL, next_attempt_at = NULL \
                     WHERE id = ?1 AND state = 'running' AND claimed_by = ?2",
                )?
                .execute(params![id.0, worker, to_millis(SystemTime::now())])?;
            Ok(changed == 1)
        })
    }

    fn fail<'a>(
        &'a self,
        id: EventId,
        worker: &'a WorkerId,
        error: &'a str,
        after: AfterFailure,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let worker = worker.0.clone();
        let error = error.to_owned();
        self.submit(move |connection| {
            let now = to_millis(SystemTime::now());
            let changed = match after {
                AfterFailure::RetryAt(when) => connection
                    .prepare_cached(
                        "UPDATE deliveries SET state = 'pending', next_attempt_at = ?3, \
                         last_error = ?4, claimed_by = NULL, lease_until = NULL \
                         WHERE id = ?1 AND state = 'running' AND claimed_by = ?2",
                    )?
                    .execute(params![id.0, worker, to_millis(when), error])?,
                AfterFailure::Dead => connection
                    .prepare_cached(
                        "UPDATE deliveries SET state = 'dead', finished_at = ?3, \
                         last_error = ?4, claimed_by = NULL, lease_until = NULL, \
                         next_attempt_at = NULL \
                         WHERE id = ?1 AND state = 'running' AND claimed_by = ?2",
                    )?
                    .execute(params![id.0, worker, now, error])?,
            };
            Ok(changed == 1)
        })
    }

    fn release<'a>(
        &'a self,
        id: EventId,
        worker: &'a WorkerId,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let worker = worker.0.clone();
        self.submit(move |connection| {
            let changed = connection
                .prepare_cached(
                    "UPDATE deliveries SET state = 'pending', claimed_by = NULL, \
                     lease_until = NULL, attempts = MAX(attempts - 1, 0), next_attempt_at = ?3 \
                     WHERE id = ?1 AND state = 'running' AND claimed_by = ?2",
                )?
                .execute(params![id.0, worker, to_millis(SystemTime::now())])?;
            Ok(changed == 1)
        })
    }

    fn list(&self, filter: ListFilter) -> BoxFuture<'_, Result<Vec<EventRecord>, StoreError>> {
        self.submit(move |connection| {
            let limit = i64::try_from(filter.limit.max(1)).unwrap_or(i64::MAX);
            let raws: Vec<RawRecord> = if filter.states.is_empty() {
                connection
                    .prepare_cached(&format!(
                        "SELECT {RECORD_COLUMNS} FROM deliveries ORDER BY id DESC LIMIT ?1"
                    ))?
                    .query_map(params![limit], record_from)?
                    .collect::<Result<_, _>>()?
            } else {
                let states: Vec<&str> = filter.states.iter().map(|s| s.as_str()).collect();
                let placeholders = vec!["?"; states.len()].join(", ");
                let sql = format!(
                    "SELECT {RECORD_COLUMNS} FROM deliveries WHERE state IN ({placeholders}) \
                     ORDER BY id DESC LIMIT {limit}"
                );
                connection
                    .prepare(&sql)?
                    .query_map(rusqlite::params_from_iter(states), record_from)?
                    .collect::<Result<_, _>>()?
            };
            raws.into_iter().map(RawRecord::into_record).collect()
        })
    }

    fn get(&self, id: EventId) -> BoxFuture<'_, Result<Option<EventRecord>, StoreError>> {
        self.submit(move |connection| {
            connection
                .prepare_cached(&format!(
                    "SELECT {RECORD_COLUMNS} FROM deliveries WHERE id = ?1"
                ))?
                .query_row(params![id.0], record_from)
                .optional()?
                .map(RawRecord::into_record)
                .transpose()
        })
    }

    fn body(&self, id: EventId) -> BoxFuture<'_, Result<Option<Vec<u8>>, StoreError>> {
        self.submit(move |connection| {
            Ok(connection
                .prepare_cached("SELECT body FROM deliveries WHERE id = ?1")?
                .query_row(params![id.0], |row| row.get(0))
                .optional()?)
        })
    }

    fn retry(&self, id: EventId) -> BoxFuture<'_, Result<RetryOutcome, StoreError>> {
        self.submit(move |connection| {
            let found: Option<(String, Option<String>)> = connection
                .prepare_cached("SELECT state, repository FROM deliveries WHERE id = ?1")?
                .query_row(params![id.0], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            let Some((state, repository)) = found else {
                return Ok(RetryOutcome::NotFound);
            };
            let state = state_from(&state)?;
            let reason = match (state, &repository) {
                (State::Dead, Some(_)) => None,
                (State::Failed, None) | (State::Dead, None) => Some(
                    "it could not be read when it arrived, so it has no repository to queue in; \
                     fix the sender and redeliver it from the forge",
                ),
                (State::Ignored, _) => Some("Ferry does not handle its event type"),
                (State::Pending | State::Running, _) => Some("it is already queued"),
                (State::Done, _) => {
                    Some("it was processed; redeliver it from the forge to process it again")
                }
                (State::Failed, Some(_)) => None,
            };
            if let Some(reason) = reason {
                return Ok(RetryOutcome::NotRetryable {
                    state,
                    reason: reason.to_owned(),
                });
            }
            connection
                .prepare_cached(
                    "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?2, \
                     finished_at = NULL WHERE id = ?1",
                )?
                .execute(params![id.0, to_millis(SystemTime::now())])?;
            Ok(RetryOutcome::Requeued)
        })
    }

    fn counts(&self) -> BoxFuture<'_, Result<Vec<(State, u64)>, StoreError>> {
        self.submit(move |connection| {
            let mut statement =
                connection.prepare_cached("SELECT COUNT(*) FROM deliveries WHERE state = ?1")?;
            let mut counts = Vec::with_capacity(State::ALL.len());
            for state in State::ALL {
                let count: i64 = statement.query_row(params![state.as_str()], |row| row.get(0))?;
                counts.push((state, u64::try_from(count).unwrap_or(0)));
            }
            Ok(counts)
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        self.submit(|connection| {
            connection.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
    }

    fn record_commands(
        &self,
        comment: CommentKey,
        commands: Vec<NewCommand>,
        event: EventId,
    ) -> BoxFuture<'_, Result<Vec<CommandRecord>, StoreError>> {
        // One job is one savepoint: the comment's commands are recorded all or none.
        self.submit(move |connection| commands::record(connection, &comment, &commands, event))
    }

    fn finish_command(&self, id: CommandId) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.submit(move |connection| commands::finish(connection, id))
    }

    fn commands_of(&self, event: EventId) -> BoxFuture<'_, Result<Vec<CommandRecord>, StoreError>> {
        self.submit(move |connection| commands::of_event(connection, event))
    }

    fn prune(&self, before: SystemTime, batch: usize) -> BoxFuture<'_, Result<Pruned, StoreError>> {
        self.submit(move |connection| prune::prune(connection, before, batch))
    }
}

impl From<&crate::config::StoreConfig> for SqliteOptions {
    fn from(config: &crate::config::StoreConfig) -> Self {
        Self {
            synchronous: config.synchronous,
            busy_timeout: Duration::from_millis(config.busy_timeout_ms),
            batch_max: config.batch_max.max(1),
        }
    }
}
