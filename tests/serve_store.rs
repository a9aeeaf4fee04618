//! The SQLite queue: dedupe, per-repository ordering, leases, retries, durability.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ferry::store::sqlite::SqliteOptions;
use ferry::store::{
    AfterFailure, CommandRecord, CommandState, CommentKey, EventId, Forge, Inserted, Intake,
    ListFilter, NewCommand, NewDelivery, RetryOutcome, SqliteStore, State, Store, WorkerId,
};

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("queue.sqlite3"), &SqliteOptions::default()).unwrap()
}

fn queued(id: &str, repository: &str) -> NewDelivery {
    NewDelivery {
        forge: Forge::GitLab,
        delivery_id: id.to_owned(),
        event_type: "Push Hook".to_owned(),
        intake: Intake::Queued {
            repository: repository.to_owned(),
        },
        body: format!("{{\"id\":\"{id}\"}}").into_bytes(),
    }
}

fn worker(name: &str) -> WorkerId {
    WorkerId(name.to_owned())
}

async fn new_id(store: &SqliteStore, delivery: NewDelivery) -> EventId {
    match store.insert(delivery).await.unwrap() {
        Inserted::New(id) => id,
        other => panic!("expected a new delivery, got {other:?}"),
    }
}

fn ids(claimed: &[ferry::store::Delivery]) -> Vec<EventId> {
    claimed.iter().map(|d| d.id).collect()
}

const LEASE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn duplicates_are_recognised_per_forge_and_not_queued_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let first = new_id(&store, queued("d-1", "org/a")).await;
    assert_eq!(
        store.insert(queued("d-1", "org/a")).await.unwrap(),
        Inserted::Duplicate(first)
    );
    let mut other_forge = queued("d-1", "org/a");
    other_forge.forge = Forge::GitHub;
    assert!(matches!(
        store.insert(other_forge).await.unwrap(),
        Inserted::New(_)
    ));
    let pending = store
        .list(ListFilter {
            states: vec![State::Pending],
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(pending.len(), 2);
}

#[tokio::test]
async fn one_delivery_per_repository_at_a_time_in_arrival_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let a1 = new_id(&store, queued("a1", "org/a")).await;
    let a2 = new_id(&store, queued("a2", "org/a")).await;
    let b1 = new_id(&store, queued("b1", "org/b")).await;
    let w = worker("w");
    assert_eq!(ids(&store.claim(&w, LEASE, 10).await.unwrap()), [a1, b1]);
    // a2 waits while a1 runs.
    assert!(store.claim(&w, LEASE, 10).await.unwrap().is_empty());
    assert!(store.complete(a1, &w).await.unwrap());
    assert_eq!(ids(&store.claim(&w, LEASE, 10).await.unwrap()), [a2]);
}

#[tokio::test]
async fn a_delivery_waiting_for_its_retry_holds_back_its_repository() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let a1 = new_id(&store, queued("a1", "org/a")).await;
    new_id(&store, queued("a2", "org/a")).await;
    let b1 = new_id(&store, queued("b1", "org/b")).await;
    let w = worker("w");
    assert_eq!(ids(&store.claim(&w, LEASE, 1).await.unwrap()), [a1]);
    let soon = SystemTime::now() + Duration::from_millis(300);
    assert!(
        store
            .fail(a1, &w, "boom", AfterFailure::RetryAt(soon))
            .await
            .unwrap()
    );
    assert_eq!(ids(&store.claim(&w, LEASE, 10).await.unwrap()), [b1]);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let again = store.claim(&w, LEASE, 10).await.unwrap();
    assert_eq!(ids(&again), [a1]);
    assert_eq!(again[0].attempt, 2);
    let record = store.get(a1).await.unwrap().unwrap();
    assert_eq!(record.last_error.as_deref(), Some("boom"));
}

#[tokio::test]
async fn an_expired_lease_is_reclaimed_and_the_old_holder_cannot_finish() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let a1 = new_id(&store, queued("a1", "org/a")).await;
    let (first, second) = (worker("first"), worker("second"));
    let short = Duration::from_millis(100);
    assert_eq!(ids(&store.claim(&first, short, 10).await.unwrap()), [a1]);
    assert!(store.claim(&second, short, 10).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(150)).await;
    let reclaimed = store.claim(&second, LEASE, 10).await.unwrap();
    assert_eq!(ids(&reclaimed), [a1]);
    assert_eq!(reclaimed[0].attempt, 2);
    assert!(!store.complete(a1, &first).await.unwrap());
    assert!(!store.extend_lease(a1, &first, LEASE).await.unwrap());
    assert!(store.complete(a1, &second).await.unwrap());
    assert_eq!(store.get(a1).await.unwrap().unwrap().state, State::Done);
}

