//! Retention against a real SQLite queue file: finished deliveries and finished comment
//! command records older than the cutoff go, a small batch at a time; newer ones, unfinished
//! ones and dead letters stay. Then what exactly once means after pruning: a comment whose
//! record went runs again if the forge redelivers it (the documented trade-off), one whose
//! record is kept does not. Last, `ferry serve` prunes once at start.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ferry::config::Config;
use ferry::domain::forge_event::Comment;
use ferry::domain::{Actor, BotIdentity, MrIid, ProjectPath, UserId};
use ferry::store::sqlite::SqliteOptions;
use ferry::store::{
    AfterFailure, CommandState, CommentKey, Delivery, EventId, Forge, Inserted, Intake, NewCommand,
    NewDelivery, Pruned, SqliteStore, Store, WorkerId,
};
use ferry::worker::{Bots, CommentCommands, CommentPlan};
use secrecy::SecretString;

const LEASE: Duration = Duration::from_secs(60);

struct Queue {
    store: Arc<dyn Store>,
    worker: WorkerId,
}

impl Queue {
    fn open(path: &Path) -> Self {
        let store = SqliteStore::open(path, &SqliteOptions::default()).expect("queue");
        Self {
            store: Arc::new(store),
            worker: WorkerId("retention-test".into()),
        }
    }

    async fn insert(&self, delivery_id: &str, intake: Intake) -> Inserted {
        self.store
            .insert(NewDelivery {
                forge: Forge::GitLab,
                delivery_id: delivery_id.into(),
                event_type: "Note Hook".into(),
                intake,
                body: b"{}".to_vec(),
            })
            .await
            .expect("insert")
    }

    /// A delivery stored for the first time, as intake says (not leased).
    async fn stored(&self, delivery_id: &str, intake: Intake) -> EventId {
        match self.insert(delivery_id, intake).await {
            Inserted::New(id) => id,
            Inserted::Duplicate(id) => panic!("{delivery_id} was stored already as {id}"),
        }
    }

    /// A queued delivery, leased to the test's worker; each in its own repository so that
    /// none waits behind another.
    async fn leased(&self, delivery_id: &str) -> Delivery {
        let queued = Intake::Queued {
            repository: format!("eap/{delivery_id}"),
        };
        self.stored(delivery_id, queued).await;
        let mut claimed = self
            .store
            .claim(&self.worker, LEASE, 1)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1, "{delivery_id} is leased");
        claimed.remove(0)
    }

    async fn complete(&self, delivery: &Delivery) {
        assert!(
            self.store
                .complete(delivery.id, &self.worker)
                .await
                .expect("done")
        );
    }

    /// Records `commands` of comment `comment_id` under `delivery`, finishing the first
    /// `finished` of them (those an earlier version recorded may be done already).
    async fn commands(
        &self,
        delivery: EventId,
        comment_id: u64,
        commands: &[&str],
        finished: usize,
    ) {
        let wanted = commands
            .iter()
            .enumerate()
            .map(|(line, text)| NewCommand {
                text: (*text).into(),
                occurrence: 1,
                line: line + 1,
            })
            .collect();
        let records = self
            .store
            .record_commands(key(comment_id), wanted, delivery)
            .await
            .expect("record");
        for record in records.iter().take(finished) {
            let finished = self.store.finish_command(record.id).await.expect("finish");
            assert!(finished || record.state == CommandState::Done, "{record:?}");
        }
    }

    async fn exists(&self, id: EventId) -> bool {
        self.store.get(id).await.expect("get").is_some()
    }

    async fn recorded(&self, id: EventId) -> usize {
        self.store.commands_of(id).await.expect("commands").len()
    }
}

fn key(comment_id: u64) -> CommentKey {
    CommentKey {
        forge: Forge::GitLab,
        project: ProjectPath::parse("eap/gitops").expect("path"),
        merge_request: MrIid(7),
        comment_id,
    }
}

/// Lets the clock move on, so that what follows is finished after what came before.
async fn tick() -> SystemTime {
    tokio::time::sleep(Duration::from_millis(5)).await;
    let now = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    now
}

