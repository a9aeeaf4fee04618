//! `ferry audit`: the promotion history of a target branch, read back from git.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use jiff::Timestamp;

use crate::gitops::AuditRecord;

use super::repo_args::RepoArgs;

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    #[arg(long)]
    pub environment: Option<String>,
    #[arg(long)]
    pub service: Option<String>,
    /// Only changes at or after T (RFC 3339 like `2026-12-01T09:00:00Z`, a date, or Unix seconds).
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub since: Option<i64>,
    /// Only changes at or before T.
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub until: Option<i64>,
    /// What ran where at T: the image of each environment and service at that moment.
    #[arg(long, value_name = "T", value_parser = parse_time, conflicts_with_all = ["since", "until"])]
    pub at: Option<i64>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let mirror = args.repo.mirror()?;
    let policy = match args.repo.policy(&mirror) {
        Ok(policy) => Some(policy),
        Err(err) => {
            eprintln!(
                "warning: {err:#}\nwarning: without a policy, hand edits of overlays are not detected"
            );
            None
        }
    };
    let log = args.repo.log(&mirror, policy.as_ref())?;
    let mut records: Vec<&AuditRecord> = match args.at {
        Some(at) => log.at(at),
        None => log
            .filter(
                args.environment.as_deref(),
                args.service.as_deref(),
                args.since,
                args.until,
            )
            .collect(),
    };
    if args.at.is_some() {
        records.retain(|r| {
            args.environment
                .as_deref()
                .is_none_or(|e| r.environment == e)
                && args.service.as_deref().is_none_or(|s| r.service == s)
        });
    } else {
        // Newest first, as `git log` shows history.
        records.reverse();
    }
    match args.format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&records)?),
        Format::Table => print_table(&records),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(records: &[&AuditRecord]) {
    let header = [
        "TIME",
        "ENVIRONMENT",
        "SERVICE",
        "ACTION",
        "IMAGE",
        "PREVIOUS",
        "SOURCE",
        "MR",
        "REQUESTED-BY",
        "APPROVED-BY",
        "COMMIT",
    ];
    let rows: Vec<[String; 11]> = records
        .iter()
        .map(|r| {
            [
                format_time(r.time),
                r.environment.clone(),
                r.service.clone(),
                r.action.as_str().to_owned(),
                r.image.clone(),
                r.previous.clone().unwrap_or_else(|| "-".into()),
                r.source
                    .as_ref()
                    .map(|s| {
                        let sha = s.sha.as_deref().map_or("-", |sha| &sha[..sha.len().min(7)]);
                        format!("{}@{}@{sha}", s.project, short_ref(&s.git_ref))
                    })
                    .unwrap_or_else(|| "-".into()),
                r.merge_request.clone().unwrap_or_else(|| "-".into()),
                r.requested_by.clone().unwrap_or_else(|| "-".into()),
                if r.approved_by.is_empty() {
                    "-".into()
                } else {
                    r.approved_by.join(",")
                },
                r.commit[..r.commit.len().min(12)].to_owned(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  "));
            }
        }
        outln!("{}", out.trim_end());
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
}

fn short_ref(full: &str) -> &str {
    full.strip_prefix("refs/heads/")
        .or_else(|| full.strip_prefix("refs/tags/"))
        .unwrap_or(full)
}

fn format_time(seconds: i64) -> String {
    Timestamp::from_second(seconds).map_or_else(|_| seconds.to_string(), |t| t.to_string())
}

/// RFC 3339, a plain date (midnight UTC), or Unix seconds.
pub fn parse_time(text: &str) -> anyhow::Result<i64> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    if let Ok(timestamp) = text.parse::<Timestamp>() {
        return Ok(timestamp.as_second());
    }
    let date: jiff::civil::Date = text.parse().with_context(|| {
        format!("`{text}` is not a time: write 2026-12-01T09:00:00Z, 2026-12-01 or Unix seconds")
    })?;
    Ok(date
        .to_zoned(jiff::tz::TimeZone::UTC)
        .context("date out of range")?
        .timestamp()
        .as_second())
}