#[tokio::test]
async fn a_held_lease_can_be_extended_past_its_first_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let a1 = new_id(&store, queued("a1", "org/a")).await;
    let (first, second) = (worker("first"), worker("second"));
    store
        .claim(&first, Duration::from_millis(100), 1)
        .await
        .unwrap();
    assert!(store.extend_lease(a1, &first, LEASE).await.unwrap());
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(store.claim(&second, LEASE, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn dead_letters_keep_their_error_and_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let a1 = new_id(&store, queued("a1", "org/a")).await;
    let a2 = new_id(&store, queued("a2", "org/a")).await;
    let w = worker("w");
    store.claim(&w, LEASE, 1).await.unwrap();
    assert!(
        store
            .fail(a1, &w, "forge said 500", AfterFailure::Dead)
            .await
            .unwrap()
    );
    let dead = store.get(a1).await.unwrap().unwrap();
    assert_eq!(
        (dead.state, dead.last_error.as_deref()),
        (State::Dead, Some("forge said 500"))
    );
    // A dead delivery no longer holds back its repository.
    assert_eq!(ids(&store.claim(&w, LEASE, 10).await.unwrap()), [a2]);
    assert!(store.complete(a2, &w).await.unwrap());
    assert_eq!(store.retry(a1).await.unwrap(), RetryOutcome::Requeued);
    let again = store.claim(&w, LEASE, 10).await.unwrap();
    assert_eq!((ids(&again), again[0].attempt), (vec![a1], 1));
    assert!(matches!(
        store.retry(a2).await.unwrap(),
        RetryOutcome::NotRetryable {
            state: State::Done,
            ..
        }
    ));
    assert_eq!(
        store.retry(EventId(999)).await.unwrap(),
        RetryOutcome::NotFound
    );
}

#[tokio::test]
async fn release_gives_the_lease_back_without_counting_the_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let a1 = new_id(&store, queued("a1", "org/a")).await;
    let w = worker("w");
    store.claim(&w, LEASE, 1).await.unwrap();
    assert!(store.release(a1, &w).await.unwrap());
    let record = store.get(a1).await.unwrap().unwrap();
    assert_eq!((record.state, record.attempts), (State::Pending, 0));
    assert_eq!(store.claim(&w, LEASE, 1).await.unwrap()[0].attempt, 1);
}

#[tokio::test]
async fn ignored_and_failed_deliveries_are_kept_but_never_processed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut ignored = queued("i", "org/a");
    ignored.intake = Intake::Ignored {
        reason: "star events".into(),
    };
    let mut failed = queued("f", "org/a");
    failed.intake = Intake::Failed {
        reason: "not JSON".into(),
    };
    new_id(&store, ignored).await;
    let failed = new_id(&store, failed).await;
    assert!(
        store
            .claim(&worker("w"), LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let record = store.get(failed).await.unwrap().unwrap();
    assert_eq!(
        (record.state, record.last_error.as_deref()),
        (State::Failed, Some("not JSON"))
    );
    assert!(matches!(
        store.retry(failed).await.unwrap(),
        RetryOutcome::NotRetryable {
            state: State::Failed,
            ..
        }
    ));
}

#[tokio::test]
async fn concurrent_inserts_share_commits_and_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..2_000 {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            store
                .insert(queued(&format!("d{n}"), &format!("org/{}", n % 7)))
                .await
        });
    }
    while let Some(result) = tasks.join_next().await {
        assert!(matches!(result.unwrap().unwrap(), Inserted::New(_)));
    }
    let counts = store.counts().await.unwrap();
    assert!(counts.contains(&(State::Pending, 2_000)), "{counts:?}");
}

#[tokio::test]
async fn committed_deliveries_survive_reopening_and_serving_recovers_leases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.sqlite3");
    let a1;
    {
        let store = SqliteStore::open(&path, &SqliteOptions::default()).unwrap();
        a1 = new_id(&store, queued("a1", "org/a")).await;
        // Leased by a process that then disappears.
        store.claim(&worker("gone"), LEASE, 1).await.unwrap();
    }
    let store = SqliteStore::open_for_serve(&path, &SqliteOptions::default()).unwrap();
    let record = store.get(a1).await.unwrap().unwrap();
    assert_eq!((record.state, record.claimed_by), (State::Pending, None));
    let error = SqliteStore::open_for_serve(&path, &SqliteOptions::default())
        .err()
        .expect("a second server on the same directory must be refused")
        .to_string();
    assert!(
        error.contains("another `ferry serve` is using it"),
        "{error}"
    );
}

