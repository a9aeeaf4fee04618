use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use json_patch::PatchOperation;

use super::write::{WriteArgs, finish, in_file};
use crate::kustomize::file;
use crate::yaml;

#[derive(Debug, Args)]
pub struct PatchArgs {
    /// The YAML file to patch.
    pub file: PathBuf,
    /// The patch: a JSON array of operations, `@FILE` to read it from a file, or `-` for stdin.
    pub patch: String,
    #[command(flatten)]
    pub write: WriteArgs,
}

fn read_patch(arg: &str) -> anyhow::Result<(String, String)> {
    if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the patch from stdin")?;
        Ok(("<stdin>".to_owned(), text))
    } else if let Some(path) = arg.strip_prefix('@') {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the patch file {path}"))?;
        Ok((path.to_owned(), text))
    } else {
        Ok(("<argument>".to_owned(), arg.to_owned()))
    }
}

pub fn run(args: PatchArgs) -> anyhow::Result<ExitCode> {
    let (source, text) = read_patch(&args.patch)?;
    let ops: Vec<PatchOperation> = serde_json::from_str(&text).map_err(|err| {
        anyhow::anyhow!(
            "{source}:{}:{}: not a JSON Patch: {err}; write a JSON array such as [{{\"op\": \"replace\", \"path\": \"/a\", \"value\": 1}}]",
            err.line(),
            err.column()
        )
    })?;
    let old = file::read(&args.file)?;
    let new = yaml::apply_patch(&old, &ops)
        .map_err(|err| in_file(&args.file, &err, err.has_position()))?;
    finish(&args.file, &old, &new, args.write)
}
