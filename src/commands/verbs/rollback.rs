//! `rollback ENVIRONMENT [to VERSION] [service=SERVICE]... [override="REASON"]`

use std::fmt;

use crate::commands::command::Command;
use crate::commands::messages::CommandError;
use crate::commands::spec::{ArgSpec, Arguments, CommandSpec, ValueKind};
use crate::domain::{EnvironmentName, ServiceName, Tag};

use super::options::{OVERRIDE, SERVICE, write_targets};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    pub environment: EnvironmentName,
    /// `None`: the image the environment ran before the current one, from the audit history.
    pub to: Option<Tag>,
    pub services: Vec<ServiceName>,
    pub freeze_override: Option<String>,
}

pub(crate) const SPEC: CommandSpec = CommandSpec {
    name: "rollback",
    args: &[
        ArgSpec {
            name: "ENVIRONMENT",
            kind: ValueKind::Environment,
            required: true,
            keyword: None,
            help: "the environment to roll back",
        },
        ArgSpec {
            name: "VERSION",
            kind: ValueKind::Version,
            required: false,
            keyword: Some("to"),
            help: "the image tag to go back to (default: the one before the current image)",
        },
    ],
    options: &[SERVICE, OVERRIDE],
    summary: "Put ENVIRONMENT back on the previous image, or on VERSION, in one promotion merge request.",
    examples: &[
        "/ferry rollback production",
        "/ferry rollback staging to release-1.4.0.0d1a26e service=web",
    ],
    build,
};

fn build(args: &Arguments) -> Result<Command, CommandError> {
    Ok(Command::Rollback(Rollback {
        environment: args.environment(0).ok_or_else(|| args.missing(0))?,
        to: args.version(1),
        services: args.services(SERVICE.key),
        freeze_override: args.option_text(OVERRIDE.key),
    }))
}

impl fmt::Display for Rollback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rollback {}", self.environment)?;
        if let Some(version) = &self.to {
            write!(f, " to {version}")?;
        }
        write_targets(f, &self.services, self.freeze_override.as_deref())
    }
}
