//! The shape of a command as the table declares it, and the arguments the parser read for it.

use crate::domain::{EnvironmentName, ServiceName, Tag};

use super::command::Command;
use super::messages::{CommandError, Position};

/// What a value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Environment,
    Service,
    /// An image tag.
    Version,
    /// Free text. As a positional argument it takes the rest of the line.
    Reason,
    /// The name of another command (for `help`).
    Command,
}

/// A positional argument: `ENVIRONMENT`, or `to VERSION` when it has a keyword.
#[derive(Debug)]
pub struct ArgSpec {
    pub name: &'static str,
    pub kind: ValueKind,
    pub required: bool,
    /// A word written before the value (`to` in `rollback production to v1.2.3`).
    pub keyword: Option<&'static str>,
    pub help: &'static str,
}

/// A `key=value` option.
#[derive(Debug)]
pub struct OptionSpec {
    pub key: &'static str,
    /// How the value is shown in usage lines: `SERVICE`, `"REASON"`.
    pub placeholder: &'static str,
    pub kind: ValueKind,
    pub repeatable: bool,
    pub help: &'static str,
}

/// One row of the command table: what the parser accepts and what help says.
#[derive(Debug)]
pub struct CommandSpec {
    pub name: &'static str,
    pub args: &'static [ArgSpec],
    pub options: &'static [OptionSpec],
    pub summary: &'static str,
    pub examples: &'static [&'static str],
    pub(super) build: fn(&Arguments) -> Result<Command, CommandError>,
}

impl CommandSpec {
    /// `/ferry rollback ENVIRONMENT [to VERSION] [service=SERVICE]...`
    pub fn usage(&self) -> String {
        let mut usage = format!("/ferry {}", self.name);
        for arg in self.args {
            let shown = match arg.keyword {
                Some(keyword) => format!("{keyword} {}", arg.name),
                None => arg.name.to_owned(),
            };
            if arg.required {
                usage.push_str(&format!(" {shown}"));
            } else {
                usage.push_str(&format!(" [{shown}]"));
            }
        }
        for option in self.options {
            let repeat = if option.repeatable { "..." } else { "" };
            usage.push_str(&format!(" [{}={}]{repeat}", option.key, option.placeholder));
        }
        usage
    }
}

/// A value read and checked against its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    Environment(EnvironmentName),
    Service(ServiceName),
    Version(Tag),
    Text(String),
    Command(&'static str),
}

/// The arguments of one command line, in the table's order.
pub(super) struct Arguments {
    pub(super) spec: &'static CommandSpec,
    pub(super) positionals: Vec<Option<Value>>,
    pub(super) options: Vec<(&'static str, Value)>,
    /// The end of the line, where a missing argument is reported.
    pub(super) end: Position,
}

impl Arguments {
    pub(super) fn new(spec: &'static CommandSpec, end: Position) -> Self {
        Self {
            spec,
            positionals: vec![None; spec.args.len()],
            options: Vec::new(),
            end,
        }
    }

    fn positional(&self, index: usize) -> Option<&Value> {
        self.positionals.get(index).and_then(Option::as_ref)
    }

    pub(super) fn environment(&self, index: usize) -> Option<EnvironmentName> {
        match self.positional(index) {
            Some(Value::Environment(name)) => Some(name.clone()),
            _ => None,
        }
    }

    pub(super) fn version(&self, index: usize) -> Option<Tag> {
        match self.positional(index) {
            Some(Value::Version(tag)) => Some(tag.clone()),
            _ => None,
        }
    }

    pub(super) fn text(&self, index: usize) -> Option<String> {
        match self.positional(index) {
            Some(Value::Text(text)) => Some(text.clone()),
            _ => None,
        }
    }

    pub(super) fn command(&self, index: usize) -> Option<&'static str> {
        match self.positional(index) {
            Some(Value::Command(name)) => Some(name),
            _ => None,
        }
    }

    pub(super) fn services(&self, key: &str) -> Vec<ServiceName> {
        self.options
            .iter()
            .filter(|(k, _)| *k == key)
            .filter_map(|(_, value)| match value {
                Value::Service(name) => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    pub(super) fn option_text(&self, key: &str) -> Option<String> {
        self.options.iter().find_map(|(k, value)| match value {
            Value::Text(text) if *k == key => Some(text.clone()),
            _ => None,
        })
    }

    /// The error for a required argument that is absent. The parser checks required arguments
    /// first; builders use this so that they never need to unwrap.
    pub(super) fn missing(&self, index: usize) -> CommandError {
        CommandError::MissingArgument {
            at: self.end,
            command: self.spec.name,
            argument: self.spec.args.get(index).map_or("an argument", |a| a.name),
            usage: self.spec.usage(),
        }
    }
}
