//! The GitHub test support checks itself: every webhook builder's payload goes through
//! Ferry's real parser (`ferry::events::parse`) and comes out as the event it means, payloads
//! built from the fake GitHub match its state, and `post` signs and delivers them as GitHub
//! does.

#[allow(dead_code)]
mod git_support;
#[allow(dead_code)]
mod support;

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use ferry::domain::forge_event::{PipelineStatus, ReviewState};
use ferry::domain::{CommitSha, Forge, ForgeEvent, GitRef, ProjectPath, UserId};
use secrecy::SecretString;
use serde_json::json;
use support::fake_github::FakeGitHub;
use support::faults::fake_sha;
use support::github_hooks::*;

const APP: &str = "eap/website";
const GITOPS: &str = "eap/gitops";

fn parse(hook: &Hook) -> ForgeEvent {
    let body = serde_json::to_vec(&hook.body).expect("serialise");
    ferry::events::parse(Forge::GitHub, hook.event, &body)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{:#}", hook.event, hook.body))
}

fn commit(seed: &str) -> CommitSha {
    CommitSha::parse(&fake_sha(seed)).expect("sha")
}

fn project(path: &str) -> ProjectPath {
    ProjectPath::parse(path).expect("path")
}

fn mei() -> Who {
    Who::new(312, "mlin")
}

#[test]
fn branch_pushes_are_branch_pushed_with_their_paths_and_pusher() {
    let hook = push_one(
        APP,
        "develop",
        &fake_sha("a"),
        &fake_sha("b"),
        &mei(),
        &["site/index.html", "README.md"],
    );
    let ForgeEvent::BranchPushed(push) = parse(&hook) else {
        panic!("not a branch push: {:?}", parse(&hook));
    };
    assert_eq!(push.project, project(APP));
    assert_eq!(push.name, "develop");
    assert_eq!(push.before, Some(commit("a")));
    assert_eq!(push.sha, commit("b"));
    assert_eq!(
        push.changed_paths,
        Some(vec!["README.md".to_owned(), "site/index.html".to_owned()])
    );
    let pusher = push.pusher.expect("pusher");
    assert_eq!((pusher.id, pusher.username.as_str()), (UserId(312), "mlin"));

    // A new branch: `before` is all zeros and reads as none.
    let new = push_one(APP, "release-1.0.0", ZERO_SHA, &fake_sha("c"), &mei(), &[]);
    let ForgeEvent::BranchPushed(push) = parse(&new) else {
        panic!("not a branch push");
    };
    assert_eq!(push.before, None);
}

#[test]
fn tag_pushes_and_create_events() {
    let ForgeEvent::TagPushed(push) = parse(&tag_push(APP, "v1.0.0", &fake_sha("r"), &mei()))
    else {
        panic!("not a tag push");
    };
    assert_eq!(
        (push.name.as_str(), push.sha.clone()),
        ("v1.0.0", commit("r"))
    );
    assert_eq!(push.changed_paths, None);
    match parse(&create_tag(APP, "v1.0.0", &mei())) {
        ForgeEvent::RefCreated {
            project: p,
            git_ref,
        } => {
            assert_eq!(p, project(APP));
            assert_eq!(git_ref, GitRef::Tag("v1.0.0".into()));
        }
        other => panic!("not a created ref: {other:?}"),
    }
}

async fn fake_with_pull() -> (FakeGitHub, u64, u64) {
    let fake = FakeGitHub::start().await;
    let author = fake.add_user("alice");
    fake.add_repo(GITOPS);
    let number = fake.open_pull(GITOPS, author, "feature", "main", &fake_sha("head-1"));
    (fake, author, number)
}

#[tokio::test]
async fn pull_request_hooks_follow_the_fake_s_state() {
    let (fake, author, number) = fake_with_pull().await;
    let alice = Who::from_fake(&fake, author);
    let ForgeEvent::MrOpened(mr) = parse(&pull_request_from(
        &fake,
        GITOPS,
        number,
        &PrAction::Opened,
        &alice,
    )) else {
        panic!("not opened");
    };
    assert_eq!(mr.project, project(GITOPS));
    assert_eq!(mr.number, number);
    assert_eq!(
        (mr.source_branch.as_str(), mr.target_branch.as_str()),
        ("feature", "main")
    );
    assert_eq!(mr.head_sha, Some(commit("head-1")));
    assert_eq!(mr.author_id, Some(UserId(author)));
    assert!(matches!(
        parse(&pull_request_from(
            &fake,
            GITOPS,
            number,
            &PrAction::Reopened,
            &alice
        )),
        ForgeEvent::MrOpened(_)
    ));

    fake.push(GITOPS, number, &fake_sha("head-2"));
    let sync = pull_request_from(
        &fake,
        GITOPS,
        number,
        &PrAction::Synchronize {
            before: fake_sha("head-1"),
        },
        &alice,
    );
    assert_eq!(sync.body["before"], json!(fake_sha("head-1")));
    let ForgeEvent::MrUpdated(mr) = parse(&sync) else {
        panic!("not updated");
    };
    assert_eq!(mr.head_sha, Some(commit("head-2")));

    // Closed without merging, then (another pull request) merged.
    {
        let mut state = fake.state.lock().expect("state");
        state.repos[0].pulls[0].state = "closed".into();
    }
    assert!(matches!(
        parse(&pull_request_from(
            &fake,
            GITOPS,
            number,
            &PrAction::Closed,
            &alice
        )),
        ForgeEvent::MrClosed(_)
    ));
    let second = fake.open_pull(GITOPS, author, "other", "main", &fake_sha("head-3"));
    {
        let mut state = fake.state.lock().expect("state");
        let pull = &mut state.repos[0].pulls[1];
        pull.state = "closed".into();
        pull.merged = true;
        pull.merged_by = Some(author);
        pull.merge_commit_sha = Some(fake_sha("merge"));
    }
    let ForgeEvent::MrMerged(merge) = parse(&pull_request_from(
        &fake,
        GITOPS,
        second,
        &PrAction::Closed,
        &alice,
    )) else {
        panic!("not merged");
    };
    assert_eq!(merge.merge_sha, commit("merge"));
    assert_eq!(merge.merged_by.map(|a| a.id), Some(UserId(author)));
    assert_eq!(merge.merge_request.number, second);
}

#[tokio::test]
async fn comment_hooks_are_comments_on_the_pull_request() {
    let (fake, author, number) = fake_with_pull().await;
    let id = fake.add_comment(GITOPS, number, author, "/ferry approve");
    let ForgeEvent::CommentCreated(comment) =
        parse(&issue_comment_from(&fake, GITOPS, number, id, None))
    else {
        panic!("not a comment");
    };
    assert_eq!(comment.project, project(GITOPS));
    assert_eq!(
        (comment.merge_request, comment.note_id),
        (number, id),
        "{comment:?}"
    );
    assert_eq!(comment.author.id, UserId(author));
    assert_eq!(comment.body, "/ferry approve");
    assert!(!comment.edited && !comment.system && !comment.author_is_bot);

    let edited = issue_comment_from(&fake, GITOPS, number, id, Some("/ferry hold"));
    assert_eq!(edited.body["changes"]["body"]["from"], json!("/ferry hold"));
    let ForgeEvent::CommentCreated(comment) = parse(&edited) else {
        panic!("not a comment");
    };
    assert!(comment.edited);

    // Bots are flagged.
    let bot = fake.add_user("ferry-app[bot]");
    let by_bot = fake.add_comment(GITOPS, number, bot, "status");
    let mut hook = issue_comment_from(&fake, GITOPS, number, by_bot, None);
    hook.body["comment"]["user"]["type"] = json!("Bot");
    let ForgeEvent::CommentCreated(comment) = parse(&hook) else {
        panic!("not a comment");
    };
    assert!(comment.author_is_bot);
}

#[tokio::test]
async fn review_hooks_carry_state_reviewer_and_commit() {
    let (fake, _, number) = fake_with_pull().await;
    let bob = fake.add_user("bob");
    fake.review(GITOPS, number, bob, "APPROVED");
    let review_id = fake.pull(GITOPS, number).reviews[0].id;
    let ForgeEvent::ReviewSubmitted(review) = parse(&review_from(&fake, GITOPS, number, review_id))
    else {
        panic!("not a review");
    };
    assert_eq!(review.state, ReviewState::Approved);
    assert_eq!(review.reviewer.id, UserId(bob));
    assert_eq!(review.merge_request, number);
    assert_eq!(review.head_sha, Some(commit("head-1")));
    fake.review(GITOPS, number, bob, "CHANGES_REQUESTED");
    let second = fake.pull(GITOPS, number).reviews[1].id;
    let ForgeEvent::ReviewSubmitted(review) = parse(&review_from(&fake, GITOPS, number, second))
    else {
        panic!("not a review");
    };
    assert_eq!(review.state, ReviewState::ChangesRequested);
}

#[tokio::test]
async fn check_suites_and_statuses_are_pipelines_for_the_head() {
    let (fake, author, number) = fake_with_pull().await;
    let head = fake_sha("head-1");
    let suite = fake.add_check_suite(GITOPS, &head, Some("feature"), "github-actions");
    assert!(
        matches!(
            parse(&check_suite_from(&fake, GITOPS, suite)),
            ForgeEvent::Ignored(_)
        ),
        "a requested suite is not finished"
    );
    fake.complete_check_suite(GITOPS, suite, "success");
    let ForgeEvent::PipelineFinished(pipeline) = parse(&check_suite_from(&fake, GITOPS, suite))
    else {
        panic!("not a pipeline");
    };
    assert_eq!(pipeline.status, PipelineStatus::Success);
    assert_eq!(pipeline.sha, commit("head-1"));
    assert_eq!(pipeline.merge_request, Some(number));
    assert_eq!(pipeline.id, Some(suite));
    assert_eq!(pipeline.name.as_deref(), Some("github-actions"));
    assert_eq!(pipeline.git_ref, Some(GitRef::Branch("feature".into())));

    let failed = fake.add_check_suite(GITOPS, &head, Some("feature"), "circleci");
    fake.complete_check_suite(GITOPS, failed, "timed_out");
    let ForgeEvent::PipelineFinished(pipeline) = parse(&check_suite_from(&fake, GITOPS, failed))
    else {
        panic!("not a pipeline");
    };
    assert_eq!(pipeline.status, PipelineStatus::Failed);

    let status = fake.add_status(GITOPS, &head, "ci/jenkins", "failure", author);
    let ForgeEvent::PipelineFinished(pipeline) = parse(&status_from(&fake, GITOPS, status)) else {
        panic!("not a pipeline");
    };
    assert_eq!(pipeline.status, PipelineStatus::Failed);
    assert_eq!(pipeline.name.as_deref(), Some("ci/jenkins"));
    assert_eq!(pipeline.git_ref, Some(GitRef::Branch("feature".into())));
    let pending = fake.add_status(GITOPS, &head, "ci/jenkins", "pending", author);
    assert!(matches!(
        parse(&status_from(&fake, GITOPS, pending)),
        ForgeEvent::Ignored(_)
    ));
}

/// One request the test server received: its headers and body.
type Seen = (HeaderMap, Vec<u8>);

#[tokio::test]
async fn post_signs_the_exact_body_and_sends_github_s_headers() {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let keep = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let keep = Arc::clone(&keep);
            async move {
                keep.lock().expect("seen").push((headers, body.to_vec()));
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let hook = push_one(APP, "develop", ZERO_SHA, &fake_sha("x"), &mei(), &["a"]);
    assert_eq!(post(&url, "s3cret", &hook).await, 202);
    assert_eq!(post(&url, "s3cret", &hook).await, 202);
    assert_eq!(
        post_with_delivery(&url, "s3cret", &hook, "fixed-guid").await,
        202
    );
    let seen = seen.lock().expect("seen");
    let header = |i: usize, name: &str| {
        seen[i]
            .0
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    for (i, (_, body)) in seen.iter().enumerate() {
        assert_eq!(header(i, "x-github-event").as_deref(), Some("push"));
        let signed = header(i, "x-hub-signature-256").expect("signed");
        // Ferry's own check accepts it, under that secret only.
        let secrets = [SecretString::from("s3cret".to_owned())];
        assert!(
            ferry::server::auth::check_github_signature(Some(signed.as_bytes()), body, &secrets)
                .is_ok()
        );
        let other = [SecretString::from("other".to_owned())];
        assert!(
            ferry::server::auth::check_github_signature(Some(signed.as_bytes()), body, &other)
                .is_err()
        );
        assert_eq!(
            signed,
            ferry::server::auth::github_signature(body, "s3cret")
        );
    }
    assert_ne!(
        header(0, "x-github-delivery"),
        header(1, "x-github-delivery")
    );
    assert_eq!(
        header(2, "x-github-delivery").as_deref(),
        Some("fixed-guid")
    );
}
