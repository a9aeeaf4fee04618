//! The durable queue of webhook deliveries.
//!
//! A delivery is written here before its webhook is answered, and processed from here by the
//! workers. The [`Store`] trait is what the server and workers use; [`sqlite::SqliteStore`]
//! is the embedded implementation. The trait is shaped for a shared PostgreSQL store with
//! several replicas: work is handed out as leases that expire (a replica that dies loses its
//! leases, someone else picks the deliveries up), and ordering is per repository (a
//! repository's next delivery is not handed out while an earlier one is running or waiting
//! for a retry).
//!
//! States: `pending` (queued or waiting for a retry), `running` (leased), `done`,
//! `failed` (authenticated but unreadable, never processed), `dead` (attempts exhausted or a
//! permanent error), `ignored` (an event type Ferry does not handle).

pub mod commands;
pub mod sqlite;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

pub use commands::{CommandId, CommandRecord, CommandState, CommentKey, NewCommand};
pub use sqlite::SqliteStore;

/// A boxed future so that the store and handler traits can be used as `dyn` objects (the
/// store implementation is chosen by configuration at run time).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub use crate::domain::Forge;

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    Pending,
    Running,
    Done,
    Failed,
    Dead,
    Ignored,
}

impl State {
    pub const ALL: [State; 6] = [
        State::Pending,
        State::Running,
        State::Done,
        State::Failed,
        State::Dead,
        State::Ignored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Done => "done",
            State::Failed => "failed",
            State::Dead => "dead",
            State::Ignored => "ignored",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for State {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        State::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown state `{text}`; use pending, running, done, failed, dead or ignored"
                )
            })
    }
}

/// The store's own number for a delivery; it also orders deliveries (first stored, first
/// processed within a repository).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(pub i64);

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Who holds a lease: one per worker pool (per process); must be unique across replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerId(pub String);

impl WorkerId {
    /// Host name, process id and a random suffix: unique across replicas and restarts.
    pub fn generate() -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".to_owned());
        WorkerId(format!(
            "{host}:{}:{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ))
    }
}

/// What intake decided about an authenticated delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intake {
    /// To be processed, in order, within `repository`.
    Queued { repository: String },
    /// An event type Ferry does not handle: kept for the record, never processed.
    Ignored { reason: String },
    /// Authenticated but unreadable (not JSON, no repository): kept with the reason.
    Failed { reason: String },
}

/// An authenticated delivery to store.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub forge: Forge,
    /// The forge's delivery id (`Idempotency-Key`, `X-Gitlab-Event-UUID`,
    /// `X-GitHub-Delivery`); deliveries are deduplicated on (forge, delivery id).
    pub delivery_id: String,
    /// The event type header (`X-Gitlab-Event`, `X-GitHub-Event`).
    pub event_type: String,
    pub intake: Intake,
    pub body: Vec<u8>,
}

/// The result of [`Store::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored for the first time (in whichever state the intake said).
    New(EventId),
    /// Already stored: nothing changed.
    Duplicate(EventId),
}

/// A delivery handed to a worker under a lease.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: EventId,
    pub forge: Forge,
    pub delivery_id: String,
    pub event_type: String,
    pub repository: String,
    pub body: Vec<u8>,
    /// Attempts so far, this one included (1 on the first run).
    pub attempt: u32,
}

/// What happens to a delivery whose handler failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(SystemTime),
    Dead,
}

/// One stored delivery, as operators see it.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub id: EventId,
    pub forge: Forge,
    pub delivery_id: String,
    pub event_type: String,
    pub repository: Option<String>,
    pub state: State,
    pub attempts: u32,
    pub received_at: SystemTime,
    pub next_attempt_at: Option<SystemTime>,
    pub finished_at: Option<SystemTime>,
    pub claimed_by: Option<String>,
    pub lease_until: Option<SystemTime>,
    pub last_error: Option<String>,
    pub body_len: usize,
}

/// Filter for [`Store::list`]: newest first.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub states: Vec<State>,
    pub limit: usize,
}

/// The result of [`Store::retry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOutcome {
    Requeued,
    NotFound,
    /// Only dead (or failed with a repository) deliveries can be retried.
    NotRetryable {
        state: State,
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store failed: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("cannot use the data directory {path}: {message}")]
    DataDir { path: String, message: String },
    #[error("the store could not commit: {0}")]
    Commit(String),
    #[error("the store is shut down")]
    Closed,
    #[error("the store holds a value it cannot read: {0}")]
    Corrupt(String),
    /// A value from a payload that the store cannot hold (a number above 2^63); retrying
    /// cannot help.
    #[error("{0} is too large to store")]
    OutOfRange(String),
}

