use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::config::Config;

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
    let service = crate::service::start(&config).await?;
    // Scripts and tests wait for this line (stderr: stdout stays free for data).
    eprintln!("ferry serve: listening on http://{}", service.local_addr());
    service.run_until_signal().await;
    Ok(())
}
