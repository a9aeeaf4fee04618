//! Writing new YAML text in the style of the file it goes into.

use std::cell::OnceCell;

use serde_json::{Map, Value};

use super::model::resolve_plain;
use super::tree::{Document, Kind, Node, ScalarStyle};

/// How the file lays things out, so that inserted text looks like its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Columns a nested block mapping is indented under its key.
    pub indent: usize,
    /// Columns a block sequence's `-` is indented under its key (0 is kustomize's own style).
    pub sequence_indent: usize,
    /// Columns from an item's `-` to its content.
    pub item_offset: usize,
    /// The quote used when a value needs quoting.
    pub quote: Quote,
    pub newline: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    Single,
    Double,
}

impl Style {
    /// Reads the style off the first examples the document has of each construct.
    pub fn detect(doc: &Document, src: &str) -> Self {
        let mut found = Found::default();
        if let Some(root) = doc.root() {
            found.visit(root, src);
        }
        Self::from_found(&found, doc.newline)
    }

    fn from_found(found: &Found, newline: &'static str) -> Self {
        Self {
            indent: found.indent.unwrap_or(2),
            sequence_indent: found.sequence_indent.unwrap_or(0),
            item_offset: found.item_offset.unwrap_or(2),
            quote: found.quote.unwrap_or(Quote::Double),
            newline,
        }
    }
}

/// The style, read off the document on first use: most edits replace a plain value and
/// never need it, and reading it walks the whole tree when the file quotes nothing.
pub struct LazyStyle<'d> {
    style: OnceCell<Style>,
    source: Option<(&'d Document<'d>, &'d str)>,
}

impl<'d> LazyStyle<'d> {
    pub fn new(doc: &'d Document<'d>, src: &'d str) -> Self {
        Self {
            style: OnceCell::new(),
            source: Some((doc, src)),
        }
    }

    pub fn ready(style: Style) -> Self {
        Self {
            style: OnceCell::from(style),
            source: None,
        }
    }

    pub fn get(&self) -> &Style {
        self.style.get_or_init(|| match self.source {
            Some((doc, src)) => Style::detect(doc, src),
            // `ready` fills the cell, so this is never reached; Ferry's defaults if it were.
            None => Style::from_found(&Found::default(), "\n"),
        })
    }
}

#[derive(Default)]
struct Found {
    indent: Option<usize>,
    sequence_indent: Option<usize>,
    item_offset: Option<usize>,
    quote: Option<Quote>,
}

impl Found {
    fn done(&self) -> bool {
        self.indent.is_some()
            && self.sequence_indent.is_some()
            && self.item_offset.is_some()
            && self.quote.is_some()
    }

    fn visit(&mut self, node: Node, src: &str) {
        if self.done() {
            return;
        }
        let column = |at: usize| at - src[..at].rfind('\n').map_or(0, |i| i + 1);
        match node.kind() {
            Kind::Scalar(scalar) => match scalar.style {
                ScalarStyle::SingleQuoted => {
                    self.quote.get_or_insert(Quote::Single);
                }
                ScalarStyle::DoubleQuoted => {
                    self.quote.get_or_insert(Quote::Double);
                }
                _ => {}
            },
            Kind::Mapping(mapping) => {
                for entry in mapping.entries() {
                    if !mapping.flow && entry.value.is_block_collection() {
                        let delta = column(entry.value.span.start)
                            .saturating_sub(column(entry.key.span.start));
                        let slot = if entry.value.as_mapping().is_some() {
                            &mut self.indent
                        } else {
                            &mut self.sequence_indent
                        };
                        if slot.is_none() && (delta > 0 || entry.value.as_sequence().is_some()) {
                            *slot = Some(delta);
                        }
                    }
                    self.visit(entry.key, src);
                    self.visit(entry.value, src);
                }
            }
            Kind::Sequence(sequence) => {
                for item in sequence.items() {
                    if let (Some(dash), Some(_)) = (item.dash, item.node.as_mapping())
                        && item.node.is_block_collection()
                        && self.item_offset.is_none()
                        && !src[dash..item.node.span.start].contains('\n')
                    {
                        self.item_offset = Some(item.node.span.start - dash);
                    }
                    self.visit(item.node, src);
                }
            }
            Kind::Empty | Kind::Alias(_) => {}
        }
    }
}

