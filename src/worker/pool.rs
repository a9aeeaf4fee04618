//! The worker pool: one dispatcher that leases deliveries and one task per leased delivery.
//!
//! Parallel across repositories, in order within one: the store hands out at most one
//! delivery per repository at a time, so the pool only bounds how many run at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

use super::{Backoff, Handler, HandlerError};
use crate::config::WorkerConfig;
use crate::store::{AfterFailure, Delivery, Store, WorkerId};

/// How the pool runs; [`WorkerSettings::from`] reads it from the configuration.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub concurrency: usize,
    pub backoff: Backoff,
    pub lease: Duration,
    pub poll_interval: Duration,
    pub handler_timeout: Duration,
}

impl From<&WorkerConfig> for WorkerSettings {
    fn from(config: &WorkerConfig) -> Self {
        Self {
            concurrency: config.concurrency.max(1),
            backoff: Backoff {
                base: Duration::from_millis(config.backoff_base_ms),
                max: Duration::from_millis(config.backoff_max_ms),
                max_attempts: config.max_attempts.max(1),
            },
            lease: Duration::from_secs(config.lease_seconds.max(1)),
            poll_interval: Duration::from_millis(config.poll_interval_ms.max(1)),
            handler_timeout: Duration::from_secs(config.handler_timeout_seconds.max(1)),
        }
    }
}

/// A running pool. Dropping it without [`Workers::shutdown`] leaves leases to expire.
pub struct Workers {
    wake: Arc<Notify>,
    stop: watch::Sender<bool>,
    abandon: watch::Sender<bool>,
    alive: Arc<AtomicBool>,
    dispatcher: tokio::task::JoinHandle<()>,
}

struct Shared {
    store: Arc<dyn Store>,
    handler: Arc<dyn Handler>,
    settings: WorkerSettings,
    worker: WorkerId,
}

impl Workers {
    /// Starts the pool on the current tokio runtime.
    pub fn spawn(
        store: Arc<dyn Store>,
        handler: Arc<dyn Handler>,
        settings: WorkerSettings,
    ) -> Self {
        let wake = Arc::new(Notify::new());
        let (stop, stop_rx) = watch::channel(false);
        let (abandon, abandon_rx) = watch::channel(false);
        let alive = Arc::new(AtomicBool::new(true));
        let shared = Arc::new(Shared {
            store,
            handler,
            settings,
            worker: WorkerId::generate(),
        });
        let dispatcher = tokio::spawn(dispatch(
            shared,
            Arc::clone(&wake),
            stop_rx,
            abandon_rx,
            Arc::clone(&alive),
        ));
        Self {
            wake,
            stop,
            abandon,
            alive,
            dispatcher,
        }
    }

    /// Tells the pool new work may be due (intake calls it after storing a delivery).
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Shared flag: true while the dispatcher runs (readiness).
    pub fn alive(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.alive)
    }

    /// Stops leasing, lets running handlers finish within `grace`, then gives the leases of
    /// those still running back to the store (their attempt is not counted).
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let abandon = self.abandon;
        let mut dispatcher = self.dispatcher;
        if tokio::time::timeout(grace, &mut dispatcher).await.is_err() {
            let _ = abandon.send(true);
            let _ = dispatcher.await;
        }
    }
}

