//! The local forge's events to the engine: for the local forge, what the webhook queue and
//! its workers are for GitLab and GitHub.
//!
//! The outbox is read in order from a position kept in the workflow state. The position moves
//! only once an event was handled, so a restart picks up where the last run stopped; an event
//! cut off half-way is handled again, as a redelivered webhook would be, and the engine is
//! idempotent on redelivery. A failing event is retried in place with backoff, so later
//! events never overtake it; one that keeps failing is given up after [`MAX_ATTEMPTS`] and
//! logged, as the queue moves a delivery to the dead letters.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::{OptionalExtension, params};
use tokio::sync::{Mutex, watch};

use crate::domain::ForgeEvent;
use crate::forge::LocalForge;

use super::{Engine, EngineError};

/// Attempts per event before the feed gives it up and moves on.
pub const MAX_ATTEMPTS: u32 = 8;

/// The feed's name in `feed_positions`.
const FEED: &str = "local-forge";

pub struct LocalFeed {
    engine: Arc<Engine>,
    forge: LocalForge,
    /// One reader at a time: the background loop and [`LocalFeed::settle`] would otherwise
    /// handle the same event twice.
    reading: Mutex<()>,
    first_delay: Duration,
    max_delay: Duration,
}

/// What one [`LocalFeed::settle`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FeedReport {
    pub handled: usize,
    /// Events given up after [`MAX_ATTEMPTS`] or a permanent error: sequence number and why.
    pub given_up: Vec<(u64, String)>,
}

impl LocalFeed {
    pub fn new(engine: Arc<Engine>, forge: LocalForge) -> Self {
        Self {
            engine,
            forge,
            reading: Mutex::new(()),
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }

    /// The retry delays: `first`, doubling up to `max`.
    pub fn with_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.first_delay = first;
        self.max_delay = max.max(first);
        self
    }

    /// Handles every event recorded so far, and every event that handling them records (a
    /// merge Ferry makes is an event too), until none is left.
    pub async fn settle(&self) -> Result<FeedReport, EngineError> {
        let _reading = self.reading.lock().await;
        let mut report = FeedReport::default();
        loop {
            let position = self.position()?;
            let forge = self.forge.clone();
            let events = tokio::task::spawn_blocking(move || forge.events_after(position))
                .await
                .map_err(|error| EngineError::Other(format!("reading the local forge: {error}")))?
                .map_err(|error| {
                    EngineError::Other(format!("cannot read the local forge's events: {error}"))
                })?;
            if events.is_empty() {
                return Ok(report);
            }
            for (seq, event) in events {
                match self.handle(seq, event).await {
                    Ok(()) => report.handled += 1,
                    Err(why) => report.given_up.push((seq, why)),
                }
                self.set_position(seq)?;
            }
        }
    }

    /// Settles every `poll` until `shutdown` turns true.
    pub async fn run(&self, poll: Duration, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            if let Err(error) = self.settle().await {
                tracing::error!(%error, "the local forge feed stopped for now; it tries again");
            }
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }

    async fn handle(&self, seq: u64, event: ForgeEvent) -> Result<(), String> {
        let kind = event.kind();
        let mut delay = self.first_delay;
        for attempt in 1..=MAX_ATTEMPTS {
            match self.engine.on_event(event.clone()).await {
                Ok(()) => return Ok(()),
                Err(error) if error.is_permanent() || attempt == MAX_ATTEMPTS => {
                    tracing::error!(seq, kind, attempt, %error, "local forge event given up");
                    return Err(error.to_string());
                }
                Err(error) => {
                    tracing::warn!(seq, kind, attempt, %error, "local forge event failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.max_delay);
                }
            }
        }
        Ok(())
    }

    fn position(&self) -> Result<u64, EngineError> {
        let seq: Option<i64> = self.engine.state.with(|c| {
            c.query_row(
                "SELECT seq FROM feed_positions WHERE feed = ?1",
                [FEED],
                |row| row.get(0),
            )
            .optional()
        })?;
        Ok(seq.map_or(0, |seq| u64::try_from(seq).unwrap_or(0)))
    }

    fn set_position(&self, seq: u64) -> Result<(), EngineError> {
        let seq = i64::try_from(seq)
            .map_err(|_| EngineError::Other(format!("event number {seq} is out of range")))?;
        self.engine.state.with(|c| {
            c.execute(
                "INSERT INTO feed_positions (feed, seq) VALUES (?1, ?2)
                 ON CONFLICT (feed) DO UPDATE SET seq = ?2",
                params![FEED, seq],
            )
            .map(|_| ())
        })?;
        Ok(())
    }
}
