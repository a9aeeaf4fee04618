//! The gitflow story `ferry demo` plays: each step is what a person does on the local forge,
//! then what Ferry did about it, read back from the forge and the GitOps repository.

use std::io::Write;
use std::process::Command;

use anyhow::{Context, bail};
use git2::Repository;

use crate::domain::{CommitSha, GitRef, ImageName};
use crate::forge::{MergeOptions, MergeOutcome, MergeRequest, MrState, NewMergeRequest};

use super::world::{GITOPS, World};

const IMAGE: &str = "registry.example.com/eap/website";

pub struct Story<'a, W: Write> {
    world: &'a World,
    out: W,
    step: usize,
}

impl<'a, W: Write> Story<'a, W> {
    pub fn new(world: &'a World, out: W) -> Self {
        Self {
            world,
            out,
            step: 0,
        }
    }

    pub async fn play(&mut self) -> anyhow::Result<()> {
        self.introduce()?;
        let develop = self.push_source("develop", "alice", "Add the pricing page")?;
        self.world.settle().await?;
        self.promoted("integration", &develop)?;

        let release = self.push_source("release-1.0.0", "alice", "Release 1.0.0")?;
        self.world.settle().await?;
        self.promoted("staging", &release)?;

        let production = self.tag_and_wait("v1.0.0", &release).await?;
        self.approve_and_merge(production).await?;

        let hotfix = self.push_source("release-1.0.0", "alice", "Fix the checkout button")?;
        self.world.settle().await?;
        self.promoted("staging", &hotfix)?;
        let production = self.tag_and_wait("v1.0.1", &hotfix).await?;
        self.approve_and_merge(production).await?;

        self.audit()?;
        self.rollback().await?;
        self.certificate().await?;
        Ok(())
    }

    fn introduce(&mut self) -> anyhow::Result<()> {
        let sandbox = &self.world.sandbox;
        writeln!(
            self.out,
            "Ferry demo in {dir}\n\
             \x20 GitOps repository  {gitops} (built from templates/gitops-example)\n\
             \x20 source project     {source}\n\
             \x20 local forge        {forge} (alice, dave and erin are SREs, carol manages releases, bob is QA)\n\
             \x20 Ferry              http://{addr} (/healthz, /metrics), configured by {config}\n\
             \x20 production's freeze window is moved to the day after tomorrow, so the story is the same any day",
            dir = sandbox.dir.display(),
            gitops = sandbox.gitops.display(),
            source = sandbox.source.display(),
            forge = sandbox.forge.display(),
            addr = self.world.service.local_addr(),
            config = self.world.config_file.display(),
        )?;
        Ok(())
    }

    fn say(&mut self, headline: &str) -> anyhow::Result<()> {
        self.step += 1;
        writeln!(self.out, "\n{}. {headline}", self.step)?;
        Ok(())
    }

    fn note(&mut self, line: &str) -> anyhow::Result<()> {
        writeln!(self.out, "   {line}")?;
        Ok(())
    }

    /// A commit on `branch` of the source project, and the push event its forge would send.
    fn push_source(&mut self, branch: &str, who: &str, message: &str) -> anyhow::Result<String> {
        self.say(&format!(
            "{who} pushes \"{message}\" to `{branch}` of eap/website"
        ))?;
        let commit = self.world.sandbox.commit_to_source(
            branch,
            "index.html",
            &format!("<h1>eap website</h1>\n<p>{message}</p>\n"),
            message,
        )?;
        let sha = CommitSha::parse(&commit.to_string())?;
        self.world.person(who)?.record_push(
            &self.world.source,
            &GitRef::Branch(branch.to_owned()),
            &sha,
            who,
        )?;
        Ok(commit.to_string())
    }

    /// Reports the promotion merge request Ferry opened for `environment` and merged.
    fn promoted(&mut self, environment: &str, commit: &str) -> anyhow::Result<MergeRequest> {
        let mr = self
            .world
            .latest_from(&format!("ferry/{environment}/web"))?;
        if mr.state != MrState::Merged {
            bail!(
                "Ferry's merge request {GITOPS}!{} to {environment} is {:?}, not merged: {}",
                mr.iid,
                mr.state,
                self.world.status_comment(mr.iid)?
            );
        }
        self.note(&format!(
            "Ferry opened !{} \"{}\" and merged it (gate: auto)",
            mr.iid, mr.title
        ))?;
        let image = self.image_in(environment)?;
        if !image.contains(&commit[..7]) && environment != "production" {
            bail!("{environment} runs {image}, not the pushed commit {commit}");
        }
        self.note(&format!("{environment} now runs {image}"))?;
        Ok(mr)
    }

