//! Wording of the certificate-request flow: the CSR section of the status comment before
//! a merge, what signing came to after it, and the `ferry/csr` status.

use crate::csr::verdict::Violation;

pub const CSR_CONTEXT: &str = "ferry/csr";

/// One cluster's verdict on a CSR, with the groups it would grant.
#[derive(Debug, Clone)]
pub struct ClusterView {
    pub cluster: String,
    pub groups: Vec<String>,
    pub violations: Vec<Violation>,
}

/// The review of `csr/<username>.csr` in a merge request.
#[derive(Debug, Clone)]
pub struct RequestView {
    pub username: String,
    /// The merge request's author, when Ferry knows their username.
    pub author: Option<String>,
    pub clusters: Vec<ClusterView>,
    /// Problems that stop signing whatever the clusters say (whose request, missing CA ...).
    pub problems: Vec<String>,
}

impl RequestView {
    pub fn accepted(&self) -> bool {
        self.problems.is_empty()
            && !self.clusters.is_empty()
            && self.clusters.iter().all(|c| c.violations.is_empty())
    }
}

/// What the CSR check found on a merge request that adds or changes CSRs.
#[derive(Debug, Clone)]
pub enum CsrReview {
    /// `policies/csr.yaml` is missing or broken on the target branch.
    NoPolicy(String),
    Requests(Vec<RequestView>),
}

impl CsrReview {
    pub fn accepted(&self) -> bool {
        match self {
            CsrReview::NoPolicy(_) => false,
            CsrReview::Requests(requests) => {
                !requests.is_empty() && requests.iter().all(RequestView::accepted)
            }
        }
    }
}

pub fn review_description(review: &CsrReview) -> String {
    match review {
        CsrReview::NoPolicy(_) => "Ferry: no usable policies/csr.yaml".to_owned(),
        CsrReview::Requests(_) if review.accepted() => {
            "Ferry: CSR accepted; signed after someone else merges".to_owned()
        }
        CsrReview::Requests(requests) => {
            let mut rules: Vec<&str> = requests
                .iter()
                .flat_map(|r| &r.clusters)
                .flat_map(|c| c.violations.iter().map(|v| v.rule.id()))
                .collect();
            rules.sort_unstable();
            rules.dedup();
            if rules.is_empty() {
                "Ferry: CSR cannot be signed (see the comment)".to_owned()
            } else {
                format!("Ferry: CSR rejected ({})", rules.join(", "))
            }
        }
    }
}

pub fn review_section(review: &CsrReview) -> String {
    let requests = match review {
        CsrReview::NoPolicy(why) => {
            return format!("**Certificate request:** cannot be checked: {why}\n");
        }
        CsrReview::Requests(requests) => requests,
    };
    let mut out = String::new();
    for request in requests {
        let verdict = if request.accepted() {
            "accepted"
        } else {
            "not signable yet"
        };
        out.push_str(&format!(
            "**Certificate request** `csr/{}.csr`: {verdict}\n",
            request.username
        ));
        for cluster in &request.clusters {
            if cluster.violations.is_empty() {
                out.push_str(&format!(
                    "- `{}`: accepted, groups: {}\n",
                    cluster.cluster,
                    groups(&cluster.groups)
                ));
            } else {
                out.push_str(&format!("- `{}`: rejected\n", cluster.cluster));
                for violation in &cluster.violations {
                    out.push_str(&format!(
                        "  - [{}] {}\n",
                        violation.rule.id(),
                        violation.message
                    ));
                }
            }
        }
        for problem in &request.problems {
            out.push_str(&format!("- {problem}\n"));
        }
        let who = request
            .author
            .as_deref()
            .map_or("its author".to_owned(), |a| format!("@{a}"));
        out.push_str(&format!(
            "\nNothing is signed before the merge. Once someone other than {who} merges this merge request, Ferry signs one certificate per cluster above (all or none) and commits it with a kubeconfig and a ledger line.\n"
        ));
    }
    out
}

fn groups(groups: &[String]) -> String {
    if groups.is_empty() {
        "(none)".to_owned()
    } else {
        groups
            .iter()
            .map(|g| format!("`{g}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A certificate Ferry issued for a merge request, as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedView {
    pub cluster: String,
    pub username: String,
    pub serial: String,
    pub groups: Vec<String>,
    pub not_after: String,
}

/// What signing a merged CSR merge request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signing {
    Issued {
        commit: String,
        certificates: Vec<IssuedView>,
    },
    /// The target branch already has this merge request's certificates (a redelivery).
    Already(Vec<IssuedView>),
    Refused(String),
}

pub fn merged_section(signing: &Signing) -> String {
    match signing {
        Signing::Issued {
            commit,
            certificates,
        } => {
            let mut out = format!(
                "**Certificates:** issued in commit `{}`:\n",
                commit.get(..12).unwrap_or(commit)
            );
            out.push_str(&issued_lines(certificates));
            out
        }
        Signing::Already(certificates) => {
            let mut out =
                String::from("**Certificates:** already issued for this merge request:\n");
            out.push_str(&issued_lines(certificates));
            out
        }
        Signing::Refused(why) => format!(
            "**Certificates:** nothing was signed. {why}\n\nTo get a certificate, fix this and open a new merge request; merging this one again is not possible.\n"
        ),
    }
}

fn issued_lines(certificates: &[IssuedView]) -> String {
    let mut out = String::new();
    for c in certificates {
        out.push_str(&format!(
            "- `{cluster}`: serial `{serial}`, groups: {groups}, valid until {until}: `certs/{cluster}/{user}.crt`, `kubeconfigs/{cluster}/{user}.yaml`\n",
            cluster = c.cluster,
            serial = c.serial,
            groups = groups(&c.groups),
            until = c.not_after,
            user = c.username,
        ));
    }
    if let Some(first) = certificates.first() {
        out.push_str(&format!(
            "\nPut your private key next to the kubeconfig as `{}.key` (never commit it).\n",
            first.username
        ));
    }
    out
}
