//! `ferry promote`, `ferry rollback` and `ferry audit` as CI jobs run them: the real binary
//! against real repositories, including 50 promotions racing from separate processes.

#[allow(dead_code)]
mod git_support;

use std::path::Path;
use std::process::{Command, Output};

use git_support::{Fixture, git, git_with};

fn ferry(fixture: &Fixture, data: &str, args: &[&str]) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin!("ferry"));
    command
        .args(args)
        .args(["--repo", &fixture.remote.display().to_string()])
        .args([
            "--data-dir",
            &fixture.dir.path().join(data).display().to_string(),
        ])
        .env_remove("CI_PROJECT_PATH")
        .env_remove("CI_COMMIT_REF_NAME")
        .env_remove("CI_COMMIT_SHA")
        .env_remove("GITLAB_USER_LOGIN");
    command
}

fn run(mut command: Command) -> Output {
    command.output().expect("ferry runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A repository with `count` services, each with an integration overlay at `old`.
fn many_services(count: usize) -> Fixture {
    Fixture::with(|seed: &Path| {
        let mut services = String::new();
        for i in 0..count {
            services.push_str(&format!("  s{i:02}:\n    image: registry.example.com/team/s{i:02}\n    source: team/s{i:02}\n"));
            let dir = seed.join(format!("apps/s{i:02}/overlays/integration"));
            std::fs::create_dir_all(&dir).expect("dir");
            std::fs::write(
                dir.join("kustomization.yaml"),
                format!("resources:\n  - ../../base\nimages:\n  - name: registry.example.com/team/s{i:02}\n    newTag: old # set by Ferry\n"),
            )
            .expect("overlay");
        }
        std::fs::create_dir_all(seed.join("policies")).expect("policies");
        std::fs::write(
            seed.join("policies/promotion.yaml"),
            format!(
                "gitops:\n  branch: main\n  overlay: \"apps/{{service}}/overlays/{{environment}}\"\nservices:\n{services}registries: [registry.example.com]\nenvironments:\n  integration:\n    trigger: {{ branch: develop }}\n    tag: \"{{branch}}.{{short_sha}}\"\n    gate: auto\n"
            ),
        )
        .expect("policy");
    })
}

#[test]
fn fifty_promotions_from_separate_processes_all_land_once_in_a_linear_history() {
    const WRITERS: usize = 50;
    let fixture = many_services(WRITERS);
    let initial = fixture.rev("main");
    // Each process has its own data directory, as separate CI jobs would: the only thing
    // they share is the remote, so every push really races.
    let children: Vec<_> = (0..WRITERS)
        .map(|i| {
            let mut command = ferry(&fixture, &format!("data-{i}"), &["promote"]);
            command
                .args([
                    "--environment",
                    "integration",
                    "--service",
                    &format!("s{i:02}"),
                ])
                .args([
                    "--image",
                    &format!("registry.example.com/team/s{i:02}:build-{i}"),
                ])
                .args(["--requested-by", &format!("job-{i}")])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            command.spawn().expect("spawn ferry")
        })
        .collect();
    let mut shas = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().expect("ferry finishes");
        assert!(
            output.status.success(),
            "writer {i}: {}",
            text(&output.stderr)
        );
        shas.push(text(&output.stdout).trim().to_owned());
    }

    let log = fixture.log("main");
    assert_eq!(log.len(), WRITERS + 1, "every promotion is one commit");
    assert_eq!(
        log.last().map(|(sha, _, _)| sha.as_str()),
        Some(initial.as_str())
    );
    assert!(
        log.iter().all(|(_, parents, _)| *parents <= 1),
        "linear history, no merges"
    );
    // Each commit is exactly one writer's, and each printed SHA is on the branch.
    let mut printed = shas.clone();
    printed.sort();
    printed.dedup();
    assert_eq!(printed.len(), WRITERS, "{shas:?}");
    for sha in &shas {
        assert!(log.iter().any(|(s, _, _)| s == sha), "{sha} is not on main");
    }
    let requested = git(
        &fixture.remote,
        &[
            "log",
            "--format=%(trailers:key=Ferry-Requested-By,valueonly)",
            "main",
        ],
    );
    let mut requesters: Vec<_> = requested.split_whitespace().collect();
    requesters.sort();
    let mut expected: Vec<String> = (0..WRITERS).map(|i| format!("job-{i}")).collect();
    expected.sort();
    assert_eq!(requesters, expected, "none lost, none duplicated");
    for i in 0..WRITERS {
        let overlay = fixture.show(
            "main",
            &format!("apps/s{i:02}/overlays/integration/kustomization.yaml"),
        );
        assert!(
            overlay.contains(&format!("newTag: build-{i} # set by Ferry")),
            "{overlay}"
        );
    }
}

#[test]
fn promote_prints_the_commit_and_the_policy_refuses_what_it_forbids() {
    let fixture = Fixture::example();
    let mut promote = ferry(&fixture, "data", &["promote"]);
    promote.args(["--environment", "staging", "--service", "web"]);
    promote.args([
        "--image",
        "registry.example.com/eap/website:release-1.0.0.ab12cd3",
    ]);
    promote.args([
        "--source-project",
        "eap/website",
        "--source-ref",
        "release-1.0.0",
    ]);
    promote.args(["--source-sha", &"ab12cd3".repeat(6)[..40]]);
    let output = run(promote);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), fixture.rev("main"));
    let source = git(
        &fixture.remote,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Ferry-Source,valueonly)",
        ],
    );
    assert_eq!(
        source.trim(),
        format!(
            "eap/website refs/heads/release-1.0.0 {}",
            &"ab12cd3".repeat(6)[..40]
        )
    );

    // Production only takes release tags that ran in staging.
    let head = fixture.rev("main");
    let mut refused = ferry(&fixture, "data", &["promote"]);
    refused.args([
        "--environment",
        "production",
        "--service",
        "web",
        "--image",
        "registry.example.com/eap/website:latest",
    ]);
    let output = run(refused);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let said = text(&output.stderr);
    assert!(
        said.contains("apps/web/overlays/production/kustomization.yaml:"),
        "{said}"
    );
    assert!(said.contains("error[tag-not-allowed]"), "{said}");
    assert!(said.contains("nothing was pushed"), "{said}");
    assert_eq!(fixture.rev("main"), head);

    // Unknown names get the known ones, and exit 2.
    let mut unknown = ferry(&fixture, "data", &["promote"]);
    unknown.args([
        "--environment",
        "prod",
        "--service",
        "web",
        "--image",
        "registry.example.com/eap/website:v1",
    ]);
    let output = run(unknown);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr)
            .contains("no environment `prod`; it has: integration, staging, production")
    );
}

