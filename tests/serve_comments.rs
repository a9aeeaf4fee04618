//! Comment commands end to end: signed fixture webhooks to the real server on loopback, the
//! SQLite queue and its command record, the worker pool, and the recording handler standing
//! in for the engine. Several commands per comment are each handed on; an edited comment
//! hands on only its new commands; a redelivery hands on none; system notes and Ferry's
//! own comments hand on nothing.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry::config::Config;
use ferry::domain::ForgeEvent;
use ferry::server::auth::github_signature;
use ferry::store::sqlite::SqliteOptions;
use ferry::store::{
    BoxFuture, CommandId, Delivery, Forge, Inserted, Intake, ListFilter, NewDelivery, SqliteStore,
    State, Store,
};
use ferry::worker::{
    Backoff, Bots, CommentCommands, CommentPlan, Handler, HandlerError, RecordingHandler,
    WorkerSettings, Workers,
};
use secrecy::SecretString;
use serde_json::Value;

const GITLAB_SECRET: &str = "gitlab-token";
const GITHUB_SECRET: &str = "github-secret";

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/webhooks")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn config(dir: &Path) -> Config {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.server.shutdown_grace_seconds = 2;
    config.store.data_dir = dir.to_owned();
    config.workers.poll_interval_ms = 20;
    config.forges.gitlab.enabled = true;
    config.forges.gitlab.secrets = vec![SecretString::from(GITLAB_SECRET.to_owned())];
    config.forges.gitlab.bot_username = "ferry-bot".to_owned();
    config.forges.gitlab.bot_user_id = Some(900);
    config.forges.github.enabled = true;
    config.forges.github.secrets = vec![SecretString::from(GITHUB_SECRET.to_owned())];
    config.forges.github.bot_username = "ferry-app[bot]".to_owned();
    config
}

struct Harness {
    base: String,
    store: Arc<dyn Store>,
    client: reqwest::Client,
    dir: tempfile::TempDir,
    _running: ferry::server::Running,
}

async fn start() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open_for_serve(&config.queue_path(), &SqliteOptions::from(&config.store))
            .unwrap(),
    );
    let comments = CommentCommands::new(Arc::clone(&store), Bots::from(&config.forges));
    let handler = Arc::new(
        RecordingHandler::open(&dir.path().join("handled.sqlite3"))
            .unwrap()
            .with_comments(comments),
    );
    let running = ferry::server::start(&config, Arc::clone(&store), handler)
        .await
        .unwrap();
    Harness {
        base: format!("http://{}", running.local_addr()),
        store,
        client: reqwest::Client::new(),
        dir,
        _running: running,
    }
}

/// (comment id, line, ok, answer) of each command the stand-in engine ran, in order.
type Ran = (i64, i64, bool, String);

