//! Loading policies: the shipped example, and every loader error as a snapshot.

use ferry::policy::{self, Gate};

const EXAMPLE: &str = include_str!("../templates/gitops-example/policies/promotion.yaml");

#[test]
fn the_shipped_example_loads() {
    let policy = policy::parse("promotion.yaml", EXAMPLE).unwrap_or_else(|diags| {
        panic!("{}", render(&diags));
    });
    assert_eq!(policy.gitops.branch, "main");
    let names: Vec<&str> = policy
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["integration", "staging", "production"]);
    let production = policy.environment("production").unwrap();
    assert!(matches!(production.gate, Gate::Manual { approvals: 2, .. }));
    assert_eq!(production.from.as_ref().unwrap().as_str(), "staging");
    assert_eq!(production.freeze.len(), 1);
    let api = policy.service("api").unwrap();
    assert_eq!(
        policy.overlay_dir(api, production),
        "apps/api/overlays/production"
    );
}

fn render(diags: &[policy::Diagnostic]) -> String {
    diags
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn errors(text: &str) -> String {
    match policy::parse("policies/promotion.yaml", text) {
        Ok(_) => panic!("the policy was accepted"),
        Err(diags) => render(&diags),
    }
}

const BASE: &str = r#"
gitops:
  branch: main
  overlay: "apps/{service}/overlays/{environment}"
services:
  web:
    image: registry.example.com/eap/website
    source: eap/website
registries: [registry.example.com]
environments:
  integration:
    trigger: { branch: develop }
    tag: "{branch}.{short_sha}"
    gate: auto
"#;

#[test]
fn the_base_fixture_loads() {
    assert!(policy::parse("p.yaml", BASE).is_ok());
}

#[test]
fn unknown_keys_are_all_reported_with_suggestions() {
    let text = BASE
        .replace(
            "    source: eap/website",
            "    sorce: eap/website\n    colour: blue",
        )
        .replace("    gate: auto", "    gate: auto\n    aprovals: 2");
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn yaml_syntax_errors_point_at_the_position() {
    insta::assert_snapshot!(errors("gitops:\n  branch: [main\nservices: {}\n"));
}

#[test]
fn empty_policy() {
    insta::assert_snapshot!(errors(""));
}

#[test]
fn wrong_types_and_missing_keys() {
    let text = BASE
        .replace("  branch: main", "  branch: [main]")
        .replace("    trigger: { branch: develop }", "    trigger: develop")
        .replace("    image: registry.example.com/eap/website\n", "");
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn references_cycles_and_patterns() {
    let text = format!(
        "{BASE}{}",
        r#"
  staging:
    trigger: { branch: "release-*" }
    tag: "{tag}.{short_sha}"
    gate: auto
    from: integraton
    next: production
  production:
    trigger: { tag: "v*" }
    tag: "{tag}"
    allow_tags: '^v(\d+$'
    gate: manual
    approvers: [user:alice, group:sre]
    next: staging
    services: [web, wbe]
"#
    );
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn freeze_windows_and_gates() {
    let text = format!(
        "{BASE}{}",
        r#"
  production:
    trigger: { tag: "v*" }
    tag: "{tag}"
    gate: manul
    freeze:
      - { days: [fri, caturday], from: "16:00", to: "25:00", timezone: Asia/Shanghia }
      - { days: [sun], from: "10:00", to: "10:00", timezone: UTC }
  sandbox:
    trigger: { branch: "*" }
    tag: "{branch}-{pipeline_id}"
    gate: auto
    approvals: 1
"#
    );
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn overlay_templates_need_both_variables_unless_explained() {
    let shared = BASE.replace(
        "  overlay: \"apps/{service}/overlays/{environment}\"",
        "  overlay: \"clusters/{environment}\"",
    );
    insta::assert_snapshot!(errors(&shared));
    let explained = shared.replace(
        "  overlay: \"clusters/{environment}\"",
        "  overlay: \"clusters/{environment}\"\n  overlay_reason: one kustomization lists every image of an environment",
    );
    assert!(policy::parse("p.yaml", &explained).is_ok());
    let escaping = BASE.replace("apps/{service}", "../{service}");
    insta::assert_snapshot!(errors(&escaping));
}

#[test]
fn images_outside_the_registries_and_bad_names() {
    let text = BASE
        .replace("registry.example.com/eap/website", "docker.io/eap/website")
        .replace(
            "registries:",
            "  Api:\n    image: nginx\n    source: eap/api\nregistries:",
        )
        .replace(
            "registries: [registry.example.com]",
            "registries: [registry.example.com, \"https://r.example.com/\"]",
        );
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn from_cycles_are_found() {
    let text = format!(
        "{BASE}{}",
        r#"
  staging: { gate: auto, from: production }
  production: { gate: auto, from: staging }
"#
    );
    assert_eq!(
        errors(&text),
        "policies/promotion.yaml:16:3: error[cycle]: `from` goes round in a cycle: staging -> production -> staging\n  help: remove `from` from one of these environments"
    );
}

mod never_panics {
    use proptest::prelude::*;

    use super::EXAMPLE;

    proptest! {
        #[test]
        fn on_any_text(text in "\\PC{0,400}") {
            let _ = ferry::policy::parse("p.yaml", &text);
            let _ = ferry::policy::event::parse(&text);
        }

        #[test]
        fn on_the_example_with_a_slice_cut_out(start in 0usize..2000, len in 1usize..40) {
            let start = start.min(EXAMPLE.len());
            let end = (start + len).min(EXAMPLE.len());
            if EXAMPLE.is_char_boundary(start) && EXAMPLE.is_char_boundary(end) {
                let text = format!("{}{}", &EXAMPLE[..start], &EXAMPLE[end..]);
                if let Err(diags) = ferry::policy::parse("p.yaml", &text) {
                    prop_assert!(!diags.is_empty());
                    prop_assert!(diags.iter().all(|d| d.pos.line >= 1));
                }
            }
        }
    }
}

#[test]
fn rollbacks_are_gated_unless_an_environment_says_fast() {
    let environment = |extra: &str| {
        format!(
            "{BASE}\n  production:\n    trigger: {{ tag: \"v*\" }}\n    tag: \"{{tag}}\"\n    gate: auto\n{extra}"
        )
    };
    let gated = policy::parse("p.yaml", &environment("")).expect("valid");
    assert!(!gated.environment("production").expect("env").fast_rollback);
    let fast = policy::parse("p.yaml", &environment("    rollback: fast\n")).expect("valid");
    assert!(fast.environment("production").expect("env").fast_rollback);
    let said = policy::parse("p.yaml", &environment("    rollback: gated\n")).expect("valid");
    assert!(!said.environment("production").expect("env").fast_rollback);
    let wrong = errors(&environment("    rollback: quick\n"));
    assert!(
        wrong.contains("error[bad-rollback]: `rollback: quick` is not a rollback mode")
            && wrong.contains("help: write `rollback: fast`"),
        "{wrong}"
    );
}
