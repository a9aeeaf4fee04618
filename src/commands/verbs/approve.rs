//! `approve` and `unapprove`.

use crate::commands::command::Command;
use crate::commands::spec::CommandSpec;

pub(crate) const APPROVE: CommandSpec = CommandSpec {
    name: "approve",
    args: &[],
    options: &[],
    summary: "Approve this promotion; it counts towards the environment's manual gate.",
    examples: &["/ferry approve"],
    build: |_| Ok(Command::Approve),
};

pub(crate) const UNAPPROVE: CommandSpec = CommandSpec {
    name: "unapprove",
    args: &[],
    options: &[],
    summary: "Withdraw your approval of this promotion.",
    examples: &["/ferry unapprove"],
    build: |_| Ok(Command::Unapprove),
};
