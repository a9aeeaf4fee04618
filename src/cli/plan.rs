use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::policy::event::{self, Parsed};
use crate::policy::plan::{self, Plan};
use crate::policy::{self, LoadError};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The policy directory (holding promotion.yaml).
    #[arg(long, default_value = "policies")]
    pub policy: PathBuf,
    /// A webhook payload: GitLab push, tag push or merge request; GitHub push, create or
    /// pull_request.
    #[arg(long)]
    pub event: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let policy = match policy::load_dir(&args.policy) {
        Ok(policy) => policy,
        Err(LoadError::Invalid(diagnostics)) => {
            let list: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            anyhow::bail!(
                "the policy is not valid; run `ferry policy check {}`:\n{}",
                args.policy.display(),
                list.join("\n")
            );
        }
        Err(error) => return Err(error.into()),
    };
    let payload = std::fs::read_to_string(&args.event)
        .with_context(|| format!("cannot read the event file {}", args.event.display()))?;
    let parsed = event::parse(&payload).with_context(|| format!("in {}", args.event.display()))?;
    let plan = match parsed {
        Parsed::Event(event) => plan::plan(&policy, &event),
        Parsed::Ignored(reason) => {
            eprintln!("nothing to promote: {reason}");
            Plan::default()
        }
    };
    for skipped in &plan.skipped {
        eprintln!(
            "skipped {} in {}: {}",
            skipped.service, skipped.environment, skipped.reason
        );
    }
    match args.format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&plan.promotions)?),
        Format::Text => print_text(&plan),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(plan: &Plan) {
    if plan.promotions.is_empty() {
        outln!("no promotions");
    }
    for p in &plan.promotions {
        outln!(
            "promote {} to {}: {} in {} (gate: {}; from {} {} {})",
            p.service,
            p.environment,
            p.image,
            p.overlay,
            p.gate,
            p.source.project,
            p.source.git_ref,
            p.source
                .sha
                .as_ref()
                .map_or("(unknown commit)", |s| s.as_str()),
        );
    }
}
