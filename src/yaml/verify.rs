//! Checking an edit where it happened.
//!
//! Re-parsing the whole file after every edit costs as much as the first parse, and a service
//! that promotes many images pays it on each one. An edit confined to one entry of a block
//! collection can be checked by re-parsing only that entry's lines: in block context, a line
//! that starts at or left of the entry's column ends the entry whatever came before it, so when
//! the edited lines parse on their own into exactly one entry (no flow collection or quoted
//! scalar left open), the rest of the file reads exactly as before. Whatever the local check
//! cannot decide (aliases, several splices, inserts between entries) takes the full re-parse.

use json_patch::PatchOperation;
use serde_json::Value;

use super::model::node_matches;
use super::parse::parse;
use super::tree::{Document, Kind, Node};

/// One replaced byte range of the original text.
pub(super) struct Replaced {
    pub start: usize,
    pub end: usize,
    pub new_len: usize,
}

/// The block collection entry (or item) that holds the edit.
struct Owner<'d> {
    /// Where the entry starts: its key or its `-`, the first token on its line.
    first: usize,
    end: usize,
    /// JSON Pointer tokens of the entry's value.
    path: Vec<String>,
    /// The key, for a mapping entry; `None` for a sequence item.
    key: Option<&'d str>,
}

/// Whether `text`, made from `src` by the single replacement `replaced`, means `intended`,
/// decided from the edited lines alone. `false` means "not decided here", never "wrong": the
/// caller then re-parses the whole text.
pub(super) fn holds_locally(
    src: &str,
    before: &Document,
    replaced: &Replaced,
    text: &str,
    ops: &[PatchOperation],
    intended: &Value,
) -> bool {
    if before.has_anchors {
        return false;
    }
    let Some(root) = before.root() else {
        return false;
    };
    let owners = owners(src, root, replaced);
    let Some(owner) = owners.iter().rev().find(|owner| {
        ops.iter()
            .all(|op| changes_only_within(op, &owner.path, owner.key.is_some()))
    }) else {
        return false;
    };
    let Some(expected) = pointer_get(intended, &owner.path) else {
        return false;
    };
    let region_start = line_start(src, owner.first);
    let region_end = end_of_trailing_comments(src, owner.end);
    if replaced.end > region_end {
        return false;
    }
    let new_end = region_end + replaced.new_len - (replaced.end - replaced.start);
    let Some(fragment) = text.get(region_start..new_end) else {
        return false;
    };
    let Ok(doc) = parse(fragment) else {
        return false;
    };
    let Some(node) = doc.root().filter(|n| !doc.has_anchors && !n.has_props()) else {
        return false;
    };
    let first = owner.first - region_start;
    match (node.kind(), owner.key) {
        (Kind::Mapping(mapping), Some(key)) if !mapping.flow && mapping.len() == 1 => {
            mapping.get(0).is_some_and(|entry| {
                entry.key.span.start == first
                    && entry.key_str() == key
                    && node_matches(entry.value, expected)
            })
        }
        (Kind::Sequence(sequence), None) if !sequence.flow && sequence.len() == 1 => sequence
            .get(0)
            .is_some_and(|item| item.dash == Some(first) && node_matches(item.node, expected)),
        _ => false,
    }
}

/// The block collection entries whose lines (with the comment lines after them) hold the
/// whole replacement, that leave their key untouched and start their line, outermost first.
fn owners<'d>(src: &str, root: Node<'d>, replaced: &Replaced) -> Vec<Owner<'d>> {
    let (start, end) = (replaced.start, replaced.end);
    let mut node = root;
    let mut path = Vec::new();
    let mut found = Vec::new();
    loop {
        match node.kind() {
            Kind::Mapping(mapping) if !mapping.flow => {
                let candidate = last_before(mapping.len(), start, |i| {
                    mapping.get(i).map_or(usize::MAX, |e| e.key.span.end)
                });
                let Some(entry) = candidate.and_then(|i| mapping.get(i)).filter(|e| {
                    let entry_end = e.value.span.end.max(e.key.span.end);
                    end <= end_of_trailing_comments(src, entry_end)
                }) else {
                    return found;
                };
                path.push(entry.key_str().to_owned());
                if starts_line(src, entry.key.span.start) {
                    found.push(Owner {
                        first: entry.key.span.start,
                        end: entry.value.span.end.max(entry.key.span.end),
                        path: path.clone(),
                        key: Some(entry.key_str()),
                    });
                }
                node = entry.value;
            }
            Kind::Sequence(sequence) if !sequence.flow => {
                let candidate = last_before(sequence.len(), start, |i| {
                    sequence
                        .get(i)
                        .and_then(|item| item.dash)
                        .unwrap_or(usize::MAX)
                });
                let Some((index, item, dash)) = candidate.and_then(|index| {
                    let item = sequence.get(index)?;
                    let dash = item.dash?;
                    let item_end = item.node.span.end.max(dash + 1);
                    (end <= end_of_trailing_comments(src, item_end)).then_some((index, item, dash))
                }) else {
                    return found;
                };
                path.push(index.to_string());
                if starts_line(src, dash) {
                    found.push(Owner {
                        first: dash,
                        end: item.node.span.end.max(dash + 1),
                        path: path.clone(),
                        key: None,
                    });
                }
                node = item.node;
            }
            _ => return found,
        }
    }
}

