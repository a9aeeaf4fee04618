//! Small helpers to decode a [`Node`] tree by hand while collecting every problem.

use super::diagnostic::{Diagnostics, did_you_mean};
use super::node::{Node, Pos, Value};

/// The keys of one mapping, checked against the keys its section allows.
pub struct Fields<'a> {
    pub pos: Pos,
    section: &'a str,
    known: &'static [&'static str],
    entries: Vec<(&'a str, &'a Node)>,
}

impl<'a> Fields<'a> {
    /// Reads `node` as a mapping of the section named `section` (for messages) whose keys
    /// must be among `known`. Unknown and non-string keys are reported at once.
    pub fn read(
        node: &'a Node,
        section: &'a str,
        known: &'static [&'static str],
        diags: &mut Diagnostics,
    ) -> Option<Self> {
        let Value::Map(pairs) = &node.value else {
            diags.error(
                node.pos,
                "wrong-type",
                format!("{section} must be a mapping, found {}", node.value.kind()),
            );
            return None;
        };
        let mut entries = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            let Value::Str(name) = &key.value else {
                diags.error(
                    key.pos,
                    "wrong-type",
                    format!(
                        "keys of {section} must be strings, found {}",
                        key.value.kind()
                    ),
                );
                continue;
            };
            if known.contains(&name.as_str()) {
                entries.push((name.as_str(), value));
            } else {
                report_unknown_key(key.pos, name, section, known, diags);
            }
        }
        Some(Self {
            pos: node.pos,
            section,
            known,
            entries,
        })
    }

    /// Points "missing key" errors at `pos` (the section's name) instead of its first key.
    pub fn at(mut self, pos: Pos) -> Self {
        self.pos = pos;
        self
    }

    pub fn get(&self, key: &str) -> Option<&'a Node> {
        debug_assert!(self.known.contains(&key), "key {key} not declared");
        self.entries
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, node)| *node)
    }

    /// Like [`Fields::get`], reporting the key as missing when absent.
    pub fn require(&self, key: &str, diags: &mut Diagnostics) -> Option<&'a Node> {
        let found = self.get(key);
        if found.is_none() {
            diags.error(
                self.pos,
                "missing-key",
                format!("{} has no `{key}`: add it", self.section),
            );
        }
        found
    }
}

fn report_unknown_key(
    pos: Pos,
    name: &str,
    section: &str,
    known: &[&str],
    diags: &mut Diagnostics,
) {
    let message = format!("unknown key `{name}` in {section}");
    match did_you_mean(name, known) {
        Some(close) => diags.error_with_help(
            pos,
            "unknown-key",
            message,
            format!("did you mean `{close}`?"),
        ),
        None => diags.error_with_help(
            pos,
            "unknown-key",
            message,
            format!("the keys allowed here are: {}", known.join(", ")),
        ),
    }
}

/// The entries of a mapping whose keys are names chosen by the user (services, environments).
pub fn named_entries<'a>(
    node: &'a Node,
    section: &str,
    diags: &mut Diagnostics,
) -> Vec<(&'a str, Pos, &'a Node)> {
    let Value::Map(pairs) = &node.value else {
        diags.error(
            node.pos,
            "wrong-type",
            format!("{section} must be a mapping, found {}", node.value.kind()),
        );
        return Vec::new();
    };
    pairs
        .iter()
        .filter_map(|(key, value)| match &key.value {
            Value::Str(name) => Some((name.as_str(), key.pos, value)),
            other => {
                diags.error(
                    key.pos,
                    "wrong-type",
                    format!("names in {section} must be strings, found {}", other.kind()),
                );
                None
            }
        })
        .collect()
}

pub fn string<'a>(node: &'a Node, what: &str, diags: &mut Diagnostics) -> Option<&'a str> {
    match &node.value {
        Value::Str(text) => Some(text),
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
            diags.error_with_help(
                node.pos,
                "wrong-type",
                format!("{what} must be a string, found {}", node.value.kind()),
                "put the value in quotes",
            );
            None
        }
        other => {
            diags.error(
                node.pos,
                "wrong-type",
                format!("{what} must be a string, found {}", other.kind()),
            );
            None
        }
    }
}

/// A single string or a list of strings, with each item's position.
pub fn strings<'a>(node: &'a Node, what: &str, diags: &mut Diagnostics) -> Vec<(&'a str, Pos)> {
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .filter_map(|item| string(item, what, diags).map(|text| (text, item.pos)))
            .collect(),
        _ => string(node, what, diags)
            .map(|text| vec![(text, node.pos)])
            .unwrap_or_default(),
    }
}

/// A list of strings; a single string is refused, so `[a, b]` is never mistaken for `"a, b"`.
pub fn string_list<'a>(node: &'a Node, what: &str, diags: &mut Diagnostics) -> Vec<(&'a str, Pos)> {
    match &node.value {
        Value::Seq(_) => strings(node, what, diags),
        other => {
            diags.error_with_help(
                node.pos,
                "wrong-type",
                format!("{what} must be a list, found {}", other.kind()),
                "write it as `[first, second]` or as one `- item` per line",
            );
            Vec::new()
        }
    }
}

pub fn boolean(node: &Node, what: &str, diags: &mut Diagnostics) -> Option<bool> {
    match &node.value {
        Value::Bool(flag) => Some(*flag),
        other => {
            diags.error(
                node.pos,
                "wrong-type",
                format!("{what} must be true or false, found {}", other.kind()),
            );
            None
        }
    }
}

pub fn count(node: &Node, what: &str, diags: &mut Diagnostics) -> Option<u32> {
    match &node.value {
        Value::Int(number) if (0..=100).contains(number) => u32::try_from(*number).ok(),
        other => {
            diags.error(
                node.pos,
                "wrong-type",
                format!(
                    "{what} must be a whole number from 0 to 100, found {}",
                    match other {
                        Value::Int(number) => number.to_string(),
                        _ => other.kind().to_owned(),
                    }
                ),
            );
            None
        }
    }
}
