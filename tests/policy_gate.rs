//! Every gate rule: approvals (who counts), holds, freeze windows and their overrides.

use ferry::domain::UserId;
use ferry::policy::gate::{self, Failure, FreezeOverride, GateInput, Hold};
use ferry::policy::principal::Person;
use ferry::policy::{self, Policy};
use jiff::Timestamp;

const EXAMPLE: &str = include_str!("../templates/gitops-example/policies/promotion.yaml");
const AUTHOR: u64 = 5;
/// Tuesday 2026-11-03 10:00 in Shanghai: no freeze.
const WEEKDAY: &str = "2026-11-03T02:00:00Z";
/// Saturday 2026-11-07 18:00 in Shanghai: inside the weekend freeze.
const WEEKEND: &str = "2026-11-07T10:00:00Z";

fn example() -> Policy {
    policy::parse("promotion.yaml", EXAMPLE).unwrap()
}

fn input<'a>(approvals: &'a [Person], now: &str) -> GateInput<'a> {
    GateInput {
        author: UserId(AUTHOR),
        approvals,
        holds: &[],
        freeze_override: None,
        now: now.parse::<Timestamp>().unwrap(),
    }
}

fn reasons(result: Result<(), Vec<Failure>>) -> Vec<String> {
    result
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|f| format!("{}: {}", f.reason, f.message))
        .collect()
}

#[test]
fn two_approvers_from_the_allowed_principals_open_the_gate() {
    let policy = example();
    let production = policy.environment("production").unwrap();
    let approvals = [Person::new(7, &["sre"]), Person::new(1042, &[])];
    assert_eq!(
        gate::evaluate(production, &input(&approvals, WEEKDAY)),
        Ok(())
    );
}

#[test]
fn missing_approvals_explain_which_did_not_count() {
    let policy = example();
    let production = policy.environment("production").unwrap();
    let approvals = [
        Person::new(AUTHOR, &["sre"]),
        Person::new(8, &["developers"]),
        Person::new(7, &["sre"]),
        Person::new(7, &["sre"]),
    ];
    assert_eq!(
        reasons(gate::evaluate(production, &input(&approvals, WEEKDAY))),
        [
            "approvals: production needs 2 approval(s) from group:sre, user:1042; it has 1 (not counted: user 5 wrote the promotion; user 8 is not an approver)"
        ]
    );
}

#[test]
fn authors_may_approve_when_the_policy_says_so() {
    let text = EXAMPLE.replace("authors_may_approve: false", "authors_may_approve: true");
    let policy = policy::parse("p.yaml", &text).unwrap();
    let production = policy.environment("production").unwrap();
    let approvals = [Person::new(AUTHOR, &["sre"]), Person::new(7, &["sre"])];
    assert_eq!(
        gate::evaluate(production, &input(&approvals, WEEKDAY)),
        Ok(())
    );
}

#[test]
fn auto_gates_need_no_approval_but_respect_holds() {
    let policy = example();
    let integration = policy.environment("integration").unwrap();
    assert_eq!(gate::evaluate(integration, &input(&[], WEEKEND)), Ok(()));
    let holds = [Hold {
        by: UserId(9),
        reason: "database migration running".into(),
    }];
    let held = GateInput {
        holds: &holds,
        ..input(&[], WEEKDAY)
    };
    assert_eq!(
        reasons(gate::evaluate(integration, &held)),
        [
            "held: held by user 9: database migration running; the promotion waits until the hold is lifted"
        ]
    );
}

#[test]
fn every_failing_requirement_is_reported_together() {
    let policy = example();
    let production = policy.environment("production").unwrap();
    let holds = [Hold {
        by: UserId(9),
        reason: "incident 42".into(),
    }];
    let all = GateInput {
        holds: &holds,
        ..input(&[], WEEKEND)
    };
    insta::assert_snapshot!(reasons(gate::evaluate(production, &all)).join("\n"));
}

#[test]
fn freeze_overrides_need_an_allowed_person_and_a_reason() {
    let policy = example();
    let production = policy.environment("production").unwrap();
    let approvals = [Person::new(7, &["sre"]), Person::new(1042, &[])];
    let attempt = |by: Person, reason: &str| {
        let request = FreezeOverride {
            by,
            reason: reason.into(),
        };
        let gate_input = GateInput {
            freeze_override: Some(&request),
            ..input(&approvals, WEEKEND)
        };
        reasons(gate::evaluate(production, &gate_input))
    };
    assert_eq!(
        attempt(Person::new(3, &["release-managers"]), "security fix CVE-1"),
        Vec::<String>::new()
    );
    insta::assert_snapshot!(
        "override_by_someone_not_allowed",
        attempt(Person::new(8, &["developers"]), "please").join("\n")
    );
    insta::assert_snapshot!(
        "override_without_reason",
        attempt(Person::new(3, &["release-managers"]), "  ").join("\n")
    );
}

#[test]
fn freezes_end_at_their_local_time() {
    let policy = example();
    let production = policy.environment("production").unwrap();
    let approvals = [Person::new(7, &["sre"]), Person::new(1042, &[])];
    // Monday 00:00 in Shanghai is Sunday 16:00 UTC.
    assert_eq!(
        gate::evaluate(production, &input(&approvals, "2026-11-08T16:00:00Z")),
        Ok(())
    );
    assert!(gate::evaluate(production, &input(&approvals, "2026-11-08T15:59:00Z")).is_err());
}
