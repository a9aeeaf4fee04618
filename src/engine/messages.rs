//! Every text the workflow writes to people: merge request titles and bodies, the status
//! comment, command answers and refusals. Kept together so wording is reviewed in one place.

pub mod csr;
pub mod template;

use std::collections::BTreeMap;

use crate::forge::CommitLinks;
use crate::gitops::Promotion;
use crate::policy::gate::Failure;
use crate::policy::validate::Violation;
use crate::policy::{Environment, Gate};

/// The hidden key of the one status comment per merge request.
pub const STATUS_COMMENT: &str = "status";
pub const GATE_CONTEXT: &str = "ferry/gate";
pub const POLICY_CONTEXT: &str = "ferry/policy";

/// What the title and body templates of a promotion merge request are filled with
/// (`template::PLACEHOLDERS`).
pub fn promotion_values(
    promotion: &Promotion,
    previous: &[Option<String>],
    environment: &Environment,
    links: Option<&CommitLinks>,
    replaces: Option<&str>,
) -> BTreeMap<&'static str, String> {
    let mut changes =
        String::from("| service | environment | current image | new image |\n|---|---|---|---|\n");
    for (change, previous) in promotion.changes.iter().zip(previous) {
        changes.push_str(&format!(
            "| {} | {} | `{}` | `{}` |\n",
            change.service,
            change.environment,
            previous.as_deref().unwrap_or("(none)"),
            change.image
        ));
    }
    let source = promotion
        .source
        .as_ref()
        .map_or_else(String::new, |source| {
            let sha = match (&source.sha, links) {
                (None, _) => "(unknown commit)".to_owned(),
                (Some(sha), None) => format!("`{}`", sha.short()),
                (Some(sha), Some(links)) => format!(
                    "[`{}`]({}) ([pipelines]({}))",
                    sha.short(),
                    links.commit,
                    links.pipelines
                ),
            };
            format!(
                "Source: `{}` {} {sha}\n",
                source.project,
                source.git_ref.short_name()
            )
        });
    let replaces = replaces.map_or_else(String::new, |replaced| {
        format!(
            "\nThis replaces the earlier promotion on this branch (\"{replaced}\"); its approvals do not carry over.\n"
        )
    });
    let joined = |part: fn(&crate::gitops::OverlayChange) -> String, separator: &str| {
        let mut parts: Vec<String> = promotion.changes.iter().map(part).collect();
        parts.dedup();
        parts.join(separator)
    };
    BTreeMap::from([
        ("summary", promotion.summary()),
        ("service", joined(|c| c.service.to_string(), "+")),
        ("environment", joined(|c| c.environment.to_string(), "+")),
        ("image", joined(|c| c.image.to_string(), ", ")),
        ("changes", changes),
        ("source", source),
        ("gate", gate_summary(promotion, environment)),
        ("replaces", replaces),
    ])
}

/// The machine-readable block that ends every promotion merge request's body: JSON in an HTML
/// comment, which both forges keep but do not show, so that scripts and dashboards can read
/// what a merge request promotes without parsing prose. It is not part of the template, so an
/// overridden template cannot drop it.
pub fn promotion_metadata(promotion: &Promotion, previous: &[Option<String>]) -> String {
    #[derive(serde::Serialize)]
    struct Change<'a> {
        service: &'a str,
        environment: &'a str,
        image: String,
        previous: Option<&'a str>,
    }
    #[derive(serde::Serialize)]
    struct Metadata<'a> {
        version: u32,
        action: &'a str,
        changes: Vec<Change<'a>>,
        source: Option<&'a crate::domain::Source>,
        requested_by: Option<&'a str>,
    }
    let metadata = Metadata {
        version: 1,
        action: promotion.action.as_str(),
        changes: promotion
            .changes
            .iter()
            .zip(previous.iter().chain(std::iter::repeat(&None)))
            .map(|(change, previous)| Change {
                service: change.service.as_str(),
                environment: change.environment.as_str(),
                image: change.image.to_string(),
                previous: previous.as_deref(),
            })
            .collect(),
        source: promotion.source.as_ref(),
        requested_by: promotion.requested_by.as_deref(),
    };
    let json = serde_json::to_string(&metadata).unwrap_or_else(|_| "{}".to_owned());
    // `--` may not appear in an HTML comment; in JSON it can only be inside a string, where
    // an escaped hyphen means the same.
    format!(
        "\n<!-- {PROMOTION_METADATA} {} -->\n",
        json.replace("--", "-\\u002d")
    )
}

/// The key of the metadata comment in a promotion merge request's body.
pub const PROMOTION_METADATA: &str = "ferry:promotion";

fn gate_summary(promotion: &Promotion, environment: &Environment) -> String {
    if promotion.action == crate::gitops::Action::Rollback && environment.fast_rollback {
        return "fast rollback (`rollback: fast`): no approvals needed and freezes do not apply; Ferry merges once the pipeline passes.".to_owned();
    }
    match &environment.gate {
        Gate::Auto => "auto: Ferry merges once the pipeline passes.".to_owned(),
        Gate::Manual {
            approvals,
            approvers,
            ..
        } => format!(
            "manual: {approvals} approval(s) from {} with `/ferry approve`, then Ferry merges.",
            crate::policy::principal::list(approvers)
        ),
    }
}

/// The verdict of the policy on a merge request.
pub fn policy_section(violations: &[Violation]) -> String {
    if violations.is_empty() {
        return "**Policy:** passes.\n".to_owned();
    }
    let mut out = format!("**Policy:** {} problem(s):\n", violations.len());
    for v in violations {
        out.push_str(&format!(
            "- `{}:{}` [{}] {}\n",
            v.file, v.line, v.rule, v.message
        ));
    }
    out
}

