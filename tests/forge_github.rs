//! The GitHub adapter (octocrab underneath) against the in-memory GitHub served over HTTP:
//! every operation, the SHA guard, own-comment editing, and GitHub's rate-limit signals.

#[allow(dead_code)]
mod support;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::Method;
use ferry::domain::{CommitSha, MrIid, ProjectPath, UserId};
use ferry::forge::*;
use secrecy::SecretString;
use support::fake_github::{FakeGitHub, File};
use support::faults::{Fault, fake_sha};

const REPO: &str = "eap/gitops";
const TOKEN: &str = "ghp_testtoken";

struct World {
    fake: FakeGitHub,
    forge: Arc<dyn Forge>,
    bot: u64,
    alice: u64,
    bob: u64,
}

fn fast_policy() -> HttpPolicy {
    HttpPolicy {
        max_attempts: 3,
        request_timeout: Duration::from_millis(400),
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        max_rate_limit_wait: Duration::from_secs(5),
        requests_per_second: NonZeroU32::new(1000).unwrap(),
        burst: NonZeroU32::new(1000).unwrap(),
    }
}

async fn world() -> World {
    let fake = FakeGitHub::start().await;
    let bot = fake.add_user("ferry-bot");
    let alice = fake.add_user("alice");
    let bob = fake.add_user("bob");
    fake.add_token(TOKEN, bot);
    fake.add_repo(REPO);
    let forge = GitHubForge::new(GitHubConfig {
        api_url: fake.base_url.clone(),
        token: SecretString::from(TOKEN),
        policy: fast_policy(),
    })
    .unwrap();
    World {
        fake,
        forge: Arc::new(forge),
        bot,
        alice,
        bob,
    }
}

fn project() -> ProjectPath {
    ProjectPath::parse(REPO).unwrap()
}

fn sha(seed: &str) -> CommitSha {
    CommitSha::parse(&fake_sha(seed)).unwrap()
}

fn promotion(branch: &str) -> NewMergeRequest {
    NewMergeRequest {
        source_branch: branch.into(),
        target_branch: "main".into(),
        title: "Promote web to production: v1.0.0".into(),
        body: "| service | environment |\n|---|---|\n| web | production |".into(),
        labels: vec!["ferry".into(), "environment::production".into()],
    }
}

#[tokio::test]
async fn pull_requests_are_created_found_updated_and_closed() {
    let w = world().await;
    let head = fake_sha("head");
    w.fake.set_branch(REPO, "ferry/production/web", &head);
    let created = w
        .forge
        .create_merge_request(&project(), &promotion("ferry/production/web"))
        .await
        .unwrap();
    assert_eq!(created.author, UserId(w.bot));
    assert_eq!(created.labels, ["ferry", "environment::production"]);
    assert_eq!(
        created.head_sha.as_ref().map(CommitSha::as_str),
        Some(head.as_str())
    );
    let stored = w.fake.pull(REPO, created.iid.0);
    assert_eq!(stored.labels, ["ferry", "environment::production"]);
    assert_eq!(
        (stored.head_ref.as_str(), stored.base_ref.as_str()),
        ("ferry/production/web", "main")
    );

    let found = w
        .forge
        .find_open_merge_request(&project(), "ferry/production/web")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.iid, created.iid);
    assert!(
        w.forge
            .find_open_merge_request(&project(), "ferry/staging/web")
            .await
            .unwrap()
            .is_none()
    );

    let duplicate = w
        .forge
        .create_merge_request(&project(), &promotion("ferry/production/web"))
        .await
        .unwrap_err();
    assert!(
        matches!(duplicate, ForgeError::Conflict { .. }),
        "{duplicate}"
    );

    let updated = w
        .forge
        .update_merge_request(
            &project(),
            created.iid,
            &MrUpdate {
                title: None,
                body: Some("superseded body".into()),
                labels: Some(vec!["ferry".into()]),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.body, "superseded body");
    assert_eq!(updated.labels, ["ferry"]);
    assert_eq!(updated.title, "Promote web to production: v1.0.0");

    let closed = w
        .forge
        .close_merge_request(&project(), created.iid)
        .await
        .unwrap();
    assert_eq!(closed.state, MrState::Closed);
    assert_eq!(w.fake.pull(REPO, created.iid.0).state, "closed");
}

