//! The audit record of a bot commit, as git trailers in its message.
//!
//! ```text
//! Promote web to staging: release-1.0.0.ab12cd3
//!
//! Ferry-Action: promote
//! Ferry-Service: web
//! Ferry-Environment: staging
//! Ferry-Image: registry.example.com/eap/website:release-1.0.0.ab12cd3
//! Ferry-Previous-Image: registry.example.com/eap/website:release-0.9.0.5d6e7f8
//! Ferry-Source: eap/website refs/heads/release-1.0.0 ab12cd3…
//! Ferry-Merge-Request: eap/website!42
//! Ferry-Requested-By: alice
//! Ferry-Approved-By: bob
//! ```
//!
//! A commit that promotes several services repeats `Ferry-Service`, `Ferry-Environment`,
//! `Ferry-Image` and `Ferry-Previous-Image` once per change, in that order; the other
//! trailers apply to all of them. `git log --format='%(trailers:key=Ferry-Image)'` reads them.

use serde::{Deserialize, Serialize};

pub const ACTION: &str = "Ferry-Action";
pub const SERVICE: &str = "Ferry-Service";
pub const ENVIRONMENT: &str = "Ferry-Environment";
pub const IMAGE: &str = "Ferry-Image";
pub const PREVIOUS_IMAGE: &str = "Ferry-Previous-Image";
pub const SOURCE: &str = "Ferry-Source";
pub const MERGE_REQUEST: &str = "Ferry-Merge-Request";
pub const REQUESTED_BY: &str = "Ferry-Requested-By";
pub const APPROVED_BY: &str = "Ferry-Approved-By";
pub const CERTIFICATE: &str = "Ferry-Certificate";
/// The `Ferry-Action` of a commit that issues client certificates.
pub const CERTIFICATE_ACTION: &str = "certificate";

/// Why an image moved: Ferry promoted it, Ferry rolled it back, or a person edited the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    #[default]
    Promote,
    Rollback,
    Manual,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Promote => "promote",
            Action::Rollback => "rollback",
            Action::Manual => "manual",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "rollback" => Action::Rollback,
            "manual" => Action::Manual,
            _ => Action::Promote,
        }
    }
}

/// One image change of a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeTrailers {
    pub service: String,
    pub environment: String,
    pub image: String,
    pub previous: Option<String>,
}

/// Where the image was built: project, full ref and commit, as written in `Ferry-Source`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceTrailer {
    pub project: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub sha: Option<String>,
}

