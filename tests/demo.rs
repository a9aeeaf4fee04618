//! `ferry demo --exit`, the README's first command, run as a user runs it; the end state is
//! read back from the GitOps repository with git, `ferry audit` and `openssl verify`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn ferry(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .current_dir(cwd)
        .env_remove("FERRY_CONFIG")
        .output()
        .expect("run ferry")
}

fn git(repo: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("--git-dir")
        .arg(repo)
        .args(args)
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn image_of(repo: &Path, environment: &str) -> String {
    let overlay = git(
        repo,
        &[
            "show",
            &format!("main:apps/web/overlays/{environment}/kustomization.yaml"),
        ],
    );
    let line = overlay
        .lines()
        .find(|line| line.trim_start().starts_with("newTag:"))
        .unwrap_or_else(|| panic!("no newTag in {environment}:\n{overlay}"));
    line.split_once(':')
        .map(|(_, tag)| tag.split('#').next().unwrap_or("").trim().to_owned())
        .unwrap_or_default()
}

fn run_demo(dir: &Path) -> String {
    let output = ferry(&["demo", "--dir", "sandbox", "--exit"], dir);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "ferry demo failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_demo_plays_the_whole_gitflow_and_leaves_an_audited_repository() {
    let work = tempfile::tempdir().expect("temp dir");
    let stdout = run_demo(work.path());
    let sandbox = work.path().join("sandbox");
    let gitops = sandbox.join("git/eap/gitops.git");
    let source = sandbox.join("git/eap/website.git");

    // What the user reads: each step, with where to look.
    for expected in [
        "waits at the manual gate",
        "it has 1",
        "Ferry merged !3",
        "Roll back web in production to v1.0.0",
        "ferry/csr success",
        "openssl verify",
    ] {
        assert!(stdout.contains(expected), "`{expected}` missing:\n{stdout}");
    }

    // History: one merge commit per merge request, in story order, then the certificate.
    let subjects = git(&gitops, &["log", "--first-parent", "--format=%s", "main"]);
    let subjects: Vec<&str> = subjects.lines().rev().collect();
    assert_eq!(
        subjects,
        [
            "Initial GitOps repository",
            "Merge branch 'ferry/integration/web' into 'main'",
            "Merge branch 'ferry/staging/web' into 'main'",
            "Merge branch 'ferry/production/web' into 'main'",
            "Merge branch 'ferry/staging/web' into 'main'",
            "Merge branch 'ferry/production/web' into 'main'",
            "Merge branch 'ferry/production/web' into 'main'",
            "Merge branch 'alice/kubectl-access' into 'main'",
            "Issue client certificates for alice: integration",
        ]
    );

    // Overlays: integration and staging run the source commits that were pushed; production
    // was rolled back from v1.0.1 to v1.0.0.
    let develop = git(&source, &["rev-parse", "--short=7", "develop"]);
    let release = git(&source, &["rev-parse", "--short=7", "release-1.0.0"]);
    assert_eq!(
        image_of(&gitops, "integration"),
        format!("develop.{}", develop.trim())
    );
    assert_eq!(
        image_of(&gitops, "staging"),
        format!("release-1.0.0.{}", release.trim())
    );
    assert_eq!(image_of(&gitops, "production"), "v1.0.0");
    assert_eq!(
        git(&source, &["rev-parse", "v1.0.1"]).trim(),
        git(&source, &["rev-parse", "release-1.0.0"]).trim(),
        "v1.0.1 is the hotfix on the release branch"
    );

    // The audit, read back from git by a separate `ferry audit`.
    let audit = ferry(
        &[
            "audit",
            "--repo",
            &gitops.display().to_string(),
            "--data-dir",
            "audit-data",
            "--environment",
            "production",
            "--format",
            "json",
        ],
        work.path(),
    );
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let records: Vec<Value> = serde_json::from_slice(&audit.stdout).expect("audit JSON");
    let ferry_records: Vec<(&str, &str, &str, Vec<&str>)> = records
        .iter()
        .filter(|r| r["action"] != "manual")
        .map(|r| {
            (
                r["action"].as_str().unwrap_or(""),
                r["image"].as_str().unwrap_or(""),
                r["merge_request"].as_str().unwrap_or(""),
                r["approved_by"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let image = |tag: &str| format!("registry.example.com/eap/website:{tag}");
    assert_eq!(
        ferry_records,
        [
            (
                "rollback",
                image("v1.0.0").as_str(),
                "eap/gitops!6",
                vec!["dave", "erin"]
            ),
            (
                "promote",
                image("v1.0.1").as_str(),
                "eap/gitops!5",
                vec!["alice", "erin"]
            ),
            (
                "promote",
                image("v1.0.0").as_str(),
                "eap/gitops!3",
                vec!["alice", "erin"]
            ),
        ]
    );
    assert_eq!(records[0]["requested_by"], "alice");
    assert_eq!(records[1]["requested_by"], "carol");

    // The certificate verifies against the cluster CA committed in the repository, and
    // carries exactly what the CSR asked for and the policy allowed.
    let cert = work.path().join("alice.crt");
    let ca = work.path().join("ca.crt");
    std::fs::write(
        &cert,
        git(&gitops, &["show", "main:certs/integration/alice.crt"]),
    )
    .expect("cert");
    std::fs::write(&ca, git(&gitops, &["show", "main:ca/integration.crt"])).expect("ca");
    let verify = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&ca)
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        verify.status.success() && String::from_utf8_lossy(&verify.stdout).contains(": OK"),
        "openssl verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let subject = Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "compat", "-in"])
        .arg(&cert)
        .output()
        .expect("openssl");
    assert_eq!(
        String::from_utf8_lossy(&subject.stdout).trim(),
        "subject=/O=developers/CN=alice"
    );
    let production_ca = work.path().join("production.crt");
    std::fs::write(
        &production_ca,
        git(&gitops, &["show", "main:ca/production.crt"]),
    )
    .expect("ca");
    let wrong = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&production_ca)
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        !wrong.status.success(),
        "the certificate must not verify against another CA"
    );

    // The local forge is left for `ferry mr`: the merge requests and who merged the CSR.
    let list = ferry(
        &[
            "mr",
            "list",
            "--state",
            "all",
            "--project",
            "eap/gitops",
            "--forge-dir",
            &sandbox.join("forge").display().to_string(),
        ],
        work.path(),
    );
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert_eq!(listed.matches("merged").count(), 7, "{listed}");
}

#[test]
fn a_second_run_in_the_same_directory_starts_afresh() {
    let work = tempfile::tempdir().expect("temp dir");
    run_demo(work.path());
    let gitops = work.path().join("sandbox/git/eap/gitops.git");
    let first = git(&gitops, &["rev-parse", "main"]);
    let keep = work.path().join("sandbox/notes.txt");
    std::fs::write(&keep, "mine").expect("write");
    run_demo(work.path());
    let count = git(&gitops, &["rev-list", "--first-parent", "--count", "main"]);
    assert_eq!(
        count.trim(),
        "9",
        "the story ran once on a fresh repository"
    );
    assert_ne!(git(&gitops, &["rev-parse", "main"]), first);
    assert_eq!(
        std::fs::read_to_string(&keep).expect("kept"),
        "mine",
        "files the demo does not own are left alone"
    );
}

/// What the demo says at its end: `ferry serve --config DIR/ferry.yaml` serves the sandbox
/// again, and `ferry mr` commands given to the local forge reach Ferry through its feed.
#[test]
fn ferry_serve_continues_the_sandbox_from_the_config_the_demo_wrote() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let work = tempfile::tempdir().expect("temp dir");
    run_demo(work.path());
    let sandbox = work.path().join("sandbox");
    let forge = sandbox.join("forge").display().to_string();
    let mut server = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["serve", "--config"])
        .arg(sandbox.join("ferry.yaml"))
        .env_remove("FERRY_CONFIG")
        .stderr(Stdio::piped())
        .spawn()
        .expect("ferry serve starts");
    let stderr = server.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.starts_with("ferry serve: listening on "));
    assert!(listening, "the server did not start");
    std::thread::spawn(move || {
        lines
            .map_while(Result::ok)
            .for_each(|l| eprintln!("server: {l}"))
    });

    // A new release reaches staging with no demo running: push recorded by the hook command,
    // the promotion opened and merged by the served engine.
    let source = sandbox.join("git/eap/website.git");
    let release = git(&source, &["rev-parse", "release-1.0.0"]);
    let hook = format!(
        "{} {} refs/heads/release-1.1.0\n",
        "0".repeat(40),
        release.trim()
    );
    let mut push = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args([
            "mr",
            "push-hook",
            "--project",
            "eap/website",
            "--as",
            "alice",
            "--forge-dir",
            &forge,
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect("push-hook runs");
    {
        use std::io::Write;
        push.stdin
            .take()
            .expect("stdin")
            .write_all(hook.as_bytes())
            .expect("write");
    }
    assert!(push.wait().expect("push-hook ends").success());
    let gitops = sandbox.join("git/eap/gitops.git");
    let wanted = format!("release-1.1.0.{}", &release.trim()[..7]);
    let mut staged = false;
    for _ in 0..200 {
        if image_of(&gitops, "staging") == wanted {
            staged = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        staged,
        "staging runs {}, not {wanted}",
        image_of(&gitops, "staging")
    );
}
