//! Several handles, threads and processes on one forge directory.

use std::sync::{Arc, Barrier};

use ferry::domain::MrIid;
use ferry::forge::{LocalForge, MergeOutcome, MrState};

use crate::local_support::{World, merge_at};

#[test]
fn a_second_handle_on_the_directory_sees_the_first_ones_work() {
    let world = World::new();
    world.branch("bump", "app.yaml", "image: web:2\n");
    world.open_mr("bump", "Bump");
    let other = LocalForge::open(&world.forge_dir(), "dana").expect("open again");
    let mr = other
        .get(&world.project, MrIid(1))
        .expect("seen from the other handle");
    assert_eq!(mr.title, "Bump");
    other
        .comment(&world.project, MrIid(1), "hello from another process")
        .expect("comment");
    let comments = world
        .forge
        .comment_list(&world.project, MrIid(1))
        .expect("comments");
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].author, other.user().id);

    let events = other.events_after(0).expect("events");
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(LocalForge::exists(&world.forge_dir()));
    let reader = LocalForge::open_to_read(&world.forge_dir()).expect("read");
    assert_eq!(reader.list(&Default::default()).expect("list").len(), 1);
    let refused = reader.comment(&world.project, MrIid(1), "who am I");
    let message = refused.expect_err("a reader writes nothing").to_string();
    assert!(message.contains("opened to read"), "{message}");
    let approving = reader.approve(&world.project, MrIid(1));
    assert!(approving.is_err(), "{approving:?}");
    assert_eq!(
        world
            .forge
            .comment_list(&world.project, MrIid(1))
            .expect("comments")
            .len(),
        1
    );
    // Numbers stay unique across handles.
    world.branch("second", "README.md", "# two\n");
    let two = other
        .create(
            &world.project,
            &crate::local_support::new_mr("second", "Two"),
        )
        .expect("create");
    assert_eq!(two.iid, MrIid(2));
}

#[test]
fn two_threads_merging_one_merge_request_merge_it_once() {
    let world = World::new();
    let main_before = world.main();
    let head = world.branch("bump", "app.yaml", "image: web:2\n");
    world.open_mr("bump", "Bump");
    let dir = world.forge_dir();
    let barrier = Arc::new(Barrier::new(2));
    let outcomes: Vec<MergeOutcome> = std::thread::scope(|scope| {
        let workers: Vec<_> = ["alice", "bob"]
            .into_iter()
            .map(|name| {
                let (dir, barrier, project, head) =
                    (&dir, Arc::clone(&barrier), &world.project, &head);
                scope.spawn(move || {
                    // A handle each, as two processes would have.
                    let forge = LocalForge::open(dir, name).expect("open");
                    barrier.wait();
                    forge
                        .accept(project, MrIid(1), &merge_at(head))
                        .expect("merge")
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("thread"))
            .collect()
    });
    let merged: Vec<_> = outcomes
        .iter()
        .map(|outcome| match outcome {
            MergeOutcome::Merged {
                merge_commit: Some(sha),
            } => sha.to_string(),
            other => panic!("both see it merged, got {other:?}"),
        })
        .collect();
    assert_eq!(merged[0], merged[1], "one merge commit");
    assert_eq!(world.rev("main").as_deref(), Some(merged[0].as_str()));
    assert_eq!(world.parents("main"), [main_before.clone(), head]);
    let on_main = crate::git_support::git(
        world.remote(),
        &["rev-list", "--count", &format!("{main_before}..main")],
    );
    assert_eq!(
        on_main.trim(),
        "2",
        "the branch commit and one merge commit"
    );
    let merges = world.forge.events_after(0).expect("events");
    let merge_events = merges
        .iter()
        .filter(|(_, event)| event.kind() == "mr_merged")
        .count();
    assert_eq!(merge_events, 1);
    assert_eq!(world.state(MrIid(1)), MrState::Merged);
}
