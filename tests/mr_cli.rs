//! `ferry mr` as a person runs it: the real binary against a local forge set up through the
//! library, its output, and what it changed in git and in the forge.

#[allow(dead_code)]
mod git_support;
#[allow(dead_code)]
mod local_support;

use std::path::Path;
use std::process::Output;

use ferry::domain::MrIid;
use ferry::forge::{AccessLevel, CommitStatus, MrState, StatusState};

use local_support::World;

fn ferry(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .arg("mr")
        .arg("--forge-dir")
        .arg(dir)
        .args(args)
        .env_remove("FERRY_USER")
        .env_remove("FERRY_FORGE_DIR")
        .output()
        .expect("ferry runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `ferry mr ARGS` and returns stdout, failing the test on a non-zero exit.
fn ok(dir: &Path, args: &[&str]) -> String {
    let output = ferry(dir, args);
    assert!(
        output.status.success(),
        "ferry mr {args:?}: {}{}",
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

/// Runs `ferry mr ARGS`, expects exit code `code`, returns stderr.
fn fails(dir: &Path, args: &[&str], code: i32) -> String {
    let output = ferry(dir, args);
    assert_eq!(
        output.status.code(),
        Some(code),
        "ferry mr {args:?}: {}{}",
        stdout(&output),
        stderr(&output)
    );
    stderr(&output)
}

/// A forge with one open merge request from `bump`; returns its head.
fn one_mr(world: &World) -> String {
    let head = world.branch("bump", "app.yaml", "image: web:2\nreplicas: 1\n");
    world.open_mr("bump", "Bump web to 2");
    head
}

#[test]
fn list_shows_open_merge_requests_and_all_on_request() {
    let world = World::new();
    let dir = world.forge_dir();
    assert!(ok(&dir, &["list"]).contains("no merge requests"));
    let head = one_mr(&world);
    world.branch("old", "README.md", "# old\n");
    let old = world.open_mr("old", "Old idea");
    world.forge.close(&world.project, old.iid).expect("close");

    let listed = ok(&dir, &["list"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    for word in ["MR", "STATE", "BRANCHES", "HEAD", "AUTHOR", "TITLE"] {
        assert!(lines[0].contains(word), "{listed}");
    }
    for word in [
        "eap/gitops!1",
        "open",
        "bump -> main",
        &head[..7],
        "ferry",
        "Bump web to 2",
    ] {
        assert!(lines[1].contains(word), "`{word}` in {listed}");
    }
    let all = ok(&dir, &["list", "--state", "all"]);
    assert!(
        all.contains("eap/gitops!2") && all.contains("closed"),
        "{all}"
    );
    let closed = ok(
        &dir,
        &["list", "--state", "closed", "--project", "eap/gitops"],
    );
    assert!(
        !closed.contains("!1") && closed.contains("Old idea"),
        "{closed}"
    );
}

#[test]
fn show_prints_the_merge_request_with_its_statuses_approvals_and_comments() {
    let world = World::new();
    let dir = world.forge_dir();
    let head = one_mr(&world);
    let status = CommitStatus {
        context: "ferry/policy".into(),
        state: StatusState::Success,
        description: Some("allowed by promotion.yaml".into()),
        target_url: None,
    };
    world
        .forge
        .set_status(
            &world.project,
            MrIid(1),
            &local_support::sha(&head),
            &status,
        )
        .expect("status");
    world
        .forge
        .as_user("alice")
        .expect("alice")
        .approve(&world.project, MrIid(1))
        .expect("approve");
    world
        .forge
        .comment(&world.project, MrIid(1), "Ferry checked it\n\nall good")
        .expect("comment");

    let shown = ok(&dir, &["show", "1"]);
    for expected in [
        "eap/gitops!1  open  Bump web to 2",
        &format!("bump -> main, head {}, opened by ferry", &head[..7]),
        "ferry/policy",
        "allowed by promotion.yaml",
        "Approvals of this head: alice",
        "Bump web to 2, in detail",
        "Comments (1):",
        "Ferry checked it",
    ] {
        assert!(shown.contains(expected), "`{expected}` in:\n{shown}");
    }
    let missing = fails(&dir, &["show", "9"], 2);
    assert!(
        missing.contains("has no merge request !9") && missing.contains("ferry mr list"),
        "{missing}"
    );
}

#[test]
fn comment_and_approve_act_as_the_named_user_created_on_first_use() {
    let world = World::new();
    let dir = world.forge_dir();
    let head = one_mr(&world);
    assert_eq!(world.forge.find_user("dana").expect("find"), None);

    let said = ok(
        &dir,
        &[
            "--as", "dana", "comment", "1", "/ferry", "promote", "staging",
        ],
    );
    assert!(
        said.starts_with("dana commented on eap/gitops!1 (comment "),
        "{said}"
    );
    let dana = world
        .forge
        .find_user("dana")
        .expect("find")
        .expect("dana was created");
    let comments = world
        .forge
        .comment_list(&world.project, MrIid(1))
        .expect("comments");
    assert_eq!(comments.len(), 1);
    assert_eq!(
        (comments[0].author, comments[0].body.as_str()),
        (dana.id, "/ferry promote staging")
    );

    let approved = ok(&dir, &["approve", "1", "--as", "dana"]);
    assert!(
        approved.contains(&format!("dana approved eap/gitops!1 at {}", &head[..7])),
        "{approved}"
    );
    let approvals = world
        .forge
        .approval_list(&world.project, MrIid(1))
        .expect("approvals");
    assert_eq!(
        approvals.iter().map(|a| a.user).collect::<Vec<_>>(),
        [dana.id]
    );

    let anonymous = fails(&dir, &["comment", "1", "hello"], 2);
    assert!(
        anonymous.contains("--as NAME") && anonymous.contains("FERRY_USER"),
        "{anonymous}"
    );
    let bad_name = fails(&dir, &["--as", "no body", "comment", "1", "hello"], 2);
    assert!(bad_name.contains("is not a user name"), "{bad_name}");
    let kinds: Vec<&str> = ["mr_opened", "comment_created", "review_submitted"].to_vec();
    let events = world.forge.events_after(0).expect("events");
    assert_eq!(
        events
            .iter()
            .map(|(_, event)| event.kind())
            .collect::<Vec<_>>(),
        kinds
    );
}

#[test]
fn merge_merges_in_git_and_removes_the_branch_unless_kept() {
    let world = World::new();
    let dir = world.forge_dir();
    let head = one_mr(&world);
    let main_before = world.main();
    let merged = ok(&dir, &["--as", "dana", "merge", "1"]);
    let main_after = world.main();
    assert_eq!(
        merged.trim(),
        format!("dana merged eap/gitops!1 into main as {}", &main_after[..7])
    );
    assert_eq!(world.parents("main"), [main_before, head]);
    assert_eq!(world.rev("refs/heads/bump"), None);
    assert_eq!(world.state(MrIid(1)), MrState::Merged);

    let kept_head = world.branch("keep", "README.md", "# keep\n");
    world.open_mr("keep", "Keep");
    ok(
        &dir,
        &[
            "--as",
            "dana",
            "merge",
            "2",
            "--keep-branch",
            "--sha",
            &kept_head,
        ],
    );
    assert_eq!(world.rev("refs/heads/keep"), Some(kept_head));
}

#[test]
fn merge_refusals_exit_non_zero_and_say_what_to_do() {
    let world = World::new();
    let dir = world.forge_dir();
    let head = one_mr(&world);
    let main_before = world.main();

    world.add_commit("bump", "app.yaml", "image: web:3\nreplicas: 1\n");
    let moved = fails(&dir, &["--as", "dana", "merge", "1", "--sha", &head], 1);
    assert!(
        moved.contains("is no longer")
            && moved.contains("ferry mr show 1")
            && moved.contains("merge again"),
        "{moved}"
    );

    world
        .forge
        .add_user("rita", &[], AccessLevel::Read)
        .expect("rita");
    let forbidden = fails(&dir, &["--as", "rita", "merge", "1"], 1);
    assert!(
        forbidden.contains("rita may not merge") && forbidden.contains("write access"),
        "{forbidden}"
    );

    let bad_sha = fails(&dir, &["--as", "dana", "merge", "1", "--sha", "abc"], 2);
    assert!(bad_sha.contains("abc"), "{bad_sha}");

    world.push(
        "main",
        "main",
        &[local_support::Change::Write("app.yaml", "image: web:9\n")],
        "main moves",
    );
    let conflict = fails(&dir, &["--as", "dana", "merge", "1"], 1);
    assert!(
        conflict.contains("not merged")
            && conflict.contains("app.yaml")
            && conflict.contains("resolve"),
        "{conflict}"
    );
    assert_ne!(world.main(), main_before, "only main's own commit");
    assert_eq!(world.state(MrIid(1)), MrState::Open);
}

#[test]
fn a_missing_forge_dir_or_project_is_explained() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nowhere = dir.path().join("no-forge");
    let missing = fails(&nowhere, &["list"], 2);
    assert!(
        missing.contains("no local forge in") && missing.contains("--forge-dir"),
        "{missing}"
    );
    assert!(!nowhere.exists(), "reading creates nothing");
    let missing = fails(&nowhere, &["--as", "dana", "comment", "1", "x"], 2);
    assert!(missing.contains("no local forge in"), "{missing}");

    let world = World::new();
    let second = ferry::domain::ProjectPath::parse("eap/other").expect("project");
    world
        .forge
        .add_project(&second, &world.remote().display().to_string())
        .expect("second project");
    let which = fails(&world.forge_dir(), &["show", "1"], 2);
    assert!(
        which.contains("pass --project") && which.contains("eap/gitops, eap/other"),
        "{which}"
    );
}

#[test]
fn two_processes_merging_at_once_merge_once() {
    let world = World::new();
    let dir = world.forge_dir();
    let head = one_mr(&world);
    let main_before = world.main();
    let spawn = |user: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args([
                "mr",
                "--as",
                user,
                "merge",
                "1",
                "--sha",
                &head,
                "--forge-dir",
            ])
            .arg(&dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("ferry runs")
    };
    let running = [spawn("alice"), spawn("bob")];
    for child in running {
        let output = child.wait_with_output().expect("ferry ends");
        assert!(output.status.success(), "{}", stdout(&output));
    }
    assert_eq!(world.parents("main"), [main_before.clone(), head]);
    let count = git_support::git(
        world.remote(),
        &["rev-list", "--count", &format!("{main_before}..main")],
    );
    assert_eq!(count.trim(), "2", "the branch commit and one merge commit");
    let events = world.forge.events_after(0).expect("events");
    assert_eq!(
        events
            .iter()
            .filter(|(_, event)| event.kind() == "mr_merged")
            .count(),
        1
    );
}

#[test]
fn a_corrupt_forge_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("forge.sqlite3"),
        "not a database, only text, long enough",
    )
    .expect("write");
    for args in [
        &["list"][..],
        &["show", "1"],
        &["--as", "dana", "merge", "1"],
    ] {
        let message = fails(dir.path(), args, 2);
        assert!(
            message.starts_with("error: the local forge's store")
                && message.contains("forge.sqlite3"),
            "{message}"
        );
    }
}

/// Runs `ferry mr ARGS` with `input` on standard input.
fn with_stdin(dir: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .arg("mr")
        .arg("--forge-dir")
        .arg(dir)
        .args(args)
        .env_remove("FERRY_USER")
        .env_remove("FERRY_FORGE_DIR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ferry runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("ferry ends")
}

#[test]
fn open_and_push_hook_do_what_a_forge_ui_and_its_webhooks_would() {
    let world = World::new();
    let dir = world.forge_dir();
    let head = world.branch("feature", "app.yaml", "image: web:3\n");
    let opened = ok(
        &dir,
        &[
            "open", "feature", "--title", "Web 3", "--body", "Please", "--as", "alice",
        ],
    );
    assert!(opened.contains("alice opened"), "{opened}");
    let mr = world
        .forge
        .find_open(&world.project, "feature")
        .expect("read")
        .expect("opened");
    assert_eq!((mr.title.as_str(), mr.body.as_str()), ("Web 3", "Please"));
    assert_eq!(
        mr.head_sha.as_ref().map(|sha| sha.as_str()),
        Some(head.as_str())
    );

    let before = world.forge.events_after(0).expect("events").len() as u64;
    let zero = "0".repeat(40);
    let input = format!(
        "{zero} {head} refs/heads/feature\n{head} {zero} refs/heads/gone\n{zero} {head} refs/tags/v3\n{zero} {head} refs/notes/x\n"
    );
    let output = with_stdin(&dir, &["push-hook", "--as", "bob"], &input);
    assert!(output.status.success(), "{}", stderr(&output));
    let pushes: Vec<String> = world
        .forge
        .events_after(before)
        .expect("events")
        .into_iter()
        .filter_map(|(_, event)| match event {
            ferry::domain::ForgeEvent::BranchPushed(push) => Some(format!(
                "branch {} {}",
                push.name,
                push.pusher.map(|p| p.username).unwrap_or_default()
            )),
            ferry::domain::ForgeEvent::TagPushed(push) => Some(format!("tag {}", push.name)),
            _ => None,
        })
        .collect();
    assert_eq!(
        pushes,
        ["branch feature bob", "tag v3"],
        "deleted refs and notes are skipped"
    );

    let bad = with_stdin(&dir, &["push-hook", "--as", "bob"], "\nnot-a-line\n");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("stdin line 2: `not-a-line` is not `<old-sha> <new-sha> <ref>`"),
        "{}",
        stderr(&bad)
    );
    let bad_sha = with_stdin(
        &dir,
        &["push-hook", "--as", "bob"],
        "x abc refs/heads/main\n",
    );
    assert_eq!(bad_sha.status.code(), Some(2));
    assert!(
        stderr(&bad_sha).contains("stdin line 1: commit SHA `abc` is not valid"),
        "{}",
        stderr(&bad_sha)
    );
}

#[test]
fn admins_add_people_and_projects_from_the_command_line() {
    let world = World::new();
    let dir = world.forge_dir();
    let said = ok(
        &dir,
        &[
            "add-user",
            "erin",
            "--groups",
            "sre,eap/admins",
            "--access",
            "maintain",
            "--as",
            "root",
        ],
    );
    assert!(
        said.contains("has maintain access; groups: sre, eap/admins"),
        "{said}"
    );
    let erin = world.forge.find_user("erin").expect("read").expect("erin");
    assert_eq!(
        ferry::forge::local::parse_access("maintain").expect("level"),
        world.forge.access(erin.id).expect("access")
    );
    assert!(
        world
            .forge
            .member_of("eap/admins", erin.id)
            .expect("groups")
    );
    assert!(
        world
            .forge
            .member_of("sre/oncall", erin.id)
            .expect("groups"),
        "sre counts for its subgroups"
    );
    assert!(!world.forge.member_of("eap", erin.id).expect("groups"));
    let refused = fails(
        &dir,
        &["add-user", "erin", "--access", "root", "--as", "root"],
        2,
    );
    assert!(refused.contains("root"), "{refused}");

    let other = world.remote().display().to_string();
    ok(&dir, &["add-project", "eap/other", &other, "--as", "root"]);
    let projects: Vec<String> = world
        .forge
        .projects()
        .expect("projects")
        .into_iter()
        .map(|(path, _)| path.to_string())
        .collect();
    assert!(projects.contains(&"eap/other".to_owned()), "{projects:?}");
    let missing = fails(
        &dir,
        &[
            "add-project",
            "eap/none",
            "/no/such/repo.git",
            "--as",
            "root",
        ],
        2,
    );
    assert!(missing.contains("/no/such/repo.git"), "{missing}");
}
