//! `ferry events list|show|retry` on a queue with a dead letter.

use std::time::Duration;

use assert_cmd::Command;
use ferry::domain::{MrIid, ProjectPath};
use ferry::store::sqlite::SqliteOptions;
use ferry::store::{
    AfterFailure, CommentKey, Forge, Intake, NewCommand, NewDelivery, SqliteStore, Store, WorkerId,
};

fn events(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferry"));
    command
        .arg("events")
        .env_remove("FERRY_CONFIG")
        .env("FERRY_STORE__DATA_DIR", dir);
    command
}

#[tokio::test]
async fn list_show_and_retry_a_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(&dir.path().join("queue.sqlite3"), &SqliteOptions::default())
            .unwrap();
        store
            .insert(NewDelivery {
                forge: Forge::GitLab,
                delivery_id: "uuid-dead".into(),
                event_type: "Note Hook".into(),
                intake: Intake::Queued {
                    repository: "eap/gitops".into(),
                },
                body: br#"{"object_kind":"note"}"#.to_vec(),
            })
            .await
            .unwrap();
        let worker = WorkerId("w".into());
        let claimed = store
            .claim(&worker, Duration::from_secs(60), 1)
            .await
            .unwrap();
        store
            .fail(
                claimed[0].id,
                &worker,
                "forge answered 500",
                AfterFailure::Dead,
            )
            .await
            .unwrap();
        // It had recorded two commands of its comment and run the first when it died.
        let recorded = store
            .record_commands(
                CommentKey {
                    forge: Forge::GitLab,
                    project: ProjectPath::parse("eap/gitops").unwrap(),
                    merge_request: MrIid(17),
                    comment_id: 7781,
                },
                ["/ferry approve", "/ferry status"]
                    .iter()
                    .zip(3..)
                    .map(|(text, line)| NewCommand {
                        text: (*text).to_owned(),
                        occurrence: 1,
                        line,
                    })
                    .collect(),
                claimed[0].id,
            )
            .await
            .unwrap();
        store.finish_command(recorded[0].id).await.unwrap();
    }
    let listed = events(dir.path())
        .args(["list", "--state", "dead"])
        .assert()
        .success();
    let listed = String::from_utf8(listed.get_output().stdout.clone()).unwrap();
    assert!(listed.contains("eap/gitops"), "{listed}");
    assert!(listed.contains("forge answered 500"), "{listed}");
    let none = events(dir.path())
        .args(["list", "--state", "pending"])
        .assert()
        .success();
    assert!(!String::from_utf8_lossy(&none.get_output().stdout).contains("eap/gitops"));

    let shown = events(dir.path())
        .args(["show", "1", "--body"])
        .assert()
        .success();
    let shown = String::from_utf8(shown.get_output().stdout.clone()).unwrap();
    assert!(shown.contains("delivery id:     uuid-dead"), "{shown}");
    assert!(shown.contains("state:           dead"), "{shown}");
    assert!(shown.contains(r#"{"object_kind":"note"}"#), "{shown}");
    assert!(
        shown.contains("commands:\n  line 3    done     #1      /ferry approve\n  line 4    pending  #2      /ferry status\n"),
        "{shown}"
    );

    events(dir.path()).args(["retry", "1"]).assert().success();
    let again = events(dir.path()).args(["show", "1"]).assert().success();
    let again = String::from_utf8(again.get_output().stdout.clone()).unwrap();
    assert!(again.contains("state:           pending"), "{again}");
    assert!(again.contains("attempts:        0"), "{again}");
    // Already queued: refused with exit 1 and the reason.
    let refused = events(dir.path()).args(["retry", "1"]).assert().code(1);
    assert!(String::from_utf8_lossy(&refused.get_output().stderr).contains("already queued"));
    events(dir.path()).args(["show", "99"]).assert().code(2);
    events(dir.path())
        .args(["list", "--state", "stuck"])
        .assert()
        .code(2);
}

#[test]
fn a_missing_queue_is_reported_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let output = events(&missing).arg("list").assert().code(2);
    assert!(String::from_utf8_lossy(&output.get_output().stderr).contains("no queue at"));
    assert!(!missing.exists());
}
