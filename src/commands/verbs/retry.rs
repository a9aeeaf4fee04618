//! `retry`

use crate::commands::command::Command;
use crate::commands::spec::CommandSpec;

pub(crate) const SPEC: CommandSpec = CommandSpec {
    name: "retry",
    args: &[],
    options: &[],
    summary: "Run again the step that failed on this merge request (a push, a merge, a check).",
    examples: &["/ferry retry"],
    build: |_| Ok(Command::Retry),
};
