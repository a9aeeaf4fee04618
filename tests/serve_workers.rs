//! The worker pool against the real SQLite store: ordering, parallelism, retries, dead
//! letters, shutdown.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry::store::sqlite::SqliteOptions;
use ferry::store::{BoxFuture, Delivery, Forge, Intake, NewDelivery, SqliteStore, State, Store};
use ferry::worker::{Backoff, Handler, HandlerError, WorkerSettings, Workers};

fn settings(max_attempts: u32) -> WorkerSettings {
    WorkerSettings {
        concurrency: 4,
        backoff: Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(40),
            max_attempts,
        },
        lease: Duration::from_secs(30),
        poll_interval: Duration::from_millis(20),
        handler_timeout: Duration::from_secs(10),
    }
}

fn queued(id: &str, repository: &str) -> NewDelivery {
    NewDelivery {
        forge: Forge::GitHub,
        delivery_id: id.to_owned(),
        event_type: "push".to_owned(),
        intake: Intake::Queued {
            repository: repository.to_owned(),
        },
        body: b"{}".to_vec(),
    }
}

async fn wait_until(
    store: &Arc<dyn Store>,
    done: impl Fn(&[(State, u64)]) -> bool,
) -> Vec<(State, u64)> {
    for _ in 0..500 {
        let counts = store.counts().await.unwrap();
        if done(&counts) {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out: {:?}", store.counts().await.unwrap());
}

fn count(counts: &[(State, u64)], state: State) -> u64 {
    counts
        .iter()
        .find(|(s, _)| *s == state)
        .map_or(0, |(_, n)| *n)
}

/// Records the order per repository and checks no repository runs two at once.
#[derive(Default)]
struct Tracing {
    running: Mutex<BTreeSet<String>>,
    order: Mutex<BTreeMap<String, Vec<String>>>,
    now: AtomicUsize,
    peak: AtomicUsize,
    overlaps: AtomicUsize,
}

impl Handler for Tracing {
    fn handle<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            if !self
                .running
                .lock()
                .unwrap()
                .insert(delivery.repository.clone())
            {
                self.overlaps.fetch_add(1, Ordering::SeqCst);
            }
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.order
                .lock()
                .unwrap()
                .entry(delivery.repository.clone())
                .or_default()
                .push(delivery.delivery_id.clone());
            self.now.fetch_sub(1, Ordering::SeqCst);
            self.running.lock().unwrap().remove(&delivery.repository);
            Ok(())
        })
    }
}

#[tokio::test]
async fn in_order_per_repository_and_parallel_across_repositories() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.path().join("q.sqlite3"), &SqliteOptions::default()).unwrap(),
    );
    let repositories = ["org/a", "org/b", "org/c", "org/d", "org/e"];
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in 0..100 {
        let repository = repositories[n % repositories.len()];
        let id = format!("d{n:03}");
        store.insert(queued(&id, repository)).await.unwrap();
        expected.entry(repository.to_owned()).or_default().push(id);
    }
    let handler = Arc::new(Tracing::default());
    let workers = Workers::spawn(Arc::clone(&store), handler.clone(), settings(3));
    wait_until(&store, |c| count(c, State::Done) == 100).await;
    workers.shutdown(Duration::from_secs(1)).await;
    assert_eq!(*handler.order.lock().unwrap(), expected);
    assert_eq!(handler.overlaps.load(Ordering::SeqCst), 0);
    assert!(
        handler.peak.load(Ordering::SeqCst) >= 2,
        "never ran repositories in parallel"
    );
}

struct FailsFirst {
    failures: u32,
    calls: AtomicUsize,
    permanent: bool,
}

impl Handler for FailsFirst {
    fn handle<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if delivery.attempt <= self.failures {
                let message = format!("attempt {} failed", delivery.attempt);
                return Err(if self.permanent {
                    HandlerError::permanent(message)
                } else {
                    HandlerError::retry(message)
                });
            }
            Ok(())
        })
    }
}

async fn run_failing(
    failures: u32,
    permanent: bool,
    max_attempts: u32,
) -> (Arc<dyn Store>, usize, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.path().join("q.sqlite3"), &SqliteOptions::default()).unwrap(),
    );
    store.insert(queued("x", "org/a")).await.unwrap();
    let handler = Arc::new(FailsFirst {
        failures,
        calls: AtomicUsize::new(0),
        permanent,
    });
    let workers = Workers::spawn(Arc::clone(&store), handler.clone(), settings(max_attempts));
    wait_until(&store, |c| {
        count(c, State::Done) + count(c, State::Dead) == 1
    })
    .await;
    workers.shutdown(Duration::from_secs(1)).await;
    let calls = handler.calls.load(Ordering::SeqCst);
    (store, calls, dir)
}

#[tokio::test]
async fn transient_failures_are_retried_until_success() {
    let (store, calls, _dir) = run_failing(2, false, 5).await;
    let record = store.list(Default::default()).await.unwrap().remove(0);
    assert_eq!((record.state, record.attempts, calls), (State::Done, 3, 3));
}

#[tokio::test]
async fn failures_beyond_the_attempts_go_to_the_dead_letters_with_the_last_error() {
    let (store, calls, _dir) = run_failing(u32::MAX, false, 3).await;
    let record = store.list(Default::default()).await.unwrap().remove(0);
    assert_eq!((record.state, record.attempts, calls), (State::Dead, 3, 3));
    assert_eq!(record.last_error.as_deref(), Some("attempt 3 failed"));
}

#[tokio::test]
async fn permanent_failures_are_not_retried() {
    let (store, calls, _dir) = run_failing(u32::MAX, true, 5).await;
    let record = store.list(Default::default()).await.unwrap().remove(0);
    assert_eq!((record.state, calls), (State::Dead, 1));
}

struct Hangs;

impl Handler for Hangs {
    fn handle<'a>(&'a self, _: &'a Delivery) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test]
async fn shutdown_gives_back_leases_of_handlers_still_running_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.path().join("q.sqlite3"), &SqliteOptions::default()).unwrap(),
    );
    store.insert(queued("x", "org/a")).await.unwrap();
    let workers = Workers::spawn(Arc::clone(&store), Arc::new(Hangs), settings(3));
    wait_until(&store, |c| count(c, State::Running) == 1).await;
    workers.shutdown(Duration::from_millis(100)).await;
    let record = store.list(Default::default()).await.unwrap().remove(0);
    assert_eq!(
        (record.state, record.attempts, record.claimed_by),
        (State::Pending, 0, None)
    );
}
