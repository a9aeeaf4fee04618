//! Lossless edits: JSON Patch (RFC 6902) applied to YAML text by replacing only the bytes of
//! the nodes it touches, then checked by re-parsing the result against the patched model.

use json_patch::PatchOperation;
use serde_json::Value;
use thiserror::Error;

use super::emit::{self, LazyStyle, Style};
use super::error::SyntaxError;
use super::model::to_model;
use super::parse::parse;
use super::tree::{Document, Entry, Kind, Node};
use super::verify::{Replaced, holds_locally};

#[derive(Debug, Error)]
pub enum EditError {
    /// The input is not valid YAML.
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// An operation does not apply to this document (missing path, failed `test` ...).
    #[error("patch operation {index} (`{op}` at `{path}`): {message}")]
    Patch {
        index: usize,
        op: &'static str,
        path: String,
        message: String,
    },
    /// A construct the lossless writer does not edit (an alias on the way, say).
    #[error("{location}: {message}")]
    Unsupported { location: String, message: String },
    /// The edited text does not mean what the patch says. Nothing is written; this is a bug.
    #[error(
        "internal error: the edited file would not read back as intended ({detail}); nothing was written. Please report this with the file"
    )]
    Verification { detail: String },
}

impl EditError {
    /// Whether the message starts with a `line:col` position.
    pub fn has_position(&self) -> bool {
        matches!(self, EditError::Syntax(_) | EditError::Unsupported { .. })
    }
}

/// One primitive change, addressed by decoded JSON Pointer tokens.
#[derive(Debug, Clone)]
enum Change {
    Add(Vec<String>, Value),
    Remove(Vec<String>),
    Replace(Vec<String>, Value),
}

/// A byte range of the text and what replaces it.
struct Splice {
    start: usize,
    end: usize,
    text: String,
}

/// Applies `ops` to the YAML document `src`, changing only the bytes that must change.
pub fn apply_patch(src: &str, ops: &[PatchOperation]) -> Result<String, EditError> {
    let doc = parse(src)?;
    let before = to_model(src, &doc)?;
    apply_patch_parsed(src, doc, before, ops)
}

/// [`apply_patch`] for a caller that has already parsed `src` into `doc` and its model.
pub fn apply_patch_parsed(
    src: &str,
    doc: Document,
    before: Value,
    ops: &[PatchOperation],
) -> Result<String, EditError> {
    let (changes, intended) = plan(before, ops)?;
    write(src, doc, &changes, ops, &Intended::Whole(intended)).map(|(text, _)| text)
}

/// [`apply_patch_parsed`] for a patch whose operations all lie under the root mapping key
/// `key`: only that subtree's model is needed (`subtree`, `None` when the key is absent). The
/// rest of the document is modelled only if the edit cannot be checked where it happened.
pub fn apply_patch_under(
    src: &str,
    doc: Document,
    key: &str,
    subtree: Option<Value>,
    ops: &[PatchOperation],
) -> Result<String, EditError> {
    let under_key = |pointer: &jsonptr::Pointer| {
        pointer
            .tokens()
            .next()
            .is_some_and(|token| token.decoded() == key)
    };
    let all_under = ops.iter().all(|op| match op {
        PatchOperation::Move(mv) => under_key(&mv.path) && under_key(&mv.from),
        PatchOperation::Copy(copy) => under_key(&copy.path) && under_key(&copy.from),
        op => under_key(op.path()),
    });
    let root_is_mapping = doc.root().is_some_and(|root| root.as_mapping().is_some());
    if !all_under || !root_is_mapping {
        let before = to_model(src, &doc)?;
        return apply_patch_parsed(src, doc, before, ops);
    }
    let mut partial = serde_json::Map::new();
    if let Some(subtree) = subtree {
        partial.insert(key.to_owned(), subtree);
    }
    let (changes, intended) = plan(Value::Object(partial), ops)?;
    write(src, doc, &changes, ops, &Intended::Under(intended)).map(|(text, _)| text)
}

