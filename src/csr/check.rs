//! Runs every rule over a CSR and gives one verdict per cluster. Rules that do not depend on
//! the cluster run once; all violations are collected, never just the first.

use std::collections::BTreeSet;

use openssl::pkey::{PKey, Public};
use x509_parser::prelude::{FromDer, X509CertificationRequest};

use super::names;
use super::policy::CsrPolicy;
use super::subject::{self, Subject};
use super::verdict::{ClusterVerdict, Report, Rule, Violation};
use super::{extensions, key, pem, public_key, signature};

/// One cluster to check for, optionally narrowed to some of the CSR's groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRequest {
    pub cluster: String,
    /// `None`: every O of the CSR. `Some`: only these, each of which must be an O of the CSR.
    pub groups: Option<BTreeSet<String>>,
}

impl ClusterRequest {
    pub fn all_groups(cluster: &str) -> Self {
        ClusterRequest {
            cluster: cluster.to_owned(),
            groups: None,
        }
    }
}

/// Every cluster of the policy, with the CSR's own groups.
pub fn every_cluster(policy: &CsrPolicy) -> Vec<ClusterRequest> {
    policy
        .clusters
        .keys()
        .map(|name| ClusterRequest::all_groups(name))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cluster `{0}` is not in the CSR policy; use one of the clusters listed under `clusters:` in policies/csr.yaml"
)]
pub struct UnknownCluster(pub String);

/// The fields a certificate may be built from, for one cluster whose verdict is accepted.
/// Only [`check_csr`] creates these, so the signer cannot be handed unchecked input.
#[derive(Debug, Clone)]
pub struct Approved {
    cluster: String,
    common_name: String,
    groups: Vec<String>,
    public_key: PKey<Public>,
}

impl Approved {
    pub fn cluster(&self) -> &str {
        &self.cluster
    }
    pub fn common_name(&self) -> &str {
        &self.common_name
    }
    pub fn groups(&self) -> &[String] {
        &self.groups
    }
    pub fn public_key(&self) -> &PKey<Public> {
        &self.public_key
    }
}

/// The report, and the approved fields of every accepted cluster.
#[derive(Debug, Clone)]
pub struct Checked {
    pub report: Report,
    approvals: Vec<Approved>,
}

impl Checked {
    pub fn approved(&self, cluster: &str) -> Option<&Approved> {
        self.approvals.iter().find(|a| a.cluster == cluster)
    }
}

/// What the request-level rules found in a CSR that parsed.
struct Inspected {
    public_key: Option<PKey<Public>>,
    subject: Subject,
    violations: Vec<Violation>,
}

/// Checks `file` (the CSR as committed) for `requester` on each of `clusters`.
pub fn check_csr(
    file: &[u8],
    policy: &CsrPolicy,
    requester: &str,
    clusters: &[ClusterRequest],
) -> Result<Checked, UnknownCluster> {
    if let Some(unknown) = clusters
        .iter()
        .find(|c| !policy.clusters.contains_key(&c.cluster))
    {
        return Err(UnknownCluster(unknown.cluster.clone()));
    }
    let inspected = match pem::decode(file).and_then(|der| inspect(&der, policy)) {
        Ok(inspected) => inspected,
        Err(fatal) => {
            let verdicts = clusters
                .iter()
                .map(|c| ClusterVerdict {
                    cluster: c.cluster.clone(),
                    violations: vec![fatal.clone()],
                })
                .collect();
            return Ok(Checked {
                report: Report { clusters: verdicts },
                approvals: Vec::new(),
            });
        }
    };
    let mut common = inspected.violations;
    common.extend(identity(&inspected.subject, policy, requester));
    common.extend(reserved(&inspected.subject, policy));

    let mut verdicts = Vec::new();
    let mut approvals = Vec::new();
    for request in clusters {
        let (groups, group_violations) = groups(&inspected.subject, policy, requester, request);
        let mut violations = common.clone();
        violations.extend(group_violations);
        violations.sort_by_key(|v| v.rule);
        if violations.is_empty()
            && let (Some(cn), Some(key)) = (&inspected.subject.common_name, &inspected.public_key)
        {
            approvals.push(Approved {
                cluster: request.cluster.clone(),
                common_name: cn.clone(),
                groups,
                public_key: key.clone(),
            });
        }
        verdicts.push(ClusterVerdict {
            cluster: request.cluster.clone(),
            violations,
        });
    }
    Ok(Checked {
        report: Report { clusters: verdicts },
        approvals,
    })
}

const SEQUENCE_TAG: u8 = 0x30;
const BIT_STRING_TAG: u8 = 0x03;

const OID_TAG: u8 = 0x06;
const NULL: [u8; 2] = [0x05, 0x00];

/// True if `der` is SEQUENCE { SEQUENCE, AlgorithmIdentifier, BIT STRING } in strict DER
/// with nothing after it: the algorithm is an OID with no parameters or NULL, and the
/// signature has no unused bits.
fn has_csr_outline(der: &[u8]) -> bool {
    let Some((SEQUENCE_TAG, body, [])) = split_tlv(der) else {
        return false;
    };
    let Some((SEQUENCE_TAG, _info, body)) = split_tlv(body) else {
        return false;
    };
    let Some((SEQUENCE_TAG, algorithm, body)) = split_tlv(body) else {
        return false;
    };
    let Some((BIT_STRING_TAG, [0, ..], [])) = split_tlv(body) else {
        return false;
    };
    matches!(split_tlv(algorithm), Some((OID_TAG, _, params)) if params.is_empty() || params == NULL)
}

