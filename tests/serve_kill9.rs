//! Load test against the real `ferry serve` binary: 20,000 signed deliveries (10%
//! duplicates) from 4 concurrent clients, `kill -9` in the middle, restart, resend what was
//! not acknowledged; then every distinct delivery is processed exactly once in effect and
//! none is lost. A tenth of the deliveries are merge request comments with two commands,
//! and another tenth edits of those comments adding a third: every command runs exactly
//! once. Bounded: fails after `DEADLINE` instead of hanging.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry::server::auth::github_signature;

const SENDS: usize = 20_000;
const KILL_AFTER_ACKS: usize = 8_000;
const CLIENTS: usize = 4;
const REPOSITORIES: usize = 20;
const DEADLINE: Duration = Duration::from_secs(300);
const GITLAB_SECRET: &str = "kill9-gitlab";
const GITHUB_SECRET: &str = "kill9-github";

#[derive(Clone)]
struct Send {
    distinct: usize,
}

fn spawn_server(data_dir: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .arg("serve")
        .env_remove("FERRY_CONFIG")
        .env("FERRY_LOG", "warn")
        .env("FERRY_SERVER__LISTEN", "127.0.0.1:0")
        .env("FERRY_STORE__DATA_DIR", data_dir)
        .env("FERRY_WORKERS__POLL_INTERVAL_MS", "50")
        .env("FERRY_FORGES__GITLAB__ENABLED", "true")
        .env("FERRY_FORGES__GITLAB__SECRET", GITLAB_SECRET)
        .env("FERRY_FORGES__GITHUB__ENABLED", "true")
        .env("FERRY_FORGES__GITHUB__SECRET", GITHUB_SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut address = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("ferry serve: listening on ") {
            address = Some(rest.trim().to_owned());
            break;
        }
        eprintln!("server: {line}");
    }
    let address = address.expect("the server exited before listening");
    // Keep draining so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            eprintln!("server: {line}");
        }
    });
    (child, address)
}

fn delivery_id(distinct: usize) -> String {
    format!("delivery-{distinct:05}")
}

fn is_gitlab(distinct: usize) -> bool {
    distinct.is_multiple_of(2)
}

fn repository(distinct: usize) -> String {
    format!("org/gitops-{}", distinct % REPOSITORIES)
}

/// Comments and their edits are GitLab deliveries (even numbers): comment `n` is written by
/// delivery `n` (n % 10 == 4) and edited by delivery `n + 2`.
fn comment_of(distinct: usize) -> Option<(usize, bool)> {
    match distinct % 10 {
        4 => Some((distinct, false)),
        6 => Some((distinct - 2, true)),
        _ => None,
    }
}

const COMMENT: &str = "Looks good.\n\n/ferry approve\n/ferry status";
const EDITED: &str =
    "Looks good.\n\n/ferry hold until the QA sign-off\n/ferry approve\n/ferry status";
const COMMANDS_PER_COMMENT: i64 = 3;

fn note(comment: usize, edited: bool) -> String {
    serde_json::json!({
        "object_kind": "note",
        "user": {"id": 312, "username": "mlin"},
        "project": {"path_with_namespace": repository(comment)},
        "object_attributes": {
            "id": comment,
            "note": if edited { EDITED } else { COMMENT },
            "noteable_type": "MergeRequest",
            "system": false,
            "action": if edited { "update" } else { "create" },
        },
        "merge_request": {"iid": 1},
    })
    .to_string()
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    distinct: usize,
) -> Result<u16, reqwest::Error> {
    let id = delivery_id(distinct);
    let request = if let Some((comment, edited)) = comment_of(distinct) {
        client
            .post(format!("{base}/webhooks/gitlab"))
            .header("X-Gitlab-Event", "Note Hook")
            .header("X-Gitlab-Event-UUID", &id)
            .header("X-Gitlab-Token", GITLAB_SECRET)
            .body(note(comment, edited))
    } else if is_gitlab(distinct) {
        let body = format!(
            r#"{{"object_kind":"push","ref":"refs/heads/develop","after":"{distinct:040}","checkout_sha":"{distinct:040}","project":{{"path_with_namespace":"{}"}}}}"#,
            repository(distinct)
        );
        client
            .post(format!("{base}/webhooks/gitlab"))
            .header("X-Gitlab-Event", "Push Hook")
            .header("X-Gitlab-Event-UUID", &id)
            .header("X-Gitlab-Token", GITLAB_SECRET)
            .body(body)
    } else {
        let body = format!(
            r#"{{"ref":"refs/heads/develop","after":"{distinct:040}","repository":{{"full_name":"{}"}}}}"#,
            repository(distinct)
        );
        client
            .post(format!("{base}/webhooks/github"))
            .header("X-GitHub-Event", "push")
            .header("X-GitHub-Delivery", &id)
            .header(
                "X-Hub-Signature-256",
                github_signature(body.as_bytes(), GITHUB_SECRET),
            )
            .body(body)
    };
    Ok(request.send().await?.status().as_u16())
}