/// How an edit was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Checked {
    /// The edited lines were re-parsed on their own.
    Locally,
    /// The whole text was re-parsed.
    Whole,
}

/// [`apply_patch`], also telling how the result was checked.
#[cfg(test)]
pub(super) fn apply_patch_checked(
    src: &str,
    ops: &[PatchOperation],
) -> Result<(String, Checked), EditError> {
    let doc = parse(src)?;
    let before = to_model(src, &doc)?;
    let (changes, intended) = plan(before, ops)?;
    write(src, doc, &changes, ops, &Intended::Whole(intended))
}

/// What the edited document must mean.
enum Intended {
    /// The whole document's model.
    Whole(Value),
    /// The model of one root key only (a mapping with that key, or empty when it is removed);
    /// the rest of the document keeps its meaning.
    Under(Value),
}

impl Intended {
    fn value(&self) -> &Value {
        match self {
            Intended::Whole(value) | Intended::Under(value) => value,
        }
    }
}

/// Splices the planned changes into `src` and checks the result means what was intended.
fn write(
    src: &str,
    doc: Document,
    changes: &[Change],
    ops: &[PatchOperation],
    intended: &Intended,
) -> Result<(String, Checked), EditError> {
    let Some((first, rest)) = changes.split_first() else {
        return Ok((src.to_owned(), Checked::Whole));
    };
    let style = LazyStyle::new(&doc, src);
    // Room for the new text up front: growing a file-sized string per splice is a copy each.
    let mut text = String::with_capacity(src.len() + 256);
    text.push_str(src);
    let mut splice = splice_for(src, &doc, &style, first)?;
    if rest.is_empty() {
        text.replace_range(splice.start..splice.end, &splice.text);
        let replaced = Replaced {
            start: splice.start,
            end: splice.end,
            new_len: splice.text.len(),
        };
        if holds_locally(src, &doc, &replaced, &text, ops, intended.value()) {
            // Tests run with debug assertions: every local verdict is checked the long way.
            debug_assert!(
                verify_whole(src, &text, ops, intended).is_ok(),
                "local verification accepted an edit the whole re-parse rejects"
            );
            return Ok((text, Checked::Locally));
        }
        return verify_whole(src, &text, ops, intended).map(|()| (text, Checked::Whole));
    }
    // Each splice is planned on the tree of the text before it; that tree borrows the text, so
    // it is dropped before the text changes and the changed text is parsed again. The style
    // is read off the original tree before it goes.
    let style = LazyStyle::ready(*style.get());
    drop(doc);
    for change in rest {
        text.replace_range(splice.start..splice.end, &splice.text);
        let doc = reparse(&text)?;
        splice = splice_for(&text, &doc, &style, change)?;
    }
    text.replace_range(splice.start..splice.end, &splice.text);
    verify_whole(src, &text, ops, intended).map(|()| (text, Checked::Whole))
}

/// Re-parses the whole edited `text` and compares it with the intended model.
fn verify_whole(
    src: &str,
    text: &str,
    ops: &[PatchOperation],
    intended: &Intended,
) -> Result<(), EditError> {
    let whole;
    let expected = match intended {
        Intended::Whole(value) => value,
        Intended::Under(_) => {
            let mut model = to_model(src, &parse(src)?)?;
            json_patch::patch(&mut model, ops).map_err(|err| EditError::Verification {
                detail: format!("the patch does not apply to the whole document: {err}"),
            })?;
            whole = model;
            &whole
        }
    };
    let doc = reparse(text)?;
    if super::model::matches(text, &doc, expected) {
        return Ok(());
    }
    let after = to_model(text, &doc).map_err(|err| EditError::Verification {
        detail: err.to_string(),
    })?;
    Err(EditError::Verification {
        detail: format!(
            "first difference at `{}`",
            first_difference(&after, expected)
        ),
    })
}

fn reparse(text: &str) -> Result<Document<'_>, EditError> {
    parse(text).map_err(|err| EditError::Verification {
        detail: format!("the result is not valid YAML: {err}"),
    })
}

