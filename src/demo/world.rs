//! The demo's world: the sandbox, the people on the local forge, the configuration file
//! `ferry serve` would read, and the running service.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::Config;
use crate::domain::{MrIid, ProjectPath};
use crate::forge::local::MrFilter;
use crate::forge::{AccessLevel, LocalForge, MergeRequest};
use crate::service::Service;

use super::Sandbox;

pub const GITOPS: &str = "eap/gitops";
pub const SOURCE: &str = "eap/website";
pub const BOT: &str = "ferry";

/// The people of the story: name, groups, role in every project.
pub const PEOPLE: [(&str, &[&str], AccessLevel); 5] = [
    ("alice", &["developers", "sre"], AccessLevel::Write),
    ("bob", &["qa"], AccessLevel::Write),
    ("carol", &["release-managers"], AccessLevel::Maintain),
    ("dave", &["sre"], AccessLevel::Write),
    ("erin", &["sre"], AccessLevel::Write),
];

pub struct World {
    pub sandbox: Sandbox,
    pub config_file: PathBuf,
    pub service: Service,
    /// The forge as Ferry's own account; [`World::person`] acts as someone else.
    forge: LocalForge,
    pub gitops: ProjectPath,
    pub source: ProjectPath,
}

impl World {
    /// Makes the sandbox in `dir` (replacing an earlier run's) and starts Ferry on it.
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        let sandbox = Sandbox::create(dir)
            .with_context(|| format!("cannot make the demo sandbox in {}", dir.display()))?;
        let gitops = ProjectPath::parse(GITOPS)?;
        let source = ProjectPath::parse(SOURCE)?;
        let forge = LocalForge::open(&sandbox.forge, BOT)?;
        for (name, groups, access) in PEOPLE {
            forge.add_user(name, groups, access)?;
        }
        forge.add_project(&gitops, &path_text(&sandbox.gitops))?;
        forge.add_project(&source, &path_text(&sandbox.source))?;
        let config_file = sandbox.dir.join("ferry.yaml");
        std::fs::write(&config_file, config_text(&sandbox))
            .with_context(|| format!("cannot write {}", config_file.display()))?;
        let config = Config::load(Some(&config_file))?;
        let service = crate::service::start(&config).await?;
        Ok(Self {
            sandbox,
            config_file,
            service,
            forge,
            gitops,
            source,
        })
    }

    pub fn person(&self, name: &str) -> anyhow::Result<LocalForge> {
        Ok(self.forge.as_user(name)?)
    }

    /// Lets Ferry handle everything that happened, and what its own actions caused.
    pub async fn settle(&self) -> anyhow::Result<()> {
        let feed = self
            .service
            .feed()
            .context("the demo's service runs without the local forge feed")?;
        let report = feed.settle().await?;
        if let Some((seq, why)) = report.given_up.first() {
            anyhow::bail!("Ferry gave up on event {seq} of the local forge: {why}");
        }
        Ok(())
    }

    /// The newest merge request of the GitOps repository from `branch`.
    pub fn latest_from(&self, branch: &str) -> anyhow::Result<MergeRequest> {
        self.forge
            .list(&MrFilter {
                project: Some(self.gitops.clone()),
                state: None,
            })?
            .into_iter()
            .map(|view| view.mr)
            .filter(|mr| mr.source_branch == branch)
            .max_by_key(|mr| mr.iid)
            .with_context(|| format!("Ferry opened no merge request from `{branch}`"))
    }

    pub fn mr(&self, iid: MrIid) -> anyhow::Result<MergeRequest> {
        Ok(self.forge.get(&self.gitops, iid)?)
    }

    /// Ferry's status comment on a merge request (the first comment by the bot).
    pub fn status_comment(&self, iid: MrIid) -> anyhow::Result<String> {
        Ok(self
            .forge
            .comments_shown(&self.gitops, iid)?
            .into_iter()
            .find(|comment| comment.author == BOT)
            .map(|comment| comment.body)
            .unwrap_or_default())
    }
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}

/// The configuration `ferry serve --config DIR/ferry.yaml` runs the same service with.
fn config_text(sandbox: &Sandbox) -> String {
    let quoted = |path: &Path| format!("'{}'", path.display().to_string().replace('\'', "''"));
    format!(
        "# Written by `ferry demo`; `ferry serve --config {file}` serves this sandbox again.\n\
         server:\n  listen: 127.0.0.1:0\n\
         store:\n  data_dir: {data}\n\
         workers:\n  backoff_base_ms: 200\n  backoff_max_ms: 2000\n\
         gitops:\n  project: {GITOPS}\n  forge: local\n  local_forge_dir: {forge}\n  ca_key_dir: {secrets}\n  author_name: Ferry\n  author_email: ferry@demo.localhost\n\
         forges:\n  gitlab:\n    bot_username: {BOT}\n",
        file = sandbox.dir.join("ferry.yaml").display(),
        data = quoted(&sandbox.data),
        forge = quoted(&sandbox.forge),
        secrets = quoted(&sandbox.secrets),
    )
}
