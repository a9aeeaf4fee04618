//! The command table: the one list the parser reads commands from and help is written from.

use super::spec::CommandSpec;
use super::verbs::{approve, help, hold, promote, retry, rollback, status};

pub static COMMANDS: &[&CommandSpec] = &[
    &promote::SPEC,
    &approve::APPROVE,
    &approve::UNAPPROVE,
    &hold::HOLD,
    &hold::UNHOLD,
    &rollback::SPEC,
    &retry::SPEC,
    &status::SPEC,
    &help::SPEC,
];

/// The command named `name`, ignoring ASCII case.
pub fn find(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS
        .iter()
        .copied()
        .find(|spec| spec.name.eq_ignore_ascii_case(name))
}

pub(super) fn names() -> Vec<&'static str> {
    COMMANDS.iter().map(|spec| spec.name).collect()
}
