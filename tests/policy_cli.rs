//! `ferry policy check` and `ferry plan` on the real binary.

use std::path::Path;

use assert_cmd::Command;

const EXAMPLE_DIR: &str = "templates/gitops-example/policies";

fn ferry() -> Command {
    Command::cargo_bin("ferry").unwrap()
}

fn write_policy(dir: &Path, text: &str) {
    std::fs::write(dir.join("promotion.yaml"), text).unwrap();
}

#[test]
fn check_accepts_the_example() {
    let output = ferry()
        .args(["policy", "check", EXAMPLE_DIR])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "templates/gitops-example/policies/promotion.yaml: valid (3 services, 3 environments)\n"
    );
}

#[test]
fn check_lists_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(Path::new(EXAMPLE_DIR).join("promotion.yaml")).unwrap();
    let broken = example
        .replace("from: staging", "from: stagin")
        .replace("timezone: Asia/Shanghai", "timezone: Asia/Shangai");
    write_policy(dir.path(), &broken);
    let output = ferry()
        .arg("policy")
        .arg("check")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let file = dir.path().join("promotion.yaml").display().to_string();
    let normalised = stderr.replace(&file, "promotion.yaml");
    insta::assert_snapshot!(normalised);
}

#[test]
fn check_without_a_policy_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = ferry()
        .arg("policy")
        .arg("check")
        .arg(dir.path().join("nowhere"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read"));
    let output = ferry()
        .args(["policy", "check", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn plan_prints_json_promotions() {
    let output = ferry()
        .args(["plan", "--policy", EXAMPLE_DIR, "--event"])
        .arg("tests/fixtures/policy/gitlab-push-develop.json")
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{
            "service": "api",
            "environment": "integration",
            "image": "registry.example.com/eap/api:develop.da15608",
            "overlay": "apps/api/overlays/integration",
            "gate": "auto",
            "source": {
                "project": "eap/backend",
                "ref": "refs/heads/develop",
                "sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
            }
        }])
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "skipped worker in integration: no change under services/worker/\n"
    );
}

#[test]
fn plan_prints_text_by_default() {
    let output = ferry()
        .args(["plan", "--policy", EXAMPLE_DIR, "--event"])
        .arg("tests/fixtures/policy/gitlab-tag-push.json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "promote web to production: registry.example.com/eap/website:v1.4.0 in apps/web/overlays/production (gate: manual; from eap/website refs/tags/v1.4.0 5937ac0a7beb003549fc5fd26fc247adbce4a52e)\n"
    );
}

#[test]
fn plan_explains_ignored_events_and_rejects_bad_input() {
    let output = ferry()
        .args([
            "plan",
            "--policy",
            EXAMPLE_DIR,
            "--format",
            "json",
            "--event",
        ])
        .arg("tests/fixtures/policy/github-pull-request-opened.json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "[]\n");
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("nothing to promote: pull request #7 was not merged")
    );

    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, "{\"ref\": ").unwrap();
    let output = ferry()
        .args(["plan", "--policy", EXAMPLE_DIR, "--event"])
        .arg(&event)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("the payload is not JSON"));

    write_policy(dir.path(), "gitops: {}\n");
    let output = ferry()
        .arg("plan")
        .arg("--policy")
        .arg(dir.path())
        .args(["--event", "tests/fixtures/policy/gitlab-tag-push.json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("the policy is not valid; run `ferry policy check")
    );
}