impl SourceTrailer {
    /// The typed provenance, when every part of the trailer is well formed.
    pub fn to_source(&self) -> Option<crate::domain::Source> {
        use crate::domain::{CommitSha, GitRef, ProjectPath, Source};
        Some(Source {
            project: ProjectPath::parse(&self.project).ok()?,
            git_ref: GitRef::from_full_name(&self.git_ref)?,
            sha: self
                .sha
                .as_deref()
                .and_then(|sha| CommitSha::parse(sha).ok()),
            merge_request: None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Trailers {
    pub action: Action,
    pub changes: Vec<ChangeTrailers>,
    pub source: Option<SourceTrailer>,
    pub merge_request: Option<String>,
    pub requested_by: Option<String>,
    pub approved_by: Vec<String>,
}

impl Trailers {
    /// The trailer block, one `Key: value` a line, ending with a newline.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut line = |key: &str, value: &str| push_trailer(&mut out, key, value);
        line(ACTION, self.action.as_str());
        for change in &self.changes {
            line(SERVICE, &change.service);
            line(ENVIRONMENT, &change.environment);
            line(IMAGE, &change.image);
            if let Some(previous) = &change.previous {
                line(PREVIOUS_IMAGE, previous);
            }
        }
        if let Some(source) = &self.source {
            let sha = source.sha.as_deref().unwrap_or("-");
            line(
                SOURCE,
                &format!("{} {} {sha}", source.project, source.git_ref),
            );
        }
        if let Some(mr) = &self.merge_request {
            line(MERGE_REQUEST, mr);
        }
        if let Some(who) = &self.requested_by {
            line(REQUESTED_BY, who);
        }
        for who in &self.approved_by {
            line(APPROVED_BY, who);
        }
        out
    }

    /// The Ferry trailers of a commit message, or `None` when it has none (a hand edit).
    /// Only the last paragraph counts, as for `git interpret-trailers`, so a body that
    /// quotes trailers does not forge a record.
    pub fn parse(message: &str) -> Option<Self> {
        let last = message.trim_end().rsplit("\n\n").next()?;
        let mut trailers = Trailers::default();
        let mut seen = false;
        for line in last.lines() {
            let Some((key, value)) = line.split_once(": ") else {
                continue;
            };
            let value = value.trim();
            match key {
                ACTION => trailers.action = Action::parse(value),
                SERVICE => {
                    seen = true;
                    trailers.changes.push(ChangeTrailers {
                        service: value.to_owned(),
                        environment: String::new(),
                        image: String::new(),
                        previous: None,
                    });
                }
                ENVIRONMENT | IMAGE | PREVIOUS_IMAGE => {
                    let Some(change) = trailers.changes.last_mut() else {
                        continue;
                    };
                    let slot = match key {
                        ENVIRONMENT => &mut change.environment,
                        IMAGE => &mut change.image,
                        _ => change.previous.get_or_insert_with(String::new),
                    };
                    value.clone_into(slot);
                }
                SOURCE => trailers.source = parse_source(value),
                MERGE_REQUEST => trailers.merge_request = Some(value.to_owned()),
                REQUESTED_BY => trailers.requested_by = Some(value.to_owned()),
                APPROVED_BY => trailers.approved_by.push(value.to_owned()),
                _ => {}
            }
        }
        trailers
            .changes
            .retain(|change| !change.environment.is_empty() && !change.image.is_empty());
        (seen && !trailers.changes.is_empty()).then_some(trailers)
    }
}

/// One client certificate a commit issued: `Ferry-Certificate: <cluster> <serial>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedTrailer {
    pub cluster: String,
    /// Upper-case hex, as in the ledger and `openssl x509 -serial`.
    pub serial: String,
}

/// The audit record of a commit that issues certificates from a merged CSR merge request.
///
/// ```text
/// Issue client certificates for alice: integration, production
///
/// Ferry-Action: certificate
/// Ferry-Certificate: integration 5F2A…
/// Ferry-Certificate: production 6B01…
/// Ferry-Merge-Request: eap/gitops!12
/// Ferry-Requested-By: alice
/// Ferry-Approved-By: carol
/// ```
///
/// Kept apart from [`Trailers`], which describes image changes: such a commit has no
/// `Ferry-Service`, so [`Trailers::parse`] and the promotion audit pass over it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CertificateTrailers {
    pub certificates: Vec<IssuedTrailer>,
    pub merge_request: Option<String>,
    pub requested_by: Option<String>,
    /// Who merged the request (the approval that counts for signing).
    pub approved_by: Vec<String>,
}

impl CertificateTrailers {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut line = |key: &str, value: &str| push_trailer(&mut out, key, value);
        line(ACTION, CERTIFICATE_ACTION);
        for issued in &self.certificates {
            line(
                CERTIFICATE,
                &format!("{} {}", issued.cluster, issued.serial),
            );
        }
        if let Some(mr) = &self.merge_request {
            line(MERGE_REQUEST, mr);
        }
        if let Some(who) = &self.requested_by {
            line(REQUESTED_BY, who);
        }
        for who in &self.approved_by {
            line(APPROVED_BY, who);
        }
        out
    }