fn comment(forge: Forge, project: &str, merge_request: u64, comment_id: u64) -> CommentKey {
    CommentKey {
        forge,
        project: ferry::domain::ProjectPath::parse(project).unwrap(),
        merge_request: ferry::domain::MrIid(merge_request),
        comment_id,
    }
}

fn command(text: &str, occurrence: u32, line: usize) -> NewCommand {
    NewCommand {
        text: text.to_owned(),
        occurrence,
        line,
    }
}

fn summary(records: &[CommandRecord]) -> Vec<(String, u32, EventId, CommandState)> {
    records
        .iter()
        .map(|r| (r.text.clone(), r.occurrence, r.event, r.state))
        .collect()
}

#[tokio::test]
async fn comment_commands_are_recorded_once_per_comment_text_and_occurrence() {
    use CommandState::{Done, Pending};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.sqlite3");
    let key = comment(Forge::GitLab, "platform/gitops", 17, 7781);
    let (first, edit) = (EventId(1), EventId(2));
    let approve_id;
    {
        let store = SqliteStore::open(&path, &SqliteOptions::default()).unwrap();
        let original = vec![
            command("/ferry approve", 1, 3),
            command("/ferry status", 1, 4),
            command("/ferry status", 2, 5),
        ];
        let recorded = store
            .record_commands(key.clone(), original.clone(), first)
            .await
            .unwrap();
        assert_eq!(
            summary(&recorded),
            [
                ("/ferry approve".into(), 1, first, Pending),
                ("/ferry status".into(), 1, first, Pending),
                ("/ferry status".into(), 2, first, Pending),
            ]
        );
        approve_id = recorded[0].id;
        // The same delivery again (a crash before its done mark): the same records.
        let again = store
            .record_commands(key.clone(), original, first)
            .await
            .unwrap();
        assert_eq!(again, recorded);
        assert!(store.finish_command(approve_id).await.unwrap());
        assert!(
            !store.finish_command(approve_id).await.unwrap(),
            "finished twice"
        );
    }
    // Reopened: the record is durable. The edit adds a line above and keeps the others.
    let store = SqliteStore::open(&path, &SqliteOptions::default()).unwrap();
    let edited = store
        .record_commands(
            key.clone(),
            vec![
                command("/ferry hold QA", 1, 1),
                command("/ferry approve", 1, 4),
                command("/ferry status", 1, 5),
            ],
            edit,
        )
        .await
        .unwrap();
    assert_eq!(
        summary(&edited),
        [
            ("/ferry hold QA".into(), 1, edit, Pending),
            ("/ferry approve".into(), 1, first, Done),
            ("/ferry status".into(), 1, first, Pending),
        ]
    );
    assert_eq!(edited[1].id, approve_id);
    assert_eq!(
        edited[1].line, 3,
        "the line of the version that first had it"
    );
    assert!(edited[1].finished_at.is_some());

    // Every part of the key counts: the same text elsewhere is another command.
    for other in [
        comment(Forge::GitHub, "platform/gitops", 17, 7781),
        comment(Forge::GitLab, "platform/other", 17, 7781),
        comment(Forge::GitLab, "platform/gitops", 18, 7781),
        comment(Forge::GitLab, "platform/gitops", 17, 7782),
    ] {
        let recorded = store
            .record_commands(other.clone(), vec![command("/ferry approve", 1, 1)], edit)
            .await
            .unwrap();
        assert_eq!(
            summary(&recorded),
            [("/ferry approve".into(), 1, edit, Pending)],
            "{other:?}"
        );
        assert_ne!(recorded[0].id, approve_id);
    }

    let of_first: Vec<String> = store
        .commands_of(first)
        .await
        .unwrap()
        .into_iter()
        .map(|r| format!("{} {}", r.text, r.state))
        .collect();
    assert_eq!(
        of_first,
        [
            "/ferry approve done",
            "/ferry status pending",
            "/ferry status pending"
        ]
    );
    let too_large = store
        .record_commands(
            comment(Forge::GitLab, "platform/gitops", 17, u64::MAX),
            vec![command("/ferry approve", 1, 1)],
            edit,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(too_large, ferry::store::StoreError::OutOfRange(_)),
        "{too_large}"
    );
}
