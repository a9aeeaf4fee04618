//! The running service, assembled from the configuration: the queue, the handler (the
//! promotion workflow when `gitops.project` is set, else a recorder), the HTTP server and its
//! workers, and on the local forge the feed from its outbox. `ferry serve` and `ferry demo`
//! both start it here.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;

use crate::config::{Config, WorkflowForge};
use crate::domain::ProjectPath;
use crate::engine::{CsrSettings, Engine, EngineConfig, LocalFeed, MrTemplates, State};
use crate::forge::{Forge, LocalForge};
use crate::gitops::{Auth, CommitSettings, Identity, Remote};
use crate::server::Running;
use crate::store::sqlite::SqliteOptions;
use crate::store::{SqliteStore, Store};
use crate::worker::{Bots, CommentCommands, Handler, RecordingHandler};

/// How often the feed looks at the local forge's outbox when nothing woke it.
const FEED_POLL: Duration = Duration::from_millis(250);

/// How often the certificate ledgers are checked for renewals due.
const RENEW_EVERY: Duration = Duration::from_secs(3600);

/// A started service. Stop it with [`Service::shutdown`] or [`Service::run_until_signal`].
pub struct Service {
    running: Running,
    feed: Option<Arc<LocalFeed>>,
    stop_feed: watch::Sender<bool>,
    /// The feed and the renewal loop: both stop when `stop_feed` is sent, and both hold the
    /// engine (and through it the store), so shutdown waits for them.
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Service {
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.running.local_addr()
    }

    /// The local forge's feed, when the workflow runs on the local forge.
    pub fn feed(&self) -> Option<&LocalFeed> {
        self.feed.as_deref()
    }

    pub async fn shutdown(self) {
        stop_background(&self.stop_feed, self.background).await;
        self.running.shutdown().await;
    }

    pub async fn run_until_signal(self) {
        let Self {
            running,
            stop_feed,
            background,
            ..
        } = self;
        running.run_until_signal().await;
        stop_background(&stop_feed, background).await;
    }
}

async fn stop_background(stop: &watch::Sender<bool>, tasks: Vec<tokio::task::JoinHandle<()>>) {
    let _ = stop.send(true);
    for task in tasks {
        if let Err(error) = task.await {
            tracing::warn!(%error, "a background task of the service failed");
        }
    }
}

/// Opens the store, builds the handler and starts serving.
pub async fn start(config: &Config) -> anyhow::Result<Service> {
    let queue = config.queue_path();
    let store = SqliteStore::open_for_serve(&queue, &SqliteOptions::from(&config.store))
        .with_context(|| format!("cannot open the queue {}", queue.display()))?;
    let store: Arc<dyn Store> = Arc::new(store);
    let workflow = workflow(config).await?;
    let comments = CommentCommands::new(Arc::clone(&store), bots(config, workflow.as_ref()));
    let mut renewals = None;
    let (handler, feed): (Arc<dyn Handler>, Option<Arc<LocalFeed>>) = match workflow {
        Some((engine, local)) => {
            let engine = Arc::new(engine.with_comments(comments));
            let feed = local.map(|forge| Arc::new(LocalFeed::new(Arc::clone(&engine), forge)));
            if config.gitops.renew_within.is_some() {
                renewals = Some(Arc::clone(&engine));
            }
            (engine, feed)
        }
        None => {
            let record = config.store.data_dir.join("handled.sqlite3");
            let recorder = RecordingHandler::open(&record)
                .with_context(|| format!("cannot open the handler record {}", record.display()))?;
            (Arc::new(recorder.with_comments(comments)), None)
        }
    };
    let running = crate::server::start(config, store, handler).await?;
    let (stop_feed, stopped) = watch::channel(false);
    let mut background = Vec::new();
    if let Some(engine) = renewals {
        background.push(tokio::spawn(renew_periodically(
            engine,
            RENEW_EVERY,
            stop_feed.subscribe(),
        )));
    }
    if let Some(feed) = feed.clone() {
        background.push(tokio::spawn(
            async move { feed.run(FEED_POLL, stopped).await },
        ));
    }
    Ok(Service {
        running,
        feed,
        stop_feed,
        background,
    })
}

/// The bots whose comments are not commands: on the workflow's forge the engine's own
/// identity (the forge's answer when `bot_user_id` is not configured), elsewhere the
/// configured one.
fn bots(config: &Config, workflow: Option<&(Engine, Option<LocalForge>)>) -> Bots {
    let mut bots = Bots::from(&config.forges);
    if let Some((engine, _)) = workflow {
        bots.gitlab = engine.bot().clone();
    }
    bots
}

