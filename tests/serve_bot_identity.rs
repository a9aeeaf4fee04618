//! The bot's identity asked of GitLab at start: the service as `ferry serve` assembles it
//! (`ferry::service::start`), the real GitLab adapter against the in-memory GitLab over
//! HTTP, signed note webhooks, the durable queue and the engine.
//!
//! The bot's account was renamed: the configuration still says `ferry-bot`, the account is now
//! `ferry-renamed`, and a person has taken the name `ferry-bot`. Matching by the configured
//! name would ignore the person and read the bot's own comment as commands; the id the forge
//! reports gets both right.

#[allow(dead_code)]
mod git_support;
#[allow(dead_code)]
mod support;

use ferry::config::Config;
use ferry::domain::{BotIdentity, UserId};
use ferry::forge::{GitLabConfig, GitLabForge, HttpPolicy};
use ferry::store::SqliteStore;
use ferry::store::sqlite::SqliteOptions;
use git_support::Fixture;
use secrecy::SecretString;
use support::fake_gitlab::FakeGitLab;
use support::gitlab_hooks::*;

const GITOPS: &str = "eap/gitops";
const SECRET: &str = "hook-secret";
const TOKEN: &str = "glpat-bot";

struct World {
    fixture: Fixture,
    fake: FakeGitLab,
    bot: u64,
    person: u64,
}

fn world() -> World {
    let fixture = Fixture::example_without_freeze();
    let fake = futures_lite_block_on_start();
    let bot = fake.add_user("ferry-renamed");
    let person = fake.add_user("ferry-bot");
    fake.add_token(TOKEN, bot);
    fake.add_project(GITOPS);
    fake.attach_repo(GITOPS, &fixture.remote);
    fake.add_member(GITOPS, bot, 40);
    fake.add_member(GITOPS, person, 30);
    World {
        fixture,
        fake,
        bot,
        person,
    }
}

// `FakeGitLab::start` is async; the worlds here are built inside the test's runtime.
fn futures_lite_block_on_start() -> FakeGitLab {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(FakeGitLab::start()))
}

fn config(w: &World, token: &str) -> Config {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().expect("address");
    config.server.shutdown_grace_seconds = 2;
    config.store.data_dir = w.fixture.dir.path().join("data");
    config.workers.poll_interval_ms = 20;
    config.forges.gitlab.enabled = true;
    config.forges.gitlab.secrets = vec![SecretString::from(SECRET.to_owned())];
    config.forges.gitlab.bot_username = "ferry-bot".to_owned();
    config.forges.gitlab.bot_user_id = None;
    config.gitops.project = Some(GITOPS.to_owned());
    config.gitops.remote = Some(w.fixture.remote.display().to_string());
    config.gitops.gitlab_url = w.fake.base_url.clone();
    config.gitops_token = Some(SecretString::from(token.to_owned()));
    config
}

/// Waits until every delivery is done, through a second handle on the queue file.
async fn settle(config: &Config) {
    let store = SqliteStore::open(&config.queue_path(), &SqliteOptions::from(&config.store))
        .expect("a second handle on the queue");
    support::queue::settle(&store).await;
}

/// Whether the bot acknowledged the note (the engine's first effect of running a command).
fn acknowledged(w: &World, iid: u64, note: u64) -> bool {
    w.fake
        .mr(GITOPS, iid)
        .notes
        .into_iter()
        .find(|n| n.id == note)
        .expect("note")
        .awards
        .iter()
        .any(|a| a.name == "eyes" && a.user_id == w.bot)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_is_recognised_by_the_id_gitlab_reports_not_by_the_configured_name() {
    let w = world();
    let config = config(&w, TOKEN);
    let service = ferry::service::start(&config).await.expect("starts");
    let url = format!("http://{}/webhooks/gitlab", service.local_addr());

    w.fixture.push_branch(
        "notes",
        &[("NOTES.md", b"incident notes\n")],
        "Incident notes",
    );
    let iid = w
        .fake
        .open_mr_from_branch(GITOPS, w.person, "notes", "main", "Incident notes");

    // Written by the bot's account: a command-looking line in its own comment must not run.
    let own = w.fake.add_note(GITOPS, iid, w.bot, "/ferry status", false);
    let hook = note_from(&w.fake, GITOPS, iid, own, false);
    assert_eq!(hook["user"]["username"], "ferry-renamed");
    assert_eq!(post(&url, SECRET, NOTE_HOOK, &hook).await, 202);
    settle(&config).await;
    assert!(
        !acknowledged(&w, iid, own),
        "the bot's own comment ran as a command"
    );

    // Written by the person who now holds the configured name: a command like any other.
    let theirs = w
        .fake
        .add_note(GITOPS, iid, w.person, "/ferry status", false);
    let hook = note_from(&w.fake, GITOPS, iid, theirs, false);
    assert_eq!(hook["user"]["username"], "ferry-bot");
    assert_eq!(post(&url, SECRET, NOTE_HOOK, &hook).await, 202);
    settle(&config).await;
    assert!(
        acknowledged(&w, iid, theirs),
        "the person's command did not run: {:#?}",
        w.fake.mr(GITOPS, iid).notes
    );
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forge_that_cannot_answer_at_start_leaves_the_configured_name() {
    let w = world();
    let config = config(&w, "glpat-revoked");
    // The token is refused: the service still starts, matching the bot by name.
    let service = ferry::service::start(&config).await.expect("starts anyway");
    let health = reqwest::get(format!("http://{}/healthz", service.local_addr()))
        .await
        .expect("answers");
    assert!(health.status().is_success());
    service.shutdown().await;

    let forge = GitLabForge::new(GitLabConfig {
        base_url: w.fake.base_url.clone(),
        token: SecretString::from("glpat-revoked"),
        policy: HttpPolicy::default(),
    })
    .expect("adapter");
    let configured = BotIdentity {
        user_id: None,
        username: "ferry-bot".into(),
    };
    assert_eq!(
        ferry::forge::bot_identity(&forge, configured.clone()).await,
        configured
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_id_is_used_without_asking() {
    let w = world();
    let forge = GitLabForge::new(GitLabConfig {
        base_url: w.fake.base_url.clone(),
        token: SecretString::from(TOKEN),
        policy: HttpPolicy::default(),
    })
    .expect("adapter");
    let configured = BotIdentity {
        user_id: Some(UserId(4242)),
        username: "ferry-bot".into(),
    };
    assert_eq!(
        ferry::forge::bot_identity(&forge, configured.clone()).await,
        configured
    );
    let asked = BotIdentity {
        user_id: None,
        username: "ferry-bot".into(),
    };
    assert_eq!(
        ferry::forge::bot_identity(&forge, asked).await,
        BotIdentity {
            user_id: Some(UserId(w.bot)),
            username: "ferry-renamed".into(),
        }
    );
    let user_requests = w
        .fake
        .requests()
        .into_iter()
        .filter(|seen| seen.path == "/api/v4/user")
        .count();
    assert_eq!(user_requests, 1, "only the second call asked GitLab");
}
