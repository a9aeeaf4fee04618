//! `ferry serve` as it is deployed: the real binary, configured only by environment
//! variables, runs the promotion workflow against GitLab (the in-memory fake over HTTP) and
//! a real GitOps repository.

#[allow(dead_code)]
mod git_support;
#[allow(dead_code)]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use git_support::Fixture;
use support::fake_gitlab::FakeGitLab;
use support::gitlab_hooks::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_promotes_a_develop_push_through_a_merge_request() {
    let fixture = Fixture::example_without_freeze();
    let fake = FakeGitLab::start().await;
    let bot = fake.add_user("ferry-bot");
    let alice = fake.add_user("alice");
    fake.add_token("glpat-serve", bot);
    fake.add_project("eap/gitops");
    fake.attach_repo("eap/gitops", &fixture.remote);
    fake.add_member("eap/gitops", bot, 40);

    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("ferry"))
        .arg("serve")
        .env("FERRY_SERVER__LISTEN", "127.0.0.1:0")
        .env("FERRY_STORE__DATA_DIR", fixture.dir.path().join("data"))
        .env("FERRY_WORKERS__POLL_INTERVAL_MS", "20")
        .env("FERRY_FORGES__GITLAB__ENABLED", "true")
        .env("FERRY_FORGES__GITLAB__SECRET", "hook-secret")
        .env("FERRY_FORGES__GITLAB__BOT_USERNAME", "ferry-bot")
        .env("FERRY_GITOPS__PROJECT", "eap/gitops")
        .env("FERRY_GITOPS__REMOTE", &fixture.remote)
        .env("FERRY_GITOPS__GITLAB_URL", &fake.base_url)
        .env("FERRY_GITOPS__TOKEN", "glpat-serve")
        .env_remove("FERRY_CONFIG")
        .stderr(Stdio::piped())
        .spawn()
        .expect("ferry serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let address = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            line.strip_prefix("ferry serve: listening on ")
                .map(str::to_owned)
        })
        .expect("the server listens");
    std::thread::spawn(move || {
        lines
            .map_while(Result::ok)
            .for_each(|line| eprintln!("server: {line}"))
    });

    let sha = support::faults::fake_sha("develop-serve");
    let hook = push_one(
        "eap/website",
        "develop",
        ZERO_SHA,
        &sha,
        &Who::from_fake(&fake, alice),
        &["index.html"],
    );
    assert_eq!(
        post(
            &format!("{address}/webhooks/gitlab"),
            "hook-secret",
            PUSH_HOOK,
            &hook
        )
        .await,
        202
    );

    let mut merged = false;
    for _ in 0..600 {
        if fake
            .mrs("eap/gitops")
            .iter()
            .any(|mr| mr.source_branch == "ferry/integration/web" && mr.state == "merged")
        {
            merged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    assert!(merged, "no merged promotion: {:#?}", fake.mrs("eap/gitops"));
    let overlay = fixture.show("main", "apps/web/overlays/integration/kustomization.yaml");
    assert!(
        overlay.contains(&format!("newTag: develop.{}", &sha[..7])),
        "{overlay}"
    );
}
