//! Command-line interface: one file per subcommand.
//!
//! Every subcommand's `run` returns `anyhow::Result<ExitCode>`. The convention for exit codes,
//! shared by all subcommands so scripts can rely on it:
//! - 0: done, or the check passed;
//! - 1: the check failed / the input was rejected (the reasons are printed);
//! - 2: usage, input or I/O error (the message says where and what to do).

/// `println!` for the subcommands: see [`out`].
macro_rules! outln {
    () => {
        $crate::cli::out::write(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::cli::out::write(format_args!($($arg)*), true)
    };
}

/// `print!` for the subcommands: see [`out`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::out::write(format_args!($($arg)*), false)
    };
}

mod audit;
mod csr;
mod demo;
mod events;
mod mr;
mod mr_write;
mod out;
mod patch;
mod plan;
mod policy;
mod promote;
mod repo_args;
mod rollback;
mod serve;
mod set_image;
mod write;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Ferry moves container images through environments by merge request.
///
/// Every change Ferry makes is a small, lossless edit committed to a GitOps repository.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set container images in a kustomization file, changing only the bytes that must change.
    ///
    /// SPEC forms (as `kustomize edit set image`):
    ///   NAME:TAG  NAME@DIGEST  NAME:TAG@DIGEST
    ///   NAME=NEWNAME  NAME=NEWNAME:TAG  NAME=NEWNAME@DIGEST  NAME=NEWNAME:TAG@DIGEST  NAME=:TAG
    /// `*` as NEWNAME, TAG or DIGEST keeps the value the entry has. A tag is looked for only
    /// after the last `/`, so `localhost:5000/app` has no tag. Specs apply in order, in one write.
    ///
    /// Unlike kustomize, fields a spec does not mention are kept (NAME:TAG keeps newName).
    /// Setting only a tag drops a pinned digest; setting only a digest drops the tag.
    /// Comments, key order, quoting, indentation and line ends are kept byte for byte.
    ///
    /// Exit codes: 0 done (or up to date), 1 `--check` found a change, 2 bad input.
    #[command(verbatim_doc_comment)]
    SetImage(set_image::SetImageArgs),
    /// Apply an RFC 6902 JSON Patch to a YAML file, keeping comments and formatting.
    ///
    /// Supports add, remove, replace, move, copy and test. Only the bytes of the nodes the
    /// patch touches change; the result is re-parsed and checked before anything is written.
    Patch(patch::PatchArgs),
    /// Check promotion policy files.
    Policy(policy::PolicyArgs),
    /// Show the promotions a webhook event would trigger (dry run).
    Plan(plan::PlanArgs),
    /// Check CSRs and sign cluster client certificates (see docs/csr.md).
    Csr(csr::CsrArgs),
    /// Receive GitLab and GitHub webhooks and process them from a durable queue
    /// (see docs/configuration.md and docs/operations.md).
    Serve(serve::ServeArgs),
    /// Inspect and retry stored webhook deliveries (see docs/operations.md).
    Events(events::EventsArgs),
    /// Promote an image: edit the overlay, commit with audit trailers, push (no forge needed).
    ///
    /// Prints the new commit SHA. Retries on a race with other writers; the target branch is
    /// never force-pushed. Exit codes: 0 pushed (or already so), 1 the policy refuses, 2 error.
    Promote(promote::PromoteArgs),
    /// Roll a service in an environment back to its previous (or a named) image, from history.
    Rollback(rollback::RollbackArgs),
    /// Show the promotion history of a GitOps repository, read back from git (see docs/gitops.md).
    Audit(audit::AuditArgs),
    /// Merge requests of the local forge: list, show, comment, approve, merge (docs/forges.md).
    Mr(mr::MrArgs),
    /// The whole job on this machine: a sandbox GitOps repository, the local forge, and the
    /// gitflow story from develop to production, with audit, rollback and a certificate.
    Demo(demo::DemoArgs),
}

/// Exit code for "the check failed" (see the module docs).
pub const EXIT_REJECTED: u8 = 1;
/// Exit code for usage, input and I/O errors.
pub const EXIT_ERROR: u8 = 2;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    // SAFETY: first thing in the process; no thread has been spawned yet.
    unsafe { crate::gitops::tuning::configure_libgit2() };
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(EXIT_ERROR)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_tracing();
    let result = match cli.command {
        Command::SetImage(args) => set_image::run(args),
        Command::Patch(args) => patch::run(args),
        Command::Policy(args) => policy::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Csr(args) => csr::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Events(args) => events::run(args),
        Command::Promote(args) => promote::run(args),
        Command::Rollback(args) => rollback::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Mr(args) => mr::run(args),
        Command::Demo(args) => demo::run(args),
    };
    match result {
        Ok(code) => code,
        // `ferry audit | head`: the reader has all it wanted.
        Err(err) if out::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Logs go to stderr, filtered by `FERRY_LOG` (default: warnings only), so stdout stays
/// machine-readable.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
