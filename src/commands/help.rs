//! Help text, written from the command table so it always matches what the parser accepts.

use super::messages::{
    HELP_ARGUMENTS, HELP_COLUMNS, HELP_EXAMPLES, HELP_FOOTER, HELP_INTRO, HELP_NO_ARGUMENTS,
    HELP_REPEATABLE, HELP_TITLE,
};
use super::spec::CommandSpec;
use super::table::COMMANDS;

/// The overview: every command with its usage and summary, as Markdown for a comment.
pub fn overview(bot_username: &str) -> String {
    let mut text = format!("{HELP_TITLE}\n\n{HELP_INTRO} `/ferry`");
    if !bot_username.is_empty() {
        text.push_str(&format!(" or `@{bot_username}`"));
    }
    text.push_str(&format!(":\n\n{HELP_COLUMNS}\n"));
    for spec in COMMANDS {
        text.push_str(&format!("| `{}` | {} |\n", spec.usage(), spec.summary));
    }
    text.push_str(&format!("\n{HELP_FOOTER}\n"));
    text
}

/// The help of one command: usage, summary, each argument and option, examples.
pub fn command(spec: &CommandSpec) -> String {
    let mut text = format!("`{}`\n\n{}\n\n", spec.usage(), spec.summary);
    if spec.args.is_empty() && spec.options.is_empty() {
        text.push_str(HELP_NO_ARGUMENTS);
        text.push('\n');
    } else {
        text.push_str(HELP_ARGUMENTS);
        text.push('\n');
        for arg in spec.args {
            let name = match arg.keyword {
                Some(keyword) => format!("{keyword} {}", arg.name),
                None => arg.name.to_owned(),
            };
            text.push_str(&format!("- `{name}`: {}\n", arg.help));
        }
        for option in spec.options {
            let repeat = if option.repeatable {
                format!(" {HELP_REPEATABLE}")
            } else {
                String::new()
            };
            text.push_str(&format!(
                "- `{}={}`: {}{repeat}\n",
                option.key, option.placeholder, option.help
            ));
        }
    }
    text.push_str(&format!("\n{HELP_EXAMPLES}\n\n"));
    for example in spec.examples {
        text.push_str(&format!("    {example}\n"));
    }
    text
}
