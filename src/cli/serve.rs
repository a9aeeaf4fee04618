use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use crate::config::Config;
use crate::store::sqlite::SqliteOptions;
use crate::store::{SqliteStore, Store};
use crate::worker::{Bots, CommentCommands, Handler, RecordingHandler};

/// One CA key source per `<cluster>.key` file of `dir`. Only the paths are read here; the
/// keys themselves are read when a certificate is signed.
fn ca_keys(dir: Option<&std::path::Path>) -> anyhow::Result<crate::engine::CsrSettings> {
    let mut settings = crate::engine::CsrSettings::default();
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

/// The promotion workflow on GitLab, when `gitops.project` is configured.
fn workflow(config: &Config) -> anyhow::Result<Option<crate::engine::Engine>> {
    use crate::engine::{Engine, EngineConfig, State};
    use crate::forge::{GitLabConfig, GitLabForge, HttpPolicy};
    use crate::gitops::{Auth, CommitSettings, Identity, Remote};

    let (Some(project), Some(token)) = (&config.gitops.project, &config.gitops_token) else {
        return Ok(None);
    };
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
        token: token.clone(),
        policy: HttpPolicy::default(),
    })
    .context("cannot set up the GitLab client")?;
    let data_dir = config.store.data_dir.clone();
    let state =
        State::open(&data_dir.join("engine.sqlite3")).context("cannot open the workflow state")?;
    let engine_config = EngineConfig {
        gitops_project: crate::domain::ProjectPath::parse(project)?,
        gitops_remote: Remote::new(url, auth),
        data_dir,
        commit: CommitSettings {
            author: Identity {
                name: config.gitops.author_name.clone(),
                email: config.gitops.author_email.clone(),
            },
            committer: None,
            signing_key: config.gitops.signing_key.clone(),
        },
        bot: config.forges.gitlab.bot(),
        csr: ca_keys(config.gitops.ca_key_dir.as_deref())?,
    };
    Ok(Some(Engine::new(engine_config, Arc::new(forge), state)))
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file (docs/configuration.md); without one, embedded defaults and
    /// FERRY_* environment variables apply.
    #[arg(long, env = crate::config::CONFIG_VAR)]
    pub config: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let config = Config::load(args.config.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let queue = config.queue_path();
    let store = SqliteStore::open_for_serve(&queue, &SqliteOptions::from(&config.store))
        .with_context(|| format!("cannot open the queue {}", queue.display()))?;
    let store: Arc<dyn Store> = Arc::new(store);
    let record = config.store.data_dir.join("handled.sqlite3");
    let comments = CommentCommands::new(Arc::clone(&store), Bots::from(&config.forges));
    let handler: Arc<dyn Handler> = match workflow(&config)? {
        Some(engine) => Arc::new(engine.with_comments(comments)),
        None => Arc::new(
            RecordingHandler::open(&record)
                .with_context(|| format!("cannot open the handler record {}", record.display()))?
                .with_comments(comments),
        ),
    };
    let running = crate::server::start(&config, store, handler).await?;
    // Scripts and tests wait for this line (stderr: stdout stays free for data).
    eprintln!("ferry serve: listening on http://{}", running.local_addr());
    running.run_until_signal().await;
    Ok(())
}