/// Splits one DER element off the front: (tag, contents, rest). Definite lengths only.
fn split_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, input) = input.split_first()?;
    let (&first, mut input) = input.split_first()?;
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || input.len() < count {
            return None;
        }
        let (bytes, rest) = input.split_at(count);
        input = rest;
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if input.len() < length {
        return None;
    }
    let (contents, rest) = input.split_at(length);
    Some((tag, contents, rest))
}

/// Parses the DER and runs the rules that depend neither on the requester nor the cluster.
/// Fails (with a `csr.pem` violation) only if the bytes are not a CSR at all.
fn inspect(der: &[u8], policy: &CsrPolicy) -> Result<Inspected, Violation> {
    let not_a_csr = |what: &str| {
        Violation::new(
            Rule::Pem,
            format!(
                "the PEM block {what}; export the CSR again with `openssl req -new ... -out <user>.csr`"
            ),
        )
    };
    let (rest, parsed) = X509CertificationRequest::from_der(der)
        .map_err(|_| not_a_csr("does not hold a valid DER certificate request"))?;
    if !rest.is_empty() {
        return Err(not_a_csr("has extra bytes after the certificate request"));
    }
    let info = &parsed.certification_request_info;
    // The parser is lenient about the tags of the unsigned outer structures; DER is not.
    if !has_csr_outline(der) {
        return Err(not_a_csr("is not DER-encoded (wrong structure tags)"));
    }
    let public_key = public_key::load(&info.subject_pki);
    let subject = subject::read(&info.subject);

    let mut violations = signature::check(&parsed, public_key.as_ref());
    violations.extend(key::check(
        &info.subject_pki,
        public_key.as_ref(),
        &policy.keys,
    ));
    violations.extend(subject.violations.iter().cloned());
    violations.extend(extensions::check(&parsed));
    Ok(Inspected {
        public_key,
        subject,
        violations,
    })
}

fn identity(subject: &Subject, policy: &CsrPolicy, requester: &str) -> Vec<Violation> {
    let mut violations = Vec::new();
    if !policy.users.contains_key(requester) {
        violations.push(Violation::new(
            Rule::Identity,
            format!("`{requester}` is not listed under `users:` in policies/csr.yaml; ask an admin to add you with the groups you need"),
        ));
    }
    if let Some(cn) = &subject.common_name
        && cn != requester
    {
        violations.push(Violation::new(
            Rule::Identity,
            format!("CN is `{cn}` but the request comes from `{requester}`; set CN to your own username (`-subj \"/CN={requester}\"`)"),
        ));
    }
    violations
}

fn reserved(subject: &Subject, policy: &CsrPolicy) -> Vec<Violation> {
    let mut violations = Vec::new();
    for cn in &subject.raw_common_names {
        if names::is_reserved(cn, &policy.deny_groups) {
            violations.push(Violation::new(
                Rule::Reserved,
                format!(
                    "CN `{}` is a reserved name that Ferry never signs; use your own username",
                    cn.escape_debug()
                ),
            ));
        }
    }
    for group in &subject.raw_organizations {
        if names::is_reserved(group, &policy.deny_groups) {
            violations.push(Violation::new(
                Rule::Reserved,
                format!("O `{}` is a reserved group that Ferry never grants (built-in `system:` denial or deny_groups); remove it", group.escape_debug()),
            ));
        }
    }
    violations
}

/// The groups to put in the certificate for one cluster, and why any are refused.
fn groups(
    subject: &Subject,
    policy: &CsrPolicy,
    requester: &str,
    request: &ClusterRequest,
) -> (Vec<String>, Vec<Violation>) {
    let mut violations = Vec::new();
    let mut refuse = |message: String| violations.push(Violation::new(Rule::Groups, message));
    let wanted: Vec<String> = match &request.groups {
        None => subject.organizations.clone(),
        Some(narrowed) => {
            for group in narrowed
                .iter()
                .filter(|g| !subject.organizations.contains(g))
            {
                refuse(format!(
                    "group `{group}` is requested for cluster `{}` but is not an O of the CSR; add `/O={group}` to the CSR or drop it from the request",
                    request.cluster
                ));
            }
            subject
                .organizations
                .iter()
                .filter(|g| narrowed.contains(*g))
                .cloned()
                .collect()
        }
    };
    let user = policy.users.get(requester);
    // Presence is guaranteed by check_csr; a missing cluster simply allows nothing.
    let cluster_groups = policy.clusters.get(&request.cluster).map(|c| &c.groups);
    for group in &wanted {
        if names::is_reserved(group, &policy.deny_groups) {
            continue; // already reported by csr.reserved
        }
        if let Some(user) = user
            && !user.groups.contains(group)
        {
            refuse(format!(
                "user `{requester}` may not ask for group `{group}`; remove `/O={group}` or ask an admin to add it under users.{requester}.groups"
            ));
        }
        if !cluster_groups.is_some_and(|allowed| allowed.contains(group)) {
            refuse(format!(
                "group `{group}` is not granted on cluster `{}`; remove `/O={group}` or request another cluster",
                request.cluster
            ));
        }
    }
    (wanted, violations)
}