fn op_name(op: &PatchOperation) -> &'static str {
    match op {
        PatchOperation::Add(_) => "add",
        PatchOperation::Remove(_) => "remove",
        PatchOperation::Replace(_) => "replace",
        PatchOperation::Move(_) => "move",
        PatchOperation::Copy(_) => "copy",
        PatchOperation::Test(_) => "test",
    }
}

fn tokens(pointer: &jsonptr::Pointer) -> Vec<String> {
    pointer.tokens().map(|t| t.decoded().into_owned()).collect()
}

/// Turns patch operations into primitive changes, validating each against the model as it
/// evolves (`json_patch` is the reference for what the patch means).
fn plan(before: Value, ops: &[PatchOperation]) -> Result<(Vec<Change>, Value), EditError> {
    let mut model = before;
    let mut changes = Vec::new();
    for (index, op) in ops.iter().enumerate() {
        // Changes are read off the model before the operation; `json_patch` then applies it in
        // place (atomically: a failed operation leaves the model as it was).
        let planned = changes.len();
        match op {
            PatchOperation::Test(_) => {}
            PatchOperation::Add(add) => {
                add_changes(&model, tokens(&add.path), add.value.clone(), &mut changes)
            }
            PatchOperation::Remove(remove) => changes.push(Change::Remove(tokens(&remove.path))),
            PatchOperation::Replace(replace) => {
                let path = tokens(&replace.path);
                replace_changes(&model, path, &replace.value, &mut changes);
            }
            PatchOperation::Move(mv) => {
                let from = tokens(&mv.from);
                let value = pointer_get(&model, &from).cloned().unwrap_or(Value::Null);
                let mut removed = model.clone();
                let _ = remove_at(&mut removed, &from);
                changes.push(Change::Remove(from));
                add_changes(&removed, tokens(&mv.path), value, &mut changes);
            }
            PatchOperation::Copy(copy) => {
                let value = pointer_get(&model, &tokens(&copy.from))
                    .cloned()
                    .unwrap_or(Value::Null);
                add_changes(&model, tokens(&copy.path), value, &mut changes);
            }
        }
        if let Err(err) = json_patch::patch(&mut model, std::slice::from_ref(op)) {
            changes.truncate(planned);
            return Err(EditError::Patch {
                index,
                op: op_name(op),
                path: op.path().to_string(),
                message: match err.kind {
                    json_patch::PatchErrorKind::TestFailed => {
                        "the value there is not the expected one".to_owned()
                    }
                    _ => "the path does not exist in the document; check the keys and indexes"
                        .to_owned(),
                },
            });
        }
    }
    Ok((changes, model))
}

