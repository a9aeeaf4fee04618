//! `policies/csr.yaml`: which clusters exist, who may ask for which groups, which keys are strong
//! enough. Loaded into typed values; every problem is reported with file:line:col.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::duration::Ttl;
use super::names;

/// The loaded, checked CSR policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrPolicy {
    pub clusters: BTreeMap<String, ClusterPolicy>,
    pub users: BTreeMap<String, UserPolicy>,
    pub keys: KeyPolicy,
    /// Groups refused on top of the built-in `system:` denial.
    pub deny_groups: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterPolicy {
    /// Path of the cluster's public CA certificate, relative to the repository root.
    pub ca_cert: PathBuf,
    pub server: String,
    pub groups: BTreeSet<String>,
    pub max_ttl: Ttl,
    pub default_ttl: Ttl,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPolicy {
    pub groups: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPolicy {
    pub rsa_min_bits: u32,
    pub ec_curves: BTreeSet<EcCurve>,
    pub ed25519: bool,
}

/// The elliptic curves Ferry knows how to name; the policy picks among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EcCurve {
    P256,
    P384,
    P521,
}

impl EcCurve {
    pub const ALL: [EcCurve; 3] = [EcCurve::P256, EcCurve::P384, EcCurve::P521];

    pub fn name(self) -> &'static str {
        match self {
            EcCurve::P256 => "P-256",
            EcCurve::P384 => "P-384",
            EcCurve::P521 => "P-521",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        EcCurve::ALL.into_iter().find(|curve| curve.name() == name)
    }
}

impl fmt::Display for EcCurve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Below this no policy may go: shorter RSA keys are factorable by well-funded attackers.
pub const RSA_FLOOR_BITS: u32 = 2048;

impl Default for KeyPolicy {
    fn default() -> Self {
        KeyPolicy {
            rsa_min_bits: RSA_FLOOR_BITS,
            ec_curves: [EcCurve::P256, EcCurve::P384].into_iter().collect(),
            ed25519: false,
        }
    }
}

/// One problem in the policy file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

/// Everything wrong with a policy file, so it can be fixed in one pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    pub file: PathBuf,
    pub problems: Vec<PolicyProblem>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                problem.line,
                problem.column,
                problem.message
            )?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    clusters: Spanned<BTreeMap<String, Spanned<RawCluster>>>,
    users: BTreeMap<String, Spanned<RawUser>>,
    #[serde(default)]
    keys: Option<Spanned<RawKeys>>,
    #[serde(default)]
    deny_groups: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    ca_cert: Spanned<String>,
    server: Spanned<String>,
    groups: Vec<Spanned<String>>,
    max_ttl: Ttl,
    #[serde(default)]
    default_ttl: Option<Spanned<Ttl>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    groups: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    #[serde(default = "default_rsa_min_bits")]
    rsa_min_bits: u32,
    #[serde(default = "default_ec_curves")]
    ec_curves: Vec<Spanned<String>>,
    #[serde(default)]
    ed25519: bool,
}

fn default_rsa_min_bits() -> u32 {
    RSA_FLOOR_BITS
}

fn default_ec_curves() -> Vec<Spanned<String>> {
    KeyPolicy::default()
        .ec_curves
        .iter()
        .map(|curve| {
            let unknown = serde_saphyr::Location::UNKNOWN;
            Spanned::new(curve.name().to_owned(), unknown, unknown)
        })
        .collect()
}

/// Collects problems while the raw policy is turned into a checked one.
struct Problems(Vec<PolicyProblem>);

impl Problems {
    fn at<T>(&mut self, spanned: &Spanned<T>, message: String) {
        self.0.push(PolicyProblem {
            line: spanned.referenced.line(),
            column: spanned.referenced.column(),
            message,
        });
    }
}

impl CsrPolicy {
    /// Reads and checks a policy file.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|err| PolicyError {
            file: path.to_owned(),
            problems: vec![PolicyProblem {
                line: 0,
                column: 0,
                message: format!("cannot read the policy file ({err}); check the path"),
            }],
        })?;
        Self::parse(&text, path)
    }

    /// Parses policy text; `file` only names the source in error messages.
    pub fn parse(text: &str, file: &Path) -> Result<Self, PolicyError> {
        let fail = |problems| PolicyError {
            file: file.to_owned(),
            problems,
        };
        let raw: RawPolicy = serde_saphyr::from_str(text).map_err(|err| {
            let location = err.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
            let detail = err.without_snippet().to_string();
            fail(vec![PolicyProblem {
                line: location.line(),
                column: location.column(),
                message: format!(
                    "{}; see docs/csr.md for the policy format",
                    strip_location(&detail)
                ),
            }])
        })?;
        let mut problems = Problems(Vec::new());
        let policy = check(raw, &mut problems);
        if problems.0.is_empty() {
            Ok(policy)
        } else {
            problems
                .0
                .sort_by_key(|problem| (problem.line, problem.column));
            Err(fail(problems.0))
        }
    }

    /// The default lifetime for `cluster`, or the requested one if the policy allows it.
    pub fn ttl_for(&self, cluster: &str, requested: Option<Ttl>) -> Result<Ttl, String> {
        let policy = self
            .clusters
            .get(cluster)
            .ok_or_else(|| format!("cluster `{cluster}` is not in the policy"))?;
        match requested {
            None => Ok(policy.default_ttl),
            Some(ttl) if ttl <= policy.max_ttl => Ok(ttl),
            Some(ttl) => Err(format!(
                "a lifetime of {ttl} exceeds max_ttl {} for cluster `{cluster}`; ask for {} or less",
                policy.max_ttl, policy.max_ttl
            )),
        }
    }
}

