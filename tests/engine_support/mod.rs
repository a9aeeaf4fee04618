//! The engine end to end on GitLab, for the engine's integration tests: the real server and
//! its durable queue, the real GitLab adapter talking to the in-memory GitLab over HTTP, and
//! a real bare GitOps repository the fake merges into. Test binaries using it also declare
//! `mod git_support;` and `mod support;`.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use ferry::domain::{CommitSha, MrIid, ProjectPath};
use ferry::engine::{CsrSettings, Engine};
use ferry::forge::{Forge, GitLabConfig, GitLabForge, MergeOptions, MergeOutcome};
use ferry::store::Store;
use secrecy::SecretString;
use serde_json::Value;

use crate::git_support::{self, Fixture};
use crate::support::fake_gitlab::FakeGitLab;
use crate::support::gitlab_hooks::{Who, event_of, post};
use crate::support::service;

pub const GITOPS: &str = "eap/gitops";
pub const SECRET: &str = "hook-secret";
pub const TOKEN: &str = "glpat-ferry";

pub struct World {
    pub fixture: Fixture,
    pub fake: FakeGitLab,
    pub store: Arc<dyn Store>,
    pub url: String,
    pub bot: u64,
    pub alice: u64,
    pub bob: u64,
    pub carol: u64,
    pub dave: u64,
    /// The engine the server runs, for what no webhook starts (certificate renewals).
    pub engine: Arc<Engine>,
    _running: ferry::server::Running,
}

/// The shipped example without its freeze window (so the outcome does not depend on the day
/// the tests run), plus whatever `extra` writes into the seed.
pub fn gitops_repo(extra: impl FnOnce(&Path)) -> Fixture {
    Fixture::with(|seed| {
        git_support::copy_dir(Path::new(git_support::TEMPLATE), seed);
        let path = seed.join("policies/promotion.yaml");
        let policy = std::fs::read_to_string(&path).expect("policy");
        let without_freeze: String = policy
            .lines()
            .filter(|line| !line.contains("freeze:") && !line.contains("days: [fri"))
            .map(|line| format!("{line}\n"))
            .collect();
        std::fs::write(&path, without_freeze).expect("write policy");
        extra(seed);
    })
}

/// The real GitLab adapter acting with `token` on the fake.
pub fn adapter(fake: &FakeGitLab, token: &str) -> GitLabForge {
    GitLabForge::new(GitLabConfig {
        base_url: fake.base_url.clone(),
        token: SecretString::from(token.to_owned()),
        policy: service::http_policy(),
    })
    .expect("adapter")
}

pub async fn world(fixture: Fixture, csr: CsrSettings) -> World {
    let fake = FakeGitLab::start().await;
    let bot = fake.add_user("ferry-bot");
    let alice = fake.add_user("alice");
    let bob = fake.add_user("bob");
    let carol = fake.add_user("carol");
    let dave = fake.add_user("dave");
    fake.add_token(TOKEN, bot);
    for (user, name) in [(alice, "alice"), (bob, "bob"), (carol, "carol")] {
        fake.add_token(&format!("glpat-{name}"), user);
    }
    fake.add_project(GITOPS);
    fake.attach_repo(GITOPS, &fixture.remote);
    for (user, level) in [(alice, 30), (bob, 30), (carol, 40), (dave, 10), (bot, 40)] {
        fake.add_member(GITOPS, user, level);
    }
    fake.add_group_member("sre", bob, 30);
    fake.add_group_member("sre", carol, 30);
    fake.add_group_member("platform", alice, 30);

    let forge: Arc<dyn Forge> = Arc::new(adapter(&fake, TOKEN));
    let mut config = service::config(&fixture.dir.path().join("ferry"));
    config.forges.gitlab.enabled = true;
    config.forges.gitlab.secrets = vec![SecretString::from(SECRET.to_owned())];
    let store = service::store(&config);
    let engine = Arc::new(service::engine(
        GITOPS,
        &fixture.remote,
        &config,
        forge,
        &store,
        bot,
        csr,
    ));
    let handler: Arc<dyn ferry::worker::Handler> = engine.clone();
    let running = ferry::server::start(&config, Arc::clone(&store), handler)
        .await
        .expect("server");
    let url = format!("http://{}/webhooks/gitlab", running.local_addr());
    World {
        fixture,
        fake,
        store,
        url,
        bot,
        alice,
        bob,
        carol,
        dave,
        engine,
        _running: running,
    }
}

impl World {
    pub async fn post(&self, hook: &Value) {
        assert_eq!(post(&self.url, SECRET, event_of(hook), hook).await, 202);
        self.settle().await;
    }

    /// Waits until the queue has nothing pending or running, and fails on any delivery that
    /// failed or went to the dead letters.
    pub async fn settle(&self) {
        crate::support::queue::settle(self.store.as_ref()).await;
    }

    pub fn who(&self, id: u64) -> Who {
        Who::from_fake(&self.fake, id)
    }

    /// The bot's status comments on a merge request (there must be exactly one).
    pub fn status_comment(&self, iid: u64) -> String {
        let mr = self.fake.mr(GITOPS, iid);
        let mine: Vec<_> = mr
            .notes
            .iter()
            .filter(|n| n.author_id == self.bot && n.body.contains("<!-- ferry:status -->"))
            .collect();
        assert_eq!(mine.len(), 1, "one status comment: {:#?}", mr.notes);
        mine[0].body.clone()
    }

    pub fn status(&self, sha: &str, context: &str) -> Option<String> {
        self.fake
            .statuses(GITOPS, sha)
            .into_iter()
            .rfind(|s| s.name == context)
            .map(|s| s.state)
    }

    pub fn promotion_mrs(&self, branch: &str) -> Vec<crate::support::fake_gitlab::MergeRequest> {
        self.fake
            .mrs(GITOPS)
            .into_iter()
            .filter(|mr| mr.source_branch == branch)
            .collect()
    }

    pub fn only_mr(&self, branch: &str) -> crate::support::fake_gitlab::MergeRequest {
        let mrs = self.promotion_mrs(branch);
        assert_eq!(mrs.len(), 1, "one merge request from {branch}: {mrs:#?}");
        mrs.into_iter().next().expect("one")
    }

    pub async fn comment(&self, iid: u64, author: u64, body: &str) -> u64 {
        let note = self.fake.add_note(GITOPS, iid, author, body, false);
        self.post(&crate::support::gitlab_hooks::note_from(
            &self.fake, GITOPS, iid, note, false,
        ))
        .await;
        note
    }

    pub fn overlay(&self, service: &str, environment: &str) -> String {
        self.fixture.show(
            "main",
            &format!("apps/{service}/overlays/{environment}/kustomization.yaml"),
        )
    }

    /// Merges merge request `iid` through the GitLab API as the user whose token is `token`
    /// (a person pressing "Merge"), at its current head.
    pub async fn merge_as(&self, token: &str, iid: u64) {
        let sha = self.fake.mr(GITOPS, iid).sha;
        let outcome = adapter(&self.fake, token)
            .merge(
                &ProjectPath::parse(GITOPS).expect("path"),
                MrIid(iid),
                &MergeOptions {
                    sha: CommitSha::parse(&sha).expect("sha"),
                    when_pipeline_succeeds: false,
                    commit_message: None,
                    remove_source_branch: false,
                },
            )
            .await
            .expect("merge");
        assert!(
            matches!(outcome, MergeOutcome::Merged { .. }),
            "{outcome:?}"
        );
    }
}
