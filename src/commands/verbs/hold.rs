//! `hold [REASON]` and `unhold`.

use std::fmt;

use crate::commands::command::Command;
use crate::commands::lexer::quote_if_needed;
use crate::commands::messages::CommandError;
use crate::commands::spec::{ArgSpec, Arguments, CommandSpec, ValueKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The rest of the line; `None` when blank.
    pub reason: Option<String>,
}

pub(crate) const HOLD: CommandSpec = CommandSpec {
    name: "hold",
    args: &[ArgSpec {
        name: "REASON",
        kind: ValueKind::Reason,
        required: false,
        keyword: None,
        help: "why, in words; the rest of the line",
    }],
    options: &[],
    summary: "Keep this promotion from merging until the hold is lifted.",
    examples: &["/ferry hold waiting for the QA sign-off"],
    build: build_hold,
};

pub(crate) const UNHOLD: CommandSpec = CommandSpec {
    name: "unhold",
    args: &[],
    options: &[],
    summary: "Lift your hold on this promotion.",
    examples: &["/ferry unhold"],
    build: |_| Ok(Command::Unhold),
};

fn build_hold(args: &Arguments) -> Result<Command, CommandError> {
    Ok(Command::Hold(Hold {
        reason: args.text(0).filter(|reason| !reason.trim().is_empty()),
    }))
}

impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("hold")?;
        if let Some(reason) = &self.reason {
            write!(f, " {}", quote_if_needed(reason))?;
        }
        Ok(())
    }
}
