//! The commit that issues certificates for a merged CSR merge request, as a `gitops::Change`:
//! worked out afresh on each push attempt from the tree it lands on, so a redelivered merge
//! event finds the ledger lines of this merge request and commits nothing.

use std::cell::RefCell;
use std::collections::BTreeMap;

use git2::{Oid, Repository, Tree};
use time::OffsetDateTime;

use crate::csr::ca::{Ca, CaKeySource, read_key_bytes};
use crate::csr::check::every_cluster;
use crate::csr::merge::{MergedCsr, Refusal, files_for_merged};
use crate::csr::policy::CsrPolicy;
use crate::csr::request;
use crate::engine::messages::csr::{IssuedView, Signing};
use crate::gitops::trailers::{CertificateTrailers, IssuedTrailer};
use crate::gitops::tree::{FileWrite, read_file};
use crate::gitops::{Change, GitOpsError, Prepared};

use super::repo;

pub(super) struct CertificateChange {
    /// `project!iid`, as the ledger and the trailers record it.
    pub merge_request: String,
    /// The commit the merge put on the target branch: the CSR is read as it was merged.
    pub merge_sha: Oid,
    pub target_branch: String,
    pub username: String,
    pub author: String,
    pub merged_by: String,
    pub ca_keys: BTreeMap<String, CaKeySource>,
    pub now: OffsetDateTime,
    /// What the last attempt came to; `land` only reports whether it pushed.
    pub outcome: RefCell<Option<Signing>>,
}

impl CertificateChange {
    fn decide(&self, signing: Signing) {
        self.outcome.replace(Some(signing));
    }

    fn refuse(&self, why: String) -> Result<Option<Prepared>, GitOpsError> {
        self.decide(Signing::Refused(why));
        Ok(None)
    }

    /// The CAs of the clusters the request names, loaded only once the CSR itself passed.
    fn load_cas(
        &self,
        repo: &Repository,
        target: &Tree<'_>,
        policy: &CsrPolicy,
        request_text: Option<&str>,
    ) -> Result<BTreeMap<String, Ca>, String> {
        let clusters = match request_text {
            Some(text) => request::parse(text, &format!("csr/{}.yaml", self.username))?,
            None => every_cluster(policy),
        };
        let mut cas = BTreeMap::new();
        for wanted in clusters {
            let cluster = wanted.cluster;
            let (Some(cluster_policy), Some(source)) =
                (policy.clusters.get(&cluster), self.ca_keys.get(&cluster))
            else {
                continue; // files_for_merged says which is missing
            };
            let cert_path = cluster_policy.ca_cert.to_string_lossy().into_owned();
            let cert = read_file(repo, target, &cert_path)
                .map_err(|err| err.to_string())?
                .ok_or_else(|| {
                    format!(
                        "the CA certificate of cluster `{cluster}` ({cert_path} in policies/csr.yaml) is not on `{}`; an admin must add it",
                        self.target_branch
                    )
                })?;
            let key = read_key_bytes(source)
                .map_err(|err| format!("the CA of cluster `{cluster}` cannot be used: {err}"))?;
            let ca = Ca::load(&cert, &key)
                .map_err(|err| format!("the CA of cluster `{cluster}` cannot be used: {err}"))?;
            cas.insert(cluster, ca);
        }
        Ok(cas)
    }

    fn message(&self, issued: &[IssuedView]) -> String {
        let clusters: Vec<&str> = issued.iter().map(|c| c.cluster.as_str()).collect();
        let trailers = CertificateTrailers {
            certificates: issued
                .iter()
                .map(|c| IssuedTrailer {
                    cluster: c.cluster.clone(),
                    serial: c.serial.clone(),
                })
                .collect(),
            merge_request: Some(self.merge_request.clone()),
            requested_by: Some(self.author.clone()),
            approved_by: vec![self.merged_by.clone()],
        };
        format!(
            "Issue client certificates for {}: {}\n\nSigned from csr/{}.csr as merged in {} by {}.\n\n{}",
            self.username,
            clusters.join(", "),
            self.username,
            self.merge_request,
            self.merged_by,
            trailers.render()
        )
    }
}

impl Change for CertificateChange {
    fn prepare(
        &self,
        repo: &Repository,
        target: &Tree<'_>,
        onto: &Tree<'_>,
    ) -> Result<Option<Prepared>, GitOpsError> {
        self.outcome.replace(None);
        let policy = match repo::policy(repo, target, &self.target_branch)? {
            Ok(policy) => policy,
            Err(why) => return self.refuse(why),
        };
        let ledgers = repo::ledgers(repo, onto, &policy)?;
        let already = repo::issued_for(&ledgers, &self.merge_request);
        if !already.is_empty() {
            self.decide(Signing::Already(already));
            return Ok(None);
        }
        let merged_tree = repo
            .find_commit(self.merge_sha)
            .and_then(|commit| commit.tree())
            .map_err(GitOpsError::git(format!(
                "cannot read the merged commit {}",
                self.merge_sha
            )))?;
        let files = repo::request_files(repo, &merged_tree, &self.username)?;
        let Some(csr) = files.csr else {
            return self.refuse(format!(
                "csr/{}.csr is not in the merged commit; a request needs its CSR",
                self.username
            ));
        };
        let request_text = match files.request {
            Some(Err(why)) => return self.refuse(why),
            Some(Ok(text)) => Some(text),
            None => None,
        };
        let merged = MergedCsr {
            username: &self.username,
            csr: &csr,
            request: request_text.as_deref(),
            merge_request: &self.merge_request,
            author: &self.author,
            merged_by: &self.merged_by,
        };
        // A first pass without CAs stops at the first CA lookup, before anything is signed:
        // every refusal about the CSR itself comes out without a CA key being read.
        match files_for_merged(&merged, &policy, &BTreeMap::new(), &ledgers, self.now) {
            Err(Refusal::MissingCa(_)) => {}
            Err(refusal) => return self.refuse(refusal.to_string()),
            Ok(_) => {
                return self.refuse("the request names no cluster; nothing to sign".to_owned());
            }
        }
        let cas = match self.load_cas(repo, target, &policy, request_text.as_deref()) {
            Ok(cas) => cas,
            Err(why) => return self.refuse(why),
        };
        let written = match files_for_merged(&merged, &policy, &cas, &ledgers, self.now) {
            Ok(files) => files,
            Err(refusal) => return self.refuse(refusal.to_string()),
        };
        let mut issued = Vec::new();
        for file in &written {
            if let Some(cluster) = file
                .path
                .strip_prefix("ledger/")
                .and_then(|p| p.strip_suffix(".tsv"))
            {
                issued.extend(repo::issued_in(
                    cluster,
                    &file.contents,
                    &self.merge_request,
                ));
            }
        }
        let message = self.message(&issued);
        self.decide(Signing::Issued {
            commit: String::new(),
            certificates: issued,
        });
        Ok(Some(Prepared {
            writes: written
                .into_iter()
                .map(|file| FileWrite {
                    path: file.path,
                    content: file.contents.into_bytes(),
                })
                .collect(),
            message,
        }))
    }
}
