//! The review of a merge request's CSRs before it merges: per-cluster verdicts from the
//! rules of `crate::csr`, and what else would stop signing (whose request it is, CA setup).

use std::collections::BTreeMap;

use crate::csr::ca::CaKeySource;
use crate::csr::check::{check_csr, every_cluster};
use crate::csr::merge::Refusal;
use crate::csr::{names, request};
use crate::engine::messages::csr::{ClusterView, CsrReview, RequestView};
use crate::gitops::tree::read_file;
use crate::gitops::{GitOpsError, Mirror};

use super::repo;

pub(super) struct Inputs {
    pub target: String,
    pub source: String,
    pub head: Option<String>,
    pub usernames: Vec<String>,
    pub author: Option<String>,
    pub ca_keys: BTreeMap<String, CaKeySource>,
}

pub(super) fn review(mirror: &Mirror, inputs: &Inputs) -> Result<CsrReview, GitOpsError> {
    let repo = mirror.repo();
    let tree_of = |oid: git2::Oid| {
        repo.find_commit(oid)
            .and_then(|commit| commit.tree())
            .map_err(GitOpsError::git(format!("cannot read commit {oid}")))
    };
    let target_head = mirror
        .head(&inputs.target)?
        .ok_or_else(|| GitOpsError::NoBranch {
            branch: inputs.target.clone(),
            remote: mirror.remote().display_url(),
        })?;
    let target_tree = tree_of(target_head)?;
    let policy = match repo::policy(repo, &target_tree, &inputs.target)? {
        Ok(policy) => policy,
        Err(why) => return Ok(CsrReview::NoPolicy(why)),
    };
    let head = match inputs
        .head
        .as_deref()
        .and_then(|h| git2::Oid::from_str(h).ok())
    {
        Some(oid) if repo.find_commit(oid).is_ok() => oid,
        _ => mirror.head(&inputs.source)?.ok_or_else(|| {
            GitOpsError::Invalid(format!(
                "the source branch `{}` is not in the repository (merge requests from forks are not checked)",
                inputs.source
            ))
        })?,
    };
    let head_tree = tree_of(head)?;

    let mut views = Vec::new();
    for username in &inputs.usernames {
        let mut view = RequestView {
            username: username.clone(),
            author: inputs.author.clone(),
            clusters: Vec::new(),
            problems: Vec::new(),
        };
        if !names::is_path_safe(username) {
            view.problems
                .push(Refusal::BadUsername(username.clone()).to_string());
            views.push(view);
            continue;
        }
        if inputs.usernames.len() > 1 {
            view.problems.push(
                "this merge request carries the CSRs of several people; each person opens their own merge request for csr/<their username>.csr".to_owned(),
            );
        }
        match &inputs.author {
            None => view.problems.push(
                "Ferry does not know the username of this merge request's author yet (it learns it from their webhooks); close and reopen the merge request".to_owned(),
            ),
            Some(author) if author != username => view.problems.push(
                Refusal::NotTheirOwn {
                    username: username.clone(),
                    author: author.clone(),
                }
                .to_string(),
            ),
            Some(_) => {}
        }
        let files = repo::request_files(repo, &head_tree, username)?;
        let Some(csr) = files.csr else {
            view.problems.push(format!(
                "csr/{username}.csr is missing on this branch; add your CSR there (see docs/csr.md)"
            ));
            views.push(view);
            continue;
        };
        let requests = match files.request {
            None => every_cluster(&policy),
            Some(Ok(text)) => match request::parse(&text, &format!("csr/{username}.yaml")) {
                Ok(requests) => requests,
                Err(why) => {
                    view.problems.push(why);
                    views.push(view);
                    continue;
                }
            },
            Some(Err(why)) => {
                view.problems.push(why);
                views.push(view);
                continue;
            }
        };
        // The rules check the CN against the person asking, who is the author.
        let requester = inputs.author.as_deref().unwrap_or(username);
        let checked = match check_csr(&csr, &policy, requester, &requests) {
            Ok(checked) => checked,
            Err(unknown) => {
                view.problems
                    .push(format!("csr/{username}.yaml: {unknown}"));
                views.push(view);
                continue;
            }
        };
        for verdict in &checked.report.clusters {
            view.clusters.push(ClusterView {
                cluster: verdict.cluster.clone(),
                groups: checked
                    .approved(&verdict.cluster)
                    .map(|a| a.groups().to_vec())
                    .unwrap_or_default(),
                violations: verdict.violations.clone(),
            });
        }
        for wanted in &requests {
            let cluster = &wanted.cluster;
            if !inputs.ca_keys.contains_key(cluster) {
                view.problems
                    .push(Refusal::MissingCa(cluster.clone()).to_string());
            }
            if let Some(cluster_policy) = policy.clusters.get(cluster) {
                let path = cluster_policy.ca_cert.to_string_lossy().into_owned();
                if read_file(repo, &target_tree, &path)?.is_none() {
                    view.problems.push(format!(
                        "the CA certificate of cluster `{cluster}` ({path} in policies/csr.yaml) is not on `{}`; an admin must add it",
                        inputs.target
                    ));
                }
            }
        }
        views.push(view);
    }
    Ok(CsrReview::Requests(views))
}