/// The last of `len` members of a block collection that starts (`start_of`) before `at`.
/// Members are in file order, each on its own line, so only that one can hold a change that
/// starts at `at`: the lines of any earlier one end before the next member's line.
fn last_before(len: usize, at: usize, start_of: impl Fn(usize) -> usize) -> Option<usize> {
    let (mut low, mut high) = (0, len);
    while low < high {
        let middle = low + (high - low) / 2;
        if start_of(middle) < at {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low.checked_sub(1)
}

/// Whether `op` changes only the value at `path` or what lies under it, so the entry at
/// `path` stays (with its key, `in_mapping`) and everything outside it keeps its meaning.
fn changes_only_within(op: &PatchOperation, path: &[String], in_mapping: bool) -> bool {
    // `Some(true)`: strictly under `path`; `Some(false)`: `path` itself; `None`: elsewhere.
    let relation = |pointer: &jsonptr::Pointer| {
        let mut tokens = pointer.tokens();
        path.iter()
            .all(|want| tokens.next().is_some_and(|t| t.decoded() == want.as_str()))
            .then(|| tokens.next().is_some())
    };
    let under = |pointer| relation(pointer) == Some(true);
    match op {
        PatchOperation::Test(_) => true,
        // Replacing the value keeps the entry; adding at a sequence index would insert one.
        PatchOperation::Replace(op) => relation(&op.path).is_some(),
        PatchOperation::Add(op) => match relation(&op.path) {
            Some(strictly) => strictly || in_mapping,
            None => false,
        },
        PatchOperation::Remove(op) => under(&op.path),
        PatchOperation::Move(op) => under(&op.path) && under(&op.from),
        PatchOperation::Copy(op) => under(&op.path),
    }
}

fn pointer_get<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(value, |value, token| match value {
        Value::Object(map) => map.get(token),
        Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn line_start(text: &str, at: usize) -> usize {
    memchr::memrchr(b'\n', &text.as_bytes()[..at]).map_or(0, |i| i + 1)
}

fn starts_line(text: &str, at: usize) -> bool {
    text.as_bytes()[line_start(text, at)..at]
        .iter()
        .all(|&c| c == b' ')
}

/// The start of the first line after `at`'s line that holds a token, past blank and
/// comment-only lines (the end of the text if there is none).
fn end_of_trailing_comments(text: &str, at: usize) -> usize {
    let bytes = text.as_bytes();
    let mut line = match memchr::memchr(b'\n', &bytes[at..]) {
        Some(i) => at + i + 1,
        None => return bytes.len(),
    };
    while line < bytes.len() {
        let content = bytes[line..]
            .iter()
            .position(|&c| c != b' ' && c != b'\t')
            .map_or(bytes.len(), |i| line + i);
        match bytes.get(content) {
            Some(b'#' | b'\r' | b'\n') => {}
            _ => return line,
        }
        line = match memchr::memchr(b'\n', &bytes[content..]) {
            Some(i) => content + i + 1,
            None => return bytes.len(),
        };
    }
    line
}

#[cfg(test)]
mod tests {
    use json_patch::Patch;

    use super::super::edit::{Checked, apply_patch_checked};

    fn checked(src: &str, patch: &str) -> Checked {
        let ops: Patch = serde_json::from_str(patch).unwrap();
        apply_patch_checked(src, &ops).unwrap().1
    }

    const IMAGES: &str = "resources:\n  - base\nimages:\n  - name: web\n    newTag: \"1.0\" # keep\n  # between\n  - name: api\n    newName: r/api\nnamespace: x\n";

    #[test]
    fn an_edit_inside_one_entry_is_checked_on_its_own_lines() {
        let local = [
            r#"[{"op":"replace","path":"/images/0/newTag","value":"2.0"}]"#,
            r#"[{"op":"add","path":"/images/1/newTag","value":"v2"}]"#,
            r#"[{"op":"remove","path":"/images/1/newName"}]"#,
            r#"[{"op":"replace","path":"/namespace","value":"y"}]"#,
            // Items inserted or removed shift their neighbours: the whole `images:` entry's
            // lines are re-parsed, still not the file.
            r#"[{"op":"add","path":"/images/1","value":{"name":"x","newTag":"1"}}]"#,
            r#"[{"op":"remove","path":"/images/0"}]"#,
        ];
        for patch in local {
            assert_eq!(checked(IMAGES, patch), Checked::Locally, "{patch}");
        }
    }

    #[test]
    fn edits_the_local_check_cannot_decide_take_the_whole_re_parse() {
        let whole = [
            // Several splices.
            r#"[{"op":"replace","path":"/images/0/newTag","value":"2"},{"op":"replace","path":"/namespace","value":"y"}]"#,
            // A new root key.
            r#"[{"op":"add","path":"/labels","value":["a"]}]"#,
        ];
        for patch in whole {
            assert_eq!(checked(IMAGES, patch), Checked::Whole, "{patch}");
        }
        let with_alias = "base: &b v1
images:
  - name: web
    newTag: *b
";
        let patch = r#"[{"op":"replace","path":"/images/0/newTag","value":"v2"}]"#;
        assert_eq!(checked(with_alias, patch), Checked::Whole);
    }

    #[test]
    fn a_value_that_would_open_a_flow_collection_is_quoted_and_checked_locally() {
        // Unquoted, `[b` would open a flow sequence that swallows the lines after it.
        let src = "images:\n  - name: web\n    newTag: a\nnamespace: x\n";
        let patch = r#"[{"op":"replace","path":"/images/0/newTag","value":"[b"}]"#;
        let (text, how) =
            apply_patch_checked(src, &serde_json::from_str::<Patch>(patch).unwrap()).unwrap();
        assert!(
            text.contains("newTag: \"[b\"") || text.contains("newTag: '[b'"),
            "{text}"
        );
        assert_eq!(how, Checked::Locally);
    }
}
