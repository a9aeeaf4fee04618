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
    pub result: Result<Command, CommandError>,
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
            result: parse::command(line_number, line, start, prefix),
        });
    }
    commands
}

/// The help to answer `help` with: the overview, or one command's help.
pub fn help_text(help: &Help, bot_username: &str) -> String {
    match help.command.and_then(table::find) {
        Some(spec) => help::command(spec),
        None => help::overview(bot_username),
    }
}