#[test]
fn audit_lists_history_as_table_and_json_and_answers_what_ran_at_a_time() {
    let fixture = Fixture::example();
    // A hand edit back in January, then Ferry's promotion now.
    let clone = fixture.clone("past");
    let path = "apps/web/overlays/staging/kustomization.yaml";
    let old = std::fs::read_to_string(clone.join(path)).expect("overlay");
    std::fs::write(
        clone.join(path),
        old.replace("release-0.9.0.5d6e7f8", "release-0.9.1.abcdef0"),
    )
    .expect("write");
    let date = "2026-01-15T10:00:00Z";
    git_with(
        &clone,
        &[
            "-c",
            "user.name=Pat Past",
            "commit",
            "-q",
            "-am",
            "January fix",
        ],
        &[("GIT_AUTHOR_DATE", date), ("GIT_COMMITTER_DATE", date)],
    );
    git(&clone, &["push", "-q", "origin", "HEAD:main"]);
    let mut promote = ferry(&fixture, "data", &["promote"]);
    promote.args([
        "--environment",
        "staging",
        "--service",
        "web",
        "--image",
        "registry.example.com/eap/website:release-1.0.0.ab12cd3",
        "--requested-by",
        "alice",
    ]);
    assert!(run(promote).status.success());

    let mut json = ferry(
        &fixture,
        "data",
        &[
            "audit",
            "--service",
            "web",
            "--environment",
            "staging",
            "--format",
            "json",
        ],
    );
    json.arg("--since").arg("2026-01-01");
    let output = run(json);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let records: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let rows: Vec<(&str, &str, &str)> = records
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap_or(""),
                r["image"].as_str().unwrap_or(""),
                r["requested_by"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "promote",
                "registry.example.com/eap/website:release-1.0.0.ab12cd3",
                "alice"
            ),
            (
                "manual",
                "registry.example.com/eap/website:release-0.9.1.abcdef0",
                "Pat Past"
            ),
        ]
    );

    let output = run(ferry(
        &fixture,
        "data",
        &[
            "audit",
            "--at",
            "2026-06-01T00:00:00Z",
            "--environment",
            "staging",
        ],
    ));
    let table = text(&output.stdout);
    let lines: Vec<_> = table.lines().collect();
    assert!(
        lines[0].starts_with("TIME") && lines[0].contains("ENVIRONMENT"),
        "{table}"
    );
    assert_eq!(lines.len(), 3, "api and web in staging: {table}");
    assert!(
        table.contains("release-0.9.1.abcdef0") && !table.contains("release-1.0.0.ab12cd3"),
        "{table}"
    );

    let output = run(ferry(&fixture, "data", &["audit", "--at", "yesterday"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("`yesterday` is not a time"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_reader_that_stops_early_ends_the_audit_quietly() {
    let fixture = Fixture::example();
    for format in ["json", "table"] {
        let mut command = ferry(&fixture, "data", &["audit", "--format", format]);
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("ferry runs");
        // `| head -0`: the reader is gone before Ferry has read the history.
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("ferry ends");
        let stderr = text(&output.stderr);
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        assert_eq!(output.status.code(), Some(0), "{format}: {stderr}");
    }
}

#[test]
fn rollback_lands_the_previous_image_as_a_new_commit() {
    let fixture = Fixture::example();
    let sha = "abcdef1".repeat(6)[..40].to_owned();
    for tag in ["release-1.0.0.abcdef1", "release-1.1.0.abcdef1"] {
        let mut promote = ferry(&fixture, "data", &["promote"]);
        promote.args([
            "--environment",
            "staging",
            "--service",
            "api",
            "--image",
            &format!("registry.example.com/eap/api:{tag}"),
        ]);
        promote.args([
            "--source-project",
            "eap/backend",
            "--source-ref",
            "release-1.0.0",
            "--source-sha",
            &sha,
        ]);
        assert!(run(promote).status.success());
    }
    let mut rollback = ferry(
        &fixture,
        "data",
        &["rollback", "--environment", "staging", "--service", "api"],
    );
    rollback.args(["--requested-by", "oncall"]);
    let output = run(rollback);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), fixture.rev("main"));
    let overlay = fixture.show("main", "apps/api/overlays/staging/kustomization.yaml");
    assert!(overlay.contains("release-1.0.0.abcdef1"), "{overlay}");
    let message = git(&fixture.remote, &["log", "-1", "--format=%B"]);
    assert!(
        message.starts_with("Roll back api in staging to release-1.0.0.abcdef1"),
        "{message}"
    );
    assert!(message.contains("Ferry-Action: rollback"), "{message}");
    assert!(message.contains("Ferry-Requested-By: oncall"), "{message}");
    assert!(
        message.contains(&format!(
            "Ferry-Source: eap/backend refs/heads/release-1.0.0 {sha}"
        )),
        "{message}"
    );

    let mut named = ferry(
        &fixture,
        "data",
        &[
            "rollback",
            "--environment",
            "staging",
            "--service",
            "api",
            "--to",
            "nope",
        ],
    );
    named.arg("--requested-by").arg("oncall");
    let output = run(named);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("`nope` never ran for api in staging"),
        "{}",
        text(&output.stderr)
    );
}
