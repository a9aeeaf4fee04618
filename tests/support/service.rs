//! The forge-neutral parts of an end-to-end world: a server configuration quick to retry, its
//! store, and the engine on a GitOps repository, with the bot's comments not taken as
//! commands on either forge.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferry::config::Config;
use ferry::domain::{BotIdentity, ProjectPath, UserId};
use ferry::engine::{CsrSettings, Engine, EngineConfig, State as EngineState};
use ferry::forge::{Forge, HttpPolicy};
use ferry::gitops::{CommitSettings, Remote};
use ferry::store::sqlite::SqliteOptions;
use ferry::store::{SqliteStore, Store};
use ferry::worker::{Bots, CommentCommands};

/// Retries fast enough for tests, limits high enough never to wait.
pub fn http_policy() -> HttpPolicy {
    HttpPolicy {
        max_attempts: 3,
        request_timeout: Duration::from_secs(5),
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_rate_limit_wait: Duration::from_secs(2),
        requests_per_second: NonZeroU32::new(1000).expect("rate"),
        burst: NonZeroU32::new(1000).expect("burst"),
    }
}

/// A server on a free loopback port keeping its store in `data` (created), with workers that
/// poll and back off in milliseconds. Forges are left for the caller to enable.
pub fn config(data: &Path) -> Config {
    std::fs::create_dir_all(data).expect("data dir");
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().expect("address");
    config.store.data_dir = data.to_owned();
    config.workers.poll_interval_ms = 20;
    config.workers.backoff_base_ms = 50;
    config.workers.backoff_max_ms = 200;
    config
}

pub fn store(config: &Config) -> Arc<dyn Store> {
    Arc::new(
        SqliteStore::open_for_serve(&config.queue_path(), &SqliteOptions::from(&config.store))
            .expect("store"),
    )
}

/// The engine for `project` in `remote`, acting through `forge` as the user `bot`.
pub fn engine(
    project: &str,
    remote: &Path,
    config: &Config,
    forge: Arc<dyn Forge>,
    store: &Arc<dyn Store>,
    bot: u64,
    csr: CsrSettings,
) -> Engine {
    let identity = BotIdentity {
        user_id: Some(UserId(bot)),
        username: "ferry-bot".into(),
    };
    let data = &config.store.data_dir;
    Engine::new(
        EngineConfig {
            gitops_project: ProjectPath::parse(project).expect("path"),
            gitops_remote: Remote::local(remote),
            data_dir: data.clone(),
            commit: CommitSettings::default(),
            bot: identity.clone(),
            csr,
            templates: Default::default(),
        },
        forge,
        EngineState::open(&data.join("engine.sqlite3")).expect("state"),
    )
    .with_comments(CommentCommands::new(
        Arc::clone(store),
        Bots {
            gitlab: identity.clone(),
            github: identity,
        },
    ))
}
