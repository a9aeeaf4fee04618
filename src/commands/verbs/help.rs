//! `help [COMMAND]`

use std::fmt;

use crate::commands::command::Command;
use crate::commands::messages::CommandError;
use crate::commands::spec::{ArgSpec, Arguments, CommandSpec, ValueKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Help {
    /// A command name from the table; `None` for the overview.
    pub command: Option<&'static str>,
}

pub(crate) const SPEC: CommandSpec = CommandSpec {
    name: "help",
    args: &[ArgSpec {
        name: "COMMAND",
        kind: ValueKind::Command,
        required: false,
        keyword: None,
        help: "the command to explain",
    }],
    options: &[],
    summary: "List the commands, or explain COMMAND.",
    examples: &["/ferry help", "/ferry help rollback"],
    build,
};

fn build(args: &Arguments) -> Result<Command, CommandError> {
    Ok(Command::Help(Help {
        command: args.command(0),
    }))
}

impl fmt::Display for Help {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("help")?;
        if let Some(command) = self.command {
            write!(f, " {command}")?;
        }
        Ok(())
    }
}