#[tokio::test]
async fn old_finished_records_go_in_batches_and_the_rest_stays() {
    let dir = tempfile::tempdir().expect("dir");
    let q = Queue::open(&dir.path().join("queue.sqlite3"));

    // Before the cutoff.
    let done = q.leased("done").await;
    q.commands(done.id, 1, &["/ferry approve", "/ferry status"], 2)
        .await;
    q.complete(&done).await;
    let ignored = q
        .stored(
            "ignored",
            Intake::Ignored {
                reason: "wiki".into(),
            },
        )
        .await;
    let unreadable = q
        .stored(
            "unreadable",
            Intake::Failed {
                reason: "not JSON".into(),
            },
        )
        .await;
    let dead = q.leased("dead").await;
    q.commands(dead.id, 2, &["/ferry approve"], 1).await;
    let failed = q
        .store
        .fail(dead.id, &q.worker, "boom", AfterFailure::Dead)
        .await;
    assert!(failed.expect("dead"));
    let half = q.leased("half").await;
    q.commands(half.id, 3, &["/ferry approve", "/ferry hold"], 1)
        .await;
    q.complete(&half).await;
    let retrying = q.leased("retrying").await;
    let later = SystemTime::now() + Duration::from_secs(3600);
    let failed = q
        .store
        .fail(
            retrying.id,
            &q.worker,
            "later",
            AfterFailure::RetryAt(later),
        )
        .await;
    assert!(failed.expect("retry"));
    let running = q.leased("running").await;
    q.commands(running.id, 4, &["/ferry approve"], 1).await;
    let first = q.leased("first-version").await;
    q.commands(first.id, 5, &["/ferry approve"], 1).await;
    q.complete(&first).await;

    let cutoff = tick().await;

    // After it: an edit of comment 5 adds a command, and a new comment.
    let edit = q.leased("edited").await;
    q.commands(edit.id, 5, &["/ferry approve", "/ferry status"], 2)
        .await;
    q.complete(&edit).await;
    let new = q.leased("new").await;
    q.commands(new.id, 6, &["/ferry status"], 1).await;
    q.complete(&new).await;

    let mut total = Pruned::default();
    let mut calls = 0;
    loop {
        let pruned = q.store.prune(cutoff, 1).await.expect("prune");
        calls += 1;
        total.deliveries += pruned.deliveries;
        total.comments += pruned.comments;
        total.commands += pruned.commands;
        if !pruned.full(1) {
            break;
        }
    }
    // done, ignored, half and first-version; comment 1 (both its commands) only.
    assert_eq!(
        total,
        Pruned {
            deliveries: 4,
            comments: 1,
            commands: 2
        }
    );
    assert!(calls >= 4, "one row per batch: {calls} calls");

    for gone in [done.id, ignored, half.id, first.id] {
        assert!(!q.exists(gone).await, "delivery {gone} is pruned");
    }
    assert_eq!(q.recorded(done.id).await, 0);
    for kept in [
        unreadable,
        dead.id,
        retrying.id,
        running.id,
        edit.id,
        new.id,
    ] {
        assert!(q.exists(kept).await, "delivery {kept} is kept");
    }
    // Kept: a dead letter's commands (a retry must not run them again), a comment with a
    // command not done, one whose delivery is still running, one edited after the cutoff
    // (all its commands, the first version's too), and the new one.
    assert_eq!(q.recorded(dead.id).await, 1);
    assert_eq!(q.recorded(half.id).await, 2);
    assert_eq!(q.recorded(running.id).await, 1);
    assert_eq!(q.recorded(first.id).await, 1);
    assert_eq!(q.recorded(edit.id).await, 1);
    assert_eq!(q.recorded(new.id).await, 1);

    assert_eq!(
        q.store.prune(cutoff, 100).await.expect("again"),
        Pruned::default(),
        "nothing more to prune"
    );
}

fn comment(note_id: u64, body: &str) -> Comment {
    Comment {
        project: ProjectPath::parse("eap/gitops").expect("path"),
        merge_request: 7,
        note_id,
        author: Actor {
            id: UserId(31),
            username: "alice".into(),
        },
        body: body.into(),
        system: false,
        edited: false,
        author_is_bot: false,
        created_at: None,
        url: None,
    }
}

fn commands_of(plan: CommentPlan) -> Vec<String> {
    match plan {
        CommentPlan::Run(commands) => commands
            .into_iter()
            .map(|c| c.command.map(|c| c.to_string()).unwrap_or_default())
            .collect(),
        CommentPlan::Skipped { reason } => panic!("skipped: {reason}"),
    }
}