    /// carol tags the release; Ferry opens the production merge request and waits.
    async fn tag_and_wait(&mut self, tag: &str, commit: &str) -> anyhow::Result<MergeRequest> {
        self.say(&format!("carol tags {} as `{tag}`", &commit[..7]))?;
        let oid = git2::Oid::from_str(commit)?;
        self.world.sandbox.tag_source(tag, oid)?;
        let sha = CommitSha::parse(commit)?;
        self.world.person("carol")?.record_push(
            &self.world.source,
            &GitRef::Tag(tag.to_owned()),
            &sha,
            "carol",
        )?;
        self.world.settle().await?;
        let mr = self.world.latest_from("ferry/production/web")?;
        if mr.state != MrState::Open {
            bail!(
                "the production merge request !{} did not wait at its gate",
                mr.iid
            );
        }
        self.note(&format!(
            "Ferry opened !{} \"{}\"; it waits at the manual gate",
            mr.iid, mr.title
        ))?;
        self.gate_line(&mr)?;
        Ok(mr)
    }

    /// alice approves with a comment command, erin with the forge's approval; Ferry merges.
    async fn approve_and_merge(&mut self, mr: MergeRequest) -> anyhow::Result<()> {
        self.say(&format!(
            "alice comments `/ferry approve` on !{}, erin approves it on the forge",
            mr.iid
        ))?;
        let project = &self.world.gitops;
        self.world
            .person("alice")?
            .comment(project, mr.iid, "/ferry approve")?;
        self.world.settle().await?;
        let waiting = self.world.mr(mr.iid)?;
        if waiting.state != MrState::Open {
            bail!("one approval should not have been enough for production");
        }
        self.gate_line(&waiting)?;
        self.world.person("erin")?.approve(project, mr.iid)?;
        self.world.settle().await?;
        let merged = self.world.mr(mr.iid)?;
        if merged.state != MrState::Merged {
            bail!(
                "!{} is not merged after two approvals: {}",
                mr.iid,
                self.world.status_comment(mr.iid)?
            );
        }
        let image = self.image_in("production")?;
        self.note(&format!(
            "two approvals from group:sre: Ferry merged !{}; production now runs {image}",
            mr.iid
        ))?;
        Ok(())
    }

    fn gate_line(&mut self, mr: &MergeRequest) -> anyhow::Result<()> {
        let comment = self.world.status_comment(mr.iid)?;
        let gate = comment
            .lines()
            .find(|line| line.to_ascii_lowercase().contains("approval"))
            .unwrap_or("(no gate line in Ferry's comment)")
            .trim()
            .to_owned();
        self.note(&format!("Ferry's status comment: {gate}"))?;
        self.note(&format!(
            "look: ferry mr show {} --project {GITOPS} --forge-dir {}",
            mr.iid,
            self.world.sandbox.forge.display()
        ))
    }

