//! Lossless YAML: a span-keeping parser and byte-level edits.