async fn dispatch(
    shared: Arc<Shared>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    abandon: watch::Receiver<bool>,
    alive: Arc<AtomicBool>,
) {
    let slots = Arc::new(Semaphore::new(shared.settings.concurrency));
    let mut running: JoinSet<()> = JoinSet::new();
    while !*stop.borrow() {
        while running.try_join_next().is_some() {}
        let free = slots.available_permits();
        let mut claimed_all_free = false;
        if free > 0 {
            match shared
                .store
                .claim(&shared.worker, shared.settings.lease, free)
                .await
            {
                Ok(batch) => {
                    claimed_all_free = batch.len() == free;
                    for delivery in batch {
                        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
                            break;
                        };
                        let shared = Arc::clone(&shared);
                        let abandon = abandon.clone();
                        running.spawn(async move {
                            process(&shared, delivery, abandon).await;
                            drop(permit);
                        });
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot lease deliveries; retrying"),
            }
        }
        if claimed_all_free && slots.available_permits() > 0 {
            continue;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(shared.settings.poll_interval) => {}
            // A finished delivery may make its repository's next one due.
            Some(_) = running.join_next(), if !running.is_empty() => {}
            _ = stop.changed() => {}
        }
    }
    while running.join_next().await.is_some() {}
    alive.store(false, Ordering::SeqCst);
}

async fn process(shared: &Shared, delivery: Delivery, mut abandon: watch::Receiver<bool>) {
    let store = &shared.store;
    let worker = &shared.worker;
    let forge = delivery.forge.as_str();
    let event = delivery.event_type.clone();
    let started = Instant::now();
    let heartbeat = async {
        let every = shared.settings.lease / 3;
        loop {
            tokio::time::sleep(every).await;
            match store
                .extend_lease(delivery.id, worker, shared.settings.lease)
                .await
            {
                Ok(true) => {}
                Ok(false) => tracing::warn!(id = %delivery.id, "lease lost while handling"),
                Err(error) => tracing::warn!(id = %delivery.id, %error, "cannot extend lease"),
            }
        }
    };
    let outcome = tokio::select! {
        result = tokio::time::timeout(
            shared.settings.handler_timeout,
            shared.handler.handle(&delivery),
        ) => Some(result.unwrap_or_else(|_| Err(HandlerError::retry(format!(
            "the handler did not finish within {}s", shared.settings.handler_timeout.as_secs()
        ))))),
        () = heartbeat => None,
        _ = abandon.wait_for(|abandoned| *abandoned) => None,
    };
    let Some(outcome) = outcome else {
        if let Err(error) = store.release(delivery.id, worker).await {
            tracing::warn!(id = %delivery.id, %error, "cannot release lease; it will expire");
        }
        metrics::counter!("ferry_processing_total", "forge" => forge, "event" => event, "outcome" => "released").increment(1);
        return;
    };
    metrics::histogram!("ferry_processing_seconds", "forge" => forge, "event" => event.clone())
        .record(started.elapsed().as_secs_f64());
    let (recorded, label) = match outcome {
        Ok(()) => (store.complete(delivery.id, worker).await, "done"),
        Err(error) => {
            let next = if error.permanent {
                None
            } else {
                shared.settings.backoff.after(delivery.attempt)
            };
            match next {
                Some(delay) => {
                    tracing::info!(id = %delivery.id, attempt = delivery.attempt, %error, ?delay, "delivery failed; will retry");
                    metrics::counter!("ferry_retries_total", "forge" => forge).increment(1);
                    let when = SystemTime::now() + delay;
                    let message = error.to_string();
                    (
                        store
                            .fail(delivery.id, worker, &message, AfterFailure::RetryAt(when))
                            .await,
                        "retry",
                    )
                }
                None => {
                    tracing::warn!(id = %delivery.id, attempt = delivery.attempt, %error, "delivery moved to the dead letters");
                    metrics::counter!("ferry_dead_letters_total", "forge" => forge).increment(1);
                    let message = error.to_string();
                    (
                        store
                            .fail(delivery.id, worker, &message, AfterFailure::Dead)
                            .await,
                        "dead",
                    )
                }
            }
        }
    };
    let label = match recorded {
        Ok(true) => label,
        Ok(false) => {
            tracing::warn!(id = %delivery.id, "lease lost before the result was recorded; another worker will run it again");
            "lease_lost"
        }
        Err(error) => {
            tracing::warn!(id = %delivery.id, %error, "cannot record the result; the delivery will run again when its lease expires");
            "store_error"
        }
    };
    metrics::counter!("ferry_processing_total", "forge" => forge, "event" => event, "outcome" => label).increment(1);
}
