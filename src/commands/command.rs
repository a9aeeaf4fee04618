//! The typed commands the engine acts on.

use std::fmt;

pub use super::verbs::help::Help;
pub use super::verbs::hold::Hold;
pub use super::verbs::promote::Promote;
pub use super::verbs::rollback::Rollback;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Promote(Promote),
    Approve,
    Unapprove,
    Hold(Hold),
    Unhold,
    Rollback(Rollback),
    Retry,
    Status,
    Help(Help),
}

impl Command {
    /// The command's name as written after `/ferry`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Promote(_) => "promote",
            Self::Approve => "approve",
            Self::Unapprove => "unapprove",
            Self::Hold(_) => "hold",
            Self::Unhold => "unhold",
            Self::Rollback(_) => "rollback",
            Self::Retry => "retry",
            Self::Status => "status",
            Self::Help(_) => "help",
        }
    }
}

/// The canonical spelling, `/ferry ...`, which parses back to the same command.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("/ferry ")?;
        match self {
            Self::Promote(promote) => promote.fmt(f),
            Self::Hold(hold) => hold.fmt(f),
            Self::Rollback(rollback) => rollback.fmt(f),
            Self::Help(help) => help.fmt(f),
            Self::Approve | Self::Unapprove | Self::Unhold | Self::Retry | Self::Status => {
                f.write_str(self.name())
            }
        }
    }
}
