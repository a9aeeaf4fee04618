//! The promotion workflow end to end on GitHub: webhooks signed with `X-Hub-Signature-256`
//! posted to the real server, the engine behind its durable queue, the real GitHub adapter
//! (octocrab) talking to the in-memory GitHub over HTTP, and a real bare GitOps repository
//! that Ferry pushes to and the fake merges into.
//!
//! GitHub has no REST auto-merge, so these tests are where "Ferry merges only once the
//! checks on the head passed" is proved: by check suites and commit statuses from CI.

#[allow(dead_code)]
mod git_support;
#[allow(dead_code)]
mod support;

use std::sync::Arc;

use ferry::forge::{Forge, GitHubConfig, GitHubForge};
use ferry::store::{ListFilter, Store};
use git_support::{Fixture, git};
use secrecy::SecretString;
use support::fake_github::{FakeGitHub, Pull};
use support::github_hooks::*;
use support::service;

const GITOPS: &str = "eap/gitops";
const APP: &str = "eap/website";
const SECRET: &str = "hook-secret";
const TOKEN: &str = "ghp_ferry";
const CI: &str = "github-actions";

struct World {
    fixture: Fixture,
    fake: FakeGitHub,
    store: Arc<dyn Store>,
    url: String,
    bot: u64,
    alice: u64,
    bob: u64,
    carol: u64,
    dave: u64,
    _running: ferry::server::Running,
}

async fn world() -> World {
    world_with(None).await
}

/// `require_pipeline`: `None` leaves the engine's default for GitHub.
async fn world_with(require_pipeline: Option<bool>) -> World {
    let fixture = Fixture::example_without_freeze();
    let fake = FakeGitHub::start().await;
    let bot = fake.add_user("ferry-bot");
    let alice = fake.add_user("alice");
    let bob = fake.add_user("bob");
    let carol = fake.add_user("carol");
    let dave = fake.add_user("dave");
    fake.add_token(TOKEN, bot);
    fake.add_repo(GITOPS);
    fake.attach_repo(GITOPS, &fixture.remote);
    for (user, role) in [
        (alice, "write"),
        (bob, "write"),
        (carol, "maintain"),
        (dave, "read"),
        (bot, "admin"),
    ] {
        fake.add_collaborator(GITOPS, user, role);
    }
    // The policy's `group:sre` is the team `sre` of the organisation owning the repository.
    fake.add_team_member("eap/sre", bob, "active");
    fake.add_team_member("eap/sre", carol, "active");
    // Invited but not yet accepted: not a member.
    fake.add_team_member("eap/sre", dave, "pending");
    fake.add_team_member("eap/platform", alice, "active");

    let forge: Arc<dyn Forge> = Arc::new(
        GitHubForge::new(GitHubConfig {
            api_url: fake.base_url.clone(),
            token: SecretString::from(TOKEN),
            policy: service::http_policy(),
        })
        .expect("adapter"),
    );
    let mut config = service::config(&fixture.dir.path().join("ferry"));
    config.forges.github.enabled = true;
    config.forges.github.secrets = vec![SecretString::from(SECRET.to_owned())];
    let store = service::store(&config);
    let mut engine = service::engine(
        GITOPS,
        &fixture.remote,
        &config,
        forge,
        &store,
        bot,
        Default::default(),
    );
    if let Some(require) = require_pipeline {
        engine = engine.require_pipeline(require);
    }
    let running = ferry::server::start(&config, Arc::clone(&store), Arc::new(engine))
        .await
        .expect("server");
    let url = format!("http://{}/webhooks/github", running.local_addr());
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
        _running: running,
    }
}

impl World {
    async fn post(&self, hook: &Hook) {
        assert_eq!(post(&self.url, SECRET, hook).await, 202, "{}", hook.event);
        self.settle().await;
    }

    /// Waits until the queue has nothing pending or running, and fails on any delivery that
    /// failed or went to the dead letters.
    async fn settle(&self) {
        support::queue::settle(self.store.as_ref()).await;
    }

    fn who(&self, id: u64) -> Who {
        Who::from_fake(&self.fake, id)
    }

