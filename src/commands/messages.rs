//! Every sentence the command parser says to a person: parse errors and help framing. Kept in
//! one file so the wording can be reviewed and tested together.

use std::fmt;

use thiserror::Error;

/// Where in a comment something is: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` of `text`, which is line `line` of the comment.
    pub(crate) fn in_line(line: usize, text: &str, offset: usize) -> Self {
        let before = text.get(..offset).unwrap_or(text);
        Self {
            line,
            column: before.chars().count() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a command line could not be read. Each message says where, what, and what to write.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    #[error(
        "{at}: `{prefix}` needs a command, for example `{prefix} status`; `{prefix} help` lists them all"
    )]
    MissingVerb { at: Position, prefix: String },
    #[error("{at}: `{found}` is not a Ferry command{}; `/ferry help` lists them all", did_you_mean(*.suggestion))]
    UnknownVerb {
        at: Position,
        found: String,
        suggestion: Option<&'static str>,
    },
    #[error("{at}: `{command}` has no option `{key}`{}; it takes {valid}", did_you_mean(*.suggestion))]
    UnknownOption {
        at: Position,
        command: &'static str,
        key: String,
        suggestion: Option<&'static str>,
        valid: String,
    },
    #[error("{at}: `{key}` is given twice; give it once")]
    DuplicateOption { at: Position, key: &'static str },
    #[error("{at}: `{key}=` has no value; write `{key}=VALUE`, in quotes if it contains spaces")]
    MissingValue { at: Position, key: &'static str },
    #[error("{at}: `{command}` needs {argument}; write `{usage}`")]
    MissingArgument {
        at: Position,
        command: &'static str,
        argument: &'static str,
        usage: String,
    },
    #[error("{at}: `{found}` is not expected here{}; write `{usage}`", did_you_mean(*.suggestion))]
    UnexpectedArgument {
        at: Position,
        found: String,
        suggestion: Option<&'static str>,
        usage: String,
    },
    #[error("{at}: {detail}")]
    InvalidValue { at: Position, detail: String },
    #[error("{at}: this quote is never closed; end the value with a `\"`")]
    UnterminatedQuote { at: Position },
    #[error(
        "{at}: `\\{found}` is not an escape Ferry knows; inside quotes write `\\\\` for a backslash, `\\\"` for a quote, `\\n` for a new line, `\\t` for a tab"
    )]
    BadEscape { at: Position, found: char },
    #[error("{at}: put a space after the closing quote")]
    TextAfterQuote { at: Position },
    #[error("{at}: only {limit} commands are run per comment; write the others in a new comment")]
    TooManyCommands { at: Position, limit: usize },
}

impl CommandError {
    pub fn position(&self) -> Position {
        match self {
            Self::MissingVerb { at, .. }
            | Self::UnknownVerb { at, .. }
            | Self::UnknownOption { at, .. }
            | Self::DuplicateOption { at, .. }
            | Self::MissingValue { at, .. }
            | Self::MissingArgument { at, .. }
            | Self::UnexpectedArgument { at, .. }
            | Self::InvalidValue { at, .. }
            | Self::UnterminatedQuote { at }
            | Self::BadEscape { at, .. }
            | Self::TextAfterQuote { at }
            | Self::TooManyCommands { at, .. } => *at,
        }
    }
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |word| format!("; did you mean `{word}`?"))
}

/// Wording of value errors (the part after the position).
pub(crate) fn empty_reason(what: &str) -> String {
    format!("{what} cannot be empty: say why")
}

pub(crate) fn invalid_version(version: &str) -> String {
    format!(
        "`{version}` is not a version: write an image tag such as `v1.4.0` or `release-1.4.0.0d1a26e`"
    )
}

/// Help framing. The commands, their arguments and summaries come from the command table.
pub(crate) const HELP_TITLE: &str = "**Ferry commands**";
pub(crate) const HELP_INTRO: &str =
    "Write each command on its own line of a merge request comment, starting with";
pub(crate) const HELP_COLUMNS: &str = "| Command | What it does |\n|---|---|";
pub(crate) const HELP_FOOTER: &str = "Put option values with spaces in quotes: `override=\"security fix\"`. \
Lines in code blocks, inline code and quotes are not run. \
`/ferry help COMMAND` explains one command.";
pub(crate) const HELP_ARGUMENTS: &str = "Arguments and options:";
pub(crate) const HELP_EXAMPLES: &str = "Examples:";
pub(crate) const HELP_REPEATABLE: &str = "(may be given several times)";
pub(crate) const HELP_NO_ARGUMENTS: &str = "This command takes no arguments.";