#[tokio::test]
async fn changed_files_follow_link_pages() {
    let w = world().await;
    let number = w
        .fake
        .open_pull(REPO, w.alice, "feature", "main", &fake_sha("f"));
    let mut files: Vec<File> = (0..230)
        .map(|i| File {
            filename: format!("apps/app{i}/kustomization.yaml"),
            status: "modified".into(),
            previous_filename: None,
        })
        .collect();
    files.push(File {
        filename: "policies/new.yaml".into(),
        status: "renamed".into(),
        previous_filename: Some("policies/old.yaml".into()),
    });
    files.push(File {
        filename: "csr/old.csr".into(),
        status: "removed".into(),
        previous_filename: None,
    });
    w.fake.set_files(REPO, number, files);
    let changed = w
        .forge
        .changed_files(&project(), MrIid(number))
        .await
        .unwrap();
    assert_eq!(changed.len(), 232);
    assert_eq!(changed[230].change, FileChange::Renamed);
    assert_eq!(
        changed[230].previous_path.as_deref(),
        Some("policies/old.yaml")
    );
    assert_eq!(changed[231].change, FileChange::Deleted);
    assert_eq!(
        w.fake.faults.count(Method::GET, "/repos/*/*/pulls/*/files"),
        3
    );
}

#[tokio::test]
async fn own_comment_is_edited_in_place() {
    let w = world().await;
    let iid = MrIid(
        w.fake
            .open_pull(REPO, w.alice, "feature", "main", &fake_sha("c")),
    );
    w.fake
        .add_comment(REPO, iid.0, w.alice, "I copied <!-- ferry:status --> here");
    for body in ["Policy: passes", "Policy: passes", "Policy: 2 violations"] {
        upsert_own_comment(w.forge.as_ref(), &project(), iid, "status", body)
            .await
            .unwrap();
    }
    let comments = w.fake.pull(REPO, iid.0).comments;
    let mine: Vec<_> = comments.iter().filter(|c| c.user_id == w.bot).collect();
    assert_eq!(mine.len(), 1);
    assert!(mine[0].body.starts_with("Policy: 2 violations"));
    assert_eq!(
        w.fake
            .faults
            .count(Method::PATCH, "/repos/*/*/issues/comments/*"),
        1,
        "unchanged text is not rewritten"
    );
    assert_eq!(comments[0].body, "I copied <!-- ferry:status --> here");
}

#[tokio::test]
async fn reactions_are_added_once() {
    let w = world().await;
    let iid = MrIid(
        w.fake
            .open_pull(REPO, w.alice, "feature", "main", &fake_sha("r")),
    );
    let comment = CommentId(w.fake.add_comment(REPO, iid.0, w.alice, "/ferry approve"));
    for _ in 0..2 {
        w.forge
            .react(&project(), iid, comment, Reaction::ThumbsUp)
            .await
            .unwrap();
    }
    let reactions = &w.fake.pull(REPO, iid.0).comments[0].reactions;
    assert_eq!(reactions.len(), 1);
    assert_eq!(
        (reactions[0].content.as_str(), reactions[0].user_id),
        ("+1", w.bot)
    );
}

#[tokio::test]
async fn approvals_are_the_latest_deciding_review_per_user() {
    let w = world().await;
    let iid = MrIid(
        w.fake
            .open_pull(REPO, w.alice, "feature", "main", &fake_sha("a")),
    );
    w.fake.review(REPO, iid.0, w.alice, "APPROVED");
    w.fake.review(REPO, iid.0, w.alice, "COMMENTED");
    w.fake.review(REPO, iid.0, w.bob, "APPROVED");
    w.fake.review(REPO, iid.0, w.bob, "CHANGES_REQUESTED");
    let approvals = w.forge.approvals(&project(), iid).await.unwrap();
    assert_eq!(approvals.len(), 1, "{approvals:?}");
    assert_eq!(approvals[0].user, UserId(w.alice));
    assert_eq!(approvals[0].commit, Some(sha("a")));
    w.fake.review(REPO, iid.0, w.bob, "APPROVED");
    let users: Vec<_> = w
        .forge
        .approvals(&project(), iid)
        .await
        .unwrap()
        .iter()
        .map(|a| a.user)
        .collect();
    assert_eq!(users, [UserId(w.alice), UserId(w.bob)]);
}

