//! Webhook intake benchmark: the real server (in process, loopback HTTP, SQLite store,
//! workers running the recording handler) against signed GitHub push deliveries of ~1.3 KB.
//!
//! 1. Sustained intake: 20,000 deliveries from 32 keep-alive clients as fast as they are
//!    answered; deliveries/s. Afterwards every acknowledged delivery must be in the store.
//! 2. Acknowledgement latency at a fixed 500 deliveries/s for 10 s (open loop: requests are
//!    started on schedule whether or not earlier ones were answered); p50 and p99.
//!
//! Each is run 3 times per SQLite `synchronous` mode; medians are printed.
//! Run: `cargo bench --bench intake` (optionally `BENCH_DIR=...` for the data directories).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry::config::{Config, Synchronous};
use ferry::server::auth::github_signature;
use ferry::store::sqlite::SqliteOptions;
use ferry::store::{ListFilter, SqliteStore, State, Store};
use ferry::worker::RecordingHandler;
use secrecy::SecretString;

const SECRET: &str = "bench-secret";
const SUSTAINED: usize = 20_000;
const CLIENTS: usize = 32;
const RATE: u64 = 500;
const RATE_SECONDS: u64 = 10;
const RUNS: usize = 3;

struct Server {
    base: String,
    store: Arc<dyn Store>,
    running: ferry::server::Running,
    _dir: tempfile::TempDir,
}

async fn start(synchronous: Synchronous) -> Server {
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "/tmp".into()))
        .expect("temp dir");
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().expect("address");
    config.store.data_dir = dir.path().to_owned();
    config.store.synchronous = synchronous;
    config.forges.github.enabled = true;
    config.forges.github.secrets = vec![SecretString::from(SECRET.to_owned())];
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open_for_serve(&config.queue_path(), &SqliteOptions::from(&config.store))
            .expect("store"),
    );
    let handler = Arc::new(
        RecordingHandler::open(&dir.path().join("handled.sqlite3")).expect("handler record"),
    );
    let running = ferry::server::start(&config, Arc::clone(&store), handler)
        .await
        .expect("server");
    Server {
        base: format!("http://{}/webhooks/github", running.local_addr()),
        store,
        running,
        _dir: dir,
    }
}

fn body(n: usize) -> Vec<u8> {
    let commits: Vec<String> = (0..4)
        .map(|c| {
            format!(
                r#"{{"id":"{n:032}{c:08}","message":"change {c} of push {n}: update the web overlay","author":{{"name":"Dev Eloper","email":"dev@example.com"}},"added":[],"modified":["overlays/integration/kustomization.yaml"],"removed":[]}}"#
            )
        })
        .collect();
    format!(
        r#"{{"ref":"refs/heads/develop","before":"{:040}","after":"{n:040}","repository":{{"id":42,"name":"gitops-{}","full_name":"eap/gitops-{}","private":true,"default_branch":"main"}},"pusher":{{"name":"dev","email":"dev@example.com"}},"sender":{{"login":"dev","id":7}},"commits":[{}]}}"#,
        n.saturating_sub(1),
        n % 16,
        n % 16,
        commits.join(",")
    )
    .into_bytes()
}

async fn deliver(client: &reqwest::Client, url: &str, run: usize, n: usize) -> Duration {
    let payload = body(n);
    let signature = github_signature(&payload, SECRET);
    let started = Instant::now();
    let response = client
        .post(url)
        .header("X-GitHub-Event", "push")
        .header("X-GitHub-Delivery", format!("bench-{run}-{n}"))
        .header("X-Hub-Signature-256", signature)
        .body(payload)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    assert_eq!(status, 202, "delivery {n} answered {status}");
    started.elapsed()
}

async fn stored_count(store: &Arc<dyn Store>) -> u64 {
    store
        .counts()
        .await
        .expect("counts")
        .iter()
        .map(|(_, n)| n)
        .sum()
}

async fn sustained(synchronous: Synchronous, run: usize) -> f64 {
    let server = start(synchronous).await;
    let client = reqwest::Client::new();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (client, url, next) = (client.clone(), server.base.clone(), Arc::clone(&next));
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= SUSTAINED {
                    break;
                }
                deliver(&client, &url, run, n).await;
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.expect("client");
    }
    let rate = SUSTAINED as f64 / started.elapsed().as_secs_f64();
    // Every acknowledged delivery is in the store (each answered 202 after its commit).
    assert_eq!(
        stored_count(&server.store).await,
        SUSTAINED as u64,
        "acknowledged deliveries missing"
    );
    let missing = server
        .store
        .list(ListFilter {
            states: vec![State::Failed, State::Ignored],
            limit: 1,
        })
        .await
        .expect("list");
    assert!(missing.is_empty());
    server.running.shutdown().await;
    rate
}

async fn fixed_rate(synchronous: Synchronous, run: usize) -> (Duration, Duration) {
    let server = start(synchronous).await;
    let client = reqwest::Client::new();
    // Warm the connection pool so the first requests do not pay for connecting.
    for n in 0..16 {
        deliver(&client, &server.base, run + 100, n).await;
    }
    let total = (RATE * RATE_SECONDS) as usize;
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..total {
        ticker.tick().await;
        let (client, url) = (client.clone(), server.base.clone());
        tasks.spawn(async move { deliver(&client, &url, run, n).await });
    }
    let mut latencies = Vec::with_capacity(total);
    while let Some(result) = tasks.join_next().await {
        latencies.push(result.expect("client"));
    }
    assert_eq!(stored_count(&server.store).await, total as u64 + 16);
    server.running.shutdown().await;
    latencies.sort_unstable();
    (percentile(&latencies, 0.50), percentile(&latencies, 0.99))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn median<T: PartialOrd + Copy>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    values[values.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn main() {
    // Server and load generator share the machine's 2 cores, as they would not in
    // production: the figures are a lower bound.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("command: cargo bench --bench intake");
    println!("payload: signed GitHub push, {} bytes", body(1).len());
    for synchronous in [Synchronous::Full, Synchronous::Normal] {
        let mode = format!("{synchronous:?}").to_lowercase();
        let rates: Vec<f64> = (0..RUNS)
            .map(|run| runtime.block_on(sustained(synchronous, run)))
            .collect();
        println!(
            "synchronous={mode}: sustained intake, {SUSTAINED} deliveries x {RUNS} runs, {CLIENTS} clients: median {:.0} deliveries/s (runs: {})",
            median(rates.clone()),
            rates
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let latencies: Vec<(Duration, Duration)> = (0..RUNS)
            .map(|run| runtime.block_on(fixed_rate(synchronous, run)))
            .collect();
        println!(
            "synchronous={mode}: ack latency at {RATE}/s for {RATE_SECONDS}s x {RUNS} runs: median p50 {:.2} ms, median p99 {:.2} ms (p99 runs: {})",
            ms(median(latencies.iter().map(|l| l.0).collect())),
            ms(median(latencies.iter().map(|l| l.1).collect())),
            latencies
                .iter()
                .map(|l| format!("{:.2}", ms(l.1)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}
