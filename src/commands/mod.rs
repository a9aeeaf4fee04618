//! Comment commands: the lines of a merge request comment addressed to Ferry.
//!
//! A command is a line that starts with `/ferry ` or `@<bot-username> ` (bare `/approve` and
//! friends are GitLab quick actions), outside code blocks, quotes and HTML comments. Every
//! command in a comment is returned with its line number, parsed or with an error that points
//! at the line and column and suggests the nearest valid word. Pure: no I/O.
//!
//! The grammar is one table ([`table::COMMANDS`]): each row, in its own file under `verbs/`,
//! gives a command's name, arguments, options and summary. The parser reads commands from it
//! and [`help`] writes help from it, so they cannot disagree. All wording is in `messages.rs`.
//! See `docs/commands.md`.

mod address;
mod command;
pub mod help;
mod lexer;
mod markdown;
mod messages;
mod parse;
pub mod spec;
mod suggest;
pub mod table;
mod verbs;

pub use command::{Command, Help, Hold, Promote, Rollback};
pub use messages::{CommandError, Position};
pub use suggest::nearest;

/// More commands than this in one comment are not run: a pasted log full of `/ferry` lines
/// should not make the bot post a hundred answers.
pub const MAX_COMMANDS_PER_COMMENT: usize = 10;

/// One command line of a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// 1-based line number in the comment.
    pub line: usize,
    /// The line as written, without its indentation and trailing spaces.
    pub source: String,
    pub result: Result<Command, CommandError>,
}

impl CommandLine {
    /// What makes this the same command in an edited version of its comment: the canonical
    /// spelling when it parses (so `@ferry-bot  Approve` and `/ferry approve` are one
    /// command), else the line as written with runs of spaces collapsed. Line numbers are
    /// not part of it: they shift when a line is added above.
    pub fn identity(&self) -> String {
        match &self.result {
            Ok(command) => command.to_string(),
            Err(_) => self.source.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }
}

/// Every command line in a comment body, in order. `bot_username` is the bot's user name on
/// the forge, without `@` (an empty name turns mentions off).
pub fn parse_comment(body: &str, bot_username: &str) -> Vec<CommandLine> {
    let mut commands = Vec::new();
    for (line_number, line) in markdown::prose_lines(body) {
        let Some((start, prefix)) = address::command_start(line, bot_username) else {
            continue;
        };
        if commands.len() == MAX_COMMANDS_PER_COMMENT {
            commands.push(CommandLine {
                line: line_number,
                source: source(line),
                result: Err(CommandError::TooManyCommands {
                    at: Position {
                        line: line_number,
                        column: 1,
                    },
                    limit: MAX_COMMANDS_PER_COMMENT,
                }),
            });
            break;
        }
        commands.push(CommandLine {
            line: line_number,
            source: source(line),
            result: parse::command(line_number, line, start, prefix),
        });
    }
    commands
}

fn source(line: &str) -> String {
    line.trim().to_owned()
}

/// The help to answer `help` with: the overview, or one command's help.
pub fn help_text(help: &Help, bot_username: &str) -> String {
    match help.command.and_then(table::find) {
        Some(spec) => help::command(spec),
        None => help::overview(bot_username),
    }
}
