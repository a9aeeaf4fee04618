//! Bad input is an error that says what is wrong, never a panic.

use ferry::domain::{MrIid, ProjectPath};
use ferry::forge::{Forge, ForgeError, LocalForge};

use crate::local_support::{World, merge_at, new_mr};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_project_or_number_is_not_found() {
    let world = World::new();
    let elsewhere = ProjectPath::parse("eap/unknown").expect("project");
    let message = world
        .forge
        .create(&elsewhere, &new_mr("bump", "x"))
        .expect_err("unknown")
        .to_string();
    assert!(message.contains("no project eap/unknown"), "{message}");
    let read = world.forge.merge_request(&elsewhere, MrIid(1)).await;
    assert!(matches!(read, Err(ForgeError::NotFound { .. })), "{read:?}");
    let message = world
        .forge
        .comment(&elsewhere, MrIid(1), "hi")
        .expect_err("unknown")
        .to_string();
    assert!(message.contains("eap/unknown"), "{message}");

    let missing = world.forge.merge_request(&world.project, MrIid(7)).await;
    let Err(error @ ForgeError::NotFound { .. }) = missing else {
        panic!("not found expected, got {missing:?}");
    };
    assert!(
        error.to_string().contains("has no merge request !7"),
        "{error}"
    );
    for result in [
        world
            .forge
            .comment(&world.project, MrIid(7), "hi")
            .map(drop),
        world.forge.approve(&world.project, MrIid(7)).map(drop),
        world
            .forge
            .accept(&world.project, MrIid(7), &merge_at(&"a".repeat(40)))
            .map(drop),
        world.forge.close(&world.project, MrIid(7)).map(drop),
        world.forge.changed(&world.project, MrIid(7)).map(drop),
    ] {
        let message = result.expect_err("no such merge request").to_string();
        assert!(message.contains("!7"), "{message}");
    }
    let bad_repo = world.forge.add_project(&elsewhere, "/nonexistent/repo.git");
    assert!(bad_repo.is_err());
    let remote = world
        .forge
        .add_project(&elsewhere, "https://example.com/x.git");
    assert!(
        remote
            .expect_err("not local")
            .to_string()
            .contains("not on this machine")
    );
}

#[test]
fn bad_user_names_are_refused() {
    let world = World::new();
    for bad in ["", "has space", "semi;colon", "../up", &"x".repeat(65)] {
        let message = world
            .forge
            .as_user(bad)
            .err()
            .map(|err| err.to_string())
            .unwrap_or_default();
        assert!(message.contains("is not a user name"), "`{bad}`: {message}");
        assert!(
            LocalForge::open(&world.forge_dir(), bad).is_err(),
            "`{bad}`"
        );
        assert!(
            world
                .forge
                .add_user(bad, &[], ferry::forge::AccessLevel::Write)
                .is_err()
        );
    }
    assert!(world.forge.as_user("dana.dev_2-x").is_ok());
}

#[test]
fn a_corrupt_store_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("forge.sqlite3"),
        b"this is not a database at all, just text",
    )
    .expect("write");
    let opened = LocalForge::open(dir.path(), "dana");
    let message = opened.err().map(|err| err.to_string()).unwrap_or_default();
    assert!(message.contains("forge.sqlite3"), "{message}");
    assert!(LocalForge::open_to_read(dir.path()).is_err());

    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "x").expect("write");
    assert!(LocalForge::open(&not_a_dir, "dana").is_err());
}

#[test]
fn unreadable_rows_are_errors() {
    let world = World::new();
    world.branch("bump", "app.yaml", "image: web:2\n");
    world.open_mr("bump", "Bump");
    let db = rusqlite_connection(&world);
    db.execute(
        "UPDATE merge_requests SET state = 'weird', labels = 'nope'",
        [],
    )
    .expect("corrupt");
    db.execute(
        "INSERT INTO outbox (kind, payload, created_at) VALUES ('x', '{oops', 'now')",
        [],
    )
    .expect("corrupt");
    let message = world
        .forge
        .get(&world.project, MrIid(1))
        .expect_err("corrupt")
        .to_string();
    assert!(
        message.contains("unreadable") && message.contains("weird"),
        "{message}"
    );
    assert!(world.forge.list(&Default::default()).is_err());
    assert!(world.forge.events_after(0).is_err());
}

fn rusqlite_connection(world: &World) -> rusqlite::Connection {
    rusqlite::Connection::open(world.forge_dir().join("forge.sqlite3")).expect("open db")
}
