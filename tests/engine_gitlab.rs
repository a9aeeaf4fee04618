//! The promotion workflow end to end on GitLab: signed webhooks posted to the real server,
//! the engine behind its durable queue, the real GitLab adapter talking to the in-memory
//! GitLab over HTTP, and a real bare GitOps repository that Ferry pushes to and the fake
//! merges into.

mod engine_support;
#[allow(dead_code)]
mod git_support;
#[allow(dead_code)]
mod support;

use engine_support::{GITOPS, World};
use ferry::engine::CsrSettings;
use ferry::store::ListFilter;
use git_support::{Fixture, git};
use support::gitlab_hooks::*;

const APP: &str = "eap/website";

async fn world() -> World {
    world_on(Fixture::example_without_freeze()).await
}

async fn world_on(fixture: Fixture) -> World {
    engine_support::world(fixture, CsrSettings::default()).await
}

fn sha(seed: &str) -> String {
    support::faults::fake_sha(seed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitflow_from_develop_to_production_through_the_manual_gate() {
    let w = world().await;
    let alice = w.who(w.alice);

    // develop -> integration: opened, gate auto, merged by Ferry.
    let dev = sha("develop-1");
    w.post(&push_one(
        APP,
        "develop",
        &sha("develop-0"),
        &dev,
        &alice,
        &["site/index.html"],
    ))
    .await;
    let mr = w.only_mr("ferry/integration/web");
    assert_eq!(mr.state, "merged", "{mr:#?}");
    assert_eq!(
        mr.title,
        format!("Promote web to integration: develop.{}", &dev[..7])
    );
    assert!(
        mr.labels.contains(&"ferry".to_owned())
            && mr.labels.contains(&"environment::integration".to_owned()),
        "{:?}",
        mr.labels
    );
    assert!(
        w.overlay("web", "integration")
            .contains(&format!("newTag: develop.{}", &dev[..7]))
    );
    assert_eq!(
        w.status(&mr.sha, "ferry/policy").as_deref(),
        Some("success")
    );
    assert_eq!(w.status(&mr.sha, "ferry/gate").as_deref(), Some("success"));
    assert!(
        w.status_comment(mr.iid)
            .contains("merged this merge request")
    );
    let merge = git(&w.fixture.remote, &["log", "-1", "--format=%P%n%B", "main"]);
    assert_eq!(
        merge.lines().next().map(|p| p.split_whitespace().count()),
        Some(2),
        "a merge commit: {merge}"
    );

    // release-1.0.0 -> staging.
    let release = sha("release-1");
    w.post(&push_one(
        APP,
        "release-1.0.0",
        ZERO_SHA,
        &release,
        &alice,
        &["site/index.html"],
    ))
    .await;
    assert_eq!(w.only_mr("ferry/staging/web").state, "merged");
    assert!(
        w.overlay("web", "staging")
            .contains(&format!("newTag: release-1.0.0.{}", &release[..7]))
    );

    // v1.0.0 on the release commit -> production, waiting at its gate. Twice: duplicates of
    // the webhook leave one merge request and one status comment.
    let tag = tag_push(APP, "v1.0.0", &release, &alice);
    w.post(&tag).await;
    w.post(&tag).await;
    let production = w.only_mr("ferry/production/web");
    assert_eq!(production.state, "opened");
    assert_eq!(production.title, "Promote web to production: v1.0.0");
    assert!(production.description.contains("| web | production | `registry.example.com/eap/website:v0.9.0` | `registry.example.com/eap/website:v1.0.0` |"), "{}", production.description);
    let web = format!("{}/{APP}", w.fake.base_url);
    assert!(
        production.description.contains(&format!(
            "Source: `{APP}` v1.0.0 [`{}`]({web}/-/commit/{release}) ([pipelines]({web}/-/pipelines?sha={release}))",
            &release[..7]
        )),
        "the source commit and its pipelines are linked: {}",
        production.description
    );
    assert_eq!(
        w.status(&production.sha, "ferry/gate").as_deref(),
        Some("pending")
    );
    assert_eq!(
        w.status(&production.sha, "ferry/policy").as_deref(),
        Some("success")
    );
    let status = w.status_comment(production.iid);
    assert!(
        status.contains("production needs 2 approval(s) from group:sre, user:1042; it has 0"),
        "{status}"
    );
    assert!(!w.overlay("web", "production").contains("v1.0.0"));

    // A guest may not approve; the answer says who may.
    w.comment(production.iid, w.dave, "/ferry approve").await;
    let status = w.status_comment(production.iid);
    assert!(
        status.contains(
            "@dave may not approve promotions to this environment; ask group:sre, user:1042"
        ),
        "{status}"
    );
    // One approver of two.
    let note = w.comment(production.iid, w.bob, "/ferry approve").await;
    assert_eq!(w.fake.mr(GITOPS, production.iid).state, "opened");
    assert!(w.status_comment(production.iid).contains("it has 1"));
    let awards = w
        .fake
        .mr(GITOPS, production.iid)
        .notes
        .into_iter()
        .find(|n| n.id == note)
        .expect("note")
        .awards;
    assert!(
        awards
            .iter()
            .any(|a| a.name == "eyes" && a.user_id == w.bot),
        "acknowledged: {awards:?}"
    );
    // The second approval opens the gate and Ferry merges, with the SHA guard.
    w.comment(production.iid, w.carol, "/ferry approve").await;
    let merged = w.fake.mr(GITOPS, production.iid);
    assert_eq!(
        merged.state,
        "merged",
        "{}",
        w.status_comment(production.iid)
    );
    assert!(w.overlay("web", "production").contains("newTag: v1.0.0"));

    // The audit trail on main has the three promotions with their provenance.
    let trailers = git(
        &w.fixture.remote,
        &[
            "log",
            "--format=%(trailers:key=Ferry-Source,valueonly)",
            "main",
        ],
    );
    assert!(
        trailers.contains(&format!("eap/website refs/tags/v1.0.0 {release}")),
        "{trailers}"
    );
    assert!(
        trailers.contains(&format!("eap/website refs/heads/develop {dev}")),
        "{trailers}"
    );

    // Rollback from a comment on the merged MR: a new promotion MR back to v0.9.0 at the gate.
    w.comment(
        production.iid,
        w.alice,
        "/ferry rollback production service=web",
    )
    .await;
    let rollback = w
        .promotion_mrs("ferry/production/web")
        .into_iter()
        .find(|mr| mr.state == "opened")
        .expect("a rollback merge request");
    assert_eq!(rollback.title, "Roll back web in production to v0.9.0");
    assert!(
        w.status_comment(production.iid)
            .contains("Roll back web in production to v0.9.0")
    );

    // Held: approvals alone do not merge it; lifting the hold does.
    w.comment(
        rollback.iid,
        w.bob,
        "/ferry hold waiting for the incident review",
    )
    .await;
    w.comment(rollback.iid, w.bob, "/ferry approve").await;
    w.comment(rollback.iid, w.carol, "/ferry approve").await;
    assert_eq!(w.fake.mr(GITOPS, rollback.iid).state, "opened");
    assert!(
        w.status_comment(rollback.iid)
            .contains("waiting for the incident review")
    );
    w.comment(rollback.iid, w.alice, "/ferry unhold").await;
    assert_eq!(
        w.fake.mr(GITOPS, rollback.iid).state,
        "merged",
        "{}",
        w.status_comment(rollback.iid)
    );
    assert!(w.overlay("web", "production").contains("newTag: v0.9.0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_s_merge_request_gets_one_policy_comment_edited_in_place() {
    let w = world().await;
    let path = "apps/web/overlays/staging/kustomization.yaml";
    let clone = w.fixture.clone("person");
    git(&clone, &["checkout", "-q", "-b", "bump-staging"]);
    let text = std::fs::read_to_string(clone.join(path)).expect("overlay");
    std::fs::write(clone.join(path), text.replace("  - name: registry.example.com/eap/website\n    newTag: release-0.9.0.5d6e7f8", "  - name: registry.example.com/eap/website\n    newName: evil.example.com/website\n    newTag: release-0.9.0.5d6e7f8")).expect("write");
    git(
        &clone,
        &["commit", "-q", "-am", "Move staging to another registry"],
    );
    git(&clone, &["push", "-q", "origin", "bump-staging"]);
    let iid = w
        .fake
        .open_mr_from_branch(GITOPS, w.alice, "bump-staging", "main", "Move staging");
    let alice = w.who(w.alice);
    w.post(&merge_request_from(
        &w.fake,
        GITOPS,
        iid,
        &MrAction::Open,
        &alice,
    ))
    .await;
    let head = w.fake.mr(GITOPS, iid).sha;
    assert_eq!(w.status(&head, "ferry/policy").as_deref(), Some("failed"));
    assert_eq!(
        w.status(&head, "ferry/gate"),
        None,
        "people's MRs have no gate"
    );
    let comment = w.status_comment(iid);
    assert!(comment.contains(&format!("`{path}:")), "{comment}");
    assert!(comment.contains("[registry-not-allowed]"), "{comment}");

    // The fix: the same comment now says it passes.
    std::fs::write(
        clone.join(path),
        text.replace("release-0.9.0.5d6e7f8", "release-0.9.1.5d6e7f8"),
    )
    .expect("write");
    git(&clone, &["commit", "-q", "-am", "Stay on our registry"]);
    git(&clone, &["push", "-q", "origin", "bump-staging"]);
    w.post(&merge_request_from(
        &w.fake,
        GITOPS,
        iid,
        &MrAction::Update {
            oldrev: head.clone(),
        },
        &alice,
    ))
    .await;
    let head = w.fake.mr(GITOPS, iid).sha;
    assert_eq!(w.status(&head, "ferry/policy").as_deref(), Some("success"));
    assert!(
        w.status_comment(iid).contains("**Policy:** passes."),
        "{}",
        w.status_comment(iid)
    );
    // Nothing merges a person's merge request.
    assert_eq!(w.fake.mr(GITOPS, iid).state, "opened");
    let _ = (w.carol, w.bob);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_merge_the_next_environment_gets_its_promotion() {
    // integration chains to staging (`next`), which is manual here, so the chained MR waits.
    let fixture = Fixture::example_without_freeze();
    let policy = fixture.show("main", "policies/promotion.yaml");
    let chained = policy
        .replace("    trigger: { branch: develop }\n", "    trigger: { branch: develop }\n    next: staging\n")
        .replace(
            "  staging:\n    trigger: { branch: \"release-*\" }\n    tag: \"{branch}.{short_sha}\"\n    gate: auto\n",
            "  staging:\n    trigger: { branch: \"release-*\" }\n    tag: \"{branch}.{short_sha}\"\n    gate: manual\n    approvals: 1\n    approvers: [group:sre]\n",
        );
    assert_ne!(chained, policy, "the test policy was edited");
    fixture.push_by_hand(
        "policies/promotion.yaml",
        &chained,
        "Chain integration to staging",
    );
    let w = world_on(fixture).await;
    let dev = sha("develop-chain");
    w.post(&push_one(
        APP,
        "develop",
        ZERO_SHA,
        &dev,
        &w.who(w.alice),
        &["site/a.html"],
    ))
    .await;
    let integration = w.only_mr("ferry/integration/web");
    assert_eq!(integration.state, "merged");
    // GitLab tells Ferry about the merge with a merge request hook.
    w.post(&merge_request_from(
        &w.fake,
        GITOPS,
        integration.iid,
        &MrAction::Merge,
        &w.who(w.bot),
    ))
    .await;
    let staging = w.only_mr("ferry/staging/web");
    assert_eq!(staging.state, "opened");
    assert_eq!(
        staging.title,
        format!("Promote web to staging: develop.{}", &dev[..7])
    );
    assert_eq!(
        w.status(&staging.sha, "ferry/gate").as_deref(),
        Some("pending")
    );
    // A second delivery of the merge event prepares nothing new.
    w.post(&merge_request_from(
        &w.fake,
        GITOPS,
        integration.iid,
        &MrAction::Merge,
        &w.who(w.bot),
    ))
    .await;
    assert_eq!(w.promotion_mrs("ferry/staging/web").len(), 1);
    w.comment(staging.iid, w.bob, "/ferry approve").await;
    assert_eq!(w.fake.mr(GITOPS, staging.iid).state, "merged");
    assert!(
        w.overlay("web", "staging")
            .contains(&format!("newTag: develop.{}", &dev[..7]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forge_failures_are_retried_without_duplicating_merge_requests() {
    use axum::http::Method;
    use support::faults::Fault;
    let w = world().await;
    // More 5xx than the adapter's own retries: the delivery fails once and the worker
    // retries it from the queue.
    w.fake.fail_next(
        Method::POST,
        "/api/v4/projects/*/merge_requests",
        4,
        Fault::status(502),
    );
    w.fake.fail_next(
        Method::GET,
        "/api/v4/projects/*/merge_requests/*/notes",
        1,
        Fault::status(429),
    );
    w.post(&push_one(
        APP,
        "release-2.0.0",
        ZERO_SHA,
        &sha("release-2"),
        &w.who(w.alice),
        &["x"],
    ))
    .await;
    let mr = w.only_mr("ferry/staging/web");
    assert_eq!(mr.state, "merged");
    w.status_comment(mr.iid);
    let attempts = w
        .store
        .list(ListFilter {
            states: vec![],
            limit: 10,
        })
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.attempts)
        .max();
    assert!(
        attempts >= Some(2),
        "the delivery was retried: {attempts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freeze_holds_production_until_an_allowed_override_with_a_reason() {
    let fixture = Fixture::example();
    let policy = fixture.show("main", "policies/promotion.yaml");
    let always_frozen = policy.replace(
        "{ days: [fri, sat, sun], from: \"16:00\", to: \"24:00\", timezone: Asia/Shanghai }",
        "{ days: [mon, tue, wed, thu, fri, sat, sun], from: \"00:00\", to: \"24:00\", timezone: UTC }",
    );
    assert_ne!(always_frozen, policy, "the test policy was edited");
    fixture.push_by_hand(
        "policies/promotion.yaml",
        &always_frozen,
        "Freeze production",
    );
    let w = world_on(fixture).await;
    w.fake.add_group_member("release-managers", w.alice, 30);
    let release = sha("release-frozen");
    w.post(&push_one(
        APP,
        "release-1.0.0",
        ZERO_SHA,
        &release,
        &w.who(w.alice),
        &["x"],
    ))
    .await;
    w.post(&tag_push(APP, "v1.0.0", &release, &w.who(w.alice)))
        .await;
    let production = w.only_mr("ferry/production/web");
    w.comment(production.iid, w.bob, "/ferry approve").await;
    w.comment(production.iid, w.carol, "/ferry approve").await;
    assert_eq!(w.fake.mr(GITOPS, production.iid).state, "opened");
    let status = w.status_comment(production.iid);
    assert!(status.contains("production is frozen now"), "{status}");
    assert!(
        status.contains("group:release-managers may override it with a reason"),
        "{status}"
    );

    // Someone who may not override: still frozen, and told who may.
    w.comment(
        production.iid,
        w.bob,
        "/ferry promote production override=\"cannot wait\"",
    )
    .await;
    assert_eq!(w.fake.mr(GITOPS, production.iid).state, "opened");
    assert!(
        w.status_comment(production.iid)
            .contains("may not override the freeze")
    );
    // A release manager with a reason: merged.
    w.comment(
        production.iid,
        w.alice,
        "/ferry promote production override=\"fix for incident 7\"",
    )
    .await;
    assert_eq!(
        w.fake.mr(GITOPS, production.iid).state,
        "merged",
        "{}",
        w.status_comment(production.iid)
    );
    assert!(w.overlay("web", "production").contains("newTag: v1.0.0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_rollback_needs_no_approvals_and_passes_a_freeze() {
    let fixture = Fixture::example();
    let policy = fixture.show("main", "policies/promotion.yaml");
    let fast = policy
        .replace(
            "{ days: [fri, sat, sun], from: \"16:00\", to: \"24:00\", timezone: Asia/Shanghai }",
            "{ days: [mon, tue, wed, thu, fri, sat, sun], from: \"00:00\", to: \"24:00\", timezone: UTC }",
        )
        .replace("    gate: manual\n    approvals: 2\n", "    gate: manual\n    rollback: fast\n    approvals: 2\n");
    assert_eq!(
        fast.matches("rollback: fast").count(),
        1,
        "the test policy was edited"
    );
    fixture.push_by_hand(
        "policies/promotion.yaml",
        &fast,
        "Fast rollbacks in production",
    );
    // An image that then misbehaves, put there by hand: the rollback target is v0.9.0.
    let overlay = "apps/web/overlays/production/kustomization.yaml";
    let text = fixture.show("main", overlay);
    fixture.push_by_hand(
        overlay,
        &text.replace("newTag: v0.9.0", "newTag: v1.0.0"),
        "Hotfix by hand",
    );
    let w = world_on(fixture).await;

    // The command comes on a person's merge request.
    w.fixture.push_branch(
        "notes",
        &[("NOTES.md", b"incident notes\n")],
        "Incident notes",
    );
    let notes = w
        .fake
        .open_mr_from_branch(GITOPS, w.alice, "notes", "main", "Incident notes");
    w.comment(notes, w.alice, "/ferry rollback production service=web")
        .await;
    let rollback = w.only_mr("ferry/production/web");
    assert_eq!(rollback.title, "Roll back web in production to v0.9.0");
    assert_eq!(
        rollback.state,
        "merged",
        "fast: no approvals, and the freeze does not apply: {}",
        w.status_comment(rollback.iid)
    );
    assert!(w.overlay("web", "production").contains("newTag: v0.9.0"));
    let description = w.fake.mr(GITOPS, rollback.iid).description;
    assert!(
        description.contains("fast rollback"),
        "the body says why no approvals are asked for"
    );
    let metadata = description
        .split("<!-- ferry:promotion ")
        .nth(1)
        .and_then(|rest| rest.split(" -->").next())
        .expect("the metadata comment");
    let metadata: serde_json::Value = serde_json::from_str(metadata).expect("JSON");
    assert_eq!(metadata["action"], "rollback");
    assert_eq!(metadata["changes"][0]["environment"], "production");
    assert_eq!(
        metadata["changes"][0]["image"],
        "registry.example.com/eap/website:v0.9.0"
    );
    assert_eq!(
        metadata["changes"][0]["previous"],
        "registry.example.com/eap/website:v1.0.0"
    );
    let _ = (w.bob, w.carol, w.dave);
}