    /// `ferry audit` on the GitOps repository, as its own process.
    fn audit(&mut self) -> anyhow::Result<()> {
        self.say("the audit trail: `ferry audit` reads the GitOps repository's history back")?;
        let gitops = self.world.sandbox.gitops.display().to_string();
        let data = self.world.sandbox.dir.join("audit-mirror");
        let exe = std::env::current_exe().context("cannot find the ferry binary")?;
        let output = Command::new(exe)
            .args(["audit", "--repo", &gitops, "--data-dir"])
            .arg(&data)
            .output()
            .context("cannot run ferry audit")?;
        if !output.status.success() {
            bail!(
                "ferry audit failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        self.note(&format!(
            "$ ferry audit --repo {gitops} --data-dir {}",
            data.display()
        ))?;
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            self.note(line)?;
        }
        Ok(())
    }

    /// alice rolls production back. The rollback passes the gate like any promotion, and alice,
    /// who asked for it, may not approve it herself.
    async fn rollback(&mut self) -> anyhow::Result<()> {
        let last = self.world.latest_from("ferry/production/web")?;
        self.say(&format!(
            "v1.0.1 misbehaves: alice comments `/ferry rollback production` on !{}",
            last.iid
        ))?;
        let project = self.world.gitops.clone();
        self.world
            .person("alice")?
            .comment(&project, last.iid, "/ferry rollback production")?;
        self.world.settle().await?;
        let rollback = self.world.latest_from("ferry/production/web")?;
        if rollback.iid == last.iid {
            bail!(
                "Ferry opened no rollback merge request: {}",
                self.world.status_comment(last.iid)?
            );
        }
        self.note(&format!(
            "Ferry opened !{} \"{}\"",
            rollback.iid, rollback.title
        ))?;
        if rollback.state == MrState::Open {
            self.gate_line(&rollback)?;
            self.world.person("erin")?.approve(&project, rollback.iid)?;
            self.world
                .person("dave")?
                .comment(&project, rollback.iid, "/ferry approve")?;
            self.world.settle().await?;
        }
        let done = self.world.mr(rollback.iid)?;
        if done.state != MrState::Merged {
            bail!(
                "the rollback !{} is not merged: {}",
                rollback.iid,
                self.world.status_comment(rollback.iid)?
            );
        }
        let image = self.image_in("production")?;
        self.note(&format!("merged: production runs {image} again"))?;
        Ok(())
    }

    /// alice asks for kubectl access to integration; bob merges; Ferry signs.
    async fn certificate(&mut self) -> anyhow::Result<()> {
        self.say("alice asks for a kubectl certificate for integration in a merge request")?;
        let (key, csr) = super::sandbox::client_csr("alice", &["developers"])?;
        let key_path = self.world.sandbox.secrets.join("alice-client.key");
        std::fs::write(&key_path, key)
            .with_context(|| format!("cannot write {}", key_path.display()))?;
        let request = b"clusters:\n  integration: { groups: [developers] }\n";
        let branch = "alice/kubectl-access";
        let head = self.world.sandbox.commit_to_gitops(
            branch,
            &[("csr/alice.csr", &csr), ("csr/alice.yaml", request)],
            "Request kubectl access to integration",
            "alice",
        )?;
        let project = self.world.gitops.clone();
        let alice = self.world.person("alice")?;
        alice.record_push(
            &project,
            &GitRef::Branch(branch.to_owned()),
            &CommitSha::parse(&head.to_string())?,
            "alice",
        )?;
        let mr = alice.create(
            &project,
            &NewMergeRequest {
                source_branch: branch.to_owned(),
                target_branch: "main".to_owned(),
                title: "kubectl access for alice on integration".to_owned(),
                body: "CSR made with openssl; the key stays on my laptop.".to_owned(),
                labels: Vec::new(),
            },
        )?;
        self.world.settle().await?;
        let check = self
            .world
            .person("bob")?
            .statuses(&project, &CommitSha::parse(&head.to_string())?)?
            .into_iter()
            .find(|status| status.context == "ferry/csr")
            .context("Ferry set no ferry/csr status on the CSR merge request")?;
        self.note(&format!(
            "Ferry checked !{} against policies/csr.yaml: ferry/csr {} ({})",
            mr.iid,
            check.state,
            check.description.unwrap_or_default()
        ))?;
        self.say(&format!("bob reviews and merges !{}", mr.iid))?;
        let outcome = self.world.person("bob")?.accept(
            &project,
            mr.iid,
            &MergeOptions {
                sha: CommitSha::parse(&head.to_string())?,
                when_pipeline_succeeds: false,
                commit_message: None,
                remove_source_branch: true,
            },
        )?;
        if !matches!(outcome, MergeOutcome::Merged { .. }) {
            bail!("bob could not merge the CSR merge request: {outcome:?}");
        }
        self.world.settle().await?;
        let cert = self.read_gitops("certs/integration/alice.crt")?;
        let cert_path = self.world.sandbox.dir.join("alice-integration.crt");
        std::fs::write(&cert_path, cert)
            .with_context(|| format!("cannot write {}", cert_path.display()))?;
        let ca_path = self.world.sandbox.dir.join("integration-ca.crt");
        std::fs::write(&ca_path, self.read_gitops("ca/integration.crt")?)
            .with_context(|| format!("cannot write {}", ca_path.display()))?;
        self.note("Ferry signed the certificate and committed it with its kubeconfig:")?;
        self.note(&format!(
            "$ openssl verify -CAfile {} {}",
            ca_path.display(),
            cert_path.display()
        ))?;
        Ok(())
    }

    /// What `path` holds on `main` of the GitOps repository.
    fn read_gitops(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let repo = Repository::open_bare(&self.world.sandbox.gitops)?;
        let tree = repo
            .find_commit(repo.refname_to_id("refs/heads/main")?)?
            .tree()?;
        let entry = tree
            .get_path(std::path::Path::new(path))
            .with_context(|| format!("{path} is not on main of {GITOPS}"))?;
        Ok(repo.find_blob(entry.id())?.content().to_vec())
    }

    /// The image `environment` runs, as its overlay on `main` says.
    fn image_in(&self, environment: &str) -> anyhow::Result<String> {
        let repo = Repository::open_bare(&self.world.sandbox.gitops)?;
        let tree = repo
            .find_commit(repo.refname_to_id("refs/heads/main")?)?
            .tree()?;
        let dir = format!("apps/web/overlays/{environment}");
        crate::gitops::promotion::current_image(&repo, &tree, &dir, &ImageName::parse(IMAGE)?)?
            .with_context(|| format!("{dir} sets no image for {IMAGE}"))
    }
}