    fn promotion_pulls(&self, branch: &str) -> Vec<Pull> {
        self.fake
            .pulls(GITOPS)
            .into_iter()
            .filter(|pull| pull.head_ref == branch)
            .collect()
    }

    fn only_pull(&self, branch: &str) -> Pull {
        let pulls = self.promotion_pulls(branch);
        assert_eq!(pulls.len(), 1, "one pull request from {branch}: {pulls:#?}");
        pulls.into_iter().next().expect("one")
    }

    /// The bot's status comment on a pull request (there must be exactly one).
    fn status_comment(&self, number: u64) -> String {
        let pull = self.fake.pull(GITOPS, number);
        let mine: Vec<_> = pull
            .comments
            .iter()
            .filter(|c| c.user_id == self.bot && c.body.contains("<!-- ferry:status -->"))
            .collect();
        assert_eq!(mine.len(), 1, "one status comment: {:#?}", pull.comments);
        mine[0].body.clone()
    }

    /// The latest state of status `context` on `sha`.
    fn status(&self, sha: &str, context: &str) -> Option<String> {
        self.fake
            .statuses(GITOPS, sha)
            .into_iter()
            .rfind(|s| s.context == context)
            .map(|s| s.state)
    }

    async fn comment(&self, number: u64, author: u64, body: &str) -> u64 {
        let id = self.fake.add_comment(GITOPS, number, author, body);
        self.post(&issue_comment_from(&self.fake, GITOPS, number, id, None))
            .await;
        id
    }

    /// CI reports on the head of pull request `number` with a check suite.
    async fn checks(&self, number: u64, conclusion: &str) -> u64 {
        let pull = self.fake.pull(GITOPS, number);
        let suite = self
            .fake
            .add_check_suite(GITOPS, &pull.head_sha, Some(&pull.head_ref), CI);
        self.fake.complete_check_suite(GITOPS, suite, conclusion);
        self.post(&check_suite_from(&self.fake, GITOPS, suite))
            .await;
        suite
    }

    fn overlay(&self, service: &str, environment: &str) -> String {
        self.fixture.show(
            "main",
            &format!("apps/{service}/overlays/{environment}/kustomization.yaml"),
        )
    }

    fn main_head_message(&self) -> (usize, String) {
        let out = git(
            &self.fixture.remote,
            &["log", "-1", "--format=%P%n%B", "main"],
        );
        let (parents, message) = out.split_once('\n').unwrap_or((&out, ""));
        (
            parents.split_whitespace().count(),
            message.trim().to_owned(),
        )
    }
}

