//! `ferry demo`: the README's first command.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::demo::{Story, World};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the sandbox goes; a second run in the same directory starts it afresh.
    #[arg(long, default_value = "ferry-demo")]
    pub dir: PathBuf,
    /// Stop once the story is told, instead of serving on for `ferry mr ...` commands.
    #[arg(long)]
    pub exit: bool,
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(demo(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let world = World::start(&args.dir).await?;
    let stdout = std::io::stdout();
    let played = Story::new(&world, stdout.lock()).play().await;
    let World {
        service, sandbox, ..
    } = world;
    if let Err(error) = played {
        service.shutdown().await;
        return Err(error.context(format!(
            "the demo stopped; what it did so far is in {}",
            sandbox.dir.display()
        )));
    }
    let mut out = std::io::stdout().lock();
    if args.exit {
        writeln!(
            out,
            "\nDone. Everything is still in {}.",
            sandbox.dir.display()
        )?;
        service.shutdown().await;
        return Ok(());
    }
    let forge = sandbox.forge.display();
    writeln!(
        out,
        "\nFerry keeps serving on http://{addr}; try, in another terminal:\n\
         \x20 ferry mr list --state all --project eap/gitops --forge-dir {forge}\n\
         \x20 ferry mr comment 3 '/ferry help' --as alice --project eap/gitops --forge-dir {forge}\n\
         Ctrl-C stops it.",
        addr = service.local_addr(),
    )?;
    drop(out);
    service.run_until_signal().await;
    Ok(())
}
