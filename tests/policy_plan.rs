//! The gitflow model end to end: webhook payload -> source event -> promotions.

use ferry::domain::SourceEvent;
use ferry::policy::event::{self, Parsed};
use ferry::policy::plan::{self, Plan};
use ferry::policy::{self, Policy};
use serde_json::json;

const EXAMPLE: &str = include_str!("../templates/gitops-example/policies/promotion.yaml");
const SHA: &str = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7";

fn example() -> Policy {
    policy::parse("promotion.yaml", EXAMPLE).unwrap()
}

fn event(payload: &serde_json::Value) -> SourceEvent {
    match event::parse(&payload.to_string()).unwrap() {
        Parsed::Event(event) => event,
        Parsed::Ignored(reason) => panic!("ignored: {reason}"),
    }
}

fn gitlab_push(project: &str, git_ref: &str, changed: &[&str]) -> serde_json::Value {
    json!({
        "object_kind": if git_ref.starts_with("refs/tags/") { "tag_push" } else { "push" },
        "ref": git_ref,
        "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
        "after": SHA,
        "checkout_sha": SHA,
        "project": { "id": 3, "path_with_namespace": project },
        "commits": [{ "id": SHA, "added": [], "modified": changed, "removed": [] }],
        "total_commits_count": 1,
    })
}

/// `service environment image overlay gate` per promotion, one line each.
fn summary(plan: &Plan) -> Vec<String> {
    plan.promotions
        .iter()
        .map(|p| {
            format!(
                "{} {} {} {} {}",
                p.service, p.environment, p.image, p.overlay, p.gate
            )
        })
        .collect()
}

#[test]
fn develop_goes_to_integration() {
    let plan = plan::plan(
        &example(),
        &event(&gitlab_push(
            "eap/website",
            "refs/heads/develop",
            &["index.html"],
        )),
    );
    assert_eq!(
        summary(&plan),
        [
            "web integration registry.example.com/eap/website:develop.da15608 apps/web/overlays/integration auto"
        ]
    );
    let source = &plan.promotions[0].source;
    assert_eq!(source.project.as_str(), "eap/website");
    assert_eq!(source.git_ref.full_name(), "refs/heads/develop");
    assert_eq!(source.sha.as_ref().unwrap().as_str(), SHA);
}

#[test]
fn release_branches_go_to_staging() {
    let plan = plan::plan(
        &example(),
        &event(&gitlab_push(
            "eap/website",
            "refs/heads/release-1.4.0",
            &["a"],
        )),
    );
    assert_eq!(
        summary(&plan),
        [
            "web staging registry.example.com/eap/website:release-1.4.0.da15608 apps/web/overlays/staging auto"
        ]
    );
}

#[test]
fn version_and_hotfix_tags_go_to_production_behind_a_manual_gate() {
    for tag in ["v1.4.0", "v1.4.0-hotfix2"] {
        let plan = plan::plan(
            &example(),
            &event(&gitlab_push(
                "eap/website",
                &format!("refs/tags/{tag}"),
                &[],
            )),
        );
        assert_eq!(
            summary(&plan),
            [format!(
                "web production registry.example.com/eap/website:{tag} apps/web/overlays/production manual"
            )]
        );
    }
}

#[test]
fn tags_outside_allow_tags_are_skipped_with_the_reason() {
    let plan = plan::plan(
        &example(),
        &event(&gitlab_push("eap/website", "refs/tags/v1.4.0-rc1", &[])),
    );
    assert!(plan.promotions.is_empty());
    assert_eq!(plan.skipped.len(), 1);
    assert_eq!(
        plan.skipped[0].reason,
        r"tag `v1.4.0-rc1` does not match `allow_tags` (^v\d+\.\d+\.\d+(-hotfix\d+)?$)"
    );
}

