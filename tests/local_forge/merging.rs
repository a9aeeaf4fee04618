//! Real merges behind the head-SHA guard, and every way a merge does not happen.

use ferry::domain::MrIid;
use ferry::forge::{
    AccessLevel, FileChange, Forge, ForgeError, MergeOptions, MergeOutcome, MrState,
};

use crate::local_support::{World, merge_at, sha};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_puts_a_merge_commit_with_both_parents_on_the_target() {
    let world = World::new();
    let main_before = world.main();
    let head = world.branch("bump", "app.yaml", "image: web:2\nreplicas: 1\n");
    let mr = world.open_mr("bump", "Bump web");
    let outcome = world
        .forge
        .merge(&world.project, mr.iid, &merge_at(&head))
        .await
        .expect("merge");
    let MergeOutcome::Merged {
        merge_commit: Some(merge_commit),
    } = outcome
    else {
        panic!("merged expected, got {outcome:?}");
    };
    assert_eq!(world.rev("main").as_deref(), Some(merge_commit.as_str()));
    assert_eq!(world.parents("main"), [main_before, head.clone()]);
    let file = crate::git_support::git(world.remote(), &["show", "main:app.yaml"]);
    assert_eq!(file, "image: web:2\nreplicas: 1\n");
    let message =
        crate::git_support::git(world.remote(), &["log", "-1", "--format=%an%n%B", "main"]);
    assert!(
        message.starts_with("ferry\nMerge branch 'bump' into 'main'"),
        "{message}"
    );
    assert!(message.contains("eap/gitops!1"), "{message}");
    assert_eq!(
        world.rev("refs/heads/bump"),
        None,
        "remove_source_branch deletes it"
    );

    let merged = world
        .forge
        .merge_request(&world.project, mr.iid)
        .await
        .expect("read");
    assert_eq!(merged.state, MrState::Merged);
    assert_eq!(
        merged.head_sha,
        Some(sha(&head)),
        "the head it was merged at"
    );
    let view = world.forge.view(&world.project, mr.iid).expect("view");
    assert_eq!(view.merge_sha, Some(merge_commit.clone()));

    // The engine reads the files of a merged merge request (CSR signing does).
    let files = world
        .forge
        .changed_files(&world.project, mr.iid)
        .await
        .expect("files");
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        (files[0].path.as_str(), files[0].change),
        ("app.yaml", FileChange::Modified)
    );

    let again = world
        .forge
        .merge(&world.project, mr.iid, &merge_at(&head))
        .await
        .expect("again");
    assert_eq!(
        again,
        MergeOutcome::Merged {
            merge_commit: Some(merge_commit.clone())
        }
    );
    assert_eq!(
        world.rev("main").as_deref(),
        Some(merge_commit.as_str()),
        "merged once"
    );
    let other = world
        .forge
        .merge(&world.project, mr.iid, &merge_at(&world.main()))
        .await;
    assert!(
        matches!(other, Ok(MergeOutcome::NotMergeable { .. })),
        "{other:?}"
    );
}

#[test]
fn a_moved_head_merges_nothing() {
    let world = World::new();
    let decided_on = world.branch("bump", "app.yaml", "image: web:2\n");
    let mr = world.open_mr("bump", "Bump");
    let main_before = world.main();
    let newer = world.add_commit("bump", "app.yaml", "image: web:9\n");
    let outcome = world.accept(mr.iid, &decided_on);
    assert_eq!(outcome, MergeOutcome::ShaMismatch);
    assert_eq!(world.main(), main_before);
    assert_eq!(
        world.rev("refs/heads/bump").as_deref(),
        Some(newer.as_str())
    );
    assert_eq!(world.state(mr.iid), MrState::Open);
}

#[test]
fn conflicting_branches_are_not_mergeable_and_the_target_stays() {
    let world = World::new();
    let head = world.branch("ours", "app.yaml", "image: web:2\nreplicas: 1\n");
    let mr = world.open_mr("ours", "Ours");
    world.push(
        "main",
        "main",
        &[crate::local_support::Change::Write(
            "app.yaml",
            "image: web:7\nreplicas: 1\n",
        )],
        "main too",
    );
    let main_before = world.main();
    let outcome = world.accept(mr.iid, &head);
    let MergeOutcome::NotMergeable { reason } = outcome else {
        panic!("not mergeable expected, got {outcome:?}");
    };
    assert!(
        reason.contains("app.yaml") && reason.contains("resolve"),
        "{reason}"
    );
    assert_eq!(world.main(), main_before);
    assert_eq!(
        world.rev("refs/heads/ours").as_deref(),
        Some(head.as_str()),
        "the branch stays"
    );
    assert_eq!(world.state(mr.iid), MrState::Open);
}

