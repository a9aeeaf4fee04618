//! The server over real HTTP on loopback: authentication, storing before answering,
//! duplicates, limits, health, metrics, shutdown.

use std::sync::Arc;
use std::time::Duration;

use ferry::config::Config;
use ferry::server::auth::github_signature;
use ferry::store::sqlite::SqliteOptions;
use ferry::store::{BoxFuture, Delivery};
use ferry::store::{ListFilter, SqliteStore, State, Store};
use ferry::worker::{Handler, HandlerError, RecordingHandler};
use secrecy::SecretString;

const GITLAB_SECRET: &str = "gitlab-token";
const GITHUB_SECRET: &str = "github-secret";

struct Harness {
    base: String,
    store: Arc<dyn Store>,
    running: Option<ferry::server::Running>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start(body_limit: usize) -> Harness {
    start_with(body_limit, None).await
}

async fn start_with(body_limit: usize, handler: Option<Arc<dyn Handler>>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.server.body_limit_bytes = body_limit;
    config.server.shutdown_grace_seconds = 2;
    config.store.data_dir = dir.path().to_owned();
    config.workers.poll_interval_ms = 20;
    config.forges.gitlab.enabled = true;
    config.forges.gitlab.secrets = vec![
        SecretString::from("previous-token".to_owned()),
        SecretString::from(GITLAB_SECRET.to_owned()),
    ];
    config.forges.github.enabled = true;
    config.forges.github.secrets = vec![SecretString::from(GITHUB_SECRET.to_owned())];
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open_for_serve(&config.queue_path(), &SqliteOptions::from(&config.store))
            .unwrap(),
    );
    let handler = handler.unwrap_or_else(|| {
        Arc::new(RecordingHandler::open(&dir.path().join("handled.sqlite3")).unwrap())
    });
    let running = ferry::server::start(&config, Arc::clone(&store), handler)
        .await
        .unwrap();
    Harness {
        base: format!("http://{}", running.local_addr()),
        store,
        running: Some(running),
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

fn gitlab_push(repository: &str) -> Vec<u8> {
    format!(
        r#"{{"object_kind":"push","ref":"refs/heads/develop","before":"{zero}","after":"{sha}","checkout_sha":"{sha}","project":{{"path_with_namespace":"{repository}"}},"commits":[],"total_commits_count":0}}"#,
        zero = "0".repeat(40),
        sha = "ab12cd3".repeat(6).get(..40).unwrap_or_default(),
    )
    .into_bytes()
}

fn github_push(repository: &str) -> Vec<u8> {
    format!(
        r#"{{"ref":"refs/heads/develop","before":"{zero}","after":"{sha}","deleted":false,"repository":{{"full_name":"{repository}"}},"commits":[]}}"#,
        zero = "0".repeat(40),
        sha = "cd34ef5".repeat(6).get(..40).unwrap_or_default(),
    )
    .into_bytes()
}

impl Harness {
    async fn gitlab(
        &self,
        token: Option<&str>,
        event: &str,
        id: &str,
        body: Vec<u8>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/webhooks/gitlab", self.base))
            .header("X-Gitlab-Event", event)
            .header("X-Gitlab-Event-UUID", id)
            .body(body);
        if let Some(token) = token {
            request = request.header("X-Gitlab-Token", token);
        }
        request.send().await.unwrap()
    }

    async fn github(
        &self,
        signature: Option<String>,
        event: &str,
        id: &str,
        body: Vec<u8>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/webhooks/github", self.base))
            .header("X-GitHub-Event", event)
            .header("X-GitHub-Delivery", id)
            .body(body);
        if let Some(signature) = signature {
            request = request.header("X-Hub-Signature-256", signature);
        }
        request.send().await.unwrap()
    }

    async fn stored(&self) -> Vec<ferry::store::EventRecord> {
        self.store
            .list(ListFilter {
                states: vec![],
                limit: 1000,
            })
            .await
            .unwrap()
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn wait_for_state(&self, delivery_id: &str, state: State) {
        for _ in 0..250 {
            if self
                .stored()
                .await
                .iter()
                .any(|r| r.delivery_id == delivery_id && r.state == state)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "{delivery_id} never reached {state}: {:?}",
            self.stored().await
        );
    }
}

#[tokio::test]
async fn gitlab_delivery_is_stored_before_the_answer_and_processed_once() {
    let h = start(25 * 1024 * 1024).await;
    let response = h
        .gitlab(
            Some(GITLAB_SECRET),
            "Push Hook",
            "uuid-1",
            gitlab_push("eap/gitops"),
        )
        .await;
    assert_eq!(response.status(), 202);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "queued");
    let stored = h.stored().await;
    assert_eq!(
        stored.len(),
        1,
        "the answer came before the delivery was stored"
    );
    assert_eq!(stored[0].repository.as_deref(), Some("eap/gitops"));
    let again = h
        .gitlab(
            Some(GITLAB_SECRET),
            "Push Hook",
            "uuid-1",
            gitlab_push("eap/gitops"),
        )
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.json::<serde_json::Value>().await.unwrap()["status"],
        "duplicate"
    );
    h.wait_for_state("uuid-1", State::Done).await;
    assert_eq!(h.stored().await.len(), 1);
}

#[tokio::test]
async fn gitlab_tokens_forged_missing_and_rotated() {
    let h = start(1024 * 1024).await;
    let forged = h
        .gitlab(Some("guess"), "Push Hook", "a", gitlab_push("x/y"))
        .await;
    assert_eq!(forged.status(), 401);
    assert!(forged.text().await.unwrap().contains("does not match"));
    let missing = h.gitlab(None, "Push Hook", "b", gitlab_push("x/y")).await;
    assert_eq!(missing.status(), 401);
    assert!(h.stored().await.is_empty(), "a refused delivery was stored");
    let previous = h
        .gitlab(Some("previous-token"), "Push Hook", "c", gitlab_push("x/y"))
        .await;
    assert_eq!(previous.status(), 202);
}

#[tokio::test]
async fn github_signature_is_checked_over_the_raw_body() {
    let h = start(1024 * 1024).await;
    let body = github_push("org/gitops");
    let good = github_signature(&body, GITHUB_SECRET);
    let mut tampered = body.clone();
    tampered.push(b' ');
    assert_eq!(
        h.github(Some(good.clone()), "push", "g1", tampered)
            .await
            .status(),
        401
    );
    assert_eq!(
        h.github(None, "push", "g2", body.clone()).await.status(),
        401
    );
    assert_eq!(
        h.github(
            Some(github_signature(&body, "wrong")),
            "push",
            "g3",
            body.clone()
        )
        .await
        .status(),
        401
    );
    assert!(h.stored().await.is_empty());
    assert_eq!(h.github(Some(good), "push", "g4", body).await.status(), 202);
    assert_eq!(
        h.stored().await[0].repository.as_deref(),
        Some("org/gitops")
    );
}

#[tokio::test]
async fn bodies_over_the_limit_answer_413_and_large_ones_under_it_pass() {
    let h = start(3 * 1024 * 1024).await;
    let mut large = gitlab_push("big/repo");
    // Above axum's 2 MB default, under this server's 3 MiB limit.
    large.truncate(large.len() - 1);
    large.extend_from_slice(format!(r#","padding":"{}"}}"#, "x".repeat(2_500_000)).as_bytes());
    let response = h
        .gitlab(Some(GITLAB_SECRET), "Push Hook", "large", large)
        .await;
    assert_eq!(response.status(), 202);
    let too_large = vec![b' '; 3 * 1024 * 1024 + 1];
    let response = h
        .gitlab(Some(GITLAB_SECRET), "Push Hook", "huge", too_large)
        .await;
    assert_eq!(response.status(), 413);
    assert_eq!(h.stored().await.len(), 1);
}

#[tokio::test]
async fn unknown_events_are_accepted_and_ignored_unreadable_bodies_stored_as_failed() {
    let h = start(1024 * 1024).await;
    let body = br#"{"zen":"hi"}"#.to_vec();
    let ping = h
        .github(
            Some(github_signature(&body, GITHUB_SECRET)),
            "ping",
            "p1",
            body,
        )
        .await;
    assert_eq!(ping.status(), 202);
    assert_eq!(
        ping.json::<serde_json::Value>().await.unwrap()["status"],
        "ignored"
    );
    let broken = h
        .gitlab(
            Some(GITLAB_SECRET),
            "Push Hook",
            "broken",
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(broken.status(), 202);
    let answer: serde_json::Value = broken.json().await.unwrap();
    assert_eq!(answer["status"], "failed");
    let stored = h.stored().await;
    let states: Vec<(String, State)> = stored
        .iter()
        .map(|r| (r.delivery_id.clone(), r.state))
        .collect();
    assert!(
        states.contains(&("p1".into(), State::Ignored)),
        "{states:?}"
    );
    assert!(
        states.contains(&("broken".into(), State::Failed)),
        "{states:?}"
    );
    let failed = stored.iter().find(|r| r.delivery_id == "broken").unwrap();
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap()
            .contains("not a JSON object")
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let h = start(1024 * 1024).await;
    assert_eq!(h.get("/healthz").await.0, 200);
    assert_eq!(h.get("/readyz").await, (200, "ready\n".to_owned()));
    h.gitlab(Some(GITLAB_SECRET), "Push Hook", "m1", gitlab_push("m/r"))
        .await;
    h.gitlab(Some("forged"), "Push Hook", "m2", gitlab_push("m/r"))
        .await;
    h.wait_for_state("m1", State::Done).await;
    let (status, metrics) = h.get("/metrics").await;
    assert_eq!(status, 200);
    for expected in [
        r#"ferry_webhook_deliveries_total{forge="gitlab",event="Push Hook",outcome="accepted"}"#,
        r#"ferry_webhook_deliveries_total{forge="gitlab",event="unknown",outcome="unauthorized"}"#,
        "ferry_webhook_ack_seconds_bucket",
        "ferry_processing_seconds_bucket",
        r#"ferry_processing_total{forge="gitlab",event="Push Hook",outcome="done"}"#,
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected} in\n{metrics}"
        );
    }
}

#[tokio::test]
async fn disabled_forge_answers_404() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.store.data_dir = dir.path().to_owned();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&config.queue_path(), &SqliteOptions::default()).unwrap());
    let handler = Arc::new(RecordingHandler::open(&dir.path().join("h.sqlite3")).unwrap());
    let running = ferry::server::start(&config, store, handler).await.unwrap();
    let response = reqwest::Client::new()
        .post(format!("http://{}/webhooks/github", running.local_addr()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("forges.github.enabled")
    );
    running.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_accepting_and_readiness() {
    let mut h = start(1024 * 1024).await;
    let running = h.running.take().unwrap();
    running.shutdown().await;
    let refused = h.client.get(format!("{}/healthz", h.base)).send().await;
    assert!(refused.is_err(), "still accepting after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_the_event_parser_rejects_goes_to_the_dead_letters_with_the_reason() {
    let h = start(25 * 1024 * 1024).await;
    // Authenticated and addressed to a repository, but a push without the commit it pushed.
    let body = br#"{"object_kind":"push","ref":"refs/heads/develop","project":{"path_with_namespace":"eap/gitops"}}"#;
    let response = h
        .gitlab(Some(GITLAB_SECRET), "Push Hook", "no-after", body.to_vec())
        .await;
    assert_eq!(response.status(), 202);
    h.wait_for_state("no-after", State::Dead).await;
    let stored = h.stored().await;
    let error = stored[0].last_error.as_deref().unwrap_or_default();
    assert!(
        error.contains("does not parse") && error.contains("`after`"),
        "{error}"
    );
    assert_eq!(
        stored[0].attempts, 1,
        "a payload that cannot parse is not retried"
    );
    let (_, metrics) = h.get("/metrics").await;
    for expected in [
        r#"ferry_dead_letters_total{forge="gitlab"}"#,
        r#"ferry_processing_total{forge="gitlab",event="Push Hook",outcome="dead"}"#,
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected} in\n{metrics}"
        );
    }
}