#[test]
fn one_monorepo_project_feeds_two_services() {
    let push = gitlab_push(
        "eap/backend",
        "refs/heads/develop",
        &["services/api/main.go", "services/worker/queue.go"],
    );
    let plan = plan::plan(&example(), &event(&push));
    assert_eq!(
        summary(&plan),
        [
            "api integration registry.example.com/eap/api:develop.da15608 apps/api/overlays/integration auto",
            "worker integration registry.example.com/eap/worker:develop.da15608 apps/worker/overlays/integration auto",
        ]
    );
}

#[test]
fn a_path_filter_skips_a_service_without_changes() {
    let payload = include_str!("fixtures/policy/gitlab-push-develop.json");
    let Parsed::Event(push) = event::parse(payload).unwrap() else {
        panic!("not an event")
    };
    let plan = plan::plan(&example(), &push);
    assert_eq!(
        summary(&plan),
        [
            "api integration registry.example.com/eap/api:develop.da15608 apps/api/overlays/integration auto"
        ]
    );
    assert_eq!(plan.skipped.len(), 1);
    assert_eq!(plan.skipped[0].service.as_str(), "worker");
    assert_eq!(plan.skipped[0].reason, "no change under services/worker/");
}

#[test]
fn truncated_commit_lists_do_not_filter() {
    let mut push = gitlab_push("eap/backend", "refs/heads/develop", &["services/api/x"]);
    push["total_commits_count"] = json!(40);
    let plan = plan::plan(&example(), &event(&push));
    assert_eq!(plan.promotions.len(), 2, "{:?}", plan.skipped);
}

#[test]
fn other_projects_and_branches_trigger_nothing() {
    let plan = plan::plan(
        &example(),
        &event(&gitlab_push("eap/other", "refs/heads/develop", &["a"])),
    );
    assert_eq!(plan, Plan::default());
    let plan = plan::plan(
        &example(),
        &event(&gitlab_push("eap/website", "refs/heads/feature/x", &["a"])),
    );
    assert_eq!(plan, Plan::default());
}

#[test]
fn merged_merge_requests_promote_their_target_branch() {
    let payload = include_str!("fixtures/policy/gitlab-merge-request-merged.json");
    let Parsed::Event(merged) = event::parse(payload).unwrap() else {
        panic!("not an event")
    };
    assert_eq!(merged.merge_request, Some(12));
    let plan = plan::plan(&example(), &merged);
    assert_eq!(
        summary(&plan),
        [
            "web integration registry.example.com/eap/website:develop.a4f8e2c apps/web/overlays/integration auto"
        ]
    );
    assert_eq!(plan.promotions[0].source.merge_request, Some(12));
}

#[test]
fn annotated_gitlab_tags_use_the_checkout_sha() {
    let payload = include_str!("fixtures/policy/gitlab-tag-push.json");
    let Parsed::Event(tag) = event::parse(payload).unwrap() else {
        panic!("not an event")
    };
    assert_eq!(
        tag.sha.unwrap().as_str(),
        "5937ac0a7beb003549fc5fd26fc247adbce4a52e"
    );
}

#[test]
fn github_push_pull_request_and_create() {
    let payload = include_str!("fixtures/policy/github-push-release.json");
    let Parsed::Event(push) = event::parse(payload).unwrap() else {
        panic!("not an event")
    };
    assert_eq!(
        summary(&plan::plan(&example(), &push)),
        [
            "web staging registry.example.com/eap/website:release-1.4.0.0d1a26e apps/web/overlays/staging auto"
        ]
    );

    let merged = json!({
        "action": "closed",
        "number": 9,
        "pull_request": {
            "number": 9, "merged": true,
            "merge_commit_sha": SHA,
            "base": { "ref": "develop" }, "head": { "ref": "feature/x" }
        },
        "repository": { "full_name": "eap/website" }
    });
    let plan = plan::plan(&example(), &event(&merged));
    assert_eq!(plan.promotions.len(), 1);
    assert_eq!(plan.promotions[0].source.merge_request, Some(9));

    // `create` has no SHA: `{tag}` still renders, the provenance SHA stays unknown.
    let created = json!({
        "ref": "v1.4.0", "ref_type": "tag", "master_branch": "main",
        "repository": { "full_name": "eap/website" }
    });
    let plan = plan::plan(&example(), &event(&created));
    assert_eq!(
        summary(&plan),
        [
            "web production registry.example.com/eap/website:v1.4.0 apps/web/overlays/production manual"
        ]
    );
    assert_eq!(plan.promotions[0].source.sha, None);
    // ... and a branch template that needs the SHA is skipped with the reason.
    let branch = json!({ "ref": "develop", "ref_type": "branch", "repository": { "full_name": "eap/website" } });
    let plan = plan::plan(&example(), &event(&branch));
    assert!(plan.promotions.is_empty());
    assert_eq!(
        plan.skipped[0].reason,
        "the tag template uses `{short_sha}`, which this event does not provide"
    );
}

