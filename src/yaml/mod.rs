//! Lossless YAML: a span-keeping parser, the document model it means, and byte-level edits
//! driven by JSON Patch.
//!
//! Why our own parser: edits must change only the bytes they must, so every node needs its
//! exact span, and every edit is verified by re-parsing, which has to be cheap enough to run
//! on each of many edits per second.

mod edit;
mod emit;
mod error;
mod model;
mod parse;
mod scalar;
mod scan;
mod tree;
mod verify;

pub use edit::{EditError, apply_patch, apply_patch_parsed, apply_patch_under};
pub use emit::plain_is_safe;
pub use error::{SyntaxError, line_col};
pub use model::{ValueKind, node_model, resolve_plain, to_model, value_kind};
pub use parse::parse;
pub use tree::{
    Document, Entry, Item, Kind, Mapping, Node, Props, Scalar, ScalarStyle, Sequence, Span,
};

/// Parses `src` and returns its model in one step.
pub fn parse_model(src: &str) -> Result<serde_json::Value, SyntaxError> {
    let doc = parse(src)?;
    to_model(src, &doc)
}