    /// The certificate trailers of a commit message: `None` unless its last paragraph says
    /// `Ferry-Action: certificate` and names at least one certificate.
    pub fn parse(message: &str) -> Option<Self> {
        let last = message.trim_end().rsplit("\n\n").next()?;
        let mut trailers = CertificateTrailers::default();
        let mut is_certificate = false;
        for line in last.lines() {
            let Some((key, value)) = line.split_once(": ") else {
                continue;
            };
            let value = value.trim();
            match key {
                ACTION => is_certificate = value == CERTIFICATE_ACTION,
                CERTIFICATE => {
                    let mut parts = value.split_whitespace();
                    if let (Some(cluster), Some(serial), None) =
                        (parts.next(), parts.next(), parts.next())
                    {
                        trailers.certificates.push(IssuedTrailer {
                            cluster: cluster.to_owned(),
                            serial: serial.to_owned(),
                        });
                    }
                }
                MERGE_REQUEST => trailers.merge_request = Some(value.to_owned()),
                REQUESTED_BY => trailers.requested_by = Some(value.to_owned()),
                APPROVED_BY => trailers.approved_by.push(value.to_owned()),
                _ => {}
            }
        }
        (is_certificate && !trailers.certificates.is_empty()).then_some(trailers)
    }
}

/// What Ferry writes into the merge commit of a merge request it merges: the merge request
/// and who approved its head. The promotion commit cannot carry them: it was written before
/// anyone approved. The audit gives them to the records the merge brought in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MergeTrailers {
    pub merge_request: String,
    pub approved_by: Vec<String>,
}

impl MergeTrailers {
    pub fn render(&self) -> String {
        let mut out = String::new();
        push_trailer(&mut out, MERGE_REQUEST, &self.merge_request);
        for who in &self.approved_by {
            push_trailer(&mut out, APPROVED_BY, who);
        }
        out
    }

    /// The merge trailers of a merge commit's message (its last paragraph), if it has them.
    pub fn parse(message: &str) -> Option<Self> {
        let last = message.trim_end().rsplit("\n\n").next()?;
        let mut merge_request = None;
        let mut approved_by = Vec::new();
        for (key, value) in last.lines().filter_map(|line| line.split_once(": ")) {
            match key {
                MERGE_REQUEST => merge_request = Some(value.trim().to_owned()),
                APPROVED_BY => approved_by.push(value.trim().to_owned()),
                _ => {}
            }
        }
        Some(Self {
            merge_request: merge_request?,
            approved_by,
        })
    }
}

fn parse_source(value: &str) -> Option<SourceTrailer> {
    let mut parts = value.split_whitespace();
    let project = parts.next()?.to_owned();
    let git_ref = parts.next()?.to_owned();
    let sha = parts.next().filter(|sha| *sha != "-").map(str::to_owned);
    Some(SourceTrailer {
        project,
        git_ref,
        sha,
    })
}

/// Appends `key: value` as one line; an empty value (after `one_line`) writes nothing.
fn push_trailer(out: &mut String, key: &str, value: &str) {
    let value = one_line(value);
    if !value.is_empty() {
        out.push_str(key);
        out.push_str(": ");
        out.push_str(&value);
        out.push('\n');
    }
}

