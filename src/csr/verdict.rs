//! The outcome of checking a CSR: rule ids, violations, and one verdict per cluster.

use std::fmt;

use serde_json::json;

/// The validation rules, each with a stable id that tooling and people can refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    Pem,
    Signature,
    Key,
    Subject,
    Identity,
    Reserved,
    Groups,
    Extensions,
}

impl Rule {
    pub const ALL: [Rule; 8] = [
        Rule::Pem,
        Rule::Signature,
        Rule::Key,
        Rule::Subject,
        Rule::Identity,
        Rule::Reserved,
        Rule::Groups,
        Rule::Extensions,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::Pem => "csr.pem",
            Rule::Signature => "csr.signature",
            Rule::Key => "csr.key",
            Rule::Subject => "csr.subject",
            Rule::Identity => "csr.identity",
            Rule::Reserved => "csr.reserved",
            Rule::Groups => "csr.groups",
            Rule::Extensions => "csr.extensions",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One broken rule, with a message that says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule: Rule,
    pub message: String,
}

impl Violation {
    pub fn new(rule: Rule, message: impl Into<String>) -> Self {
        Violation {
            rule,
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.message)
    }
}

/// Whether the CSR may be signed for one cluster, and if not, every reason why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterVerdict {
    pub cluster: String,
    pub violations: Vec<Violation>,
}

impl ClusterVerdict {
    pub fn accepted(&self) -> bool {
        self.violations.is_empty()
    }

    pub fn rules(&self) -> Vec<Rule> {
        let mut rules: Vec<Rule> = self.violations.iter().map(|v| v.rule).collect();
        rules.dedup();
        rules
    }
}

/// The verdicts for every cluster asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub clusters: Vec<ClusterVerdict>,
}

impl Report {
    /// Accepted only if at least one cluster was checked and every cluster accepts.
    pub fn accepted(&self) -> bool {
        !self.clusters.is_empty() && self.clusters.iter().all(ClusterVerdict::accepted)
    }

    pub fn cluster(&self, name: &str) -> Option<&ClusterVerdict> {
        self.clusters.iter().find(|verdict| verdict.cluster == name)
    }

    /// The machine-readable form printed by `ferry csr check --format json`.
    pub fn to_json(&self) -> serde_json::Value {
        let clusters: Vec<serde_json::Value> = self
            .clusters
            .iter()
            .map(|verdict| {
                let violations: Vec<serde_json::Value> = verdict
                    .violations
                    .iter()
                    .map(|v| json!({"rule": v.rule.id(), "message": v.message}))
                    .collect();
                json!({
                    "cluster": verdict.cluster,
                    "accepted": verdict.accepted(),
                    "violations": violations,
                })
            })
            .collect();
        json!({"accepted": self.accepted(), "clusters": clusters})
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for verdict in &self.clusters {
            let word = if verdict.accepted() {
                "accepted"
            } else {
                "rejected"
            };
            writeln!(f, "{}: {word}", verdict.cluster)?;
            for violation in &verdict.violations {
                writeln!(f, "  {violation}")?;
            }
        }
        Ok(())
    }
}
