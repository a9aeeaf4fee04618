//! What `set-image` and `patch` share: `--check`, `--dry-run`, `--diff`, and the atomic write.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::EXIT_REJECTED;
use crate::kustomize::file;

#[derive(Debug, Clone, Copy, Args)]
pub struct WriteArgs {
    /// Print the change as a unified diff and write nothing.
    #[arg(long, conflicts_with = "check")]
    pub dry_run: bool,
    /// Print the change as a unified diff after writing it.
    #[arg(long)]
    pub diff: bool,
    /// Write nothing; exit 1 if the file would change, 0 if it would not.
    #[arg(long)]
    pub check: bool,
}

/// Finishes an edit of `path` from `old` to `new` as the flags ask.
pub fn finish(path: &Path, old: &str, new: &str, args: WriteArgs) -> anyhow::Result<ExitCode> {
    let changed = old != new;
    let mut stdout = std::io::stdout().lock();
    if args.check {
        if changed {
            writeln!(stdout, "{}: would change", path.display())?;
            return Ok(ExitCode::from(EXIT_REJECTED));
        }
        writeln!(stdout, "{}: up to date", path.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        write!(stdout, "{}", file::unified_diff(path, old, new))?;
        return Ok(ExitCode::SUCCESS);
    }
    if !changed {
        writeln!(
            stdout,
            "{}: already up to date, nothing written",
            path.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    file::write_atomic(path, new)?;
    if args.diff {
        write!(stdout, "{}", file::unified_diff(path, old, new))?;
    } else {
        writeln!(stdout, "{}: updated", path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// An error about `path`: `path:line:col: message` when the message has a position,
/// `path: message` otherwise.
pub fn in_file(path: &Path, err: &dyn std::fmt::Display, has_position: bool) -> anyhow::Error {
    let separator = if has_position { ":" } else { ": " };
    anyhow::anyhow!("{}{separator}{err}", path.display())
}
