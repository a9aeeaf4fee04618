//! The record of comment commands: which commands of which comment were handed to the engine
//! and whether they ran.
//!
//! Why it is in the store: a comment arrives again whenever it is edited (a new delivery
//! with the whole new body), and a delivery can be handled twice after a crash. Commands are
//! recorded, keyed by their comment and their identity within it, in the same durable store
//! as the deliveries; an edit then hands on only the commands not recorded before, and a
//! repeat of the same delivery hands on only those it recorded and that have not finished.

use std::fmt;
use std::time::SystemTime;

use super::{EventId, Forge};
use crate::domain::{MrIid, ProjectPath};

/// The comment a command was written in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommentKey {
    pub forge: Forge,
    pub project: ProjectPath,
    pub merge_request: MrIid,
    /// GitLab note id, GitHub comment id: stable across edits.
    pub comment_id: u64,
}

/// One command of a comment, as its current version says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCommand {
    /// The command's identity (`commands::CommandLine::identity`): its canonical spelling.
    pub text: String,
    /// 1 for the first command with this text in the comment, 2 for the second...: two
    /// identical lines are two commands, and a line added above does not renumber them.
    pub occurrence: u32,
    /// Where it is in this version of the comment (for answers; not part of the key).
    pub line: usize,
}

/// The store's own number for a recorded command: the engine's idempotency key for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(pub i64);

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandState {
    /// Recorded, handed to the engine, not known to have finished.
    Pending,
    /// The engine ran it (or answered its error).
    Done,
}

impl CommandState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
        }
    }
}

impl fmt::Display for CommandState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CommandState {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "pending" => Ok(Self::Pending),
            "done" => Ok(Self::Done),
            other => Err(format!("unknown command state `{other}`")),
        }
    }
}

/// A recorded command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRecord {
    pub id: CommandId,
    pub comment: CommentKey,
    pub text: String,
    pub occurrence: u32,
    /// Its line in the version of the comment that first had it.
    pub line: usize,
    /// The delivery that first had it: only that delivery hands it to the engine.
    pub event: EventId,
    pub state: CommandState,
    pub recorded_at: SystemTime,
    pub finished_at: Option<SystemTime>,
}
