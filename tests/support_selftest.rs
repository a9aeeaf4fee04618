//! The test support checks itself: every GitLab webhook builder's payload goes through Ferry's
//! real parser (`ferry::events::parse`) and comes out as the event it means, payloads built
//! from the fake GitLab match its state, and `post` delivers them as GitLab does.

#[allow(dead_code)]
mod git_support;
#[allow(dead_code)]
mod support;

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use ferry::domain::forge_event::{PipelineStatus, ReviewState};
use ferry::domain::{CommitSha, Forge, ForgeEvent, GitRef, ProjectPath, UserId};
use serde_json::{Value, json};
use support::faults::fake_sha;
use support::gitlab_hooks::*;

const APP: &str = "eap/website";
const GITOPS: &str = "platform/gitops";

fn parse(hook: &Value) -> ForgeEvent {
    let body = serde_json::to_vec(hook).expect("serialise");
    ferry::events::parse(Forge::GitLab, event_of(hook), &body)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{hook:#}", event_of(hook)))
}

fn sha(seed: &str) -> String {
    fake_sha(seed)
}

fn commit(seed: &str) -> CommitSha {
    CommitSha::parse(&sha(seed)).expect("sha")
}

fn mei() -> Who {
    Who::new(312, "mlin")
}

fn project(path: &str) -> ProjectPath {
    ProjectPath::parse(path).expect("path")
}

#[test]
fn push_hook_is_a_branch_push_with_its_changed_paths() {
    let commits = [
        PushedCommit::modifying(&sha("c1"), "One", &["site/a.html"]),
        PushedCommit {
            id: sha("c2"),
            message: "Two".into(),
            added: vec!["site/b.html".into()],
            removed: vec!["site/old.css".into()],
            ..PushedCommit::default()
        },
    ];
    let hook = push(APP, "develop", &sha("c0"), &sha("c2"), &mei(), &commits);
    assert_eq!(event_of(&hook), "Push Hook");
    let ForgeEvent::BranchPushed(push) = parse(&hook) else {
        panic!("not a branch push")
    };
    assert_eq!(push.project, project(APP));
    assert_eq!(push.name, "develop");
    assert_eq!(push.before, Some(commit("c0")));
    assert_eq!(push.sha, commit("c2"));
    assert_eq!(
        push.changed_paths,
        Some(vec![
            "site/a.html".into(),
            "site/b.html".into(),
            "site/old.css".into()
        ])
    );
    let pusher = push.pusher.expect("pusher");
    assert_eq!((pusher.id, pusher.username.as_str()), (UserId(312), "mlin"));
}

#[test]
fn push_hook_for_new_and_deleted_branches() {
    let new = push_one(APP, "release-1.0.0", ZERO_SHA, &sha("r1"), &mei(), &["x"]);
    let ForgeEvent::BranchPushed(pushed) = parse(&new) else {
        panic!("not a branch push")
    };
    assert_eq!(pushed.before, None, "a new branch has no before");
    assert_eq!(pushed.changed_paths, Some(vec!["x".into()]));

    let deleted = push(APP, "old", &sha("o"), ZERO_SHA, &mei(), &[]);
    assert!(matches!(parse(&deleted), ForgeEvent::Ignored(_)));
}

#[test]
fn tag_push_hook_carries_the_tagged_commit() {
    let hook = tag_push(APP, "v1.4.0", &sha("tagged"), &mei());
    assert_eq!(event_of(&hook), "Tag Push Hook");
    assert_ne!(
        hook["after"], hook["checkout_sha"],
        "annotated: after is the tag object"
    );
    let ForgeEvent::TagPushed(push) = parse(&hook) else {
        panic!("not a tag push")
    };
    assert_eq!(push.name, "v1.4.0");
    assert_eq!(push.sha, commit("tagged"));
    assert_eq!(push.before, None);
    assert_eq!(push.changed_paths, None);
}

fn facts() -> MrFacts {
    let mut mr = MrFacts::new(GITOPS, 17, "ferry/staging/web", "main", &sha("head"));
    mr.title = "Promote web to staging".into();
    mr.author_id = 900;
    mr
}

#[test]
fn merge_request_hooks_for_each_action() {
    let mr = facts();
    let open = merge_request(&mr, &MrAction::Open, &mei());
    assert_eq!(event_of(&open), "Merge Request Hook");
    let ForgeEvent::MrOpened(opened) = parse(&open) else {
        panic!("not opened")
    };
    assert_eq!(opened.project, project(GITOPS));
    assert_eq!(opened.number, 17);
    assert_eq!(opened.title, "Promote web to staging");
    assert_eq!(opened.source_branch, "ferry/staging/web");
    assert_eq!(opened.target_branch, "main");
    assert_eq!(opened.head_sha, Some(commit("head")));
    assert_eq!(opened.author_id, Some(UserId(900)));
    assert_eq!(opened.actor.as_ref().map(|a| a.id), Some(UserId(312)));
    assert!(!opened.draft);
    assert_eq!(
        opened.url.as_deref(),
        Some("https://gitlab.test/platform/gitops/-/merge_requests/17")
    );

    let reopen = merge_request(&mr, &MrAction::Reopen, &mei());
    assert!(matches!(parse(&reopen), ForgeEvent::MrOpened(_)));

    let update = merge_request(
        &mr,
        &MrAction::Update {
            oldrev: sha("before"),
        },
        &mei(),
    );
    assert_eq!(
        update["object_attributes"]["oldrev"],
        sha("before").as_str()
    );
    let ForgeEvent::MrUpdated(updated) = parse(&update) else {
        panic!("not updated")
    };
    assert_eq!(updated.head_sha, Some(commit("head")));

    let fields = merge_request(&mr, &MrAction::UpdateFields, &mei());
    assert!(matches!(parse(&fields), ForgeEvent::Ignored(_)));

    let mut merged_mr = mr.clone();
    merged_mr.merge_commit_sha = Some(sha("merge"));
    let merge = merge_request(&merged_mr, &MrAction::Merge, &mei());
    assert_eq!(merge["object_attributes"]["state"], "merged");
    let ForgeEvent::MrMerged(merged) = parse(&merge) else {
        panic!("not merged")
    };
    assert_eq!(merged.merge_sha, commit("merge"));
    assert_eq!(merged.merged_by.map(|a| a.id), Some(UserId(312)));

    // Fast-forward: no merge commit, the head lands as is.
    let ff = merge_request(&mr, &MrAction::Merge, &mei());
    let ForgeEvent::MrMerged(merged) = parse(&ff) else {
        panic!("not merged")
    };
    assert_eq!(merged.merge_sha, commit("head"));

    let close = merge_request(&mr, &MrAction::Close, &mei());
    assert_eq!(close["object_attributes"]["state"], "closed");
    let ForgeEvent::MrClosed(closed) = parse(&close) else {
        panic!("not closed")
    };
    assert_eq!(closed.number, 17);

    let mut draft = merge_request(&mr, &MrAction::Open, &mei());
    draft["object_attributes"]["draft"] = json!(true);
    let ForgeEvent::MrOpened(opened) = parse(&draft) else {
        panic!("not opened")
    };
    assert!(opened.draft, "builders can be adjusted before posting");
}

#[test]
fn approvals_are_reviews_by_the_hook_user() {
    let mr = facts();
    let approval = merge_request(&mr, &MrAction::Approval, &Who::new(515, "rlee"));
    let ForgeEvent::ReviewSubmitted(review) = parse(&approval) else {
        panic!("not a review")
    };
    assert_eq!(review.state, ReviewState::Approved);
    assert_eq!(review.reviewer.id, UserId(515));
    assert_eq!(review.merge_request, 17);
    let unapproval = merge_request(&mr, &MrAction::Unapproval, &Who::new(515, "rlee"));
    let ForgeEvent::ReviewSubmitted(review) = parse(&unapproval) else {
        panic!("not a review")
    };
    assert_eq!(review.state, ReviewState::Unapproved);
}

#[test]
fn note_hooks_new_edited_and_system() {
    let mr = facts();
    let new = note(&mr, &NoteFacts::new(7790, &mei(), "/ferry approve"));
    assert_eq!(event_of(&new), "Note Hook");
    let ForgeEvent::CommentCreated(comment) = parse(&new) else {
        panic!("not a comment")
    };
    assert_eq!(comment.project, project(GITOPS));
    assert_eq!(comment.merge_request, 17);
    assert_eq!(comment.note_id, 7790);
    assert_eq!(comment.author.id, UserId(312));
    assert_eq!(comment.author.username, "mlin");
    assert_eq!(comment.body, "/ferry approve");
    assert!(!comment.system && !comment.edited);
    let created = comment.created_at.expect("created_at is read");
    let age = jiff::Timestamp::now().as_second() - created.as_second();
    assert!((0..60).contains(&age), "dated now: {created}");
    assert_eq!(
        comment.url.as_deref(),
        Some("https://gitlab.test/platform/gitops/-/merge_requests/17#note_7790")
    );

    let edited = note(&mr, &NoteFacts::new(7790, &mei(), "/ferry hold").edited());
    let ForgeEvent::CommentCreated(comment) = parse(&edited) else {
        panic!("not a comment")
    };
    assert!(comment.edited);
    assert_eq!(comment.body, "/ferry hold");

    let system = note(
        &mr,
        &NoteFacts::new(7795, &mei(), "approved this merge request").system(),
    );
    let ForgeEvent::CommentCreated(comment) = parse(&system) else {
        panic!("not a comment")
    };
    assert!(comment.system);
}

#[test]
fn pipeline_hooks_for_branches_tags_and_merge_requests() {
    let branch = pipeline(
        APP,
        23517,
        &sha("p"),
        "success",
        &PipelineFor::Branch("develop".into()),
        &mei(),
    );
    assert_eq!(event_of(&branch), "Pipeline Hook");
    let ForgeEvent::PipelineFinished(finished) = parse(&branch) else {
        panic!("not a pipeline")
    };
    assert_eq!(finished.project, project(APP));
    assert_eq!(finished.id, Some(23517));
    assert_eq!(finished.sha, commit("p"));
    assert_eq!(finished.git_ref, Some(GitRef::Branch("develop".into())));
    assert_eq!(finished.status, PipelineStatus::Success);
    assert_eq!(finished.merge_request, None);
    assert!(finished.finished_at.is_some());

    let tag = pipeline(
        APP,
        2,
        &sha("t"),
        "failed",
        &PipelineFor::Tag("v1.0.0".into()),
        &mei(),
    );
    let ForgeEvent::PipelineFinished(finished) = parse(&tag) else {
        panic!("not a pipeline")
    };
    assert_eq!(finished.git_ref, Some(GitRef::Tag("v1.0.0".into())));
    assert_eq!(finished.status, PipelineStatus::Failed);

    let mr = pipeline(
        GITOPS,
        3,
        &sha("head"),
        "success",
        &PipelineFor::MergeRequest(Box::new(facts())),
        &mei(),
    );
    assert_eq!(
        mr["object_attributes"]["ref"],
        "refs/merge-requests/17/head"
    );
    assert_eq!(mr["object_attributes"]["source"], "merge_request_event");
    let ForgeEvent::PipelineFinished(finished) = parse(&mr) else {
        panic!("not a pipeline")
    };
    assert_eq!(finished.git_ref, None);
    assert_eq!(finished.merge_request, Some(17));

    let running = pipeline(
        APP,
        4,
        &sha("r"),
        "running",
        &PipelineFor::Branch("main".into()),
        &mei(),
    );
    assert!(matches!(parse(&running), ForgeEvent::Ignored(_)));
}

#[tokio::test]
async fn hooks_built_from_the_fake_match_its_state() {
    use support::fake_gitlab::FakeGitLab;
    let fixture = git_support::Fixture::example();
    let fake = FakeGitLab::start().await;
    let dana = fake.add_user("dana");
    fake.add_project(GITOPS);
    fake.attach_repo(GITOPS, &fixture.remote);
    let main = fixture.rev("main");
    let iid = fake.open_mr(GITOPS, dana, "ferry/staging/web", "main", &main);
    assert_eq!(
        fixture.rev("ferry/staging/web"),
        main,
        "the real branch exists"
    );
    let project_id = fake.state.lock().expect("state").projects[0].id;

    let open = merge_request_from(&fake, GITOPS, iid, &MrAction::Open, &Who::new(dana, "dana"));
    assert_eq!(open["project"]["id"], project_id);
    assert_eq!(
        open["object_attributes"]["detailed_merge_status"],
        "mergeable"
    );
    let ForgeEvent::MrOpened(opened) = parse(&open) else {
        panic!("not opened")
    };
    assert_eq!(opened.number, iid);
    assert_eq!(opened.head_sha, Some(CommitSha::parse(&main).expect("sha")));
    assert_eq!(opened.author_id, Some(UserId(dana)));
    assert_eq!(opened.title, fake.mr(GITOPS, iid).title);

    let note_id = fake.add_note(GITOPS, iid, dana, "/ferry status", false);
    let hook = note_from(&fake, GITOPS, iid, note_id, false);
    let ForgeEvent::CommentCreated(comment) = parse(&hook) else {
        panic!("not a comment")
    };
    assert_eq!(
        (comment.note_id, comment.body.as_str()),
        (note_id, "/ferry status")
    );
    assert_eq!(comment.author.username, "dana");

    let pipeline_id = fake.add_pipeline(GITOPS, iid, "success");
    let hook = pipeline_from(&fake, GITOPS, pipeline_id, &Who::new(dana, "dana"));
    let ForgeEvent::PipelineFinished(finished) = parse(&hook) else {
        panic!("not a pipeline")
    };
    assert_eq!(finished.id, Some(pipeline_id));
    assert_eq!(finished.merge_request, Some(iid));
    assert_eq!(finished.status, PipelineStatus::Success);
}

#[tokio::test]
async fn post_sends_what_gitlab_sends() {
    type Seen = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;
    let seen: Seen = Arc::default();
    let keep = seen.clone();
    let app = axum::Router::new().route(
        "/webhooks/gitlab",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let keep = keep.clone();
            async move {
                keep.lock().expect("seen").push((headers, body.to_vec()));
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/webhooks/gitlab",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move { axum::serve(listener, app).await });

    let hook = tag_push(APP, "v1.0.0", &sha("c"), &mei());
    assert_eq!(post(&url, "s3cret", event_of(&hook), &hook).await, 202);
    assert_eq!(post(&url, "s3cret", event_of(&hook), &hook).await, 202);
    assert_eq!(
        post_with_uuid(&url, "s3cret", TAG_PUSH_HOOK, &hook, "fixed-uuid").await,
        202
    );
    let seen = seen.lock().expect("seen");
    assert_eq!(seen.len(), 3);
    let header = |i: usize, name: &str| {
        seen[i]
            .0
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    for i in 0..3 {
        assert_eq!(header(i, "x-gitlab-token").as_deref(), Some("s3cret"));
        assert_eq!(
            header(i, "x-gitlab-event").as_deref(),
            Some("Tag Push Hook")
        );
        assert_eq!(
            header(i, "content-type").as_deref(),
            Some("application/json")
        );
        let body: Value = serde_json::from_slice(&seen[i].1).expect("JSON body");
        assert_eq!(body, hook);
    }
    let (first, second) = (
        header(0, "x-gitlab-event-uuid"),
        header(1, "x-gitlab-event-uuid"),
    );
    assert!(first.is_some() && second.is_some());
    assert_ne!(first, second, "a fresh delivery id per call");
    assert_eq!(
        header(2, "x-gitlab-event-uuid").as_deref(),
        Some("fixed-uuid")
    );
}

#[tokio::test]
async fn the_real_server_accepts_and_parses_every_builder() {
    use ferry::config::Config;
    use ferry::store::sqlite::SqliteOptions;
    use ferry::store::{ListFilter, SqliteStore, State, Store};
    use ferry::worker::RecordingHandler;
    use secrecy::SecretString;

    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().expect("address");
    config.store.data_dir = dir.path().to_owned();
    config.workers.poll_interval_ms = 20;
    config.forges.gitlab.enabled = true;
    config.forges.gitlab.secrets = vec![SecretString::from("hook-secret".to_owned())];
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open_for_serve(&config.queue_path(), &SqliteOptions::from(&config.store))
            .expect("store"),
    );
    let handler =
        Arc::new(RecordingHandler::open(&dir.path().join("handled.sqlite3")).expect("handler"));
    let running = ferry::server::start(&config, Arc::clone(&store), handler)
        .await
        .expect("server");
    let url = format!("http://{}/webhooks/gitlab", running.local_addr());

    let mr = facts();
    let hooks = [
        push_one(APP, "develop", &sha("a"), &sha("b"), &mei(), &["x"]),
        tag_push(APP, "v1.0.0", &sha("b"), &mei()),
        merge_request(&mr, &MrAction::Open, &mei()),
        merge_request(&mr, &MrAction::Update { oldrev: sha("o") }, &mei()),
        merge_request(&mr, &MrAction::Merge, &mei()),
        merge_request(&mr, &MrAction::Close, &mei()),
        note(&mr, &NoteFacts::new(1, &mei(), "/ferry approve")),
        note(&mr, &NoteFacts::new(1, &mei(), "/ferry hold").edited()),
        pipeline(
            GITOPS,
            9,
            &sha("head"),
            "success",
            &PipelineFor::MergeRequest(Box::new(mr.clone())),
            &mei(),
        ),
    ];
    for hook in &hooks {
        assert_eq!(post(&url, "hook-secret", event_of(hook), hook).await, 202);
    }
    assert_eq!(post(&url, "wrong", PUSH_HOOK, &hooks[0]).await, 401);
    let mut done = Vec::new();
    for _ in 0..250 {
        done = store
            .list(ListFilter {
                states: vec![],
                limit: 100,
            })
            .await
            .expect("list");
        if done.len() == hooks.len()
            && done
                .iter()
                .all(|r| r.state != State::Pending && r.state != State::Running)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(done.len(), hooks.len());
    for record in &done {
        assert_eq!(record.state, State::Done, "{record:?}");
    }
    running.shutdown().await;
}