fn pointer_get<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(value, |value, token| match value {
        Value::Object(map) => map.get(token),
        Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn remove_at(value: &mut Value, path: &[String]) -> Option<Value> {
    let (last, parent) = path.split_last()?;
    let parent = parent.iter().try_fold(value, |value, token| match value {
        Value::Object(map) => map.get_mut(token),
        Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
        _ => None,
    })?;
    match parent {
        Value::Object(map) => map.shift_remove(last),
        Value::Array(items) => last
            .parse::<usize>()
            .ok()
            .filter(|&i| i < items.len())
            .map(|i| items.remove(i)),
        _ => None,
    }
}

fn add_changes(model: &Value, path: Vec<String>, value: Value, changes: &mut Vec<Change>) {
    match path
        .split_last()
        .and_then(|(last, parent)| Some((last, pointer_get(model, parent)?)))
    {
        Some((last, Value::Object(map))) if map.contains_key(last) => {
            replace_changes(model, path, &value, changes);
        }
        None => replace_changes(model, path, &value, changes),
        Some(_) => changes.push(Change::Add(path, value)),
    }
}

/// A replace becomes the smallest set of changes: collections are compared member by member,
/// so unchanged entries keep their bytes and comments.
fn replace_changes(model: &Value, path: Vec<String>, new: &Value, changes: &mut Vec<Change>) {
    let Some(old) = pointer_get(model, &path) else {
        changes.push(Change::Replace(path, new.clone()));
        return;
    };
    diff(old, new, path, changes);
}

fn diff(old: &Value, new: &Value, path: Vec<String>, changes: &mut Vec<Change>) {
    if old == new {
        return;
    }
    let child = |token: String| {
        let mut child = path.clone();
        child.push(token);
        child
    };
    match (old, new) {
        (Value::Object(a), Value::Object(b)) if !a.is_empty() && !b.is_empty() => {
            let kept = a.keys().filter(|k| b.contains_key(*k)).count();
            if kept == 0 {
                changes.push(Change::Replace(path, new.clone()));
                return;
            }
            for k in a.keys().filter(|k| !b.contains_key(*k)) {
                changes.push(Change::Remove(child(k.clone())));
            }
            for (k, v) in b {
                match a.get(k) {
                    Some(old_v) => diff(old_v, v, child(k.clone()), changes),
                    None => changes.push(Change::Add(child(k.clone()), v.clone())),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if !a.is_empty() && !b.is_empty() => {
            for (i, (old_v, new_v)) in a.iter().zip(b).enumerate() {
                diff(old_v, new_v, child(i.to_string()), changes);
            }
            for v in b.iter().skip(a.len()) {
                changes.push(Change::Add(child("-".to_owned()), v.clone()));
            }
            for i in (b.len()..a.len()).rev() {
                changes.push(Change::Remove(child(i.to_string())));
            }
        }
        _ => changes.push(Change::Replace(path, new.clone())),
    }
}

/// Where a node sits: what owns it decides how its text may change.
enum Slot<'d> {
    Root,
    /// A value of a mapping entry.
    Value {
        mapping: Node<'d>,
        index: usize,
    },
    /// An item of a sequence.
    Item {
        sequence: Node<'d>,
        index: usize,
    },
}

struct Located<'d> {
    node: Node<'d>,
    slot: Slot<'d>,
}

fn unsupported(text: &str, at: usize, message: &str) -> EditError {
    let (line, column) = super::error::line_col(text, at);
    EditError::Unsupported {
        location: format!("{line}:{column}"),
        message: message.to_owned(),
    }
}

fn locate<'d>(
    text: &str,
    doc: &'d Document<'d>,
    path: &[String],
) -> Result<Located<'d>, EditError> {
    let Some(root) = doc.root() else {
        return Err(EditError::Verification {
            detail: format!("path `/{}` in an empty document", path.join("/")),
        });
    };
    let mut located = Located {
        node: root,
        slot: Slot::Root,
    };
    for token in path {
        let node = located.node;
        located = match node.kind() {
            Kind::Mapping(mapping) => {
                let (index, entry) = mapping
                    .entries()
                    .enumerate()
                    .find(|(_, e)| e.key_str() == token)
                    .ok_or_else(|| missing(path))?;
                Located {
                    node: entry.value,
                    slot: Slot::Value {
                        mapping: node,
                        index,
                    },
                }
            }
            Kind::Sequence(sequence) => {
                let index = token.parse::<usize>().ok();
                let (index, item) = index
                    .and_then(|i| Some((i, sequence.get(i)?)))
                    .ok_or_else(|| missing(path))?;
                Located {
                    node: item.node,
                    slot: Slot::Item {
                        sequence: node,
                        index,
                    },
                }
            }
            Kind::Alias(_) => {
                return Err(unsupported(
                    text,
                    node.span.start,
                    "cannot edit through an alias; edit the anchored value instead",
                ));
            }
            _ => return Err(missing(path)),
        };
    }
    Ok(located)
}

fn missing(path: &[String]) -> EditError {
    EditError::Verification {
        detail: format!("path `/{}` vanished while editing", path.join("/")),
    }
}

fn splice_for(
    text: &str,
    doc: &Document,
    style: &LazyStyle,
    change: &Change,
) -> Result<Splice, EditError> {
    match change {
        Change::Replace(path, value) => replace(text, doc, style, path, value),
        Change::Add(path, value) => add(text, doc, style, path, value),
        Change::Remove(path) => remove(text, doc, style, path),
    }
}

fn column(text: &str, at: usize) -> usize {
    at - line_start(text, at)
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

fn line_end(text: &str, at: usize) -> usize {
    text[at..].find(['\n', '\r']).map_or(text.len(), |i| at + i)
}

/// The end of the line break at `at` (which is a line end), or `at` at the end of the text.
fn after_break(text: &str, at: usize) -> usize {
    if text[at..].starts_with("\r\n") {
        at + 2
    } else if text[at..].starts_with('\n') {
        at + 1
    } else {
        at
    }
}

/// Offset just past the `:` that follows a block mapping key.
fn colon_end(text: &str, key: Node) -> usize {
    let rest = &text[key.span.end..];
    let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    key.span.end + skipped + 1
}

fn entry_end(entry: Entry) -> usize {
    entry.value.span.end.max(entry.key.span.end)
}

fn scalar_style(node: Node) -> Option<super::tree::ScalarStyle> {
    node.scalar().map(|scalar| scalar.style)
}

fn is_inline_value(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => true,
    }
}

fn is_flow(node: Node) -> bool {
    node.is_flow_collection()
}

fn replace(
    text: &str,
    doc: &Document,
    style: &LazyStyle,
    path: &[String],
    value: &Value,
) -> Result<Splice, EditError> {
    let Located { node, slot } = locate(text, doc, path)?;
    let keep = scalar_style(node);
    let flow_text = |flow: bool| {
        // The file's quote style is looked for only when the value needs quotes.
        let quote = if emit::uses_quote(value, flow, keep) {
            style.get().quote
        } else {
            emit::Quote::Double
        };
        emit::scalar(value, flow, quote, keep)
    };
    let splice = |start: usize, end: usize, text: String| Splice { start, end, text };
    Ok(match slot {
        Slot::Root => splice(
            node.span.start,
            node.span.end,
            root_text(value, style.get()),
        ),
        Slot::Value { mapping, .. } if is_flow(mapping) => {
            if node.is_empty() {
                let has_colon = text[..node.span.start].ends_with(':');
                let text = format!("{}{}", if has_colon { " " } else { ": " }, flow_text(true));
                splice(node.span.start, node.span.end, text)
            } else {
                splice(node.span.start, node.span.end, flow_text(true))
            }
        }
        Slot::Value { mapping, index } => {
            let Some(entry) = mapping.as_mapping().and_then(|m| m.get(index)) else {
                return Err(missing(path));
            };
            let colon = colon_end(text, entry.key);
            if is_inline_value(value) || is_flow(node) {
                match node.kind() {
                    Kind::Empty => splice(
                        node.span.start,
                        node.span.end,
                        format!(" {}", flow_text(false)),
                    ),
                    _ if node.is_block_collection() => {
                        splice(colon, node.span.end, format!(" {}", flow_text(false)))
                    }
                    _ => splice(node.span.start, node.span.end, flow_text(false)),
                }
            } else {
                let key_column = column(text, entry.key.span.start);
                splice(
                    colon,
                    node.span.end,
                    emit::after_key(value, key_column, style.get()),
                )
            }
        }
        Slot::Item { sequence, .. } if is_flow(sequence) => {
            splice(node.span.start, node.span.end, flow_text(true))
        }
        Slot::Item { sequence, index } => {
            let Some(dash) = sequence
                .as_sequence()
                .and_then(|s| s.get(index))
                .and_then(|i| i.dash)
            else {
                return Err(missing(path));
            };
            if matches!(value, Value::Object(map) if !map.is_empty()) && !is_flow(node) {
                splice(
                    dash + 1,
                    node.span.end,
                    emit::after_dash(value, column(text, dash), style.get()),
                )
            } else if node.is_empty() || node.is_block_collection() {
                splice(dash + 1, node.span.end, format!(" {}", flow_text(false)))
            } else {
                splice(node.span.start, node.span.end, flow_text(false))
            }
        }
    })
}

/// A whole document's text for `value`.
fn root_text(value: &Value, style: &Style) -> String {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut out = String::new();
            for (index, (k, v)) in map.iter().enumerate() {
                if index > 0 {
                    out.push_str(style.newline);
                }
                emit::push_entry(&mut out, k, v, 0, style);
            }
            out
        }
        Value::Array(items) if !items.is_empty() => {
            let lines: Vec<String> = items
                .iter()
                .map(|item| format!("-{}", emit::after_dash(item, 0, style)))
                .collect();
            lines.join(style.newline)
        }
        other => emit::scalar(other, false, style.quote, None),
    }
}

