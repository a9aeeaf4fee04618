//! Opening, reading, changing and closing merge requests; the head follows the branch.

use ferry::domain::{ForgeEvent, MrIid};
use ferry::forge::local::MrFilter;
use ferry::forge::{ChangedFile, FileChange, Forge, MrState, MrUpdate};

use crate::local_support::{Change, World, new_mr, sha};

#[test]
fn a_merge_request_is_opened_from_a_pushed_branch_and_read_back() {
    let world = World::new();
    let head = world.branch("bump-web", "app.yaml", "image: web:2\nreplicas: 1\n");
    let mr = world.open_mr("bump-web", "Bump web to 2");
    assert_eq!(mr.iid, MrIid(1));
    assert_eq!(mr.state, MrState::Open);
    assert_eq!(mr.head_sha, Some(sha(&head)));
    assert_eq!(mr.author, world.forge.user().id);
    assert_eq!(mr.labels, ["ferry"]);
    assert_eq!(mr.web_url, "local:eap/gitops!1");

    assert_eq!(world.forge.get(&world.project, MrIid(1)).expect("get"), mr);
    let view = world.forge.view(&world.project, MrIid(1)).expect("view");
    assert_eq!(view.author, "ferry");
    assert_eq!(view.mr, mr);
    assert_eq!(view.merge_sha, None);

    world.branch("other", "README.md", "# other\n");
    let second = world.open_mr("other", "Other");
    assert_eq!(second.iid, MrIid(2), "numbers count up per project");
    let listed: Vec<u64> = world
        .forge
        .list(&MrFilter::default())
        .expect("list")
        .iter()
        .map(|view| view.mr.iid.0)
        .collect();
    assert_eq!(listed, [1, 2]);

    let found = world
        .forge
        .find_open(&world.project, "other")
        .expect("find");
    assert_eq!(found.map(|mr| mr.iid), Some(MrIid(2)));
    assert_eq!(
        world.forge.find_open(&world.project, "nope").expect("find"),
        None
    );
}