#[test]
fn events_that_promote_nothing_say_why() {
    let opened = include_str!("fixtures/policy/github-pull-request-opened.json");
    assert_eq!(
        event::parse(opened).unwrap(),
        Parsed::Ignored(
            "pull request #7 was not merged (action `opened`): nothing is promoted until it is"
                .into()
        )
    );
    let mut deleted = gitlab_push("eap/website", "refs/heads/develop", &[]);
    deleted["after"] = json!("0000000000000000000000000000000000000000");
    assert_eq!(
        event::parse(&deleted.to_string()).unwrap(),
        Parsed::Ignored("refs/heads/develop was deleted".into())
    );
}

#[test]
fn malformed_payloads_are_errors_not_panics() {
    let cases = [
        (
            "[1, 2]",
            "the payload is not a GitLab push, tag push or merge request event, nor a GitHub push, create or pull_request event: it is not a JSON object",
        ),
        (
            "{\"hello\": 1}",
            "the payload is not a GitLab push, tag push or merge request event, nor a GitHub push, create or pull_request event: it has none of `object_kind`, `pull_request`, `ref_type`, or `ref` with `after`",
        ),
        (
            r#"{"object_kind":"push","ref":"refs/heads/x","after":"nope","project":{"path_with_namespace":"a/b"}}"#,
            "the GitLab push payload is missing or has a bad `after`: commit SHA `nope` is not valid: write the full 40 (SHA-1) or 64 (SHA-256) hex digits",
        ),
        (
            r#"{"object_kind":"push","ref":"refs/heads/x","after":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","project":{}}"#,
            "the GitLab push payload is missing or has a bad `(payload)`: missing field `path_with_namespace`",
        ),
    ];
    for (payload, message) in cases {
        assert_eq!(event::parse(payload).unwrap_err().to_string(), message);
    }
    assert!(event::parse("{not json").is_err());
}

#[test]
fn next_prepares_the_same_image_for_the_next_environment() {
    let text = r#"
gitops: { branch: main, overlay: "envs/{environment}/{service}" }
services:
  web: { image: registry.example.com/web, source: team/web }
registries: [registry.example.com]
environments:
  integration: { trigger: { branch: main }, tag: "{short_sha}", gate: auto, next: staging }
  staging: { gate: manual, approvers: [group:qa], next: production, from: integration }
  production: { gate: manual, approvals: 2, approvers: [group:sre], from: staging, allow_tags: 'v.*' }
"#;
    let policy = policy::parse("p.yaml", text).unwrap();
    let plan = plan::plan(
        &policy,
        &event(&gitlab_push("team/web", "refs/heads/main", &["x"])),
    );
    let first = &plan.promotions[0];
    let staging = plan::next_promotion(&policy, first).unwrap().unwrap();
    assert_eq!(staging.environment.as_str(), "staging");
    assert_eq!(staging.image, first.image);
    assert_eq!(staging.overlay, "envs/staging/web");
    assert_eq!(staging.gate, "manual");
    assert_eq!(
        plan::next_promotion(&policy, &staging).unwrap_err(),
        "tag `da15608` does not match `allow_tags` of `production` (v.*)"
    );
}