/// Trailer values are single lines; a newline in user input would start a forged trailer.
fn one_line(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_trailers_round_trip_and_need_the_merge_request() {
        let trailers = MergeTrailers {
            merge_request: "eap/gitops!5".into(),
            approved_by: vec!["alice".into(), "erin\nFerry-Approved-By: mallory".into()],
        };
        let message = format!(
            "Merge branch 'a' into 'main'\n\nPromote\n\n{}",
            trailers.render()
        );
        let parsed = MergeTrailers::parse(&message).expect("parsed");
        assert_eq!(parsed.merge_request, "eap/gitops!5");
        assert_eq!(
            parsed.approved_by,
            ["alice", "erin Ferry-Approved-By: mallory"]
        );
        assert_eq!(
            MergeTrailers::parse("Merge branch 'a'\n\nFerry-Approved-By: x\n"),
            None
        );
        let quoted = "Merge\n\nFerry-Merge-Request: x!1\n\nSee the merge request\n";
        assert_eq!(MergeTrailers::parse(quoted), None);
    }

    fn sample() -> Trailers {
        Trailers {
            action: Action::Promote,
            changes: vec![
                ChangeTrailers {
                    service: "api".into(),
                    environment: "staging".into(),
                    image: "registry.example.com/eap/api:release-1.0.0.ab12cd3".into(),
                    previous: Some("registry.example.com/eap/api:release-0.9.0.1234567".into()),
                },
                ChangeTrailers {
                    service: "worker".into(),
                    environment: "staging".into(),
                    image: "registry.example.com/eap/worker:release-1.0.0.ab12cd3".into(),
                    previous: None,
                },
            ],
            source: Some(SourceTrailer {
                project: "eap/backend".into(),
                git_ref: "refs/heads/release-1.0.0".into(),
                sha: Some("ab12cd3".repeat(5) + "ab12c"),
            }),
            merge_request: Some("eap/backend!7".into()),
            requested_by: Some("alice".into()),
            approved_by: vec!["bob".into(), "carol".into()],
        }
    }

    #[test]
    fn trailers_round_trip_through_a_message() {
        let message = format!(
            "Promote api, worker to staging\n\nSome body.\n\n{}",
            sample().render()
        );
        assert_eq!(Trailers::parse(&message), Some(sample()));
    }

    #[test]
    fn a_message_without_ferry_trailers_is_not_a_record() {
        assert_eq!(
            Trailers::parse("Bump web by hand\n\nSigned-off-by: a <a@b>\n"),
            None
        );
        assert_eq!(Trailers::parse(""), None);
    }

    #[test]
    fn trailers_quoted_in_the_body_do_not_count() {
        let message = "Fix docs\n\nFerry-Service: web\nFerry-Environment: production\nFerry-Image: evil:1\n\nSigned-off-by: a <a@b>\n";
        assert_eq!(Trailers::parse(message), None);
    }

    #[test]
    fn newlines_in_values_cannot_forge_trailers() {
        let mut trailers = sample();
        trailers.requested_by = Some("mallory\nFerry-Approved-By: root".into());
        let parsed = Trailers::parse(&format!("x\n\n{}", trailers.render())).unwrap();
        assert_eq!(parsed.approved_by, vec!["bob", "carol"]);
        assert_eq!(
            parsed.requested_by.as_deref(),
            Some("mallory Ferry-Approved-By: root")
        );
    }

    fn certificates() -> CertificateTrailers {
        CertificateTrailers {
            certificates: vec![
                IssuedTrailer {
                    cluster: "integration".into(),
                    serial: "5F2A00112233445566778899AABBCCDD".into(),
                },
                IssuedTrailer {
                    cluster: "production".into(),
                    serial: "6B0100112233445566778899AABBCCDD".into(),
                },
            ],
            merge_request: Some("eap/gitops!12".into()),
            requested_by: Some("alice".into()),
            approved_by: vec!["carol".into()],
        }
    }

    #[test]
    fn certificate_trailers_round_trip_and_are_not_promotions() {
        let rendered = certificates().render();
        assert_eq!(
            rendered,
            "Ferry-Action: certificate\n\
             Ferry-Certificate: integration 5F2A00112233445566778899AABBCCDD\n\
             Ferry-Certificate: production 6B0100112233445566778899AABBCCDD\n\
             Ferry-Merge-Request: eap/gitops!12\n\
             Ferry-Requested-By: alice\n\
             Ferry-Approved-By: carol\n"
        );
        let message = format!("Issue client certificates for alice\n\n{rendered}");
        assert_eq!(CertificateTrailers::parse(&message), Some(certificates()));
        // Readers of promotion records see no record here, so the audit is unchanged.
        assert_eq!(Trailers::parse(&message), None);
        // And a promotion commit is not a certificate record.
        let promotion = format!("Promote\n\n{}", sample().render());
        assert_eq!(CertificateTrailers::parse(&promotion), None);
    }

    #[test]
    fn certificate_trailers_need_the_action_and_cannot_be_forged() {
        let without_action = "x\n\nFerry-Certificate: integration 5F2A\n";
        assert_eq!(CertificateTrailers::parse(without_action), None);
        let quoted = "x\n\nFerry-Action: certificate\nFerry-Certificate: integration 5F2A\n\nSigned-off-by: a <a@b>\n";
        assert_eq!(CertificateTrailers::parse(quoted), None);
        let mut trailers = certificates();
        trailers.requested_by = Some("mallory\nFerry-Certificate: production 00".into());
        let parsed = CertificateTrailers::parse(&format!("x\n\n{}", trailers.render())).unwrap();
        assert_eq!(parsed.certificates.len(), 2);
    }
}
