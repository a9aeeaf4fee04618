//! The document model: what a YAML file means, as JSON values. Edits are checked against it.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};

use super::error::SyntaxError;
use super::tree::{Document, Kind, Node, ScalarStyle};

/// Special floats have no JSON form; they are kept as tagged strings no quoted scalar can
/// produce, so that `.inf` and `".inf"` still compare different.
const SPECIAL_FLOAT_PREFIX: &str = "\u{0}float:";

/// Builds the model of a parsed document (YAML 1.2 core schema for plain scalars).
pub fn to_model(src: &str, doc: &Document) -> Result<Value, SyntaxError> {
    let mut anchors = HashMap::new();
    match doc.root() {
        Some(root) => node_value(src, root, &mut anchors),
        None => Ok(Value::Null),
    }
}

/// The model of one node of a document that has no anchors or aliases.
pub fn node_model(src: &str, node: Node) -> Result<Value, SyntaxError> {
    node_value(src, node, &mut HashMap::new())
}

fn node_value(
    src: &str,
    node: Node,
    anchors: &mut HashMap<String, Value>,
) -> Result<Value, SyntaxError> {
    let value = match node.kind() {
        Kind::Empty => Value::Null,
        Kind::Scalar(scalar) => {
            if scalar.style == ScalarStyle::Plain && node.tag().is_none() {
                resolve_plain(scalar.value)
            } else {
                Value::String(scalar.value.to_owned())
            }
        }
        Kind::Mapping(mapping) => {
            let mut object = Map::with_capacity(mapping.len());
            for entry in mapping.entries() {
                let value = node_value(src, entry.value, anchors)?;
                object.insert(entry.key_str().to_owned(), value);
            }
            Value::Object(object)
        }
        Kind::Sequence(sequence) => Value::Array(
            sequence
                .items()
                .map(|item| node_value(src, item.node, anchors))
                .collect::<Result<_, _>>()?,
        ),
        Kind::Alias(name) => anchors.get(name).cloned().ok_or_else(|| {
            SyntaxError::at(
                src,
                node.span.start,
                format!("alias `*{name}` refers to no anchor `&{name}` defined before it"),
            )
        })?,
    };
    if let Some(anchor) = node.anchor() {
        anchors.insert(anchor.to_owned(), value.clone());
    }
    Ok(value)
}

/// Whether the document means exactly `expected`, checked without building its model (this
/// runs after every edit). Documents with aliases take the slow path through [`to_model`].
pub fn matches(src: &str, doc: &Document, expected: &Value) -> bool {
    match doc.root() {
        None => expected.is_null(),
        Some(root) if has_alias(root) => to_model(src, doc).is_ok_and(|model| &model == expected),
        Some(root) => node_matches(root, expected),
    }
}

fn has_alias(node: Node) -> bool {
    match node.kind() {
        Kind::Alias(_) => true,
        Kind::Mapping(mapping) => mapping.entries().any(|e| has_alias(e.value)),
        Kind::Sequence(sequence) => sequence.items().any(|i| has_alias(i.node)),
        Kind::Empty | Kind::Scalar(_) => false,
    }
}

/// Whether `node` means `expected`; the node and what it contains must hold no alias.
pub(super) fn node_matches(node: Node, expected: &Value) -> bool {
    match (node.kind(), expected) {
        (Kind::Empty, Value::Null) => true,
        (Kind::Scalar(scalar), _) => {
            let as_string = scalar.style != ScalarStyle::Plain || node.tag().is_some();
            match expected {
                Value::String(text) if as_string => *text == scalar.value,
                _ if as_string => false,
                // A plain scalar means its own text exactly when it resolves to no other type.
                Value::String(text) => *text == scalar.value && plain_is_string(scalar.value),
                _ => resolve_plain(scalar.value) == *expected,
            }
        }
        (Kind::Mapping(mapping), Value::Object(map)) => {
            mapping.len() == map.len()
                && mapping.entries().all(|e| {
                    map.get(e.key_str())
                        .is_some_and(|v| node_matches(e.value, v))
                })
        }
        (Kind::Sequence(sequence), Value::Array(items)) => {
            sequence.len() == items.len()
                && sequence
                    .items()
                    .zip(items)
                    .all(|(i, v)| node_matches(i.node, v))
        }
        _ => false,
    }
}

/// Whether a plain scalar is a string under the YAML 1.2 core schema (no allocation).
fn plain_is_string(text: &str) -> bool {
    // Nulls, booleans and numbers start with a sign, a digit, `.`, `~` or one of these
    // letters, and none is longer than five bytes; most strings are told apart here.
    if let Some(first) = text.bytes().next()
        && first.is_ascii_alphabetic()
        && (text.len() > 5 || !b"nNtTfF".contains(&first))
    {
        return true;
    }
    let special = matches!(
        text,
        "" | "~"
            | "null"
            | "Null"
            | "NULL"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
    );
    let float = is_float(text)
        && text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .is_some();
    !special && !float && parse_int(text).is_none() && !is_special_float(text)
}

/// What kind of value a node is, read off the tree without building the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind<'n> {
    Null,
    Bool,
    Number,
    /// A string, with its text.
    String(&'n str),
    Mapping,
    Sequence,
    /// An alias: its kind is that of the anchored value.
    Alias,
}

/// The kind of value `node` means (YAML 1.2 core schema for plain scalars).
pub fn value_kind<'n>(node: Node<'n>) -> ValueKind<'n> {
    match node.kind() {
        Kind::Empty => ValueKind::Null,
        Kind::Mapping(_) => ValueKind::Mapping,
        Kind::Sequence(_) => ValueKind::Sequence,
        Kind::Alias(_) => ValueKind::Alias,
        Kind::Scalar(scalar) => {
            let text = scalar.value;
            if scalar.style != ScalarStyle::Plain || node.tag().is_some() || plain_is_string(text) {
                return ValueKind::String(text);
            }
            match resolve_plain(text) {
                Value::Null => ValueKind::Null,
                Value::Bool(_) => ValueKind::Bool,
                Value::Number(_) => ValueKind::Number,
                // Special floats (`.inf`, `.nan`) are numbers.
                _ => ValueKind::Number,
            }
        }
    }
}

/// What a plain scalar means under the YAML 1.2 core schema.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(number) = parse_int(text) {
        return Value::Number(number);
    }
    if is_special_float(text) {
        return Value::String(format!(
            "{SPECIAL_FLOAT_PREFIX}{}",
            text.to_ascii_lowercase().trim_start_matches('+')
        ));
    }
    if is_float(text)
        && let Some(number) = text.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(number);
    }
    Value::String(text.to_owned())
}

fn parse_int(text: &str) -> Option<Number> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if let Some(hex) = text.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok().map(Number::from);
    }
    if let Some(octal) = text.strip_prefix("0o") {
        return u64::from_str_radix(octal, 8).ok().map(Number::from);
    }
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if negative {
        text.parse::<i64>()
            .ok()
            .map(Number::from)
            .or_else(|| text.parse::<f64>().ok().and_then(Number::from_f64))
    } else {
        digits
            .parse::<u64>()
            .ok()
            .map(Number::from)
            .or_else(|| digits.parse::<f64>().ok().and_then(Number::from_f64))
    }
}

fn is_special_float(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN")
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_float(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - frac_start;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}