/// The durable queue. Every method returns after its change is committed (durable).
pub trait Store: Send + Sync + 'static {
    /// Stores a delivery unless (forge, delivery id) is already stored.
    fn insert(&self, delivery: NewDelivery) -> BoxFuture<'_, Result<Inserted, StoreError>>;

    /// Leases up to `limit` deliveries to `worker` for `lease`: at most one per repository,
    /// each the earliest unfinished delivery of its repository, due now (a pending one whose
    /// retry time has come, or a running one whose lease expired). Counts an attempt.
    fn claim<'a>(
        &'a self,
        worker: &'a WorkerId,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<Delivery>, StoreError>>;

    /// Extends a lease `worker` still holds; false when the lease was lost.
    fn extend_lease<'a>(
        &'a self,
        id: EventId,
        worker: &'a WorkerId,
        lease: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Marks a leased delivery done; false (and no change) when `worker` lost the lease.
    fn complete<'a>(
        &'a self,
        id: EventId,
        worker: &'a WorkerId,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Records a failed attempt with its error, then schedules a retry or moves the
    /// delivery to the dead letters; false when `worker` lost the lease.
    fn fail<'a>(
        &'a self,
        id: EventId,
        worker: &'a WorkerId,
        error: &'a str,
        after: AfterFailure,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Gives a lease back without counting the attempt (shutdown).
    fn release<'a>(
        &'a self,
        id: EventId,
        worker: &'a WorkerId,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    fn list(&self, filter: ListFilter) -> BoxFuture<'_, Result<Vec<EventRecord>, StoreError>>;

    fn get(&self, id: EventId) -> BoxFuture<'_, Result<Option<EventRecord>, StoreError>>;

    /// The stored body of a delivery.
    fn body(&self, id: EventId) -> BoxFuture<'_, Result<Option<Vec<u8>>, StoreError>>;

    /// Puts a dead delivery back in the queue with a fresh attempt count.
    fn retry(&self, id: EventId) -> BoxFuture<'_, Result<RetryOutcome, StoreError>>;

    /// Number of deliveries in each state.
    fn counts(&self) -> BoxFuture<'_, Result<Vec<(State, u64)>, StoreError>>;

    /// Succeeds when the store answers (readiness).
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Records the commands of one version of `comment`, delivered by `event`, in one
    /// transaction: a command not yet recorded for the comment (by text and occurrence) is
    /// recorded `pending` under `event`; one already recorded, by this delivery or an
    /// earlier version of the comment, is left as it is. Returns the record of each given
    /// command, in the given order.
    fn record_commands(
        &self,
        comment: CommentKey,
        commands: Vec<NewCommand>,
        event: EventId,
    ) -> BoxFuture<'_, Result<Vec<CommandRecord>, StoreError>>;

    /// Marks a pending command done; false when it was not pending (already done, unknown).
    fn finish_command(&self, id: CommandId) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// The commands first recorded by one delivery, in comment order (operators).
    fn commands_of(&self, event: EventId) -> BoxFuture<'_, Result<Vec<CommandRecord>, StoreError>>;

    /// Retention, one small batch: removes up to `batch` comments' command records and up to
    /// `batch` deliveries, all finished before `before`. A comment's record goes only when all
    /// its commands are done and the deliveries that recorded them are done; only `done` and
    /// `ignored` deliveries go. Call again while a count comes back equal to `batch`.
    ///
    /// What is removed no longer deduplicates: a forge redelivering such a delivery, or the
    /// comment edited, after this would run its commands again (see docs/operations.md).
    fn prune(&self, before: SystemTime, batch: usize) -> BoxFuture<'_, Result<Pruned, StoreError>>;
}

/// What one [`Store::prune`] call removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub deliveries: u64,
    /// Comments whose whole command record went.
    pub comments: u64,
    /// The command rows of those comments.
    pub commands: u64,
}

impl Pruned {
    /// Whether a batch of `batch` was full, so more may be left.
    pub fn full(&self, batch: usize) -> bool {
        let batch = u64::try_from(batch.max(1)).unwrap_or(u64::MAX);
        self.deliveries >= batch || self.comments >= batch
    }
}

/// Milliseconds since the Unix epoch, the store's time unit.
pub(crate) fn to_millis(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(duration) => i64::try_from(duration.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

pub(crate) fn from_millis(millis: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}