/// serde-saphyr appends " at line X column Y" to its messages; the position is printed
/// in front instead, so it is removed here to avoid saying it twice.
fn strip_location(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(index) => &message[..index],
        None => message,
    }
}

fn check(raw: RawPolicy, problems: &mut Problems) -> CsrPolicy {
    let deny_groups = check_deny_groups(&raw.deny_groups, problems);
    let denied = |group: &str| names::is_reserved(group, &deny_groups);

    if raw.clusters.value.is_empty() {
        problems.at(
            &raw.clusters,
            "`clusters` is empty; name at least one cluster".to_owned(),
        );
    }
    let mut clusters = BTreeMap::new();
    for (name, cluster) in &raw.clusters.value {
        if !names::is_path_safe(name) {
            problems.at(cluster, format!("cluster name `{name}` is used in file paths; use only a-z, 0-9, `-`, `_` and `.`"));
        }
        let groups = check_groups(
            &cluster.value.groups,
            &denied,
            problems,
            &format!("cluster `{name}`"),
        );
        let checked = check_cluster(cluster, groups, problems, name);
        clusters.insert(name.clone(), checked);
    }

    let mut users = BTreeMap::new();
    for (name, user) in &raw.users {
        if !names::is_path_safe(name) {
            problems.at(user, format!("user name `{name}` is used in file paths (csr/<user>.csr); use only a-z, 0-9, `-`, `_` and `.`"));
        }
        let groups = check_groups(
            &user.value.groups,
            &denied,
            problems,
            &format!("user `{name}`"),
        );
        for group in &user.value.groups {
            let anywhere = clusters
                .values()
                .any(|c: &ClusterPolicy| c.groups.contains(&group.value));
            if !anywhere && !denied(&group.value) {
                problems.at(group, format!("group `{}` of user `{name}` is not allowed on any cluster; add it to a cluster's groups or remove it", group.value));
            }
        }
        users.insert(name.clone(), UserPolicy { groups });
    }

    let keys = raw
        .keys
        .as_ref()
        .map(|keys| check_keys(keys, problems))
        .unwrap_or_default();
    CsrPolicy {
        clusters,
        users,
        keys,
        deny_groups,
    }
}

fn check_cluster(
    cluster: &Spanned<RawCluster>,
    groups: BTreeSet<String>,
    problems: &mut Problems,
    name: &str,
) -> ClusterPolicy {
    let raw = &cluster.value;
    if !raw.server.value.starts_with("https://") {
        problems.at(
            &raw.server,
            format!("server of cluster `{name}` must be an https:// URL"),
        );
    }
    if raw.ca_cert.value.trim().is_empty() {
        problems.at(
            &raw.ca_cert,
            format!(
                "ca_cert of cluster `{name}` is empty; give the path of the public CA certificate"
            ),
        );
    }
    let default_ttl = match &raw.default_ttl {
        Some(ttl) if ttl.value > raw.max_ttl => {
            problems.at(
                ttl,
                format!(
                    "default_ttl {} of cluster `{name}` is longer than its max_ttl {}; shorten it",
                    ttl.value, raw.max_ttl
                ),
            );
            raw.max_ttl
        }
        Some(ttl) => ttl.value,
        None => raw.max_ttl,
    };
    ClusterPolicy {
        ca_cert: PathBuf::from(&raw.ca_cert.value),
        server: raw.server.value.clone(),
        groups,
        max_ttl: raw.max_ttl,
        default_ttl,
    }
}

fn check_groups(
    raw: &[Spanned<String>],
    denied: &dyn Fn(&str) -> bool,
    problems: &mut Problems,
    owner: &str,
) -> BTreeSet<String> {
    let mut groups = BTreeSet::new();
    for group in raw {
        if let Err(reason) = names::check_subject_value(&group.value) {
            problems.at(
                group,
                format!(
                    "group `{}` of {owner} cannot appear in a certificate: {reason}",
                    group.value.escape_debug()
                ),
            );
        } else if denied(&group.value) {
            problems.at(
                group,
                format!(
                    "group `{}` of {owner} is reserved and can never be granted; remove it",
                    group.value
                ),
            );
        } else if !groups.insert(group.value.clone()) {
            problems.at(
                group,
                format!(
                    "group `{}` is listed twice for {owner}; remove one",
                    group.value
                ),
            );
        }
    }
    groups
}

fn check_deny_groups(raw: &[Spanned<String>], problems: &mut Problems) -> BTreeSet<String> {
    let mut deny = BTreeSet::new();
    for group in raw {
        if group.value.trim().is_empty() {
            problems.at(
                group,
                "an empty entry in deny_groups denies nothing; remove it".to_owned(),
            );
        } else {
            deny.insert(group.value.clone());
        }
    }
    deny
}

