//! Every merge request validation rule, with its message checked as a snapshot.

use ferry::domain::{
    CommitSha, EnvironmentName, GitRef, ImageRef, ProjectPath, ServiceName, Source,
};
use ferry::policy::history::InMemoryHistory;
use ferry::policy::principal::Person;
use ferry::policy::validate::{self, FileChange, MergeRequest, Violation};
use ferry::policy::{self, Policy};

const EXAMPLE: &str = include_str!("../templates/gitops-example/policies/promotion.yaml");
const STAGED: &str = "5937ac0a7beb003549fc5fd26fc247adbce4a52e";
const UNSTAGED: &str = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";

fn example() -> Policy {
    policy::parse("promotion.yaml", EXAMPLE).unwrap()
}

fn kustomization(image: &str, tag: &str) -> String {
    format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nimages:\n  - name: registry.example.com/eap/website\n    newName: {image}\n    newTag: \"{tag}\"\n"
    )
}

fn change(path: &str, old: Option<String>, new: Option<String>) -> FileChange {
    FileChange {
        path: path.into(),
        old,
        new,
    }
}

/// History in which STAGED ran in staging and built `website:v1.4.0`.
fn history() -> InMemoryHistory {
    let web = ServiceName::parse("web").unwrap();
    let mut history = InMemoryHistory::default();
    let staged = CommitSha::parse(STAGED).unwrap();
    history.ran(&web, &staged, &EnvironmentName::parse("staging").unwrap());
    let image = ImageRef::parse("registry.example.com/eap/website:v1.4.0").unwrap();
    history.built(&web, &image, &staged);
    let unstaged = ImageRef::parse("registry.example.com/eap/website:v1.5.0").unwrap();
    history.built(&web, &unstaged, &CommitSha::parse(UNSTAGED).unwrap());
    history
}

fn check(changes: &[FileChange], approvals: &[Person], source: Option<&Source>) -> Vec<Violation> {
    let author = Person::new(5, &["developers"]);
    let request = MergeRequest {
        changes,
        author: &author,
        approvals,
        source,
    };
    validate::validate(&example(), &request, &history()).unwrap()
}

fn render(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}:{}: [{}] {}", v.file, v.line, v.rule, v.message))
        .collect::<Vec<_>>()
        .join("\n")
}

const PROD: &str = "apps/web/overlays/production/kustomization.yaml";

#[test]
fn a_clean_promotion_passes() {
    let changes = [change(
        PROD,
        Some(kustomization("registry.example.com/eap/website", "v1.3.0")),
        Some(kustomization("registry.example.com/eap/website", "v1.4.0")),
    )];
    assert_eq!(check(&changes, &[], None), []);
}

#[test]
fn files_outside_the_overlays() {
    let changes = [
        change(
            "apps/web/base/deployment.yaml",
            Some("a".into()),
            Some("b".into()),
        ),
        change("README.md", None, Some("hi".into())),
        change(
            "apps/web/overlays/integration/patch.yaml",
            None,
            Some("x: 1".into()),
        ),
    ];
    insta::assert_snapshot!(render(&check(&changes, &[], None)));
}

#[test]
fn images_from_other_registries() {
    let changes = [change(
        "apps/web/overlays/integration/kustomization.yaml",
        None,
        Some(kustomization(
            "docker.io/someone/website",
            "develop.abc1234",
        )),
    )];
    insta::assert_snapshot!(render(&check(&changes, &[], None)));
}

#[test]
fn tags_outside_allow_tags() {
    let changes = [change(
        PROD,
        None,
        Some(kustomization("registry.example.com/eap/website", "latest")),
    )];
    let violations = check(&changes, &[], None);
    // `latest` is also unknown to history: both rules report.
    insta::assert_snapshot!(render(&violations));
}

#[test]
fn production_images_must_have_run_in_staging() {
    let changes = [change(
        PROD,
        None,
        Some(kustomization("registry.example.com/eap/website", "v1.5.0")),
    )];
    insta::assert_snapshot!(render(&check(&changes, &[], None)));
}

#[test]
fn declared_provenance_is_checked_against_history() {
    let source = |sha: &str| Source {
        project: ProjectPath::parse("eap/website").unwrap(),
        git_ref: GitRef::Tag("v1.6.0".into()),
        sha: Some(CommitSha::parse(sha).unwrap()),
        merge_request: None,
    };
    let changes = [change(
        PROD,
        None,
        Some(kustomization("registry.example.com/eap/website", "v1.6.0")),
    )];
    assert_eq!(check(&changes, &[], Some(&source(STAGED))), []);
    let violations = check(&changes, &[], Some(&source(UNSTAGED)));
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].rule, "provenance-not-in-from");
}

#[test]
fn policy_edits_need_the_policy_owners() {
    let changes = [change(
        "policies/promotion.yaml",
        Some("a".into()),
        Some("b".into()),
    )];
    insta::assert_snapshot!(render(&check(
        &changes,
        &[Person::new(5, &["platform"])],
        None
    )));
    assert_eq!(check(&changes, &[Person::new(6, &["platform"])], None), []);
}

#[test]
fn kustomizations_the_image_setter_cannot_parse() {
    let changes = [
        change(
            "apps/api/overlays/staging/kustomization.yaml",
            None,
            Some("images:\n  - name: registry.example.com/eap/api\n    newTag: [oops\n".into()),
        ),
        change(
            "apps/worker/overlays/staging/kustomization.yaml",
            None,
            Some("images:\n  - newTag: v1\n".into()),
        ),
    ];
    insta::assert_snapshot!(render(&check(&changes, &[], None)));
}

#[test]
fn unchanged_entries_are_not_judged_again() {
    let old = "images:\n  - name: nginx\n    newTag: \"1.27\"\n  - name: registry.example.com/eap/website\n    newTag: develop.aaaaaaa\n";
    let new = old.replace("develop.aaaaaaa", "develop.bbbbbbb");
    let changes = [change(
        "apps/web/overlays/integration/kustomization.yaml",
        Some(old.into()),
        Some(new),
    )];
    // nginx (Docker Hub) was there before; only the changed website entry is checked.
    assert_eq!(check(&changes, &[], None), []);
}
