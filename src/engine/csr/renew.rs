//! Renewal: for every holder whose newest certificate on a cluster ends within the renewal
//! window, Ferry opens a merge request from `ferry/renew/<username>` that rewrites
//! `csr/<username>.yaml` to name those clusters. It goes through the same rules as the
//! holder's own request: `ferry/csr` checks the CSR on the target branch against today's
//! policy, and once someone other than the holder merges it, the merge signs new
//! certificates from the same CSR. Removing `csr/<username>.csr` stops renewals.

use std::collections::BTreeMap;

use git2::{Repository, Tree};
use time::OffsetDateTime;

use crate::csr::duration::Ttl;
use crate::csr::ledger::{self, Expiring};
use crate::domain::{MrIid, UserId};
use crate::forge::{MergeRequest, NewMergeRequest};
use crate::gitops::tree::{FileWrite, read_file};
use crate::gitops::{self, Change, GitOpsError, Outcome, Prepared, Retry};

use super::super::{Engine, EngineError, gate};
use super::repo;

/// Ferry's renewal merge requests come from `ferry/renew/<username>`.
pub(in crate::engine) const RENEW_BRANCH: &str = "ferry/renew/";

/// One holder's certificates to renew.
#[derive(Debug, Clone)]
struct Due {
    username: String,
    clusters: Vec<Expiring>,
}

/// Opens a renewal merge request for each holder with a certificate ending within `within`
/// of `now` and none open yet; returns the merge requests opened.
pub(in crate::engine) async fn renew_expiring(
    engine: &Engine,
    within: Ttl,
    now: OffsetDateTime,
) -> Result<Vec<MrIid>, EngineError> {
    let target = engine.policy().await?.gitops.branch;
    let branch = target.clone();
    let due = engine
        .with_mirror(move |mirror| {
            let repo = mirror.repo();
            let Some(head) = mirror.head(&branch)? else {
                return Ok(Vec::new());
            };
            let tree = repo
                .find_commit(head)
                .and_then(|commit| commit.tree())
                .map_err(GitOpsError::git(format!("cannot read `{branch}`")))?;
            due_on(repo, &tree, &branch, within, now)
        })
        .await?;
    let project = engine.config.gitops_project.clone();
    let mut opened = Vec::new();
    for due in due {
        let branch = format!("{RENEW_BRANCH}{}", due.username);
        if engine
            .forge
            .find_open_merge_request(&project, &branch)
            .await?
            .is_some()
        {
            continue; // one open renewal per holder; it names every cluster due
        }
        let change = RenewalChange { due: due.clone() };
        let settings = engine.config.commit.clone();
        let (target_for_git, branch_for_git) = (target.clone(), branch.clone());
        let outcome = engine
            .with_mirror(move |mirror| {
                let outcome = gitops::land(
                    mirror,
                    &settings,
                    &Retry::default(),
                    &target_for_git,
                    &branch_for_git,
                    &change,
                )?;
                let branch_exists = mirror.head(&branch_for_git)?.is_some();
                Ok((outcome, branch_exists))
            })
            .await?;
        if let (Outcome::Unchanged { .. }, false) = outcome {
            // The target already asks for exactly this renewal (one merged without signing):
            // a merge request would change nothing, so say so once and open none.
            tracing::warn!(user = %due.username, "renewal request already on the target branch; see its last merge request");
            continue;
        }
        let mr = engine
            .forge
            .create_merge_request(
                &project,
                &NewMergeRequest {
                    source_branch: branch,
                    target_branch: target.clone(),
                    title: title(&due),
                    body: body(&due),
                    labels: vec!["ferry".to_owned(), "csr-renewal".to_owned()],
                },
            )
            .await?;
        tracing::info!(mr = mr.iid.0, user = %due.username, "renewal merge request opened");
        gate::refresh(engine, mr.iid, None).await?;
        opened.push(mr.iid);
    }
    Ok(opened)
}

/// Whose request a merge request is: for Ferry's own renewal merge request, the holder it
/// renews for; otherwise its author's username as webhooks reported it.
pub(in crate::engine) async fn requester(
    engine: &Engine,
    mr: &MergeRequest,
) -> Result<Option<String>, EngineError> {
    if let Some(holder) = mr.source_branch.strip_prefix(RENEW_BRANCH)
        && is_bot(engine, mr.author).await?
    {
        return Ok(Some(holder.to_owned()));
    }
    Ok(engine.state.username(mr.author)?)
}

async fn is_bot(engine: &Engine, user: UserId) -> Result<bool, EngineError> {
    Ok(match engine.config.bot.user_id {
        Some(bot) => bot == user,
        None => engine.forge.current_user().await?.id == user,
    })
}

