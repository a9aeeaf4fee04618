//! What the certificate flow reads from the GitOps repository's trees: the CSR policy (from
//! the target branch), the request files, CA certificates and ledgers.

use std::collections::BTreeMap;
use std::path::Path;

use git2::{Repository, Tree};

use crate::csr::ledger;
use crate::csr::policy::CsrPolicy;
use crate::engine::messages::csr::IssuedView;
use crate::gitops::GitOpsError;
use crate::gitops::tree::{read_file, read_text};

pub(super) const POLICY_FILE: &str = "policies/csr.yaml";

/// The CSR policy of the target branch, or why there is none to use.
pub(super) fn policy(
    repo: &Repository,
    target: &Tree<'_>,
    branch: &str,
) -> Result<Result<CsrPolicy, String>, GitOpsError> {
    let Some(bytes) = read_file(repo, target, POLICY_FILE)? else {
        return Ok(Err(format!(
            "`{branch}` has no {POLICY_FILE}; an admin must add one (see docs/csr.md)"
        )));
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(Err(format!("{branch}:{POLICY_FILE} is not UTF-8 text")));
    };
    let file = format!("{branch}:{POLICY_FILE}");
    Ok(CsrPolicy::parse(&text, Path::new(&file)).map_err(|err| err.to_string()))
}

/// `csr/<username>.csr` and `csr/<username>.yaml` as a tree has them.
pub(super) struct RequestFiles {
    pub csr: Option<Vec<u8>>,
    /// The request file's text, or why it cannot be read.
    pub request: Option<Result<String, String>>,
}

pub(super) fn request_files(
    repo: &Repository,
    tree: &Tree<'_>,
    username: &str,
) -> Result<RequestFiles, GitOpsError> {
    let csr = read_file(repo, tree, &format!("csr/{username}.csr"))?;
    let request = read_file(repo, tree, &format!("csr/{username}.yaml"))?.map(|bytes| {
        String::from_utf8(bytes)
            .map_err(|_| format!("csr/{username}.yaml is not UTF-8 text; save it as UTF-8"))
    });
    Ok(RequestFiles { csr, request })
}

pub(super) fn ledger_path(cluster: &str) -> String {
    format!("ledger/{cluster}.tsv")
}

/// The ledger text of every cluster of the policy that has one.
pub(super) fn ledgers(
    repo: &Repository,
    tree: &Tree<'_>,
    policy: &CsrPolicy,
) -> Result<BTreeMap<String, String>, GitOpsError> {
    let mut ledgers = BTreeMap::new();
    for cluster in policy.clusters.keys() {
        if let Some(text) = read_text(repo, tree, &ledger_path(cluster))? {
            ledgers.insert(cluster.clone(), text);
        }
    }
    Ok(ledgers)
}

/// The certificates a ledger text records for `merge_request`. Lines are read one by one so
/// that a hand-damaged line elsewhere does not hide a certificate already issued.
pub(super) fn issued_in(cluster: &str, text: &str, merge_request: &str) -> Vec<IssuedView> {
    let path = ledger_path(cluster);
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| line.split('\t').nth(5) == Some(merge_request))
        .map(|line| match ledger::parse(line, &path) {
            Ok(entries) if entries.len() == 1 => {
                let entry = &entries[0];
                IssuedView {
                    cluster: cluster.to_owned(),
                    username: entry.common_name.clone(),
                    serial: entry.serial_hex.clone(),
                    groups: entry.groups.clone(),
                    not_after: entry
                        .not_after
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_else(|_| entry.not_after.to_string()),
                }
            }
            _ => {
                let fields: Vec<&str> = line.split('\t').collect();
                let field = |i: usize| fields.get(i).copied().unwrap_or("?").to_owned();
                IssuedView {
                    cluster: cluster.to_owned(),
                    username: field(1),
                    serial: field(0),
                    groups: vec![field(2)],
                    not_after: field(4),
                }
            }
        })
        .collect()
}

/// Every certificate the ledgers record for `merge_request`.
pub(super) fn issued_for(
    ledgers: &BTreeMap<String, String>,
    merge_request: &str,
) -> Vec<IssuedView> {
    ledgers
        .iter()
        .flat_map(|(cluster, text)| issued_in(cluster, text, merge_request))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_lines_are_found_by_merge_request_even_next_to_broken_ones() {
        let text = format!(
            "{}\nAB12\talice\tdevelopers\t2026-01-01T00:00:00Z\t2026-02-01T00:00:00Z\teap/gitops!3\tcarol\nbroken line\nCD34\tbob\t-\t2026-01-01T00:00:00Z\t2026-02-01T00:00:00Z\teap/gitops!4\tcarol\n",
            ledger::HEADER
        );
        let found = issued_in("integration", &text, "eap/gitops!3");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].serial, "AB12");
        assert_eq!(found[0].username, "alice");
        assert_eq!(found[0].groups, ["developers"]);
        assert_eq!(found[0].not_after, "2026-02-01T00:00:00Z");
        assert!(issued_in("integration", &text, "eap/gitops!30").is_empty());
        assert!(
            issued_in("integration", &text, "eap/gitops!4")[0]
                .groups
                .is_empty()
        );
    }
}