#[test]
fn a_closed_merge_request_is_not_mergeable() {
    let world = World::new();
    let head = world.branch("bump", "app.yaml", "image: web:2\n");
    let mr = world.open_mr("bump", "Bump");
    world.forge.close(&world.project, mr.iid).expect("close");
    let main_before = world.main();
    let outcome = world.accept(mr.iid, &head);
    assert!(
        matches!(&outcome, MergeOutcome::NotMergeable { reason } if reason.contains("closed")),
        "{outcome:?}"
    );
    assert_eq!(world.main(), main_before);
    let message = world.forge.close(&world.project, mr.iid).map(|mr| mr.state);
    assert_eq!(message.expect("closing twice is fine"), MrState::Closed);
}

#[test]
fn the_source_branch_stays_unless_asked_to_remove_it() {
    let world = World::new();
    let head = world.branch("keep", "README.md", "# kept\n");
    let mr = world.open_mr("keep", "Keep");
    let options = MergeOptions {
        remove_source_branch: false,
        ..merge_at(&head)
    };
    let outcome = world
        .forge
        .accept(&world.project, mr.iid, &options)
        .expect("merge");
    assert!(matches!(outcome, MergeOutcome::Merged { .. }));
    assert_eq!(world.rev("refs/heads/keep").as_deref(), Some(head.as_str()));
    // Pushing on to a merged branch announces nothing: the merge request is done.
    let last = world.forge.events_after(0).expect("events").len() as u64;
    world.add_commit("keep", "README.md", "# after\n");
    assert!(world.forge.events_after(last).expect("events").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_needs_write_access() {
    let world = World::new();
    world
        .forge
        .add_user("rita", &[], AccessLevel::Read)
        .expect("add rita");
    let rita = world.forge.as_user("rita").expect("rita");
    let head = world.branch("bump", "app.yaml", "image: web:2\n");
    let mr = world.open_mr("bump", "Bump");
    let main_before = world.main();
    let refused = rita.merge(&world.project, mr.iid, &merge_at(&head)).await;
    let Err(error @ ForgeError::Forbidden { .. }) = refused else {
        panic!("forbidden expected, got {refused:?}");
    };
    let message = error.to_string();
    assert!(
        message.contains("rita may not merge") && message.contains("write access"),
        "{message}"
    );
    let blocking = rita
        .accept(&world.project, mr.iid, &merge_at(&head))
        .expect_err("refused");
    assert!(blocking.to_string().contains("write access"), "{blocking}");
    assert_eq!(world.main(), main_before);
    assert_eq!(world.state(mr.iid), MrState::Open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_when_pipeline_succeeds_merges_at_once_and_says_so() {
    let world = World::new();
    let head = world.branch("bump", "app.yaml", "image: web:2\n");
    let mr = world.open_mr("bump", "Bump");
    let options = MergeOptions {
        when_pipeline_succeeds: true,
        commit_message: Some("Promote web 2\n\nFerry-Promotion: web".into()),
        ..merge_at(&head)
    };
    let outcome = world
        .forge
        .merge(&world.project, mr.iid, &options)
        .await
        .expect("merge");
    assert!(
        matches!(
            outcome,
            MergeOutcome::Merged {
                merge_commit: Some(_)
            }
        ),
        "{outcome:?}"
    );
    let message = crate::git_support::git(world.remote(), &["log", "-1", "--format=%B", "main"]);
    assert_eq!(message.trim(), "Promote web 2\n\nFerry-Promotion: web");
    let comments = world
        .forge
        .comments(&world.project, mr.iid)
        .await
        .expect("comments");
    let [note] = comments.as_slice() else {
        panic!("one note expected: {comments:?}");
    };
    assert!(note.body.contains("runs no pipelines"), "{}", note.body);
    assert_eq!(note.author, world.forge.user().id);
    assert_eq!(world.state(MrIid(1)), MrState::Merged);
}

#[test]
fn a_merge_request_whose_branch_is_gone_is_not_mergeable() {
    let world = World::new();
    let head = world.branch("gone", "README.md", "# gone\n");
    let mr = world.open_mr("gone", "Gone");
    crate::git_support::git(world.remote(), &["branch", "-D", "gone"]);
    let main_before = world.main();
    let outcome = world.accept(mr.iid, &head);
    assert!(
        matches!(&outcome, MergeOutcome::NotMergeable { reason } if reason.contains("no longer exists")),
        "{outcome:?}"
    );
    assert_eq!(world.main(), main_before);
    let kept = world.forge.get(&world.project, mr.iid).expect("get");
    assert_eq!(kept.head_sha, Some(sha(&head)), "its last known head");
}

#[test]
fn any_name_an_account_may_have_can_sign_a_merge() {
    let world = World::new();
    for (n, name) in ["d", "dana.dev", "_bot", "9lives-"].into_iter().enumerate() {
        let branch = format!("b{n}");
        let head = world.branch(&branch, &format!("{branch}.txt"), name);
        let mr = world.open_mr(&branch, name);
        let merger = world.forge.as_user(name).expect("user");
        let outcome = merger.accept(&world.project, mr.iid, &merge_at(&head));
        assert!(
            matches!(outcome, Ok(MergeOutcome::Merged { .. })),
            "{name}: {outcome:?}"
        );
    }
}