fn sha(seed: &str) -> String {
    support::faults::fake_sha(seed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitflow_on_github_merges_only_after_checks_pass_and_the_gate_opens() {
    let w = world().await;
    let alice = w.who(w.alice);

    // develop -> integration: the pull request opens, but waits for CI on its head.
    let dev = sha("develop-1");
    w.post(&push_one(
        APP,
        "develop",
        &sha("develop-0"),
        &dev,
        &alice,
        &["site/index.html"],
    ))
    .await;
    let pull = w.only_pull("ferry/integration/web");
    assert_eq!(pull.state, "open", "{pull:#?}");
    assert_eq!(
        pull.title,
        format!("Promote web to integration: develop.{}", &dev[..7])
    );
    assert!(
        pull.labels.contains(&"ferry".to_owned())
            && pull.labels.contains(&"environment::integration".to_owned()),
        "{:?}",
        pull.labels
    );
    assert_eq!(pull.user_id, w.bot);
    assert_eq!(
        w.status(&pull.head_sha, "ferry/policy").as_deref(),
        Some("success")
    );
    assert_eq!(
        w.status(&pull.head_sha, "ferry/gate").as_deref(),
        Some("pending")
    );
    let waiting = w.status_comment(pull.number);
    assert!(
        waiting.contains(&format!(
            "the checks on {} have not passed yet",
            &pull.head_sha[..7]
        )),
        "{waiting}"
    );
    assert!(
        !w.overlay("web", "integration")
            .contains(&format!("develop.{}", &dev[..7]))
    );

    // GitHub echoes Ferry's own statuses as `status` webhooks: they are not CI.
    let own = w
        .fake
        .statuses(GITOPS, &pull.head_sha)
        .into_iter()
        .rfind(|s| s.context == "ferry/policy")
        .expect("ferry/policy");
    let requests = w.fake.requests().len();
    w.post(&status_from(&w.fake, GITOPS, own.id)).await;
    assert_eq!(w.fake.pull(GITOPS, pull.number).state, "open");
    assert_eq!(
        w.fake.requests().len(),
        requests,
        "Ferry's own status triggers nothing"
    );

    // A failing check suite keeps it open and says so.
    let suite = w.checks(pull.number, "failure").await;
    assert_eq!(w.fake.pull(GITOPS, pull.number).state, "open");
    let failed = w.status_comment(pull.number);
    assert!(
        failed.contains(&format!(
            "the checks on {} failed ({CI})",
            &pull.head_sha[..7]
        )),
        "{failed}"
    );

    // Re-run and green: Ferry merges, a real merge commit with GitHub's message.
    w.fake.complete_check_suite(GITOPS, suite, "success");
    w.post(&check_suite_from(&w.fake, GITOPS, suite)).await;
    let merged = w.fake.pull(GITOPS, pull.number);
    assert!(
        merged.merged && merged.state == "closed",
        "{}",
        w.status_comment(pull.number)
    );
    assert_eq!(merged.merged_by, Some(w.bot));
    assert_eq!(
        w.status(&pull.head_sha, "ferry/gate").as_deref(),
        Some("success")
    );
    assert!(
        w.status_comment(pull.number)
            .contains("Ferry merged this merge request")
    );
    let (parents, message) = w.main_head_message();
    assert_eq!(parents, 2, "a merge commit: {message}");
    assert!(
        message.starts_with(&format!(
            "Merge pull request #{} from eap/ferry/integration/web",
            pull.number
        )),
        "{message}"
    );
    assert_eq!(merged.merge_commit_sha, Some(w.fixture.rev("main")));
    assert!(
        w.overlay("web", "integration")
            .contains(&format!("newTag: develop.{}", &dev[..7]))
    );
    assert!(
        git(&w.fixture.remote, &["branch", "--list", "ferry/*"])
            .trim()
            .is_empty(),
        "the promotion branch is deleted"
    );
    // GitHub then tells Ferry about the merge; integration has no `next`, so nothing opens.
    w.post(&pull_request_from(
        &w.fake,
        GITOPS,
        pull.number,
        &PrAction::Closed,
        &w.who(w.bot),
    ))
    .await;
    assert_eq!(w.fake.pulls(GITOPS).len(), 1);

    // release-1.0.0 -> staging; this CI reports with a commit status, which names the
    // branch, not the pull request.
    let release = sha("release-1");
    w.post(&push_one(
        APP,
        "release-1.0.0",
        ZERO_SHA,
        &release,
        &alice,
        &["site/index.html"],
    ))
    .await;
    let staging = w.only_pull("ferry/staging/web");
    assert_eq!(staging.state, "open");
    let ci = w.fake.add_user("jenkins");
    let status = w
        .fake
        .add_status(GITOPS, &staging.head_sha, "ci/jenkins", "success", ci);
    w.post(&status_from(&w.fake, GITOPS, status)).await;
    assert!(
        w.fake.pull(GITOPS, staging.number).merged,
        "{}",
        w.status_comment(staging.number)
    );
    assert!(
        w.overlay("web", "staging")
            .contains(&format!("newTag: release-1.0.0.{}", &release[..7]))
    );

    // v1.0.0 on the release commit -> production, waiting at its gate. GitHub sends `create`
    // and `push` for a new tag; each twice (new deliveries), and one redelivered.
    let create = create_tag(APP, "v1.0.0", &alice);
    let tag = tag_push(APP, "v1.0.0", &release, &alice);
    w.post(&create).await;
    w.post(&tag).await;
    w.post(&tag).await;
    assert_eq!(
        post_with_delivery(&w.url, SECRET, &tag, "redelivered-tag").await,
        202
    );
    assert_eq!(
        post_with_delivery(&w.url, SECRET, &tag, "redelivered-tag").await,
        200,
        "a redelivery with the same GUID is a duplicate"
    );
    w.settle().await;
    let production = w.only_pull("ferry/production/web");
    assert_eq!(production.state, "open");
    assert_eq!(production.title, "Promote web to production: v1.0.0");
    assert!(production.body.contains("| web | production | `registry.example.com/eap/website:v0.9.0` | `registry.example.com/eap/website:v1.0.0` |"), "{}", production.body);
    let commit = format!("{}/{APP}/commit/{release}", w.fake.base_url);
    assert!(
        production.body.contains(&format!(
            "Source: `{APP}` v1.0.0 [`{}`]({commit}) ([pipelines]({commit}/checks))",
            &release[..7]
        )),
        "the source commit and its checks are linked: {}",
        production.body
    );
    assert_eq!(
        w.status(&production.head_sha, "ferry/gate").as_deref(),
        Some("pending")
    );
    assert_eq!(
        w.status(&production.head_sha, "ferry/policy").as_deref(),
        Some("success")
    );
    let comment = w.status_comment(production.number);
    assert!(
        comment.contains("production needs 2 approval(s) from group:sre, user:1042; it has 0"),
        "{comment}"
    );

    // Green checks alone do not open a manual gate.
    w.checks(production.number, "success").await;
    assert_eq!(w.fake.pull(GITOPS, production.number).state, "open");
    let comment = w.status_comment(production.number);
    assert!(!comment.contains("the checks on"), "{comment}");

    // A reader, with only a pending invitation to the team, may not approve.
    w.comment(production.number, w.dave, "/ferry approve").await;
    let comment = w.status_comment(production.number);
    assert!(
        comment.contains(
            "@dave may not approve promotions to this environment; ask group:sre, user:1042"
        ),
        "{comment}"
    );
    // One approver of two; the comment is acknowledged with a reaction. Its webhook comes
    // twice: the command runs once.
    let id = w.comment(production.number, w.bob, "/ferry approve").await;
    w.post(&issue_comment_from(
        &w.fake,
        GITOPS,
        production.number,
        id,
        None,
    ))
    .await;
    let pull = w.fake.pull(GITOPS, production.number);
    assert_eq!(pull.state, "open");
    assert!(w.status_comment(production.number).contains("it has 1"));
    let reactions = &pull
        .comments
        .iter()
        .find(|c| c.id == id)
        .expect("comment")
        .reactions;
    assert!(
        reactions
            .iter()
            .any(|r| r.content == "eyes" && r.user_id == w.bot),
        "acknowledged: {reactions:?}"
    );
    // The second approval (a team member, by GitHub's teams API) opens the gate: merged.
    w.comment(production.number, w.carol, "/ferry approve")
        .await;
    let merged = w.fake.pull(GITOPS, production.number);
    assert!(merged.merged, "{}", w.status_comment(production.number));
    assert!(w.overlay("web", "production").contains("newTag: v1.0.0"));
    assert_eq!(
        w.only_pull("ferry/production/web").number,
        production.number
    );
    w.status_comment(production.number);
    let (parents, message) = w.main_head_message();
    assert_eq!(parents, 2);
    assert!(
        message.starts_with(&format!(
            "Merge pull request #{} from eap/ferry/production/web",
            production.number
        )),
        "{message}"
    );

    // The audit trail on main has the three promotions with their provenance.
    let trailers = git(
        &w.fixture.remote,
        &[
            "log",
            "--format=%(trailers:key=Ferry-Source,valueonly)",
            "main",
        ],
    );
    for source in [
        format!("eap/website refs/tags/v1.0.0 {release}"),
        format!("eap/website refs/heads/release-1.0.0 {release}"),
        format!("eap/website refs/heads/develop {dev}"),
    ] {
        assert!(trailers.contains(&source), "{source} in {trailers}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_reviews_count_and_a_superseded_head_needs_new_checks_and_approvals() {
    let w = world().await;
    let release = sha("release-2");
    let alice = w.who(w.alice);
    w.post(&push_one(
        APP,
        "release-2.0.0",
        ZERO_SHA,
        &release,
        &alice,
        &["x"],
    ))
    .await;
    let staging = w.only_pull("ferry/staging/web");
    w.checks(staging.number, "success").await;
    assert!(w.fake.pull(GITOPS, staging.number).merged);
    w.post(&tag_push(APP, "v2.0.0", &release, &alice)).await;
    let production = w.only_pull("ferry/production/web");
    w.checks(production.number, "success").await;

    // An approving review on GitHub by a team member counts like `/ferry approve`.
    w.fake.review(GITOPS, production.number, w.bob, "APPROVED");
    let review = w.fake.pull(GITOPS, production.number).reviews[0].id;
    w.post(&review_from(&w.fake, GITOPS, production.number, review))
        .await;
    assert!(
        w.status_comment(production.number).contains("it has 1"),
        "{}",
        w.status_comment(production.number)
    );

    // A new tag supersedes the promotion on the same pull request: the review and the
    // checks were for the old head and no longer count.
    w.post(&tag_push(APP, "v2.0.1", &release, &alice)).await;
    let superseded = w.only_pull("ferry/production/web");
    assert_eq!(superseded.number, production.number);
    assert_eq!(superseded.title, "Promote web to production: v2.0.1");
    assert_ne!(superseded.head_sha, production.head_sha);
    let comment = w.status_comment(production.number);
    assert!(comment.contains("it has 0"), "{comment}");
    assert!(
        comment.contains(&format!(
            "the checks on {} have not passed yet",
            &superseded.head_sha[..7]
        )),
        "{comment}"
    );

    // Both approvals, but no checks on this head yet: still waiting, for the checks only.
    w.comment(production.number, w.bob, "/ferry approve").await;
    w.comment(production.number, w.carol, "/ferry approve")
        .await;
    assert_eq!(w.fake.pull(GITOPS, production.number).state, "open");
    let comment = w.status_comment(production.number);
    assert!(!comment.contains("approval(s)"), "{comment}");
    assert!(comment.contains("have not passed yet"), "{comment}");
    assert_eq!(
        w.status(&superseded.head_sha, "ferry/gate").as_deref(),
        Some("pending")
    );

    // The checks pass: merged.
    w.checks(production.number, "success").await;
    assert!(
        w.fake.pull(GITOPS, production.number).merged,
        "{}",
        w.status_comment(production.number)
    );
    assert!(w.overlay("web", "production").contains("newTag: v2.0.1"));
    let _ = w.dave;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_required_checks_ferry_merges_at_once() {
    // A GitOps repository with no CI at all: the operator turns the wait off.
    let w = world_with(Some(false)).await;
    let dev = sha("develop-nocheck");
    w.post(&push_one(
        APP,
        "develop",
        ZERO_SHA,
        &dev,
        &w.who(w.alice),
        &["site/a.html"],
    ))
    .await;
    let pull = w.only_pull("ferry/integration/web");
    assert!(pull.merged, "{}", w.status_comment(pull.number));
    assert!(
        w.overlay("web", "integration")
            .contains(&format!("newTag: develop.{}", &dev[..7]))
    );
    let _ = (w.bob, w.carol, w.dave);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_missing_signature_gets_401_and_nothing_is_queued() {
    let w = world().await;
    let hook = push_one(
        APP,
        "develop",
        ZERO_SHA,
        &sha("forged"),
        &w.who(w.alice),
        &["a"],
    );
    let body = serde_json::to_vec(&hook.body).expect("body");
    let forged = signature("not-the-secret", &body);
    assert_eq!(
        post_raw(&w.url, "push", body.clone(), Some(&forged), &new_delivery()).await,
        401
    );
    assert_eq!(
        post_raw(&w.url, "push", body.clone(), None, &new_delivery()).await,
        401
    );
    // Signed, then changed after signing.
    let good = signature(SECRET, &body);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert_eq!(
        post_raw(&w.url, "push", tampered, Some(&good), &new_delivery()).await,
        401
    );
    let queued = w
        .store
        .list(ListFilter {
            states: vec![],
            limit: 10,
        })
        .await
        .expect("list");
    assert!(queued.is_empty(), "{queued:#?}");
    assert!(w.fake.pulls(GITOPS).is_empty());
    // The same bytes, signed right, are taken.
    assert_eq!(
        post_raw(&w.url, "push", body, Some(&good), &new_delivery()).await,
        202
    );
    w.settle().await;
    assert_eq!(w.promotion_pulls("ferry/integration/web").len(), 1);
}
