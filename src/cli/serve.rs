use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use crate::config::Config;
use crate::store::sqlite::SqliteOptions;
use crate::store::{SqliteStore, Store};
use crate::worker::{Bots, CommentCommands, Handler, RecordingHandler};

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
    let handler = RecordingHandler::open(&record)
        .with_context(|| format!("cannot open the handler record {}", record.display()))?
        .with_comments(comments);
    let handler: Arc<dyn Handler> = Arc::new(handler);
    let running = crate::server::start(&config, store, handler).await?;
    // Scripts and tests wait for this line (stderr: stdout stays free for data).
    eprintln!("ferry serve: listening on http://{}", running.local_addr());
    running.run_until_signal().await;
    Ok(())
}
