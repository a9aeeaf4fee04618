//! `ferry mr`: merge requests of the local forge from the command line, as a named user.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};

use super::EXIT_REJECTED;
use crate::domain::{CommitSha, MrIid, ProjectPath};
use crate::forge::local::{LocalError, MrFilter, MrView};
use crate::forge::{LocalForge, MergeOptions, MergeOutcome, MrState};

#[derive(Debug, Args)]
pub struct MrArgs {
    /// Where the local forge keeps its state (`ferry demo` prints it).
    #[arg(
        long,
        env = "FERRY_FORGE_DIR",
        default_value = ".ferry/local-forge",
        global = true
    )]
    pub forge_dir: PathBuf,
    /// The account to act as; created on first use.
    #[arg(long = "as", env = "FERRY_USER", global = true, value_name = "USER")]
    pub user: Option<String>,
    /// The project; may be left out when the forge serves only one.
    #[arg(long, global = true)]
    pub project: Option<String>,
    #[command(subcommand)]
    pub command: MrCommand,
}

#[derive(Debug, Subcommand)]
pub enum MrCommand {
    /// List merge requests.
    List {
        #[arg(long, value_enum, default_value_t = StateFilter::Open)]
        state: StateFilter,
    },
    /// Show a merge request: its branches, head, statuses, approvals, body and comments.
    Show { number: u64 },
    /// Comment on a merge request (a `/ferry ...` command line is read by Ferry).
    Comment {
        number: u64,
        /// The text; several words are joined with spaces.
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
    },
    /// Approve the current head of a merge request.
    Approve { number: u64 },
    /// Merge a merge request with a merge commit.
    Merge {
        number: u64,
        /// Merge only if the head still is this commit (default: the head shown now).
        #[arg(long)]
        sha: Option<String>,
        /// Keep the source branch after the merge.
        #[arg(long)]
        keep_branch: bool,
    },
    /// Open a merge request from a branch already pushed to the project's repository.
    Open {
        source: String,
        #[arg(long, default_value = "main")]
        target: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        body: String,
    },
    /// Record pushes as the forge's push webhook would; for a `post-receive` hook, reads
    /// `<old-sha> <new-sha> <ref>` lines from standard input (docs/setup.md).
    PushHook,
    /// Serve a project from a git repository (a path to a bare repository), or move it.
    AddProject { project: String, repository: String },
    /// Create or change an account: its groups (replacing its old ones) and its access in
    /// every project (none, read, triage, write, maintain, admin).
    AddUser {
        name: String,
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
        #[arg(long, default_value = "write")]
        access: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateFilter {
    Open,
    Merged,
    Closed,
    All,
}

pub fn run(args: MrArgs) -> anyhow::Result<ExitCode> {
    let dir = args.forge_dir.as_path();
    if !LocalForge::exists(dir) {
        bail!(
            "no local forge in {}; `ferry demo` creates one, or pass --forge-dir (FERRY_FORGE_DIR) where it is",
            dir.display()
        );
    }
    match &args.command {
        MrCommand::List { state } => {
            let forge = LocalForge::open_to_read(dir)?;
            let project = args.project.as_deref().map(parse_project).transpose()?;
            list(&forge, project, *state)
        }
        MrCommand::Show { number } => {
            let forge = LocalForge::open_to_read(dir)?;
            let project = project(&forge, args.project.as_deref())?;
            show(&forge, &project, MrIid(*number))
        }
        MrCommand::Comment { number, text } => {
            let forge = acting(dir, args.user.as_deref())?;
            let project = project(&forge, args.project.as_deref())?;
            let comment = forge.comment(&project, MrIid(*number), &text.join(" "))?;
            outln!(
                "{} commented on {project}!{number} (comment {})",
                forge.user().username,
                comment.id
            );
            Ok(ExitCode::SUCCESS)
        }
        MrCommand::Approve { number } => {
            let forge = acting(dir, args.user.as_deref())?;
            let project = project(&forge, args.project.as_deref())?;
            let approval = forge.approve(&project, MrIid(*number))?;
            let head = approval
                .commit
                .as_ref()
                .map(CommitSha::short)
                .unwrap_or("?");
            outln!(
                "{} approved {project}!{number} at {head}; the approval counts until the head moves",
                approval.username
            );
            Ok(ExitCode::SUCCESS)
        }
        MrCommand::Merge {
            number,
            sha,
            keep_branch,
        } => {
            let forge = acting(dir, args.user.as_deref())?;
            let project = project(&forge, args.project.as_deref())?;
            merge(
                &forge,
                &project,
                MrIid(*number),
                sha.as_deref(),
                *keep_branch,
            )
        }
        MrCommand::Open {
            source,
            target,
            title,
            body,
        } => {
            let forge = acting(dir, args.user.as_deref())?;
            let project = project(&forge, args.project.as_deref())?;
            super::mr_write::open(&forge, &project, source, target, title, body)
        }
        MrCommand::AddProject {
            project,
            repository,
        } => {
            let forge = acting(dir, args.user.as_deref())?;
            super::mr_write::add_project(&forge, &parse_project(project)?, repository)
        }
        MrCommand::AddUser {
            name,
            groups,
            access,
        } => {
            let forge = acting(dir, args.user.as_deref())?;
            super::mr_write::add_user(&forge, name, groups, access)
        }
        MrCommand::PushHook => {
            let forge = acting(dir, args.user.as_deref())?;
            let project = project(&forge, args.project.as_deref())?;
            super::mr_write::push_hook(&forge, &project, std::io::stdin().lock())
        }
    }
}

fn acting(dir: &Path, user: Option<&str>) -> anyhow::Result<LocalForge> {
    let Some(user) = user else {
        bail!("say who you are: pass --as NAME or set FERRY_USER");
    };
    Ok(LocalForge::open(dir, user)?)
}

fn parse_project(text: &str) -> anyhow::Result<ProjectPath> {
    Ok(ProjectPath::parse(text)?)
}

fn project(forge: &LocalForge, given: Option<&str>) -> anyhow::Result<ProjectPath> {
    if let Some(given) = given {
        return parse_project(given);
    }
    let projects = forge.projects()?;
    match projects.as_slice() {
        [(only, _)] => Ok(only.clone()),
        [] => bail!(
            "the local forge in {} serves no project yet; `ferry demo` adds one",
            forge.dir().display()
        ),
        many => bail!(
            "the local forge serves {} projects; pass --project (one of: {})",
            many.len(),
            many.iter()
                .map(|(path, _)| path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn state_name(state: MrState) -> &'static str {
    match state {
        MrState::Open => "open",
        MrState::Merged => "merged",
        MrState::Closed => "closed",
    }
}

fn short(sha: Option<&CommitSha>) -> &str {
    sha.map(CommitSha::short).unwrap_or("-")
}

fn list(
    forge: &LocalForge,
    project: Option<ProjectPath>,
    state: StateFilter,
) -> anyhow::Result<ExitCode> {
    let state = match state {
        StateFilter::Open => Some(MrState::Open),
        StateFilter::Merged => Some(MrState::Merged),
        StateFilter::Closed => Some(MrState::Closed),
        StateFilter::All => None,
    };
    let views = forge.list(&MrFilter { project, state })?;
    if views.is_empty() {
        outln!("no merge requests (`--state all` lists merged and closed ones too)");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 6]> = views
        .iter()
        .map(|view| {
            [
                format!("{}!{}", view.project, view.mr.iid),
                state_name(view.mr.state).to_owned(),
                format!("{} -> {}", view.mr.source_branch, view.mr.target_branch),
                short(view.mr.head_sha.as_ref()).to_owned(),
                view.author.clone(),
                view.mr.title.clone(),
            ]
        })
        .collect();
    let header = ["MR", "STATE", "BRANCHES", "HEAD", "AUTHOR", "TITLE"].map(str::to_owned);
    print_table(&header, &rows);
    Ok(ExitCode::SUCCESS)
}

fn print_table<const N: usize>(header: &[String; N], rows: &[[String; N]]) {
    let mut widths = header.clone().map(|cell| cell.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(header).chain(rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, width))| {
                if i + 1 == N {
                    cell.clone()
                } else {
                    format!("{cell:width$}")
                }
            })
            .collect();
        outln!("{}", line.join("  ").trim_end());
    }
}

fn show(forge: &LocalForge, project: &ProjectPath, iid: MrIid) -> anyhow::Result<ExitCode> {
    let view: MrView = forge.view(project, iid)?;
    let mr = &view.mr;
    outln!("{project}!{iid}  {}  {}", state_name(mr.state), mr.title);
    outln!(
        "  {} -> {}, head {}, opened by {} at {}",
        mr.source_branch,
        mr.target_branch,
        short(mr.head_sha.as_ref()),
        view.author,
        view.created_at
    );
    if !mr.labels.is_empty() {
        outln!("  labels: {}", mr.labels.join(", "));
    }
    if let Some(merged) = &view.merge_sha {
        outln!("  merged as {merged}");
    }
    if let Some(head) = &mr.head_sha {
        let statuses = forge.statuses(project, head)?;
        outln!("\nStatuses on {}:", head.short());
        if statuses.is_empty() {
            outln!("  none");
        }
        for status in statuses {
            outln!(
                "  {:<14} {:<8} {}",
                status.context,
                status.state,
                status.description.unwrap_or_default()
            );
        }
    }
    let approvals = forge.approval_list(project, iid)?;
    let names: Vec<&str> = approvals.iter().map(|a| a.username.as_str()).collect();
    outln!(
        "\nApprovals of this head: {}",
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    );
    if !mr.body.trim().is_empty() {
        outln!("\n{}", indent(&mr.body));
    }
    let comments = forge.comments_shown(project, iid)?;
    outln!("\nComments ({}):", comments.len());
    for comment in comments {
        let edited = if comment.edited { ", edited" } else { "" };
        let reactions: Vec<String> = comment
            .reactions
            .iter()
            .map(|(name, users)| format!(":{name}: {}", users.join(", ")))
            .collect();
        let reactions = if reactions.is_empty() {
            String::new()
        } else {
            format!("  [{}]", reactions.join("; "))
        };
        outln!(
            "\n  #{} {} at {}{edited}{reactions}",
            comment.id,
            comment.author,
            comment.created_at
        );
        outln!("{}", indent(&indent(&comment.body)));
    }
    Ok(ExitCode::SUCCESS)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                String::new()
            } else {
                format!("  {line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn merge(
    forge: &LocalForge,
    project: &ProjectPath,
    iid: MrIid,
    sha: Option<&str>,
    keep_branch: bool,
) -> anyhow::Result<ExitCode> {
    let sha = match sha {
        Some(text) => CommitSha::parse(text)?,
        None => forge.get(project, iid)?.head_sha.with_context(|| {
            format!("{project}!{iid} has no head (its source branch is gone); nothing to merge")
        })?,
    };
    let options = MergeOptions {
        sha: sha.clone(),
        when_pipeline_succeeds: false,
        commit_message: None,
        remove_source_branch: !keep_branch,
    };
    let mr = forge.get(project, iid)?;
    let outcome = match forge.accept(project, iid, &options) {
        Ok(outcome) => outcome,
        // Not allowed is a refusal like the outcomes below, not a failure to run.
        Err(LocalError::Forbidden(reason)) => {
            eprintln!("not merged: {reason}");
            return Ok(ExitCode::from(EXIT_REJECTED));
        }
        Err(other) => return Err(other.into()),
    };
    match outcome {
        MergeOutcome::Merged { merge_commit } => {
            outln!(
                "{} merged {project}!{iid} into {} as {}",
                forge.user().username,
                mr.target_branch,
                short(merge_commit.as_ref())
            );
            Ok(ExitCode::SUCCESS)
        }
        MergeOutcome::AutoMergeScheduled => {
            outln!("{project}!{iid} will be merged when its pipeline succeeds");
            Ok(ExitCode::SUCCESS)
        }
        MergeOutcome::ShaMismatch => {
            eprintln!(
                "not merged: the head of {project}!{iid} is no longer {}; look at the new commits (`ferry mr show {iid}`) and merge again",
                sha.short()
            );
            Ok(ExitCode::from(EXIT_REJECTED))
        }
        MergeOutcome::NotMergeable { reason } => {
            eprintln!("not merged: {reason}");
            Ok(ExitCode::from(EXIT_REJECTED))
        }
    }
}
