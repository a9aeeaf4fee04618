//! What to commit once a CSR merge request is merged: for each requested cluster a
//! certificate, a kubeconfig and a ledger line, or a refusal that says why nothing is signed.
//! Pure: the caller reads the repository, commits the files and talks to the forge.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::ca::Ca;
use super::check::{ClusterRequest, check_csr, every_cluster};
use super::kubeconfig::{self, KubeconfigInput};
use super::ledger::{self, LedgerEntry};
use super::policy::CsrPolicy;
use super::sign::{SignError, sign};
use super::verdict::Report;
use super::{names, request};

/// A merged merge request that added or changed `csr/<username>.csr`.
#[derive(Debug, Clone)]
pub struct MergedCsr<'a> {
    pub username: &'a str,
    pub csr: &'a [u8],
    /// Contents of `csr/<username>.yaml`, if the merge request has one.
    pub request: Option<&'a str>,
    pub merge_request: &'a str,
    pub author: &'a str,
    pub merged_by: &'a str,
}

/// One file to write in the commit, with its full new contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFile {
    pub path: String,
    pub contents: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("`{0}` both wrote and merged this request; someone else must review and merge it")]
    SelfMerge(String),
    #[error(
        "csr/{username}.csr was submitted by `{author}`; only `{username}` may request a certificate for `{username}`"
    )]
    NotTheirOwn { username: String, author: String },
    #[error(
        "`{0}` cannot be a username in a file path; rename the CSR file to csr/<your username>.csr"
    )]
    BadUsername(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the CSR was rejected; nothing was signed:\n{0}")]
    Rejected(Report),
    #[error("no CA is configured for cluster `{0}`; an admin must configure its CA key")]
    MissingCa(String),
    #[error("signing for cluster `{0}` failed: {1}")]
    Signing(String, SignError),
    #[error("the ledger of cluster `{0}` cannot be updated: {1}")]
    Ledger(String, String),
}

/// Decides the files to commit. All requested clusters must accept the CSR; otherwise
/// nothing is signed, so one merge gives one consistent commit.
pub fn files_for_merged(
    merged: &MergedCsr<'_>,
    policy: &CsrPolicy,
    cas: &BTreeMap<String, Ca>,
    ledgers: &BTreeMap<String, String>,
    now: OffsetDateTime,
) -> Result<Vec<RepoFile>, Refusal> {
    if merged.merged_by == merged.author {
        return Err(Refusal::SelfMerge(merged.author.to_owned()));
    }
    if !names::is_path_safe(merged.username) {
        return Err(Refusal::BadUsername(merged.username.to_owned()));
    }
    if merged.author != merged.username {
        return Err(Refusal::NotTheirOwn {
            username: merged.username.to_owned(),
            author: merged.author.to_owned(),
        });
    }
    let requests: Vec<ClusterRequest> = match merged.request {
        Some(text) => request::parse(text, &format!("csr/{}.yaml", merged.username))
            .map_err(Refusal::BadRequest)?,
        None => every_cluster(policy),
    };
    let checked = check_csr(merged.csr, policy, merged.username, &requests)
        .map_err(|unknown| Refusal::BadRequest(unknown.to_string()))?;
    if !checked.report.accepted() {
        return Err(Refusal::Rejected(checked.report));
    }

    let mut files = Vec::new();
    for request in &requests {
        let cluster = request.cluster.as_str();
        let (Some(approved), Some(cluster_policy)) =
            (checked.approved(cluster), policy.clusters.get(cluster))
        else {
            return Err(Refusal::Rejected(checked.report));
        };
        let ca = cas
            .get(cluster)
            .ok_or_else(|| Refusal::MissingCa(cluster.to_owned()))?;
        let issued = sign(approved, ca, cluster_policy.default_ttl, now)
            .map_err(|err| Refusal::Signing(cluster.to_owned(), err))?;
        let ca_pem = ca.cert_pem().map_err(|err| {
            Refusal::Signing(cluster.to_owned(), SignError::SelfCheck(err.to_string()))
        })?;
        let kubeconfig = kubeconfig::render(&KubeconfigInput {
            cluster,
            server: &cluster_policy.server,
            ca_cert_pem: &ca_pem,
            client_cert_pem: issued.pem.as_bytes(),
            username: merged.username,
        });
        let entry = LedgerEntry::from_issued(&issued, merged.merge_request, merged.merged_by);
        let existing = ledgers.get(cluster).map(String::as_str).unwrap_or_default();
        let ledger_text = ledger::append(existing, &entry)
            .map_err(|err| Refusal::Ledger(cluster.to_owned(), err.to_string()))?;
        files.push(RepoFile {
            path: format!("certs/{cluster}/{}.crt", merged.username),
            contents: issued.pem.clone(),
        });
        files.push(RepoFile {
            path: format!("kubeconfigs/{cluster}/{}.yaml", merged.username),
            contents: kubeconfig,
        });
        files.push(RepoFile {
            path: format!("ledger/{cluster}.tsv"),
            contents: ledger_text,
        });
    }
    Ok(files)
}
