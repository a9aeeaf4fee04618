//! `ferry mr open`, `push-hook`, `add-project` and `add-user`: what a person, a git hook or
//! an admin does on plain git hosting that a forge's UI and webhooks would do elsewhere.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::domain::{CommitSha, GitRef, ProjectPath};
use crate::forge::local::parse_access;
use crate::forge::{LocalForge, NewMergeRequest};

/// Opens a merge request from `source` into `target` as the acting user.
pub fn open(
    forge: &LocalForge,
    project: &ProjectPath,
    source: &str,
    target: &str,
    title: &str,
    body: &str,
) -> anyhow::Result<ExitCode> {
    let mr = forge.create(
        project,
        &NewMergeRequest {
            source_branch: source.to_owned(),
            target_branch: target.to_owned(),
            title: title.to_owned(),
            body: body.to_owned(),
            labels: Vec::new(),
        },
    )?;
    outln!(
        "{} opened {project}!{} \"{}\" ({source} -> {target}); Ferry checks it once `ferry serve` runs",
        forge.user().username,
        mr.iid,
        mr.title
    );
    Ok(ExitCode::SUCCESS)
}

/// Records the pushes a `post-receive` hook is given on standard input, one
/// `<old-sha> <new-sha> <ref>` line each, as pushes by the acting user. Deleted refs and refs
/// other than branches and tags are skipped.
pub fn push_hook(
    forge: &LocalForge,
    project: &ProjectPath,
    input: impl BufRead,
) -> anyhow::Result<ExitCode> {
    for (number, line) in input.lines().enumerate() {
        let line = line.context("cannot read the pushed refs from standard input")?;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, new, full_ref] = fields.as_slice() else {
            bail!(
                "stdin line {}: `{line}` is not `<old-sha> <new-sha> <ref>` (what git gives a post-receive hook)",
                number + 1
            );
        };
        let sha = CommitSha::parse(new)
            .map_err(|error| anyhow::anyhow!("stdin line {}: {error}", number + 1))?;
        if sha.is_null() {
            continue; // a deleted branch or tag promotes nothing
        }
        let Some(git_ref) = GitRef::from_full_name(full_ref) else {
            continue;
        };
        let seq = forge.record_push(project, &git_ref, &sha, &forge.user().username)?;
        outln!(
            "recorded the push of {} to {} {} (event {seq})",
            sha.short(),
            project,
            git_ref.full_name()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn add_project(
    forge: &LocalForge,
    project: &ProjectPath,
    repository: &str,
) -> anyhow::Result<ExitCode> {
    forge.add_project(project, repository)?;
    outln!("the local forge serves {project} from {repository}");
    Ok(ExitCode::SUCCESS)
}

pub fn add_user(
    forge: &LocalForge,
    name: &str,
    groups: &[String],
    access: &str,
) -> anyhow::Result<ExitCode> {
    let access = parse_access(access)?;
    let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
    let user = forge.add_user(name, &groups, access)?;
    outln!(
        "{} (user:{}) has {} access; groups: {}",
        user.username,
        user.id,
        format!("{access:?}").to_lowercase(),
        if groups.is_empty() {
            "none".to_owned()
        } else {
            groups.join(", ")
        }
    );
    Ok(ExitCode::SUCCESS)
}