#[tokio::test]
async fn a_redelivery_after_pruning_runs_again_only_when_its_record_went() {
    let dir = tempfile::tempdir().expect("dir");
    let q = Queue::open(&dir.path().join("queue.sqlite3"));
    let bot = BotIdentity {
        user_id: Some(UserId(900)),
        username: "ferry-bot".into(),
    };
    let comments = CommentCommands::new(
        Arc::clone(&q.store),
        Bots {
            gitlab: bot.clone(),
            github: bot,
        },
    );
    let approve = comment(1, "/ferry approve");
    let edited = comment(2, "/ferry approve\n/ferry status");

    // Comment 1 ran; comment 2's first version ran, its edit after the cutoff ran too.
    for (id, comment) in [("one", &approve), ("two", &comment(2, "/ferry approve"))] {
        let delivery = q.leased(id).await;
        for command in commands_of(comments.to_run(&delivery, comment).await.expect("plan")) {
            assert_eq!(command, "/ferry approve");
        }
        let records = q.store.commands_of(delivery.id).await.expect("records");
        comments.ran(records[0].id).await.expect("ran");
        q.complete(&delivery).await;
    }
    let cutoff = tick().await;
    let edit = q.leased("two-edited").await;
    let plan = commands_of(comments.to_run(&edit, &edited).await.expect("plan"));
    assert_eq!(plan, ["/ferry status"]);
    let records = q.store.commands_of(edit.id).await.expect("records");
    comments.ran(records[0].id).await.expect("ran");
    q.complete(&edit).await;

    let pruned = q.store.prune(cutoff, 100).await.expect("prune");
    assert_eq!((pruned.deliveries, pruned.comments), (2, 1));

    // The forge redelivers both old deliveries: the queue no longer knows their ids.
    let again = q.leased("one").await;
    assert_eq!(
        commands_of(comments.to_run(&again, &approve).await.expect("plan")),
        ["/ferry approve"],
        "comment 1's record went with the retention: it runs again (the trade-off)"
    );
    let again = q.leased("two").await;
    assert!(
        commands_of(
            comments
                .to_run(&again, &comment(2, "/ferry approve"))
                .await
                .expect("plan")
        )
        .is_empty(),
        "comment 2's record is kept (it finished after the cutoff): nothing runs again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_prunes_once_at_start_and_keeps_forever_with_zero() {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = serving(&dir);
    let (old, recent) = {
        let q = Queue::open(&config.queue_path());
        let old = q.leased("old").await;
        q.commands(old.id, 1, &["/ferry approve"], 1).await;
        q.complete(&old).await;
        let recent = q.leased("recent").await;
        q.commands(recent.id, 2, &["/ferry approve"], 1).await;
        q.complete(&recent).await;
        (old.id, recent.id)
    };
    age(&config.queue_path(), old, Duration::from_secs(3 * 86_400));
    age(&config.queue_path(), recent, Duration::from_secs(86_400));

    // With 0 the records stay, however old.
    config.store.retention_days = 0;
    serve_a_moment(&config).await;
    let q = Queue::open(&config.queue_path());
    assert!(q.exists(old).await && q.recorded(old).await == 1);
    drop(q);

    config.store.retention_days = 2;
    serve_a_moment(&config).await;
    let q = Queue::open(&config.queue_path());
    assert!(!q.exists(old).await, "pruned at start");
    assert_eq!(q.recorded(old).await, 0);
    assert!(q.exists(recent).await && q.recorded(recent).await == 1);
}

/// On a single-threaded runtime an aborted task is dropped only when the runtime next gets
/// to it; a shutdown that does not wait for that would leave the store, and the data
/// directory's lock, held after it returned.
#[tokio::test(flavor = "current_thread")]
async fn a_stopped_server_frees_its_data_directory_at_once() {
    let dir = tempfile::tempdir().expect("dir");
    let config = serving(&dir);
    serve_a_moment(&config).await;
    let again =
        SqliteStore::open_for_serve(&config.queue_path(), &SqliteOptions::from(&config.store));
    assert!(again.is_ok(), "the lock is still held: {:?}", again.err());
}

/// A server on a free loopback port keeping its store in `dir`, pruning after two days.
fn serving(dir: &tempfile::TempDir) -> Config {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().expect("address");
    config.server.shutdown_grace_seconds = 1;
    config.store.data_dir = dir.path().to_owned();
    config.forges.gitlab.enabled = true;
    config.forges.gitlab.secrets = vec![SecretString::from("secret".to_owned())];
    config.store.retention_days = 2;
    config
}

async fn serve_a_moment(config: &Config) {
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open_for_serve(&config.queue_path(), &SqliteOptions::from(&config.store))
            .expect("store"),
    );
    let handler = Arc::new(
        ferry::worker::RecordingHandler::open(&config.store.data_dir.join("handled.sqlite3"))
            .expect("recorder"),
    );
    let running = ferry::server::start(config, store, handler)
        .await
        .expect("server");
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.shutdown().await;
}

/// Moves a delivery and its comment commands `by` into the past, as if they had finished
/// then (the store has no clock to turn back).
fn age(queue: &Path, id: EventId, by: Duration) {
    let connection = rusqlite::Connection::open(queue).expect("open");
    let by = i64::try_from(by.as_millis()).expect("millis");
    connection
        .execute(
            "UPDATE deliveries SET received_at = received_at - ?2, \
             finished_at = finished_at - ?2 WHERE id = ?1",
            rusqlite::params![id.0, by],
        )
        .expect("age the delivery");
    connection
        .execute(
            "UPDATE comment_commands SET recorded_at = recorded_at - ?2, \
             finished_at = finished_at - ?2 WHERE event_id = ?1",
            rusqlite::params![id.0, by],
        )
        .expect("age its commands");
}