/// Where text appended to the root mapping goes: after the last line with content (trailing
/// comments included), before any `...` end marker.
fn end_of_root_content(text: &str) -> usize {
    let mut end = text.trim_end().len();
    let last_line = line_start(text, end);
    if text[last_line..end].starts_with("...") {
        end = text[..last_line].trim_end().len();
    }
    end
}

fn add(
    text: &str,
    doc: &Document,
    style: &LazyStyle,
    path: &[String],
    value: &Value,
) -> Result<Splice, EditError> {
    let Some((last, parent_path)) = path.split_last() else {
        return replace(text, doc, style, path, value);
    };
    let Located { node: parent, slot } = locate(text, doc, parent_path)?;
    let nl = style.get().newline;
    match parent.kind() {
        Kind::Mapping(mapping) if mapping.flow => {
            let entry = format!(
                "{}: {}",
                emit::scalar(&Value::String(last.clone()), true, style.get().quote, None),
                emit::scalar(value, true, style.get().quote, None)
            );
            Ok(match mapping.last() {
                Some(previous) => insert(entry_end(previous), format!(", {entry}")),
                None => insert(parent.span.start + 1, entry),
            })
        }
        Kind::Mapping(mapping) => {
            let Some(previous) = mapping.last() else {
                return Err(missing(path));
            };
            let key_column = column(text, parent.span.start);
            let at = if matches!(slot, Slot::Root) {
                end_of_root_content(text)
            } else {
                line_end(text, entry_end(previous))
            };
            let mut entry = nl.to_owned();
            emit::push_entry(&mut entry, last, value, key_column, style.get());
            Ok(insert(at, entry))
        }
        Kind::Sequence(sequence) => {
            let index = if last == "-" {
                sequence.len()
            } else {
                last.parse::<usize>().map_err(|_| missing(path))?
            };
            let item_text = |flow: bool| emit::scalar(value, flow, style.get().quote, None);
            if sequence.flow {
                return Ok(match (sequence.get(index), sequence.last()) {
                    (Some(before), _) => {
                        insert(before.node.span.start, format!("{}, ", item_text(true)))
                    }
                    (None, Some(previous)) => {
                        insert(previous.node.span.end, format!(", {}", item_text(true)))
                    }
                    (None, None) => insert(parent.span.start + 1, item_text(true)),
                });
            }
            let dash_column = column(text, parent.span.start);
            let item = format!("-{}", emit::after_dash(value, dash_column, style.get()));
            match (sequence.get(index), sequence.last()) {
                (Some(before), _) => {
                    let dash = before.dash.unwrap_or(before.node.span.start);
                    Ok(insert(
                        dash,
                        format!("{item}{nl}{}", " ".repeat(dash_column)),
                    ))
                }
                (None, Some(previous)) => {
                    let at = line_end(
                        text,
                        previous.node.span.end.max(previous.dash.unwrap_or(0) + 1),
                    );
                    Ok(insert(at, format!("{nl}{}{item}", " ".repeat(dash_column))))
                }
                (None, None) => Err(missing(path)),
            }
        }
        _ => Err(missing(path)),
    }
}

