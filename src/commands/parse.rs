//! Reads one command line against the command table.

use crate::domain::{EnvironmentName, ServiceName, Tag};

use super::command::Command;
use super::lexer::{Lexer, Token};
use super::messages::{self, CommandError};
use super::spec::{Arguments, CommandSpec, OptionSpec, Value, ValueKind};
use super::suggest::nearest;
use super::table;

/// Parses the command that starts at byte `start` of `line` (just after the prefix).
pub(super) fn command(
    line_number: usize,
    line: &str,
    start: usize,
    prefix: &str,
) -> Result<Command, CommandError> {
    let mut lexer = Lexer::new(line_number, line, start);
    let verb = match lexer.next_token() {
        Some(token) => token?,
        None => {
            return Err(CommandError::MissingVerb {
                at: lexer.end_position(),
                prefix: prefix.to_owned(),
            });
        }
    };
    let found = lexer.source(&verb);
    let spec = table::find(found)
        .filter(|_| !verb.quoted && verb.key.is_none())
        .ok_or_else(|| CommandError::UnknownVerb {
            at: lexer.position(verb.start),
            found: found.to_owned(),
            suggestion: nearest(found, &table::names()),
        })?;
    let mut args = Arguments::new(spec, lexer.end_position());
    let mut next = 0;
    loop {
        if let Some(arg) = spec.args.get(next)
            && arg.kind == ValueKind::Reason
            && arg.keyword.is_none()
        {
            // Free text takes the rest of the line, options and all.
            args.positionals[next] = lexer.remainder().map(Value::Text);
            break;
        }
        let Some(token) = lexer.next_token() else {
            break;
        };
        let token = token?;
        if let Some((key, key_start)) = token.key
            && !spec.options.is_empty()
        {
            let option = find_option(spec, key)
                .ok_or_else(|| unknown_option(&lexer, spec, key, key_start))?;
            add_option(&mut args, &lexer, option, &token)?;
            continue;
        }
        let word = lexer.source(&token);
        let unexpected = |suggestion| CommandError::UnexpectedArgument {
            at: lexer.position(token.start),
            found: word.to_owned(),
            suggestion,
            usage: spec.usage(),
        };
        let Some(arg) = spec.args.get(next) else {
            let keys: Vec<&str> = spec.options.iter().map(|o| o.key).collect();
            return Err(unexpected(nearest(word, &keys)));
        };
        let value = match arg.keyword {
            Some(keyword) if !token.quoted && word.eq_ignore_ascii_case(keyword) => {
                let value = lexer.next_token().transpose()?;
                let value = value
                    .filter(|value| value.key.is_none())
                    .ok_or_else(|| args.missing(next))?;
                convert(&lexer, arg.kind, arg.name, &value)?
            }
            Some(keyword) => return Err(unexpected(nearest(word, &[keyword]))),
            // Without options a `key=value` word is just a word.
            None if token.key.is_some() => {
                let whole = Token {
                    text: word.to_owned(),
                    key: None,
                    ..token.clone()
                };
                convert(&lexer, arg.kind, arg.name, &whole)?
            }
            None => convert(&lexer, arg.kind, arg.name, &token)?,
        };
        args.positionals[next] = Some(value);
        next += 1;
    }
    if let Some(index) = (next..spec.args.len()).find(|&i| spec.args[i].required) {
        return Err(args.missing(index));
    }
    (spec.build)(&args)
}

fn find_option(spec: &CommandSpec, key: &str) -> Option<&'static OptionSpec> {
    spec.options
        .iter()
        .find(|option| option.key.eq_ignore_ascii_case(key))
}

fn unknown_option(
    lexer: &Lexer<'_>,
    spec: &'static CommandSpec,
    key: &str,
    at: usize,
) -> CommandError {
    let keys: Vec<&'static str> = spec.options.iter().map(|o| o.key).collect();
    let valid: Vec<String> = keys.iter().map(|k| format!("`{k}=`")).collect();
    CommandError::UnknownOption {
        at: lexer.position(at),
        command: spec.name,
        key: key.to_owned(),
        suggestion: nearest(key, &keys),
        valid: valid.join(", "),
    }
}

fn add_option(
    args: &mut Arguments,
    lexer: &Lexer<'_>,
    option: &'static OptionSpec,
    token: &Token<'_>,
) -> Result<(), CommandError> {
    let at = lexer.position(token.start);
    if token.text.is_empty() && !token.quoted {
        return Err(CommandError::MissingValue {
            at,
            key: option.key,
        });
    }
    if !option.repeatable && args.options.iter().any(|(key, _)| *key == option.key) {
        return Err(CommandError::DuplicateOption {
            at,
            key: option.key,
        });
    }
    let value = convert(lexer, option.kind, option.key, token)?;
    args.options.push((option.key, value));
    Ok(())
}

/// Checks a value against its kind. Names are lowercased: policies spell them in lowercase,
/// and phones capitalise.
fn convert(
    lexer: &Lexer<'_>,
    kind: ValueKind,
    what: &str,
    token: &Token<'_>,
) -> Result<Value, CommandError> {
    let at = lexer.position(token.start);
    let invalid = |detail: String| CommandError::InvalidValue { at, detail };
    let text = token.text.as_str();
    match kind {
        ValueKind::Environment => EnvironmentName::parse(&text.to_ascii_lowercase())
            .map(Value::Environment)
            .map_err(|e| invalid(e.to_string())),
        ValueKind::Service => ServiceName::parse(&text.to_ascii_lowercase())
            .map(Value::Service)
            .map_err(|e| invalid(e.to_string())),
        ValueKind::Version => Tag::parse(text)
            .map(Value::Version)
            .map_err(|_| invalid(messages::invalid_version(text))),
        ValueKind::Reason if text.trim().is_empty() => Err(invalid(messages::empty_reason(what))),
        ValueKind::Reason => Ok(Value::Text(text.to_owned())),
        ValueKind::Command => table::find(text)
            .filter(|_| !token.quoted)
            .map(|spec| Value::Command(spec.name))
            .ok_or_else(|| CommandError::UnknownVerb {
                at,
                found: text.to_owned(),
                suggestion: nearest(text, &table::names()),
            }),
    }
}