struct Outcome {
    acked: Vec<(usize, u16)>,
    unacked: Vec<usize>,
}

/// Sends `plan` (indexes into `sends`) from `CLIENTS` clients; stops at the first error
/// once `stop` is set. Returns which sends were acknowledged.
async fn run_clients(
    base: String,
    sends: Arc<Vec<Send>>,
    plan: Vec<usize>,
    kill: Option<Arc<Mutex<Child>>>,
) -> Outcome {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let plan = Arc::new(plan);
    let next = Arc::new(AtomicUsize::new(0));
    let acks = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let unacked = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (client, base, sends, plan, next, acks, killed, acked, unacked, kill) = (
            client.clone(),
            base.clone(),
            Arc::clone(&sends),
            Arc::clone(&plan),
            Arc::clone(&next),
            Arc::clone(&acks),
            Arc::clone(&killed),
            Arc::clone(&acked),
            Arc::clone(&unacked),
            kill.clone(),
        );
        tasks.spawn(async move {
            loop {
                let position = next.fetch_add(1, Ordering::SeqCst);
                let Some(&index) = plan.get(position) else {
                    break;
                };
                if killed.load(Ordering::SeqCst) {
                    unacked.lock().unwrap().push(index);
                    continue;
                }
                match send(&client, &base, sends[index].distinct).await {
                    Ok(status @ (200 | 202)) => {
                        acked.lock().unwrap().push((index, status));
                        let count = acks.fetch_add(1, Ordering::SeqCst) + 1;
                        if count == KILL_AFTER_ACKS
                            && let Some(child) = &kill
                        {
                            // SIGKILL: no chance to flush, close or release anything.
                            child.lock().unwrap().kill().unwrap();
                            killed.store(true, Ordering::SeqCst);
                        }
                    }
                    Ok(status) => panic!("unexpected status {status} for send {index}"),
                    Err(_) if kill.is_some() => unacked.lock().unwrap().push(index),
                    Err(error) => panic!("send {index} failed with the server up: {error}"),
                }
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let mut unacked = std::mem::take(&mut *unacked.lock().unwrap());
    unacked.sort_unstable();
    Outcome { acked, unacked }
}

fn queue_counts(data_dir: &Path) -> BTreeMap<String, i64> {
    let connection = rusqlite::Connection::open(data_dir.join("queue.sqlite3")).unwrap();
    connection.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut statement = connection
        .prepare("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_in_the_middle_loses_nothing_and_applies_nothing_twice() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");

    // 18,000 distinct deliveries; every tenth send repeats an earlier one.
    let mut rng = fastrand::Rng::with_seed(5);
    let mut sends = Vec::with_capacity(SENDS);
    let mut distinct = 0;
    for n in 0..SENDS {
        if n % 10 == 9 {
            sends.push(Send {
                distinct: rng.usize(0..distinct),
            });
        } else {
            sends.push(Send { distinct });
            distinct += 1;
        }
    }
    let sends = Arc::new(sends);

    let (child, base) = spawn_server(&data_dir);
    let child = Arc::new(Mutex::new(child));
    let first = run_clients(
        base,
        Arc::clone(&sends),
        (0..SENDS).collect(),
        Some(Arc::clone(&child)),
    )
    .await;
    child.lock().unwrap().wait().unwrap();
    assert!(
        first.acked.len() >= KILL_AFTER_ACKS,
        "killed before the middle"
    );
    assert!(
        !first.unacked.is_empty(),
        "the kill came after the last send"
    );
    eprintln!(
        "phase 1: {} acknowledged, {} to resend ({:.1}s)",
        first.acked.len(),
        first.unacked.len(),
        started.elapsed().as_secs_f64()
    );

    // Before anything is resent: every delivery acknowledged before the kill is stored.
    let stored: std::collections::HashSet<String> = {
        let queue = rusqlite::Connection::open(data_dir.join("queue.sqlite3")).unwrap();
        let mut statement = queue.prepare("SELECT delivery_id FROM deliveries").unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    for (index, _) in &first.acked {
        let id = delivery_id(sends[*index].distinct);
        assert!(
            stored.contains(&id),
            "{id} was acknowledged, then lost by kill -9"
        );
    }

    let (mut child, base) = spawn_server(&data_dir);
    let second = run_clients(base, Arc::clone(&sends), first.unacked.clone(), None).await;
    assert!(second.unacked.is_empty());
    let mut acknowledged: HashMap<usize, Vec<u16>> = HashMap::new();
    for (index, status) in first.acked.iter().chain(&second.acked) {
        acknowledged
            .entry(sends[*index].distinct)
            .or_default()
            .push(*status);
    }
    assert_eq!(
        acknowledged.len(),
        distinct,
        "a distinct delivery was never acknowledged"
    );
    let created = first
        .acked
        .iter()
        .chain(&second.acked)
        .filter(|(_, s)| *s == 202)
        .count();
    assert!(
        created <= distinct,
        "{created} deliveries were stored as new, only {distinct} exist"
    );

    // Wait for the queue to drain.
    loop {
        assert!(
            started.elapsed() < DEADLINE,
            "queue not drained in time: {:?}",
            queue_counts(&data_dir)
        );
        let counts = queue_counts(&data_dir);
        let busy = counts.get("pending").copied().unwrap_or(0)
            + counts.get("running").copied().unwrap_or(0);
        if busy == 0 {
            assert_eq!(
                counts.get("done").copied(),
                Some(distinct as i64),
                "{counts:?}"
            );
            assert_eq!(counts.len(), 1, "deliveries outside `done`: {counts:?}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Graceful stop of the restarted server: SIGTERM, exit 0.
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let exit = wait_with_timeout(&mut child, Duration::from_secs(30));
    assert!(exit.success(), "ferry serve exited with {exit} on SIGTERM");
    // It checkpointed on the way out: the queue is one self-contained file.
    let wal = std::fs::metadata(data_dir.join("queue.sqlite3-wal")).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "the WAL was not checkpointed at shutdown");

    // Effects: exactly one per distinct delivery, in order within each repository.
    let record = rusqlite::Connection::open(data_dir.join("handled.sqlite3")).unwrap();
    let per_key: Vec<(String, String, i64)> = record
        .prepare("SELECT forge, delivery_id, COUNT(*) FROM handled GROUP BY forge, delivery_id")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(per_key.len(), distinct, "effects missing");
    let repeated: Vec<_> = per_key.iter().filter(|(_, _, n)| *n != 1).collect();
    assert!(repeated.is_empty(), "applied more than once: {repeated:?}");
    for (forge, id, _) in &per_key {
        let n: usize = id.trim_start_matches("delivery-").parse().unwrap();
        assert_eq!(forge == "gitlab", is_gitlab(n), "{forge} {id}");
    }
    let rows: Vec<(String, i64)> = record
        .prepare("SELECT repository, event_id FROM handled ORDER BY seq")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut last: HashMap<String, i64> = HashMap::new();
    for (repository, event_id) in rows {
        let previous = last.insert(repository.clone(), event_id).unwrap_or(0);
        assert!(
            event_id > previous,
            "{repository}: {event_id} handled after {previous}"
        );
    }
    // Commands: each command of each comment ran exactly once, whichever of the comment
    // and its edit was handled first and however often either was handled.
    let comments = (0..distinct).filter(|n| n % 10 == 4).count() as i64;
    let per_command: Vec<(i64, String, i64)> = record
        .prepare(
            "SELECT comment_id, answer, COUNT(*) FROM commands_run \
             GROUP BY comment_id, answer ORDER BY comment_id, answer",
        )
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let twice: Vec<_> = per_command.iter().filter(|(_, _, n)| *n != 1).collect();
    assert!(twice.is_empty(), "commands run more than once: {twice:?}");
    assert_eq!(
        per_command.len() as i64,
        comments * COMMANDS_PER_COMMENT,
        "commands missing"
    );
    for (comment, answer, _) in &per_command {
        assert_eq!(*comment % 10, 4, "{comment}: {answer}");
        assert!(
            [
                "/ferry approve",
                "/ferry status",
                "/ferry hold \"until the QA sign-off\"",
            ]
            .contains(&answer.as_str()),
            "{comment}: {answer}"
        );
    }
    let pending: i64 = rusqlite::Connection::open(data_dir.join("queue.sqlite3"))
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM comment_commands WHERE state != 'done'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pending, 0, "commands recorded but never finished");
    let invocations: i64 = record
        .query_row("SELECT COUNT(*) FROM invocations", [], |r| r.get(0))
        .unwrap();
    eprintln!(
        "done: {distinct} distinct deliveries, {} sends acknowledged, {invocations} handler calls ({} repeats absorbed by the idempotency check), {} commands, {:.1}s",
        first.acked.len() + second.acked.len(),
        invocations - distinct as i64,
        per_command.len(),
        started.elapsed().as_secs_f64()
    );
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let until = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("ferry serve did not stop within {timeout:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