/// The holders due for renewal whose CSR is still on the target branch.
fn due_on(
    repo: &Repository,
    tree: &Tree<'_>,
    branch: &str,
    within: Ttl,
    now: OffsetDateTime,
) -> Result<Vec<Due>, GitOpsError> {
    let Ok(policy) = repo::policy(repo, tree, branch)? else {
        return Ok(Vec::new()); // no usable CSR policy: nothing was signed under it either
    };
    let mut entries = BTreeMap::new();
    for (cluster, text) in repo::ledgers(repo, tree, &policy)? {
        match ledger::parse(&text, &repo::ledger_path(&cluster)) {
            Ok(parsed) => {
                entries.insert(cluster, parsed);
            }
            Err(errors) => {
                tracing::warn!(%cluster, errors = errors.len(), "ledger lines unreadable; that cluster is not renewed");
            }
        }
    }
    let mut by_holder: BTreeMap<String, Vec<Expiring>> = BTreeMap::new();
    for expiring in ledger::expiring(&entries, now, within) {
        if policy.clusters.contains_key(&expiring.cluster) {
            by_holder
                .entry(expiring.entry.common_name.clone())
                .or_default()
                .push(expiring);
        }
    }
    let mut due = Vec::new();
    for (username, mut clusters) in by_holder {
        clusters.sort_by(|a, b| a.cluster.cmp(&b.cluster));
        if read_file(repo, tree, &format!("csr/{username}.csr"))?.is_some() {
            due.push(Due { username, clusters });
        }
    }
    Ok(due)
}

struct RenewalChange {
    due: Due,
}

impl Change for RenewalChange {
    fn prepare(
        &self,
        repo: &Repository,
        _target: &Tree<'_>,
        onto: &Tree<'_>,
    ) -> Result<Option<Prepared>, GitOpsError> {
        let path = format!("csr/{}.yaml", self.due.username);
        let content = request_text(&self.due).into_bytes();
        if read_file(repo, onto, &path)?.as_deref() == Some(content.as_slice()) {
            return Ok(None); // an earlier attempt pushed it
        }
        Ok(Some(Prepared {
            writes: vec![FileWrite { path, content }],
            message: format!(
                "{}\n\nThe certificates end soon; merging signs new ones from csr/{}.csr.\n",
                title(&self.due),
                self.due.username
            ),
        }))
    }
}

fn clusters(due: &Due) -> String {
    let names: Vec<&str> = due.clusters.iter().map(|c| c.cluster.as_str()).collect();
    names.join(", ")
}

fn title(due: &Due) -> String {
    format!(
        "Renew the client certificates of {} for {}",
        due.username,
        clusters(due)
    )
}

fn ends(expiring: &Expiring) -> String {
    let when = expiring
        .entry
        .not_after
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| expiring.entry.not_after.to_string());
    if expiring.expired {
        format!("ended {when}")
    } else {
        format!("ends {when}")
    }
}

/// `csr/<username>.yaml` for the renewal: the clusters due, each with the groups its current
/// certificate carries, so that nothing is widened by a renewal.
fn request_text(due: &Due) -> String {
    let mut text = format!(
        "# Renewal opened by Ferry. Merging signs new certificates from csr/{}.csr under\n# policies/csr.yaml as it is then; someone other than {} must merge.\nclusters:\n",
        due.username, due.username
    );
    for expiring in &due.clusters {
        let groups: Vec<String> = expiring
            .entry
            .groups
            .iter()
            .map(|group| format!("'{}'", group.replace('\'', "''")))
            .collect();
        text.push_str(&format!(
            "  '{}': {{ groups: [{}] }}  # serial {} {}\n",
            expiring.cluster,
            groups.join(", "),
            expiring.entry.serial_hex,
            ends(expiring)
        ));
    }
    text
}

fn body(due: &Due) -> String {
    let mut body = String::from("| cluster | serial | groups | |\n|---|---|---|---|\n");
    for expiring in &due.clusters {
        body.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            expiring.cluster,
            expiring.entry.serial_hex,
            expiring.entry.groups.join(", "),
            ends(expiring)
        ));
    }
    body.push_str(&format!(
        "\nFerry checks csr/{user}.csr against today's policies/csr.yaml (`ferry/csr`). Once someone other than @{user} merges this merge request, Ferry signs new certificates for the clusters above and commits them with their kubeconfigs and ledger lines. To stop renewing, close this merge request; to end access, remove csr/{user}.csr.\n",
        user = due.username
    ));
    body
}