#[test]
fn opening_needs_two_existing_branches_and_one_open_request_per_branch() {
    let world = World::new();
    let missing = world
        .forge
        .create(&world.project, &new_mr("not-pushed", "x"));
    let message = missing.expect_err("no such branch").to_string();
    assert!(
        message.contains("`not-pushed` does not exist") && message.contains("push it first"),
        "{message}"
    );

    world.branch("feature", "README.md", "# feature\n");
    let mut to_nowhere = new_mr("feature", "x");
    to_nowhere.target_branch = "release".into();
    let message = world
        .forge
        .create(&world.project, &to_nowhere)
        .expect_err("no target")
        .to_string();
    assert!(message.contains("`release` does not exist"), "{message}");

    let mut onto_itself = new_mr("feature", "x");
    onto_itself.target_branch = "feature".into();
    assert!(world.forge.create(&world.project, &onto_itself).is_err());

    world.open_mr("feature", "first");
    let message = world
        .forge
        .create(&world.project, &new_mr("feature", "again"))
        .expect_err("duplicate")
        .to_string();
    assert!(
        message.contains("already exists") && message.contains("!1"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forge_trait_opens_updates_and_closes() {
    let world = World::new();
    let forge: &dyn Forge = &world.forge;
    let project = &world.project;
    world.branch("promote", "app.yaml", "image: web:3\n");
    let mr = forge
        .create_merge_request(project, &new_mr("promote", "Promote"))
        .await
        .expect("create");
    assert_eq!(forge.current_user().await.expect("me").username, "ferry");
    assert_eq!(
        forge.merge_request(project, mr.iid).await.expect("read"),
        mr
    );
    let found = forge
        .find_open_merge_request(project, "promote")
        .await
        .expect("find");
    assert_eq!(found, Some(mr.clone()));

    let update = MrUpdate {
        title: Some("Promote web 3".into()),
        body: None,
        labels: Some(vec!["ferry".into(), "production".into()]),
    };
    let updated = forge
        .update_merge_request(project, mr.iid, &update)
        .await
        .expect("update");
    assert_eq!(updated.title, "Promote web 3");
    assert_eq!(updated.body, mr.body, "a field left out stays");
    assert_eq!(updated.labels, ["ferry", "production"]);
    let only_body = MrUpdate {
        body: Some("new body".into()),
        ..MrUpdate::default()
    };
    let updated = forge
        .update_merge_request(project, mr.iid, &only_body)
        .await
        .expect("update");
    assert_eq!(
        (updated.title.as_str(), updated.body.as_str()),
        ("Promote web 3", "new body")
    );
    assert_eq!(updated.labels, ["ferry", "production"]);

    let closed = forge
        .close_merge_request(project, mr.iid)
        .await
        .expect("close");
    assert_eq!(closed.state, MrState::Closed);
    assert_eq!(closed.head_sha, mr.head_sha);
    let again = forge
        .close_merge_request(project, mr.iid)
        .await
        .expect("close twice");
    assert_eq!(again.state, MrState::Closed);
    assert_eq!(
        forge
            .find_open_merge_request(project, "promote")
            .await
            .expect("find"),
        None
    );
    let closed_views = world.forge.list(&MrFilter {
        project: Some(project.clone()),
        state: Some(MrState::Closed),
    });
    assert_eq!(closed_views.expect("list").len(), 1);
    assert!(
        world
            .forge
            .list(&MrFilter {
                project: None,
                state: Some(MrState::Open)
            })
            .expect("list")
            .is_empty()
    );

    // A closed merge request frees its branch for a new one.
    let reopened = world.open_mr("promote", "Promote, again");
    assert_eq!(reopened.iid.0, 2);
}

#[test]
fn the_head_follows_the_branch_and_each_push_is_announced_once() {
    let world = World::new();
    let first = world.branch("bump", "app.yaml", "image: web:2\n");
    world.open_mr("bump", "Bump");
    let seen = world.forge.events_after(0).expect("events");
    let last = seen.last().map(|(seq, _)| *seq).expect("an event");

    let second = world.add_commit("bump", "app.yaml", "image: web:3\n");
    assert_ne!(first, second);
    let mr = world.forge.get(&world.project, MrIid(1)).expect("get");
    assert_eq!(
        mr.head_sha,
        Some(sha(&second)),
        "the head is read from the branch"
    );

    let events = world.forge.events_after(last).expect("events");
    let [(_, ForgeEvent::MrUpdated(update))] = events.as_slice() else {
        panic!("one MrUpdated expected, got {events:?}");
    };
    assert_eq!(update.head_sha, Some(sha(&second)));
    assert_eq!(update.number, 1);
    assert!(
        world
            .forge
            .events_after(last + 1)
            .expect("events")
            .is_empty(),
        "announced once"
    );
    assert_eq!(world.forge.sync_heads().expect("sync"), 0);

    world.add_commit("bump", "app.yaml", "image: web:4\n");
    assert_eq!(world.forge.sync_heads().expect("sync"), 1);
    assert_eq!(world.forge.sync_heads().expect("sync"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_files_are_counted_from_the_merge_base() {
    let world = World::new();
    world.push(
        "main",
        "tidy",
        &[
            Change::Write("app.yaml", "image: web:2\nreplicas: 1\n"),
            Change::Write("new.yaml", "kind: New\n"),
            Change::Delete("gone.txt"),
            Change::Rename("old.txt", "renamed.txt"),
        ],
        "tidy up",
    );
    // A later commit on main is not the merge request's change.
    world.push(
        "main",
        "main",
        &[Change::Write("README.md", "# moved on\n")],
        "main moves",
    );
    let mr = world.open_mr("tidy", "Tidy");
    let mut files = world
        .forge
        .changed_files(&world.project, mr.iid)
        .await
        .expect("changes");
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let file = |path: &str, previous: Option<&str>, change| ChangedFile {
        path: path.into(),
        previous_path: previous.map(Into::into),
        change,
    };
    assert_eq!(
        files,
        [
            file("app.yaml", None, FileChange::Modified),
            file("gone.txt", None, FileChange::Deleted),
            file("new.yaml", None, FileChange::Added),
            file("renamed.txt", Some("old.txt"), FileChange::Renamed),
        ]
    );
}
