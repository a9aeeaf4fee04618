//! Gate: may a promotion merge now? When not, every failing requirement is returned, so the
//! bot can tell people everything they need to do at once.

use std::collections::BTreeSet;

use jiff::Timestamp;

use crate::domain::UserId;

use super::principal::{self, Person};
use super::schema::{Environment, Gate};

/// Someone asked to hold the promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub by: UserId,
    pub reason: String,
}

/// Someone asked to promote during a freeze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeOverride {
    pub by: Person,
    pub reason: String,
}

/// Everything the gate looks at besides the policy.
#[derive(Debug, Clone)]
pub struct GateInput<'a> {
    /// Who asked for the promotion (the promotion MR's requester).
    pub author: UserId,
    pub approvals: &'a [Person],
    pub holds: &'a [Hold],
    pub freeze_override: Option<&'a FreezeOverride>,
    pub now: Timestamp,
}

/// One requirement that is not met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Stable id: `approvals`, `held`, `frozen`, `override-not-allowed`,
    /// `override-without-reason`.
    pub reason: &'static str,
    pub message: String,
}

/// `Ok(())` when the promotion may merge now, else every failing requirement.
pub fn evaluate(environment: &Environment, input: &GateInput<'_>) -> Result<(), Vec<Failure>> {
    let mut failures = Vec::new();
    if let Gate::Manual {
        approvals,
        approvers,
        authors_may_approve,
    } = &environment.gate
    {
        let mut counted = BTreeSet::new();
        let mut ignored = Vec::new();
        for person in input.approvals {
            if person.user == input.author && !authors_may_approve {
                ignored.push(format!("user {} wrote the promotion", person.user));
            } else if !principal::any_includes(approvers, person) {
                ignored.push(format!("user {} is not an approver", person.user));
            } else {
                counted.insert(person.user);
            }
        }
        let have = u32::try_from(counted.len()).unwrap_or(u32::MAX);
        if have < *approvals {
            let mut message = format!(
                "{} needs {approvals} approval(s) from {}; it has {have}",
                environment.name,
                principal::list(approvers)
            );
            if !ignored.is_empty() {
                ignored.dedup();
                message.push_str(&format!(" (not counted: {})", ignored.join("; ")));
            }
            failures.push(Failure {
                reason: "approvals",
                message,
            });
        }
    }
    for hold in input.holds {
        failures.push(Failure {
            reason: "held",
            message: format!(
                "held by user {}: {}; the promotion waits until the hold is lifted",
                hold.by, hold.reason
            ),
        });
    }
    failures.extend(freeze_failures(environment, input));
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}

fn freeze_failures(environment: &Environment, input: &GateInput<'_>) -> Vec<Failure> {
    let Some(window) = environment.freeze.iter().find(|w| w.is_active(input.now)) else {
        return Vec::new();
    };
    let frozen = |extra: &str| Failure {
        reason: "frozen",
        message: format!("{} is frozen now ({window}){extra}", environment.name),
    };
    let allowed = if environment.overrides.is_empty() {
        "nobody may override this freeze".to_owned()
    } else {
        format!(
            "{} may override it with a reason",
            principal::list(&environment.overrides)
        )
    };
    let Some(request) = input.freeze_override else {
        return vec![frozen(&format!("; {allowed}"))];
    };
    if !principal::any_includes(&environment.overrides, &request.by) {
        return vec![
            frozen(""),
            Failure {
                reason: "override-not-allowed",
                message: format!(
                    "user {} may not override the freeze; {allowed}",
                    request.by.user
                ),
            },
        ];
    }
    if request.reason.trim().is_empty() {
        return vec![
            frozen(""),
            Failure {
                reason: "override-without-reason",
                message: "a freeze override needs a reason: say why this promotion cannot wait"
                    .to_owned(),
            },
        ];
    }
    Vec::new()
}