impl Harness {
    /// Sends one signed delivery, checks it was queued, and waits until it is processed.
    async fn deliver(&self, forge: Forge, event: &str, id: &str, body: &Value) {
        let body = serde_json::to_vec(body).unwrap();
        let request = match forge {
            Forge::GitLab => self
                .client
                .post(format!("{}/webhooks/gitlab", self.base))
                .header("X-Gitlab-Event", event)
                .header("X-Gitlab-Event-UUID", id)
                .header("X-Gitlab-Token", GITLAB_SECRET),
            Forge::GitHub => self
                .client
                .post(format!("{}/webhooks/github", self.base))
                .header("X-GitHub-Event", event)
                .header("X-GitHub-Delivery", id)
                .header(
                    "X-Hub-Signature-256",
                    github_signature(&body, GITHUB_SECRET),
                ),
        };
        let response = request.body(body).send().await.unwrap();
        assert_eq!(response.status(), 202, "{id}");
        for _ in 0..250 {
            let stored = self
                .store
                .list(ListFilter {
                    states: vec![],
                    limit: 100,
                })
                .await
                .unwrap();
            let record = stored.iter().find(|r| r.delivery_id == id).unwrap();
            match record.state {
                State::Done => return,
                State::Pending | State::Running => {}
                other => panic!("{id} is {other}: {:?}", record.last_error),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{id} was not processed in time");
    }

    fn ran(&self) -> Vec<Ran> {
        let record = rusqlite::Connection::open(self.dir.path().join("handled.sqlite3")).unwrap();
        record
            .prepare("SELECT comment_id, line, ok, answer FROM commands_run ORDER BY seq")
            .unwrap()
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// What ran since `before` commands had run.
    fn ran_since(&self, before: usize) -> Vec<Ran> {
        self.ran().split_off(before)
    }
}

fn ran(comment: i64, line: i64, answer: &str) -> Ran {
    (comment, line, true, answer.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_edited_comments_run_only_their_new_commands() {
    let h = start().await;
    let original = fixture("gitlab/note_merge_request.json");
    h.deliver(Forge::GitLab, "Note Hook", "note-1", &original)
        .await;
    assert_eq!(
        h.ran(),
        [
            ran(7781, 3, "/ferry approve"),
            ran(7781, 4, "/ferry promote production service=web"),
        ],
        "each command of the comment is handed on, in order"
    );

    // Edited: a command added above the others (shifting their lines), spacing and case
    // changed on an old one, and a typo; only the new lines are handed on.
    let mut edit = original.clone();
    edit["object_attributes"]["action"] = "update".into();
    edit["object_attributes"]["note"] = "Checked the staging run and QA.\n\n/ferry status\n/Ferry   approve\n/ferry promote production service=web\n/ferry promot staging".into();
    h.deliver(Forge::GitLab, "Note Hook", "note-2", &edit).await;
    let new = h.ran_since(2);
    assert_eq!(new.len(), 2, "{new:?}");
    assert_eq!(new[0], ran(7781, 3, "/ferry status"));
    assert_eq!((new[1].0, new[1].1, new[1].2), (7781, 6, false));
    assert!(
        new[1]
            .3
            .contains("`promot` is not a Ferry command; did you mean `promote`?"),
        "{}",
        new[1].3
    );

    // GitLab sends the same edit again under a new delivery id: nothing runs again, not
    // even the error.
    h.deliver(Forge::GitLab, "Note Hook", "note-3", &edit).await;
    assert_eq!(h.ran().len(), 4, "{:?}", h.ran());

    // An edited comment whose earlier version Ferry never saw runs its commands.
    h.deliver(
        Forge::GitLab,
        "Note Hook",
        "note-4",
        &fixture("gitlab/note_edited.json"),
    )
    .await;
    assert_eq!(
        h.ran_since(4),
        [ran(7790, 1, "/ferry hold \"waiting for the QA sign-off\"")]
    );

    // Ferry's own comment and a system note: their command lines never run.
    let mut system = fixture("gitlab/note_system.json");
    system["object_attributes"]["note"] = "/ferry approve".into();
    h.deliver(Forge::GitLab, "Note Hook", "note-5", &system)
        .await;
    h.deliver(
        Forge::GitLab,
        "Note Hook",
        "note-6",
        &fixture("gitlab/note_bot.json"),
    )
    .await;
    assert_eq!(h.ran().len(), 5, "{:?}", h.ran());

    // Operators see which commands a delivery recorded.
    let edit_id = h
        .store
        .list(ListFilter {
            states: vec![],
            limit: 100,
        })
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.delivery_id == "note-2")
        .unwrap()
        .id;
    let recorded: Vec<String> = h
        .store
        .commands_of(edit_id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| format!("{} {} {}", c.line, c.state, c.text))
        .collect();
    assert_eq!(
        recorded,
        ["3 done /ferry status", "6 done /ferry promot staging"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_comments_mentions_edits_and_the_bots_own_comments() {
    let h = start().await;
    let created = fixture("github/issue_comment_created.json");
    h.deliver(Forge::GitHub, "issue_comment", "gh-1", &created)
        .await;
    assert_eq!(
        h.ran(),
        [
            ran(1987650001, 3, "/ferry approve"),
            ran(
                1987650001,
                4,
                "/ferry promote production override=\"release train\""
            ),
        ],
        "a `@ferry-app` mention addresses the `ferry-app[bot]` App"
    );
    // Edited prose, same commands: nothing runs again.
    let mut edited = created.clone();
    edited["action"] = "edited".into();
    edited["comment"]["body"] = "LGTM, checked twice\n\n/ferry approve\n@ferry-app promote production override=\"release train\"".into();
    h.deliver(Forge::GitHub, "issue_comment", "gh-2", &edited)
        .await;
    assert_eq!(h.ran().len(), 2, "{:?}", h.ran());

    h.deliver(
        Forge::GitHub,
        "issue_comment",
        "gh-3",
        &fixture("github/issue_comment_edited.json"),
    )
    .await;
    assert_eq!(
        h.ran_since(2),
        [ran(
            1987650002,
            1,
            "/ferry hold \"waiting for the QA sign-off\""
        )]
    );
    // Ferry's own comment (matched by name: no user id configured for GitHub here).
    h.deliver(
        Forge::GitHub,
        "issue_comment",
        "gh-4",
        &fixture("github/issue_comment_bot.json"),
    )
    .await;
    assert_eq!(h.ran().len(), 3, "{:?}", h.ran());
}

/// Hands a comment's commands on like an engine would, but dies (fails the attempt) after
/// the first command of the first attempt: its effect and its done mark are written, the
/// delivery's done mark is not.
struct DiesAfterFirstCommand {
    comments: CommentCommands,
    handed_on: Mutex<Vec<(u32, CommandId, String)>>,
}

impl Handler for DiesAfterFirstCommand {
    fn handle<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let event = ferry::events::parse(delivery.forge, &delivery.event_type, &delivery.body)
                .map_err(|e| HandlerError::permanent(e.to_string()))?;
            let ForgeEvent::CommentCreated(comment) = event else {
                return Ok(());
            };
            let CommentPlan::Run(commands) = self.comments.to_run(delivery, &comment).await? else {
                return Ok(());
            };
            for command in commands {
                let text = command.command.as_ref().unwrap().to_string();
                self.handed_on
                    .lock()
                    .unwrap()
                    .push((delivery.attempt, command.id, text));
                self.comments.ran(command.id).await?;
                if delivery.attempt == 1 {
                    return Err(HandlerError::retry("died after the first command"));
                }
            }
            Ok(())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_handled_again_hands_on_only_the_commands_that_did_not_finish() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&config.queue_path(), &SqliteOptions::default()).unwrap());
    let handler = Arc::new(DiesAfterFirstCommand {
        comments: CommentCommands::new(Arc::clone(&store), Bots::from(&config.forges)),
        handed_on: Mutex::new(Vec::new()),
    });
    let body = serde_json::to_vec(&fixture("gitlab/note_merge_request.json")).unwrap();
    let inserted = store
        .insert(NewDelivery {
            forge: Forge::GitLab,
            delivery_id: "note-1".into(),
            event_type: "Note Hook".into(),
            intake: Intake::Queued {
                repository: "platform/gitops".into(),
            },
            body,
        })
        .await
        .unwrap();
    assert!(matches!(inserted, Inserted::New(_)));
    let workers = Workers::spawn(
        Arc::clone(&store),
        Arc::clone(&handler) as Arc<dyn Handler>,
        WorkerSettings {
            concurrency: 2,
            backoff: Backoff {
                base: Duration::from_millis(10),
                max: Duration::from_millis(20),
                max_attempts: 3,
            },
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(10),
            handler_timeout: Duration::from_secs(10),
        },
    );
    for _ in 0..500 {
        if store.counts().await.unwrap().contains(&(State::Done, 1)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    workers.shutdown(Duration::from_secs(2)).await;
    let handed_on = handler.handed_on.lock().unwrap().clone();
    let texts: Vec<(u32, &str)> = handed_on.iter().map(|(a, _, t)| (*a, t.as_str())).collect();
    assert_eq!(
        texts,
        [
            (1, "/ferry approve"),
            (2, "/ferry promote production service=web")
        ],
        "the second attempt must not hand on the command that already ran"
    );
    assert_ne!(handed_on[0].1, handed_on[1].1);

    // Handled again once more (an operator's retry, a lease that expired): nothing is left.
    let comments = CommentCommands::new(Arc::clone(&store), Bots::from(&config.forges));
    let record = store
        .list(ListFilter {
            states: vec![],
            limit: 1,
        })
        .await
        .unwrap()
        .remove(0);
    let delivery = Delivery {
        id: record.id,
        forge: Forge::GitLab,
        delivery_id: record.delivery_id,
        event_type: record.event_type,
        repository: "platform/gitops".into(),
        body: store.body(record.id).await.unwrap().unwrap(),
        attempt: 3,
    };
    let ForgeEvent::CommentCreated(comment) =
        ferry::events::parse(delivery.forge, &delivery.event_type, &delivery.body).unwrap()
    else {
        panic!("not a comment")
    };
    assert_eq!(
        comments.to_run(&delivery, &comment).await.unwrap(),
        CommentPlan::Run(vec![])
    );

    // An edit (delivery 2) adds a command and dies before running it. Another delivery of
    // the same edit (3) does not hand it on: it is delivery 2's, which hands it on again
    // when it is retried.
    let mut edited = comment.clone();
    edited.body.push_str("\n/ferry status");
    edited.edited = true;
    let edit = |id: i64| Delivery {
        id: ferry::store::EventId(id),
        ..delivery.clone()
    };
    let status = |plan: CommentPlan| match plan {
        CommentPlan::Run(commands) => commands
            .into_iter()
            .map(|c| (c.id, c.line, c.command.unwrap().to_string()))
            .collect::<Vec<_>>(),
        skipped => panic!("{skipped:?}"),
    };
    let first = status(comments.to_run(&edit(1002), &edited).await.unwrap());
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].1, first[0].2.as_str()), (5, "/ferry status"));
    assert_eq!(
        status(comments.to_run(&edit(1003), &edited).await.unwrap()),
        []
    );
    assert_eq!(
        status(comments.to_run(&edit(1002), &edited).await.unwrap()),
        first
    );
}