fn check_keys(keys: &Spanned<RawKeys>, problems: &mut Problems) -> KeyPolicy {
    let raw = &keys.value;
    if raw.rsa_min_bits < RSA_FLOOR_BITS {
        problems.at(
            keys,
            format!(
                "rsa_min_bits {} is below the floor of {RSA_FLOOR_BITS}; raise it",
                raw.rsa_min_bits
            ),
        );
    }
    let mut ec_curves = BTreeSet::new();
    for curve in &raw.ec_curves {
        match EcCurve::from_name(&curve.value) {
            Some(known) => {
                ec_curves.insert(known);
            }
            None => problems.at(
                curve,
                format!("unknown curve `{}`; use P-256, P-384 or P-521", curve.value),
            ),
        }
    }
    KeyPolicy {
        rsa_min_bits: raw.rsa_min_bits.max(RSA_FLOOR_BITS),
        ec_curves,
        ed25519: raw.ed25519,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../templates/gitops-example/policies/csr.yaml");

    fn parse(text: &str) -> Result<CsrPolicy, PolicyError> {
        CsrPolicy::parse(text, Path::new("policies/csr.yaml"))
    }

    #[test]
    fn loads_the_documented_example() {
        let policy = parse(EXAMPLE).unwrap();
        let integration = &policy.clusters["integration"];
        assert_eq!(
            integration.server,
            "https://integration.k8s.example.com:6443"
        );
        assert_eq!(integration.max_ttl, "90d".parse().unwrap());
        assert_eq!(integration.default_ttl, integration.max_ttl);
        assert_eq!(integration.ca_cert, PathBuf::from("ca/integration.crt"));
        assert!(policy.clusters["production"].groups.contains("sre"));
        assert_eq!(policy.users["bob"].groups.len(), 1);
        assert_eq!(policy.keys, KeyPolicy::default());
        assert!(policy.deny_groups.contains("cluster-admins"));
    }

    #[test]
    fn unknown_key_is_reported_with_its_position() {
        let text = EXAMPLE.replace("    max_ttl: 30d\n", "    max_ttl: 30d\n    max_tll: 3d\n");
        let err = parse(&text).unwrap_err();
        let shown = err.to_string();
        assert_eq!(err.problems.len(), 1, "{shown}");
        assert_eq!(
            (err.problems[0].line, err.problems[0].column),
            (12, 5),
            "{shown}"
        );
        assert!(shown.starts_with("policies/csr.yaml:12:5: "), "{shown}");
        assert!(shown.contains("max_tll"), "{shown}");
    }

    #[test]
    fn bad_lifetime_is_reported_with_its_position() {
        let text = EXAMPLE.replace("max_ttl: 90d", "max_ttl: 90 days");
        let err = parse(&text).unwrap_err();
        let shown = err.to_string();
        assert_eq!(err.problems[0].line, 6, "{shown}");
        assert!(shown.contains("`90 days` is not a lifetime"), "{shown}");
    }

    #[test]
    fn several_semantic_problems_are_reported_together() {
        let text = EXAMPLE
            .replace("groups: [sre]", "groups: [sre, system:masters]")
            .replace("P-384]", "P-385]")
            .replace("rsa_min_bits: 2048", "rsa_min_bits: 1024")
            .replace("bob: { groups: [qa] }", "bob: { groups: [qa, ops] }")
            .replace("https://prod", "http://prod");
        let err = parse(&text).unwrap_err();
        let shown = err.to_string();
        let lines: Vec<u64> = err.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![9, 10, 14, 15, 15], "{shown}");
        for fragment in [
            "must be an https:// URL",
            "`system:masters` of cluster `production` is reserved",
            "`ops` of user `bob` is not allowed on any cluster",
            "unknown curve `P-385`",
            "rsa_min_bits 1024 is below the floor",
        ] {
            assert!(shown.contains(fragment), "missing {fragment:?} in\n{shown}");
        }
    }

    #[test]
    fn default_ttl_must_fit_under_max_ttl() {
        let text = EXAMPLE.replace("max_ttl: 30d", "max_ttl: 30d\n    default_ttl: 31d");
        let err = parse(&text).unwrap_err();
        assert!(err.to_string().contains("default_ttl 31d"), "{err}");
        let ok = EXAMPLE.replace("max_ttl: 30d", "max_ttl: 30d\n    default_ttl: 7d");
        let policy = parse(&ok).unwrap();
        let production = "production";
        assert_eq!(policy.ttl_for(production, None), Ok("7d".parse().unwrap()));
        assert!(
            policy
                .ttl_for(production, Some("31d".parse().unwrap()))
                .is_err()
        );
        assert!(policy.ttl_for("staging", None).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "",
            ":",
            "[",
            "clusters: 3",
            "- a\n- b",
            "clusters: {}\nusers: {}",
            "\u{0}",
        ] {
            assert!(parse(text).is_err(), "{text:?}");
        }
    }
}
