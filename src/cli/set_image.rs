use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::write::{WriteArgs, finish, in_file};
use crate::kustomize::render::{self, Target};
use crate::kustomize::{ImageSpec, Kustomization, KustomizeError, file};

#[derive(Debug, Args)]
pub struct SetImageArgs {
    /// A kustomization file, or a directory holding kustomization.yaml, kustomization.yml or
    /// Kustomization.
    pub path: PathBuf,
    /// Image specs, applied in order.
    #[arg(required = true, value_name = "SPEC")]
    pub specs: Vec<String>,
    #[command(flatten)]
    pub write: WriteArgs,
    /// Render the overlay with `kubectl kustomize` before and after, and refuse the edit unless
    /// the targeted container images changed as intended and nothing else did.
    #[arg(long)]
    pub verify_render: bool,
}

pub fn run(args: SetImageArgs) -> anyhow::Result<ExitCode> {
    let specs = args
        .specs
        .iter()
        .map(|s| ImageSpec::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let path = file::locate(&args.path)?;
    let old = file::read(&path)?;
    let at = |err: &KustomizeError| in_file(&path, err, err.has_position());
    let kustomization = Kustomization::parse(&old).map_err(|e| at(&e))?;
    let before = kustomization.images();
    let new = kustomization.set_images(&specs).map_err(|e| at(&e))?;
    if args.verify_render && old != new {
        let after = Kustomization::parse(&new).map_err(|e| at(&e))?.images();
        let targets: Vec<Target> = after
            .into_iter()
            .filter(|entry| {
                !before
                    .iter()
                    .any(|b| b.name == entry.name && b.reference() == entry.reference())
            })
            .map(|entry| Target { entry })
            .collect();
        let changes = render::verify(&path, &new, &targets)
            .context("render check failed; nothing was written")?;
        for change in &changes {
            eprintln!(
                "render: {} {}: {} -> {}",
                change.resource, change.field, change.before, change.after
            );
        }
    }
    finish(&path, &old, &new, args.write)
}