/// Fails each delivery's first attempt.
struct FailsOnce;

impl Handler for FailsOnce {
    fn handle<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            if delivery.attempt == 1 {
                Err(HandlerError::retry("the forge did not answer"))
            } else {
                Ok(())
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_and_queue_depth_are_measured() {
    let mut h = start_with(1024 * 1024, Some(Arc::new(FailsOnce))).await;
    // The queue depth gauges are set at start, before any delivery.
    let (_, metrics) = h.get("/metrics").await;
    for state in ["pending", "running", "dead", "failed"] {
        let gauge = format!(r#"ferry_queue_depth{{state="{state}"}}"#);
        assert!(metrics.contains(&gauge), "missing {gauge} in\n{metrics}");
    }
    let body = github_push("org/retried");
    let signature = github_signature(&body, GITHUB_SECRET);
    assert_eq!(
        h.github(Some(signature), "push", "r1", body).await.status(),
        202
    );
    h.wait_for_state("r1", State::Done).await;
    let record = h.stored().await.remove(0);
    assert_eq!(record.attempts, 2);
    assert_eq!(
        record.last_error.as_deref(),
        Some("the forge did not answer")
    );
    let (_, metrics) = h.get("/metrics").await;
    for expected in [
        r#"ferry_retries_total{forge="github"}"#,
        r#"ferry_processing_total{forge="github",event="push",outcome="retry"}"#,
        r#"ferry_processing_total{forge="github",event="push",outcome="done"}"#,
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected} in\n{metrics}"
        );
    }
    h.running.take().unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_actions_of_known_events_are_accepted_and_end_as_ignored_events() {
    let h = start(1024 * 1024).await;
    let body = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/webhooks/github/pull_request_labeled.json"),
    )
    .unwrap();
    let signature = github_signature(&body, GITHUB_SECRET);
    let response = h
        .github(Some(signature), "pull_request", "labeled-1", body)
        .await;
    assert_eq!(response.status(), 202);
    h.wait_for_state("labeled-1", State::Done).await;
    let record = rusqlite::Connection::open(h._dir.path().join("handled.sqlite3")).unwrap();
    let kind: String = record
        .query_row(
            "SELECT event_kind FROM handled WHERE delivery_id = 'labeled-1'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(kind, "ignored");
}