fn insert(at: usize, text: String) -> Splice {
    Splice {
        start: at,
        end: at,
        text,
    }
}

/// Deletes whole lines from `start`'s line to the end of `end`'s line, line break included.
fn delete_lines(text: &str, start: usize, end: usize) -> Splice {
    let first = line_start(text, start);
    let last = line_end(text, end);
    let after = after_break(text, last);
    if after == last && first > 0 {
        // The last line of a file without a final newline: take the break before it instead.
        let before = if text[..first].ends_with("\r\n") {
            first - 2
        } else {
            first - 1
        };
        return Splice {
            start: before,
            end: last,
            text: String::new(),
        };
    }
    Splice {
        start: first,
        end: after,
        text: String::new(),
    }
}

fn remove(
    text: &str,
    doc: &Document,
    style: &LazyStyle,
    path: &[String],
) -> Result<Splice, EditError> {
    let Some((last, parent_path)) = path.split_last() else {
        return replace(text, doc, style, path, &Value::Null);
    };
    let Located { node: parent, .. } = locate(text, doc, parent_path)?;
    let cut = |start: usize, end: usize| Splice {
        start,
        end,
        text: String::new(),
    };
    let starts_line = |at: usize| text[line_start(text, at)..at].bytes().all(|c| c == b' ');
    match parent.kind() {
        Kind::Mapping(mapping) => {
            let (index, entry) = mapping
                .entries()
                .enumerate()
                .find(|(_, e)| e.key_str() == last)
                .ok_or_else(|| missing(path))?;
            if mapping.len() == 1 {
                return if mapping.flow {
                    Ok(cut(entry.key.span.start, entry_end(entry)))
                } else {
                    replace(
                        text,
                        doc,
                        style,
                        parent_path,
                        &Value::Object(Default::default()),
                    )
                };
            }
            let next = mapping.get(index + 1);
            if !mapping.flow && starts_line(entry.key.span.start) {
                return Ok(delete_lines(text, entry.key.span.start, entry_end(entry)));
            }
            Ok(
                match (next, index.checked_sub(1).and_then(|i| mapping.get(i))) {
                    (Some(next), _) => cut(entry.key.span.start, next.key.span.start),
                    (None, Some(previous)) => cut(entry_end(previous), entry_end(entry)),
                    (None, None) => return Err(missing(path)),
                },
            )
        }
        Kind::Sequence(sequence) => {
            let (index, item) = last
                .parse::<usize>()
                .ok()
                .and_then(|i| Some((i, sequence.get(i)?)))
                .ok_or_else(|| missing(path))?;
            if sequence.len() == 1 {
                return if sequence.flow {
                    Ok(cut(item.node.span.start, item.node.span.end))
                } else {
                    replace(text, doc, style, parent_path, &Value::Array(Vec::new()))
                };
            }
            let start = item.dash.unwrap_or(item.node.span.start);
            let end = item.node.span.end.max(start + 1);
            if !sequence.flow && starts_line(start) {
                return Ok(delete_lines(text, start, end));
            }
            Ok(match sequence.get(index + 1) {
                Some(next) => cut(start, next.dash.unwrap_or(next.node.span.start)),
                None => {
                    let previous = index
                        .checked_sub(1)
                        .and_then(|i| sequence.get(i))
                        .ok_or_else(|| missing(path))?;
                    cut(
                        previous
                            .node
                            .span
                            .end
                            .max(previous.dash.map_or(0, |d| d + 1)),
                        end,
                    )
                }
            })
        }
        _ => Err(missing(path)),
    }
}

/// The JSON Pointer of the first place two models differ, for error messages.
fn first_difference(a: &Value, b: &Value) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) if v == w => {}
                    Some(w) => return format!("/{k}{}", first_difference(v, w)),
                    None => return format!("/{k}"),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("/{k}"))
                .unwrap_or_default()
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if v != w {
                    return format!("/{i}{}", first_difference(v, w));
                }
            }
            String::new()
        }
        _ => String::new(),
    }
}