/// The promotion workflow, when `gitops.project` is configured; on the local forge also the
/// forge handle its feed reads.
async fn workflow(config: &Config) -> anyhow::Result<Option<(Engine, Option<LocalForge>)>> {
    let Some(project) = &config.gitops.project else {
        return Ok(None);
    };
    let project = ProjectPath::parse(project)
        .with_context(|| format!("gitops.project `{project}` is not a project path"))?;
    let mut bot = config.forges.gitlab.bot();
    let (forge, remote, local): (Arc<dyn Forge>, Remote, Option<LocalForge>) =
        match config.gitops.forge {
            WorkflowForge::GitLab => {
                let (forge, remote) = gitlab(config, &project)?;
                (forge, remote, None)
            }
            WorkflowForge::Local => {
                // SQLite and git on disk: the blocking pool's work, even once at start.
                let (config, for_forge) = (config.clone(), project.clone());
                let (forge, remote) =
                    tokio::task::spawn_blocking(move || local_forge(&config, &for_forge))
                        .await
                        .context("opening the local forge stopped unexpectedly")??;
                bot.user_id = Some(forge.user().id);
                (Arc::new(forge.clone()), remote, Some(forge))
            }
        };
    let bot = crate::forge::bot_identity(forge.as_ref(), bot).await;
    let data_dir = config.store.data_dir.clone();
    let state_path = data_dir.join("engine.sqlite3");
    let state = tokio::task::spawn_blocking(move || State::open(&state_path))
        .await
        .context("opening the workflow state stopped unexpectedly")?
        .context("cannot open the workflow state")?;
    let engine_config = EngineConfig {
        gitops_project: project,
        gitops_remote: remote,
        data_dir,
        commit: CommitSettings {
            author: Identity {
                name: config.gitops.author_name.clone(),
                email: config.gitops.author_email.clone(),
            },
            committer: None,
            signing_key: config.gitops.signing_key.clone(),
        },
        bot,
        csr: CsrSettings {
            renew_within: renew_within(config)?,
            ..ca_keys(config.gitops.ca_key_dir.as_deref())?
        },
        templates: templates(config)?,
    };
    Ok(Some((Engine::new(engine_config, forge, state), local)))
}

fn gitlab(config: &Config, project: &ProjectPath) -> anyhow::Result<(Arc<dyn Forge>, Remote)> {
    use crate::forge::{GitLabConfig, GitLabForge, HttpPolicy};

    let token = config.gitops_token.clone().context(
        "gitops.project is set but there is no token: set FERRY_GITOPS__TOKEN or gitops.token_file",
    )?;
    let gitlab_url = config.gitops.gitlab_url.trim_end_matches('/');
    let url = config
        .gitops
        .remote
        .clone()
        .unwrap_or_else(|| format!("{gitlab_url}/{project}.git"));
    let auth = if url.starts_with("http") {
        Auth::Token {
            user: "oauth2".into(),
            token: token.clone(),
        }
    } else {
        Auth::None
    };
    let forge = GitLabForge::new(GitLabConfig {
        base_url: gitlab_url.to_owned(),
        token,
        policy: HttpPolicy::default(),
    })
    .context("cannot set up the GitLab client")?;
    Ok((Arc::new(forge), Remote::new(url, auth)))
}

/// The local forge acting as the bot. `gitops.remote`, when set, (re)registers the project's
/// repository; otherwise the forge must already serve the project (`ferry demo` registers it).
fn local_forge(config: &Config, project: &ProjectPath) -> anyhow::Result<(LocalForge, Remote)> {
    let dir = config.local_forge_dir();
    let forge = LocalForge::open(&dir, &config.forges.gitlab.bot_username)
        .with_context(|| format!("cannot open the local forge in {}", dir.display()))?;
    if let Some(remote) = &config.gitops.remote {
        forge
            .add_project(project, remote)
            .with_context(|| format!("cannot serve {project} from {remote}"))?;
    }
    let projects = forge.projects()?;
    let Some((_, location)) = projects.into_iter().find(|(path, _)| path == project) else {
        anyhow::bail!(
            "the local forge in {} does not serve {project}; set gitops.remote to its git repository",
            dir.display()
        );
    };
    let remote = if Path::new(&location).exists() {
        Remote::local(Path::new(&location))
    } else {
        Remote::new(location, Auth::None)
    };
    Ok((forge, remote))
}

/// One CA key source per `<cluster>.key` file of `dir`. Only the paths are read here; the
/// keys themselves are read when a certificate is signed.
fn ca_keys(dir: Option<&Path>) -> anyhow::Result<CsrSettings> {
    let mut settings = CsrSettings::default();
    let Some(dir) = dir else {
        return Ok(settings);
    };
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read gitops.ca_key_dir {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "key")
            && let Some(cluster) = path.file_stem().and_then(|s| s.to_str())
        {
            settings.ca_keys.insert(
                cluster.to_owned(),
                crate::csr::ca::CaKeySource::File(path.clone()),
            );
        }
    }
    Ok(settings)
}

/// The merge request templates, checked now so that a typo stops the start, not a promotion.
fn templates(config: &Config) -> anyhow::Result<MrTemplates> {
    let body = match &config.gitops.mr_body_template_file {
        Some(path) => Some((
            path.display().to_string(),
            std::fs::read_to_string(path).with_context(|| {
                format!(
                    "cannot read gitops.mr_body_template_file {}",
                    path.display()
                )
            })?,
        )),
        None => None,
    };
    let title = config
        .gitops
        .mr_title_template
        .as_deref()
        .map(|text| ("gitops.mr_title_template", text));
    Ok(MrTemplates::new(
        title,
        body.as_ref()
            .map(|(name, text)| (name.as_str(), text.as_str())),
    )?)
}

fn renew_within(config: &Config) -> anyhow::Result<Option<crate::csr::duration::Ttl>> {
    config
        .gitops
        .renew_within
        .as_deref()
        .map(|text| {
            text.parse().map_err(|error| {
                anyhow::anyhow!(
                    "gitops.renew_within `{text}`: {error}; write a lifetime such as 14d"
                )
            })
        })
        .transpose()
}

/// Opens the certificate renewals due, once shortly after start and then every `every`.
async fn renew_periodically(engine: Arc<Engine>, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut wait = Duration::from_secs(5);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        match engine
            .renew_certificates(time::OffsetDateTime::now_utc())
            .await
        {
            Ok(opened) if !opened.is_empty() => {
                tracing::info!(count = opened.len(), "certificate renewals opened");
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "certificate renewal check failed; it runs again later")
            }
        }
        wait = every;
    }
}