/// Whether `text` can be written as a plain scalar and still read back as this string, under
/// YAML 1.2 and also under YAML 1.1 readers (`yes`, `010`, `1_000`, timestamps ...).
pub fn plain_is_safe(text: &str, flow: bool) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    let looks_numeric = text.bytes().any(|c| c.is_ascii_digit()) && {
        let unsigned = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
        let number_like = unsigned
            .bytes()
            .all(|c| c.is_ascii_digit() || b"._:+-e".contains(&c));
        let radix = ["0x", "0o", "0b"].iter().any(|p| unsigned.starts_with(p));
        let date_like = text.len() >= 5
            && text.as_bytes()[..4].iter().all(u8::is_ascii_digit)
            && text.as_bytes()[4] == b'-';
        number_like || radix || date_like
    };
    let yaml11_word = matches!(
        text,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    );
    !looks_numeric
        && !yaml11_word
        && resolve_plain(text) == Value::String(text.to_owned())
        && !"-?:,[]{}#&*!|>'\"%@`.~ \t".contains(first)
        && !text.ends_with([' ', '\t', ':'])
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.chars().any(|c| c.is_control() || c == '\u{feff}')
        && !(flow && text.contains([',', '[', ']', '{', '}']))
}

/// A scalar value as YAML text. `keep` is the style of the value it replaces, kept when it
/// can still say the new value.
/// Whether [`scalar`] would read its `quote` argument for this value.
pub fn uses_quote(value: &Value, flow: bool, keep: Option<ScalarStyle>) -> bool {
    match value {
        Value::String(text) => {
            !matches!(
                keep,
                Some(ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted)
            ) && !plain_is_safe(text, flow)
        }
        Value::Array(_) | Value::Object(_) => true,
        _ => false,
    }
}

pub fn scalar(value: &Value, flow: bool, quote: Quote, keep: Option<ScalarStyle>) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(text) => string(text, flow, quote, keep),
        Value::Array(_) | Value::Object(_) => flow_collection(value, quote),
    }
}

fn string(text: &str, flow: bool, quote: Quote, keep: Option<ScalarStyle>) -> String {
    let single_ok = !text.chars().any(|c| c.is_control());
    match keep {
        Some(ScalarStyle::SingleQuoted) if single_ok => return single_quoted(text),
        Some(ScalarStyle::DoubleQuoted) => return double_quoted(text),
        _ => {}
    }
    if plain_is_safe(text, flow) {
        text.to_owned()
    } else if quote == Quote::Single && single_ok {
        single_quoted(text)
    } else {
        double_quoted(text)
    }
}

fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn key(text: &str, quote: Quote) -> String {
    string(text, false, quote, None)
}

/// A collection in flow style: `{a: 1, b: [x, y]}`.
pub fn flow_collection(value: &Value, quote: Quote) -> String {
    match value {
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        string(k, true, quote, None),
                        scalar(v, true, quote, None)
                    )
                })
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| scalar(v, true, quote, None)).collect();
            format!("[{}]", items.join(", "))
        }
        other => scalar(other, true, quote, None),
    }
}

/// The text that follows `key:` for a block mapping entry whose key is at `key_column`.
pub fn after_key(value: &Value, key_column: usize, style: &Style) -> String {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let column = key_column + style.indent;
            let mut out = String::new();
            for (k, v) in map {
                out.push_str(style.newline);
                push_entry(&mut out, k, v, column, style);
            }
            out
        }
        Value::Array(items) if !items.is_empty() => {
            let column = key_column + style.sequence_indent;
            let mut out = String::new();
            for item in items {
                out.push_str(style.newline);
                out.push_str(&" ".repeat(column));
                out.push('-');
                out.push_str(&after_dash(item, column, style));
            }
            out
        }
        other => format!(" {}", scalar(other, false, style.quote, None)),
    }
}

/// `key: value` with the key at `column` (indentation included).
pub fn push_entry(out: &mut String, k: &str, v: &Value, column: usize, style: &Style) {
    out.push_str(&" ".repeat(column));
    out.push_str(&key(k, style.quote));
    out.push(':');
    out.push_str(&after_key(v, column, style));
}

/// The text that follows the `-` of a block sequence item at `dash_column`.
pub fn after_dash(value: &Value, dash_column: usize, style: &Style) -> String {
    match value {
        Value::Object(map) if !map.is_empty() => mapping_after_dash(map, dash_column, style),
        other => format!(" {}", scalar(other, false, style.quote, None)),
    }
}

fn mapping_after_dash(map: &Map<String, Value>, dash_column: usize, style: &Style) -> String {
    let column = dash_column + style.item_offset.max(1);
    let mut out = " ".repeat(column - dash_column - 1);
    for (index, (k, v)) in map.iter().enumerate() {
        if index == 0 {
            out.push_str(&key(k, style.quote));
            out.push(':');
            out.push_str(&after_key(v, column, style));
        } else {
            out.push_str(style.newline);
            push_entry(&mut out, k, v, column, style);
        }
    }
    out
}