#[tokio::test]
async fn merge_is_guarded_by_the_head_sha() {
    let w = world().await;
    let head = sha("head");
    let iid = MrIid(
        w.fake
            .open_pull(REPO, w.alice, "ferry/production/web", "main", head.as_str()),
    );
    let options = |sha: &CommitSha| MergeOptions {
        sha: sha.clone(),
        when_pipeline_succeeds: true,
        commit_message: Some("Promote web to production\n\nFerry-Promotion: web production".into()),
        remove_source_branch: true,
    };
    let stale = w
        .forge
        .merge(&project(), iid, &options(&sha("older")))
        .await
        .unwrap();
    assert_eq!(stale, MergeOutcome::ShaMismatch);
    assert!(!w.fake.pull(REPO, iid.0).merged);

    w.fake.set_mergeable(REPO, iid.0, false);
    let blocked = w
        .forge
        .merge(&project(), iid, &options(&head))
        .await
        .unwrap();
    assert!(
        matches!(blocked, MergeOutcome::NotMergeable { .. }),
        "{blocked:?}"
    );

    w.fake.set_mergeable(REPO, iid.0, true);
    let merged = w
        .forge
        .merge(&project(), iid, &options(&head))
        .await
        .unwrap();
    let stored = w.fake.pull(REPO, iid.0);
    assert!(stored.merged);
    assert_eq!(
        merged,
        MergeOutcome::Merged {
            merge_commit: stored
                .merge_commit_sha
                .as_deref()
                .map(|s| CommitSha::parse(s).unwrap())
        }
    );
    assert_eq!(
        w.fake.deleted_branches(),
        [(REPO.to_owned(), "ferry/production/web".to_owned())]
    );
}

#[tokio::test]
async fn statuses_are_set_per_context() {
    let w = world().await;
    let head = sha("status");
    let iid = MrIid(
        w.fake
            .open_pull(REPO, w.alice, "feature", "main", head.as_str()),
    );
    for state in [StatusState::Running, StatusState::Failed] {
        w.forge
            .set_commit_status(
                &project(),
                iid,
                &head,
                &CommitStatus {
                    context: "ferry/policy".into(),
                    state,
                    description: Some("2 violations".into()),
                    target_url: None,
                },
            )
            .await
            .unwrap();
    }
    let statuses = w.fake.statuses(REPO, head.as_str());
    let states: Vec<_> = statuses.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(states, ["pending", "failure"]);
    assert!(
        statuses
            .iter()
            .all(|s| s.context == "ferry/policy" && s.creator_id == w.bot)
    );
}

#[tokio::test]
async fn permissions_and_teams_are_read_by_user_id() {
    let w = world().await;
    w.fake.add_collaborator(REPO, w.alice, "write");
    w.fake.add_collaborator(REPO, w.bob, "maintain");
    w.fake
        .add_team_member("eap/release-managers", w.bob, "active");
    w.fake
        .add_team_member("eap/release-managers", w.alice, "pending");
    let repo = project();
    let level = |user| w.forge.access_level(&repo, UserId(user));
    assert_eq!(level(w.alice).await.unwrap(), AccessLevel::Write);
    assert_eq!(level(w.bob).await.unwrap(), AccessLevel::Maintain);
    assert_eq!(level(w.bot).await.unwrap(), AccessLevel::None);
    assert_eq!(
        level(424_242).await.unwrap(),
        AccessLevel::None,
        "unknown account"
    );
    let member = |user| {
        w.forge
            .is_group_member("eap/release-managers", UserId(user))
    };
    assert!(member(w.bob).await.unwrap());
    assert!(
        !member(w.alice).await.unwrap(),
        "a pending invitation is not membership"
    );
    assert!(!member(w.bot).await.unwrap());
    let malformed = w
        .forge
        .is_group_member("release-managers", UserId(w.bob))
        .await
        .unwrap_err();
    assert!(matches!(malformed, ForgeError::InvalidInput { .. }));
}

// ---- failure injection -------------------------------------------------------------------

const ONE_PULL: &str = "/repos/*/*/pulls/*";

