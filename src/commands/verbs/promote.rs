//! `promote [ENVIRONMENT] [service=SERVICE]... [override="REASON"]`

use std::fmt;

use crate::commands::command::Command;
use crate::commands::messages::CommandError;
use crate::commands::spec::{ArgSpec, Arguments, CommandSpec, ValueKind};
use crate::domain::{EnvironmentName, ServiceName};

use super::options::{OVERRIDE, SERVICE, write_targets};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promote {
    /// `None`: the next environment the policy lists after the current one.
    pub environment: Option<EnvironmentName>,
    /// Empty: every service the promotion covers.
    pub services: Vec<ServiceName>,
    pub freeze_override: Option<String>,
}

pub(crate) const SPEC: CommandSpec = CommandSpec {
    name: "promote",
    args: &[ArgSpec {
        name: "ENVIRONMENT",
        kind: ValueKind::Environment,
        required: false,
        keyword: None,
        help: "where to promote to (default: the next environment in the policy)",
    }],
    options: &[SERVICE, OVERRIDE],
    summary: "Promote the image of this merge request to ENVIRONMENT: Ferry opens the promotion merge request.",
    examples: &[
        "/ferry promote",
        "/ferry promote production service=web",
        "/ferry promote production override=\"security fix, approved by the on-call lead\"",
    ],
    build,
};

fn build(args: &Arguments) -> Result<Command, CommandError> {
    Ok(Command::Promote(Promote {
        environment: args.environment(0),
        services: args.services(SERVICE.key),
        freeze_override: args.option_text(OVERRIDE.key),
    }))
}

impl fmt::Display for Promote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("promote")?;
        if let Some(environment) = &self.environment {
            write!(f, " {environment}")?;
        }
        write_targets(f, &self.services, self.freeze_override.as_deref())
    }
}
