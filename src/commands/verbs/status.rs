//! `status`

use crate::commands::command::Command;
use crate::commands::spec::CommandSpec;

pub(crate) const SPEC: CommandSpec = CommandSpec {
    name: "status",
    args: &[],
    options: &[],
    summary: "Show where this promotion stands: gate, approvals, holds, freeze, pipelines.",
    examples: &["/ferry status"],
    build: |_| Ok(Command::Status),
};