#[tokio::test]
async fn server_errors_are_retried_and_bounded() {
    let w = world().await;
    let number = w
        .fake
        .open_pull(REPO, w.alice, "feature", "main", &fake_sha("x"));
    w.fake
        .fail_next(Method::GET, ONE_PULL, 2, Fault::status(502));
    w.forge
        .merge_request(&project(), MrIid(number))
        .await
        .unwrap();
    assert_eq!(w.fake.faults.count(Method::GET, ONE_PULL), 3);

    w.fake
        .fail_next(Method::GET, ONE_PULL, 100, Fault::status(500));
    let error = w
        .forge
        .merge_request(&project(), MrIid(number))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ForgeError::Server {
                status: 500,
                attempts: 3,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(w.fake.faults.count(Method::GET, ONE_PULL), 6);
}

#[tokio::test]
async fn secondary_rate_limits_wait_for_retry_after() {
    let w = world().await;
    let number = w
        .fake
        .open_pull(REPO, w.alice, "feature", "main", &fake_sha("x"));
    w.fake
        .fail_next(Method::GET, ONE_PULL, 1, Fault::github_secondary_limit(1));
    let started = Instant::now();
    w.forge
        .merge_request(&project(), MrIid(number))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(w.fake.faults.count(Method::GET, ONE_PULL), 2);
}

#[tokio::test]
async fn primary_rate_limit_waits_for_the_reset_or_gives_up_when_far() {
    let w = world().await;
    let number = w
        .fake
        .open_pull(REPO, w.alice, "feature", "main", &fake_sha("x"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    w.fake.fail_next(
        Method::GET,
        ONE_PULL,
        1,
        Fault::github_primary_limit(now + 1),
    );
    w.forge
        .merge_request(&project(), MrIid(number))
        .await
        .unwrap();
    assert_eq!(w.fake.faults.count(Method::GET, ONE_PULL), 2);

    w.fake.fail_next(
        Method::GET,
        ONE_PULL,
        1,
        Fault::github_primary_limit(now + 3600),
    );
    let error = w
        .forge
        .merge_request(&project(), MrIid(number))
        .await
        .unwrap_err();
    match error {
        ForgeError::RateLimited {
            retry_after: Some(wait),
            ..
        } => assert!(wait > Duration::from_secs(3500)),
        other => panic!("expected a rate limit, got {other}"),
    }
    // A plain 403 (no rate-limit headers) is a permission problem, not retried.
    w.fake
        .fail_next(Method::GET, ONE_PULL, 1, Fault::status(403));
    let error = w
        .forge
        .merge_request(&project(), MrIid(number))
        .await
        .unwrap_err();
    assert!(matches!(error, ForgeError::Forbidden { .. }), "{error}");
    assert_eq!(w.fake.faults.count(Method::GET, ONE_PULL), 4);
}

#[tokio::test]
async fn conflicts_on_statuses_are_retried() {
    let w = world().await;
    let head = sha("c");
    let iid = MrIid(
        w.fake
            .open_pull(REPO, w.alice, "feature", "main", head.as_str()),
    );
    w.fake
        .fail_next(Method::POST, "/repos/*/*/statuses/*", 1, Fault::conflict());
    w.forge
        .set_commit_status(
            &project(),
            iid,
            &head,
            &CommitStatus {
                context: "ferry/gate".into(),
                state: StatusState::Pending,
                description: None,
                target_url: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(w.fake.statuses(REPO, head.as_str()).len(), 1);
    assert_eq!(
        w.fake.faults.count(Method::POST, "/repos/*/*/statuses/*"),
        2
    );
}

#[tokio::test]
async fn a_slow_answer_hits_the_timeout() {
    let w = world().await;
    let number = w
        .fake
        .open_pull(REPO, w.alice, "feature", "main", &fake_sha("x"));
    w.fake.fail_next(
        Method::GET,
        ONE_PULL,
        3,
        Fault::Slow(Duration::from_secs(2)),
    );
    let started = Instant::now();
    let error = w
        .forge
        .merge_request(&project(), MrIid(number))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ForgeError::Timeout { attempts: 3, .. }),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_refused_token_is_unauthorized_and_not_echoed() {
    let w = world().await;
    let forge = GitHubForge::new(GitHubConfig {
        api_url: w.fake.base_url.clone(),
        token: SecretString::from("ghp_wrong"),
        policy: fast_policy(),
    })
    .unwrap();
    let error = forge.current_user().await.unwrap_err();
    assert!(matches!(error, ForgeError::Unauthorized { .. }), "{error}");
    assert!(!format!("{error:?}").contains("ghp_wrong"));
}