pub fn closed_section() -> String {
    "This merge request is closed; Ferry no longer checks it.\n".to_owned()
}

/// Where the gate stands.
pub enum GateView {
    Waiting(Vec<Failure>),
    Merged,
    Scheduled,
    NotMergeable(String),
    HeadMoved,
}

pub fn gate_section(view: &GateView) -> String {
    match view {
        GateView::Waiting(failures) => {
            let mut out = String::from("**Gate:** waiting:\n");
            for failure in failures.iter() {
                out.push_str(&format!("- {}\n", failure.message));
            }
            out
        }
        GateView::Merged => "**Gate:** open; Ferry merged this merge request.\n".to_owned(),
        GateView::Scheduled => {
            "**Gate:** open; Ferry set it to merge when the pipeline succeeds.\n".to_owned()
        }
        GateView::NotMergeable(reason) => {
            format!(
                "**Gate:** open, but the forge refuses to merge: {reason}. Fix that, then comment `/ferry retry`.\n"
            )
        }
        GateView::HeadMoved => {
            "**Gate:** the branch moved while Ferry was merging; it checks the new head.\n"
                .to_owned()
        }
    }
}

pub fn gate_description(view: &GateView) -> String {
    let text = match view {
        GateView::Merged | GateView::Scheduled => "gate open".to_owned(),
        GateView::Waiting(failures) => failures
            .iter()
            .map(|f| f.reason)
            .collect::<Vec<_>>()
            .join(", "),
        GateView::NotMergeable(_) => "gate open, merge refused".to_owned(),
        GateView::HeadMoved => "re-checking the new head".to_owned(),
    };
    format!("Ferry: {text}")
}

/// The one status comment: policy, gate (promotion MRs only), and the answer to the latest
/// commands.
pub fn status_comment(policy: &str, gate: Option<&str>, answer: Option<&str>) -> String {
    let mut out = String::from("### Ferry\n\n");
    out.push_str(policy);
    if let Some(gate) = gate {
        out.push('\n');
        out.push_str(gate);
    }
    if let Some(answer) = answer {
        out.push_str("\n**Latest commands:**\n");
        out.push_str(answer);
    }
    out
}

pub fn approved(user: &str) -> String {
    format!("- approved by @{user}\n")
}

pub fn unapproved(user: &str, had: bool) -> String {
    if had {
        format!("- @{user} withdrew their approval\n")
    } else {
        format!("- @{user} had not approved this head; nothing to withdraw\n")
    }
}

pub fn not_allowed(user: &str, what: &str, who: &str) -> String {
    format!("- @{user} may not {what}; ask {who}\n")
}

pub fn held(user: &str, reason: Option<&str>) -> String {
    match reason {
        Some(reason) => format!("- held by @{user}: {reason}\n"),
        None => format!("- held by @{user}\n"),
    }
}

pub fn unheld(user: &str, had: bool) -> String {
    if had {
        format!("- @{user} lifted the hold\n")
    } else {
        "- there was no hold to lift\n".to_owned()
    }
}

pub fn not_a_promotion(command: &str) -> String {
    format!("- `{command}` works on Ferry's promotion merge requests only (branches `ferry/...`)\n")
}

pub fn command_error(line: usize, error: &str) -> String {
    format!("- line {line}: {error}\n")
}

pub fn opened(summary: &str, url: &str) -> String {
    format!("- opened {url}: {summary}\n")
}

pub fn nothing_to_do(what: &str) -> String {
    format!("- {what}\n")
}

/// `/ferry status`: every environment's current image for the services.
pub fn status_table(rows: &[(String, String, Option<String>)]) -> String {
    let mut out = String::from("\n| environment | service | image |\n|---|---|---|\n");
    for (environment, service, image) in rows {
        out.push_str(&format!(
            "| {environment} | {service} | `{}` |\n",
            image.as_deref().unwrap_or("(none)")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_metadata_is_json_in_a_comment_that_cannot_be_closed_early() {
        let image = crate::domain::ImageRef::parse("registry.example.com/eap/website:v1--rc")
            .expect("image");
        let change = crate::gitops::OverlayChange {
            service: crate::domain::ServiceName::parse("web").expect("name"),
            environment: crate::domain::EnvironmentName::parse("production").expect("name"),
            overlay: "apps/web/overlays/production".into(),
            image_name: crate::domain::ImageName::parse("registry.example.com/eap/website")
                .expect("name"),
            image,
        };
        let mut promotion = Promotion::new(vec![change]);
        promotion.requested_by = Some("carol-->x".into());
        let block = promotion_metadata(
            &promotion,
            &[Some("registry.example.com/eap/website:v1.0.0".into())],
        );
        let inner = block
            .trim()
            .strip_prefix("<!-- ferry:promotion ")
            .and_then(|rest| rest.strip_suffix(" -->"))
            .expect("one comment");
        assert!(!inner.contains("--"), "{inner}");
        let json: serde_json::Value = serde_json::from_str(inner).expect("JSON");
        assert_eq!(json["version"], 1);
        assert_eq!(json["action"], "promote");
        assert_eq!(json["changes"][0]["environment"], "production");
        assert_eq!(
            json["changes"][0]["image"],
            "registry.example.com/eap/website:v1--rc"
        );
        assert_eq!(
            json["changes"][0]["previous"],
            "registry.example.com/eap/website:v1.0.0"
        );
        assert_eq!(json["requested_by"], "carol-->x");
    }
}
