//! The GitLab adapter against the in-memory GitLab served over HTTP: every operation, the
//! SHA guard, own-comment editing, and the retry policy under injected failures.

#[allow(dead_code)]
mod support;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::Method;
use ferry::domain::{CommitSha, MrIid, ProjectPath, UserId};
use ferry::forge::*;
use secrecy::SecretString;
use support::fake_gitlab::{Diff, FakeGitLab};
use support::faults::{Fault, fake_sha};

const REPO: &str = "eap/gitops";
const TOKEN: &str = "glpat-test-token";

struct World {
    fake: FakeGitLab,
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

async fn world_with(policy: HttpPolicy) -> World {
    let fake = FakeGitLab::start().await;
    let bot = fake.add_user("ferry-bot");
    let alice = fake.add_user("alice");
    let bob = fake.add_user("bob");
    fake.add_token(TOKEN, bot);
    fake.add_project(REPO);
    let forge = GitLabForge::new(GitLabConfig {
        base_url: fake.base_url.clone(),
        token: SecretString::from(TOKEN),
        policy,
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

async fn world() -> World {
    world_with(fast_policy()).await
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
        title: "Promote web to staging: release-1.0.0.ab12cd3".into(),
        body: "| service | environment |\n|---|---|\n| web | staging |".into(),
        labels: vec!["ferry".into(), "environment::staging".into()],
    }
}

#[tokio::test]
async fn merge_requests_are_created_found_updated_and_closed() {
    let w = world().await;
    let head = fake_sha("promotion head");
    w.fake.set_branch(REPO, "ferry/staging/web", &head);

    let created = w
        .forge
        .create_merge_request(&project(), &promotion("ferry/staging/web"))
        .await
        .unwrap();
    assert_eq!(created.state, MrState::Open);
    assert_eq!(created.author, UserId(w.bot));
    assert_eq!(
        created.head_sha.as_ref().map(CommitSha::as_str),
        Some(head.as_str())
    );
    let stored = w.fake.mr(REPO, created.iid.0);
    assert_eq!(stored.labels, ["ferry", "environment::staging"]);
    assert!(stored.description.contains("| web | staging |"));
    assert!(stored.remove_source_branch);

    let found = w
        .forge
        .find_open_merge_request(&project(), "ferry/staging/web")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.iid, created.iid);
    assert!(
        w.forge
            .find_open_merge_request(&project(), "ferry/production/web")
            .await
            .unwrap()
            .is_none()
    );

    let duplicate = w
        .forge
        .create_merge_request(&project(), &promotion("ferry/staging/web"))
        .await
        .unwrap_err();
    assert!(
        matches!(duplicate, ForgeError::Conflict { .. }),
        "{duplicate}"
    );
    assert_eq!(w.fake.mrs(REPO).len(), 1);

    let updated = w
        .forge
        .update_merge_request(
            &project(),
            created.iid,
            &MrUpdate {
                title: Some("Promote web to staging: release-1.0.1.cd34ef5".into()),
                body: None,
                labels: Some(vec![
                    "ferry".into(),
                    "environment::staging".into(),
                    "superseded".into(),
                ]),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        updated.title,
        "Promote web to staging: release-1.0.1.cd34ef5"
    );
    let stored = w.fake.mr(REPO, created.iid.0);
    assert_eq!(stored.title, updated.title);
    assert!(
        stored.description.contains("| web | staging |"),
        "body untouched"
    );
    assert_eq!(stored.labels.len(), 3);

    let closed = w
        .forge
        .close_merge_request(&project(), created.iid)
        .await
        .unwrap();
    assert_eq!(closed.state, MrState::Closed);
    assert_eq!(w.fake.mr(REPO, created.iid.0).state, "closed");
    assert!(
        w.forge
            .find_open_merge_request(&project(), "ferry/staging/web")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn changed_files_are_read_across_pages() {
    let w = world().await;
    let iid = w
        .fake
        .open_mr(REPO, w.alice, "feature", "main", &fake_sha("f"));
    let mut diffs: Vec<Diff> = (0..149)
        .map(|i| Diff::modified(&format!("apps/web/overlays/env{i}/kustomization.yaml")))
        .collect();
    diffs.push(Diff {
        old_path: "policies/old.yaml".into(),
        new_path: "policies/new.yaml".into(),
        new_file: false,
        renamed_file: true,
        deleted_file: false,
    });
    diffs.push(Diff {
        new_file: true,
        ..Diff::modified("csr/alice.csr")
    });
    w.fake.set_diffs(REPO, iid, diffs);

    let files = w.forge.changed_files(&project(), MrIid(iid)).await.unwrap();
    assert_eq!(files.len(), 151);
    assert_eq!(files[0].change, FileChange::Modified);
    assert_eq!(
        files[149],
        ChangedFile {
            path: "policies/new.yaml".into(),
            previous_path: Some("policies/old.yaml".into()),
            change: FileChange::Renamed,
        }
    );
    assert_eq!(files[150].change, FileChange::Added);
    assert_eq!(
        w.fake
            .faults
            .count(Method::GET, "/api/v4/projects/*/merge_requests/*/diffs"),
        2
    );
}

#[tokio::test]
async fn own_comment_is_found_by_marker_and_edited_in_place() {
    let w = world().await;
    let iid = MrIid(
        w.fake
            .open_mr(REPO, w.alice, "feature", "main", &fake_sha("c")),
    );
    // A person quoting the marker and a system note must not be taken for the bot's comment.
    w.fake
        .add_note(REPO, iid.0, w.alice, "quoting <!-- ferry:status -->", false);
    w.fake.add_note(
        REPO,
        iid.0,
        w.bot,
        "added 1 commit <!-- ferry:status -->",
        true,
    );

    let first = upsert_own_comment(
        w.forge.as_ref(),
        &project(),
        iid,
        "status",
        "Policy: passes",
    )
    .await
    .unwrap();
    let again = upsert_own_comment(
        w.forge.as_ref(),
        &project(),
        iid,
        "status",
        "Policy: passes",
    )
    .await
    .unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(
        w.fake
            .faults
            .count(Method::PUT, "/api/v4/projects/*/merge_requests/*/notes/*"),
        0,
        "an unchanged comment is not rewritten"
    );
    let edited = upsert_own_comment(
        w.forge.as_ref(),
        &project(),
        iid,
        "status",
        "Policy: 1 violation",
    )
    .await
    .unwrap();
    assert_eq!(edited.id, first.id);

    let notes = w.fake.mr(REPO, iid.0).notes;
    let mine: Vec<_> = notes
        .iter()
        .filter(|n| n.author_id == w.bot && !n.system)
        .collect();
    assert_eq!(mine.len(), 1, "one status comment, edited in place");
    assert!(mine[0].body.starts_with("Policy: 1 violation"));
    assert!(mine[0].body.contains("<!-- ferry:status -->"));

    let comments = w.forge.comments(&project(), iid).await.unwrap();
    assert_eq!(comments.len(), 2, "system notes are left out");
    let direct = w
        .forge
        .edit_comment(&project(), iid, first.id, "plain edit")
        .await
        .unwrap();
    assert_eq!(direct.body, "plain edit");
}

#[tokio::test]
async fn reactions_are_award_emoji_on_the_note_and_idempotent() {
    let w = world().await;
    let iid = MrIid(
        w.fake
            .open_mr(REPO, w.alice, "feature", "main", &fake_sha("r")),
    );
    let note = w
        .fake
        .add_note(REPO, iid.0, w.alice, "/ferry promote production", false);
    for _ in 0..2 {
        w.forge
            .react(&project(), iid, CommentId(note), Reaction::ThumbsUp)
            .await
            .unwrap();
    }
    w.forge
        .react(&project(), iid, CommentId(note), Reaction::Eyes)
        .await
        .unwrap();
    let awards = &w.fake.mr(REPO, iid.0).notes[0].awards;
    let names: Vec<_> = awards
        .iter()
        .map(|a| (a.name.as_str(), a.user_id))
        .collect();
    assert_eq!(names, [("thumbsup", w.bot), ("eyes", w.bot)]);
    let missing = w
        .forge
        .react(&project(), iid, CommentId(999_999), Reaction::Eyes)
        .await
        .unwrap_err();
    assert!(matches!(missing, ForgeError::NotFound { .. }), "{missing}");
}

#[tokio::test]
async fn approvals_are_user_ids_and_reset_on_push() {
    let w = world().await;
    let iid = MrIid(
        w.fake
            .open_mr(REPO, w.alice, "feature", "main", &fake_sha("a")),
    );
    assert!(w.forge.approvals(&project(), iid).await.unwrap().is_empty());
    w.fake.approve(REPO, iid.0, w.alice);
    w.fake.approve(REPO, iid.0, w.bob);
    let approvals = w.forge.approvals(&project(), iid).await.unwrap();
    let ids: Vec<_> = approvals.iter().map(|a| a.user).collect();
    assert_eq!(ids, [UserId(w.alice), UserId(w.bob)]);
    assert_eq!(approvals[1].username, "bob");
    w.fake.push(REPO, iid.0, &fake_sha("a2"));
    assert!(w.forge.approvals(&project(), iid).await.unwrap().is_empty());
}

fn merge_options(head: &CommitSha) -> MergeOptions {
    MergeOptions {
        sha: head.clone(),
        when_pipeline_succeeds: false,
        commit_message: Some("Promote web to staging".into()),
        remove_source_branch: true,
    }
}

#[tokio::test]
async fn merge_is_guarded_by_the_head_sha() {
    let w = world().await;
    let head = sha("head");
    let iid = MrIid(
        w.fake
            .open_mr(REPO, w.alice, "ferry/staging/web", "main", head.as_str()),
    );

    let stale = w
        .forge
        .merge(&project(), iid, &merge_options(&sha("older")))
        .await
        .unwrap();
    assert_eq!(stale, MergeOutcome::ShaMismatch);
    assert_eq!(w.fake.mr(REPO, iid.0).state, "opened");

    w.fake.set_mergeable(REPO, iid.0, false);
    let blocked = w
        .forge
        .merge(&project(), iid, &merge_options(&head))
        .await
        .unwrap();
    assert!(
        matches!(blocked, MergeOutcome::NotMergeable { .. }),
        "{blocked:?}"
    );

    w.fake.set_mergeable(REPO, iid.0, true);
    let merged = w
        .forge
        .merge(&project(), iid, &merge_options(&head))
        .await
        .unwrap();
    let stored = w.fake.mr(REPO, iid.0);
    assert_eq!(stored.state, "merged");
    assert_eq!(
        merged,
        MergeOutcome::Merged {
            merge_commit: stored
                .merge_commit_sha
                .as_deref()
                .map(|s| CommitSha::parse(s).unwrap())
        }
    );
    assert!(stored.remove_source_branch);

    // Merging again (a retry after a lost answer) reads back and reports the merge.
    let again = w
        .forge
        .merge(&project(), iid, &merge_options(&head))
        .await
        .unwrap();
    assert!(matches!(again, MergeOutcome::Merged { .. }), "{again:?}");
}

#[tokio::test]
async fn auto_merge_waits_for_the_pipeline() {
    let w = world().await;
    let head = sha("auto");
    let iid = MrIid(w.fake.open_mr(
        REPO,
        w.alice,
        "ferry/integration/web",
        "main",
        head.as_str(),
    ));
    let pipeline = w.fake.add_pipeline(REPO, iid.0, "running");
    let outcome = w
        .forge
        .merge(
            &project(),
            iid,
            &MergeOptions {
                when_pipeline_succeeds: true,
                ..merge_options(&head)
            },
        )
        .await
        .unwrap();
    assert_eq!(outcome, MergeOutcome::AutoMergeScheduled);
    assert_eq!(w.fake.mr(REPO, iid.0).state, "opened");
    w.fake.finish_pipeline(REPO, pipeline, "success");
    assert_eq!(w.fake.mr(REPO, iid.0).state, "merged");
}

#[tokio::test]
async fn statuses_attach_to_the_merge_request_pipeline() {
    let w = world().await;
    let head = sha("status");
    let iid = MrIid(
        w.fake
            .open_mr(REPO, w.alice, "feature", "main", head.as_str()),
    );
    let pipeline = w.fake.add_pipeline(REPO, iid.0, "running");
    let gate = |state| CommitStatus {
        context: "ferry/gate".into(),
        state,
        description: Some("needs 1 approval from eap/release-managers".into()),
        target_url: Some("https://ferry.example.com/mr/1".into()),
    };
    w.forge
        .set_commit_status(&project(), iid, &head, &gate(StatusState::Pending))
        .await
        .unwrap();
    // The same state again is what GitLab refuses with 400: the adapter takes it as done.
    w.forge
        .set_commit_status(&project(), iid, &head, &gate(StatusState::Pending))
        .await
        .unwrap();
    w.forge
        .set_commit_status(&project(), iid, &head, &gate(StatusState::Success))
        .await
        .unwrap();

    let statuses = w.fake.statuses(REPO, head.as_str());
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(statuses[0].state, "success");
    assert_eq!(statuses[0].pipeline_id, pipeline);
    assert_eq!(statuses[0].name, "ferry/gate");
    assert_eq!(statuses[0].git_ref.as_deref(), Some("feature"));
    assert_eq!(statuses[0].author_id, w.bot);
    assert!(
        w.fake
            .pipelines(REPO)
            .iter()
            .all(|p| p.source != "external"),
        "no separate external pipeline"
    );
}

#[tokio::test]
async fn status_on_an_older_head_finds_that_commits_pipeline() {
    let w = world().await;
    let old = sha("old head");
    let iid = MrIid(
        w.fake
            .open_mr(REPO, w.alice, "feature", "main", old.as_str()),
    );
    let first = w.fake.add_pipeline(REPO, iid.0, "success");
    w.fake.push(REPO, iid.0, sha("new head").as_str());
    w.fake.add_pipeline(REPO, iid.0, "running");
    let status = CommitStatus {
        context: "ferry/policy".into(),
        state: StatusState::Failed,
        description: None,
        target_url: None,
    };
    w.forge
        .set_commit_status(&project(), iid, &old, &status)
        .await
        .unwrap();
    assert_eq!(w.fake.statuses(REPO, old.as_str())[0].pipeline_id, first);
}

#[tokio::test]
async fn roles_and_group_membership_are_read_by_user_id() {
    let w = world().await;
    w.fake.add_member(REPO, w.alice, 30);
    w.fake.add_member(REPO, w.bob, 50);
    w.fake.add_group_member("eap/release-managers", w.bob, 40);
    let repo = project();
    let level = |user| w.forge.access_level(&repo, UserId(user));
    assert_eq!(level(w.alice).await.unwrap(), AccessLevel::Write);
    assert_eq!(level(w.bob).await.unwrap(), AccessLevel::Admin);
    assert_eq!(level(w.bot).await.unwrap(), AccessLevel::None);
    assert!(
        w.forge
            .is_group_member("eap/release-managers", UserId(w.bob))
            .await
            .unwrap()
    );
    assert!(
        !w.forge
            .is_group_member("eap/release-managers", UserId(w.alice))
            .await
            .unwrap()
    );
    let me = w.forge.current_user().await.unwrap();
    assert_eq!((me.id, me.username.as_str()), (UserId(w.bot), "ferry-bot"));
}

#[tokio::test]
async fn a_refused_token_is_reported_as_unauthorized() {
    let w = world().await;
    let forge = GitLabForge::new(GitLabConfig {
        base_url: w.fake.base_url.clone(),
        token: SecretString::from("glpat-wrong"),
        policy: fast_policy(),
    })
    .unwrap();
    let error = forge.current_user().await.unwrap_err();
    assert!(matches!(error, ForgeError::Unauthorized { .. }), "{error}");
    assert!(!error.to_string().contains("glpat-wrong"));
}

// ---- failure injection -------------------------------------------------------------------

const ONE_MR: &str = "/api/v4/projects/*/merge_requests/*";

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let w = world().await;
    let iid = w
        .fake
        .open_mr(REPO, w.alice, "feature", "main", &fake_sha("x"));
    w.fake.fail_next(Method::GET, ONE_MR, 2, Fault::status(503));
    let mr = w.forge.merge_request(&project(), MrIid(iid)).await.unwrap();
    assert_eq!(mr.iid, MrIid(iid));
    assert_eq!(w.fake.faults.count(Method::GET, ONE_MR), 3);
}

#[tokio::test]
async fn persistent_server_errors_end_after_bounded_attempts() {
    let w = world().await;
    let iid = w
        .fake
        .open_mr(REPO, w.alice, "feature", "main", &fake_sha("x"));
    w.fake
        .fail_next(Method::GET, ONE_MR, 100, Fault::status(500));
    let error = w
        .forge
        .merge_request(&project(), MrIid(iid))
        .await
        .unwrap_err();
    match &error {
        ForgeError::Server {
            status, attempts, ..
        } => assert_eq!((*status, *attempts), (500, 3)),
        other => panic!("expected a server error, got {other}"),
    }
    assert!(error.is_transient());
    assert!(
        error
            .to_string()
            .contains(&format!("merge request !{iid} of {REPO}"))
    );
    assert_eq!(w.fake.faults.count(Method::GET, ONE_MR), 3);
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after() {
    let w = world().await;
    let iid = w
        .fake
        .open_mr(REPO, w.alice, "feature", "main", &fake_sha("x"));
    w.fake
        .fail_next(Method::GET, ONE_MR, 1, Fault::rate_limited(1));
    let started = Instant::now();
    w.forge.merge_request(&project(), MrIid(iid)).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(w.fake.faults.count(Method::GET, ONE_MR), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_bound_is_returned_not_slept() {
    let w = world().await;
    let iid = w
        .fake
        .open_mr(REPO, w.alice, "feature", "main", &fake_sha("x"));
    w.fake
        .fail_next(Method::GET, ONE_MR, 1, Fault::rate_limited(3600));
    let started = Instant::now();
    let error = w
        .forge
        .merge_request(&project(), MrIid(iid))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    match error {
        ForgeError::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(3600)))
        }
        other => panic!("expected a rate limit, got {other}"),
    }
    assert_eq!(w.fake.faults.count(Method::GET, ONE_MR), 1);
}

#[tokio::test]
async fn conflicts_on_status_updates_are_retried_elsewhere_final() {
    let w = world().await;
    let head = sha("conflict");
    let iid = MrIid(
        w.fake
            .open_mr(REPO, w.alice, "feature", "main", head.as_str()),
    );
    w.fake.add_pipeline(REPO, iid.0, "running");
    let statuses = "/api/v4/projects/*/statuses/*";
    w.fake
        .fail_next(Method::POST, statuses, 2, Fault::conflict());
    let status = CommitStatus {
        context: "ferry/policy".into(),
        state: StatusState::Success,
        description: None,
        target_url: None,
    };
    w.forge
        .set_commit_status(&project(), iid, &head, &status)
        .await
        .unwrap();
    assert_eq!(w.fake.faults.count(Method::POST, statuses), 3);
    assert_eq!(w.fake.statuses(REPO, head.as_str())[0].state, "success");

    w.fake.fail_next(Method::PUT, ONE_MR, 1, Fault::conflict());
    let error = w
        .forge
        .update_merge_request(
            &project(),
            iid,
            &MrUpdate {
                title: Some("x".into()),
                ..MrUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(error, ForgeError::Conflict { .. }), "{error}");
    assert_eq!(w.fake.faults.count(Method::PUT, ONE_MR), 1);
}

#[tokio::test]
async fn a_slow_answer_hits_the_timeout_and_is_retried() {
    let w = world().await;
    let iid = w
        .fake
        .open_mr(REPO, w.alice, "feature", "main", &fake_sha("x"));
    w.fake
        .fail_next(Method::GET, ONE_MR, 1, Fault::Slow(Duration::from_secs(2)));
    let started = Instant::now();
    w.forge.merge_request(&project(), MrIid(iid)).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(w.fake.faults.count(Method::GET, ONE_MR), 2);

    w.fake
        .fail_next(Method::GET, ONE_MR, 3, Fault::Slow(Duration::from_secs(2)));
    let error = w
        .forge
        .merge_request(&project(), MrIid(iid))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ForgeError::Timeout { attempts: 3, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn creating_a_comment_is_not_repeated_when_it_may_have_happened() {
    let w = world().await;
    let iid = MrIid(
        w.fake
            .open_mr(REPO, w.alice, "feature", "main", &fake_sha("x")),
    );
    let notes = "/api/v4/projects/*/merge_requests/*/notes";
    // 500: GitLab may have stored the note before failing, so no second POST.
    w.fake.fail_next(Method::POST, notes, 1, Fault::status(500));
    let error = w
        .forge
        .create_comment(&project(), iid, "hello")
        .await
        .unwrap_err();
    assert!(
        matches!(error, ForgeError::Server { status: 500, .. }),
        "{error}"
    );
    assert_eq!(w.fake.faults.count(Method::POST, notes), 1);
    // 503: the request never reached GitLab, so it is safe to send again.
    w.fake.fail_next(Method::POST, notes, 1, Fault::status(503));
    w.forge
        .create_comment(&project(), iid, "hello")
        .await
        .unwrap();
    assert_eq!(w.fake.faults.count(Method::POST, notes), 3);
    assert_eq!(w.fake.mr(REPO, iid.0).notes.len(), 1);
}

#[tokio::test]
async fn requests_are_paced_on_the_client() {
    let w = world_with(HttpPolicy {
        requests_per_second: NonZeroU32::new(10).unwrap(),
        burst: NonZeroU32::new(1).unwrap(),
        ..fast_policy()
    })
    .await;
    let iid = w
        .fake
        .open_mr(REPO, w.alice, "feature", "main", &fake_sha("x"));
    let started = Instant::now();
    for _ in 0..6 {
        w.forge.merge_request(&project(), MrIid(iid)).await.unwrap();
    }
    // Six requests at ten per second with no burst: at least five intervals of 100 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(480),
        "{:?}",
        started.elapsed()
    );
}
