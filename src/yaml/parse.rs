//! A span-keeping YAML parser for single-document files such as kustomization.yaml.
//!
//! It covers what configuration files use: block and flow collections, plain, quoted and
//! block scalars, comments, anchors, aliases, tags, `---`/`...` markers and CRLF line ends.
//! Complex keys (`? `) and multi-document streams are refused with a clear error rather than
//! guessed at. It works on bytes (every YAML indicator is ASCII), which keeps it fast enough to
//! re-parse a file after every edit.

use std::cell::Cell;

use super::error::SyntaxError;
use super::scalar::{fold_block_scalar, unescape_double, unquote_single};
use super::scan;
use super::tree::{Document, NONE, NodeData, Props, RawKind, ScalarStyle, scalar_text};

/// Parses one YAML document, keeping the byte span of every node.
pub fn parse(src: &str) -> Result<Document<'_>, SyntaxError> {
    if src.len() >= NONE as usize {
        return Err(SyntaxError::at(
            src,
            0,
            "the file is too large (4 GiB or more)",
        ));
    }
    let newline = if src
        .find('\n')
        .is_some_and(|i| i > 0 && src.as_bytes()[i - 1] == b'\r')
    {
        "\r\n"
    } else {
        "\n"
    };
    let mut parser = Parser {
        src,
        b: src.as_bytes(),
        pos: 0,
        has_anchors: false,
        // Configuration files hold about one node per 16 bytes; reserving that up front saves
        // the copies of a growing vector.
        nodes: Vec::with_capacity(src.len() / 16 + 4),
        pending: Vec::with_capacity(64),
        cooked: Vec::new(),
        props: Vec::new(),
        line: Cell::new((0, 0)),
    };
    let root = match parser.document()? {
        Some(root) => {
            parser.nodes.push(root);
            (parser.nodes.len() - 1) as u32
        }
        None => NONE,
    };
    Ok(Document {
        src,
        nodes: parser.nodes,
        cooked: parser.cooked,
        props: parser.props,
        root,
        newline,
        has_anchors: parser.has_anchors,
    })
}

/// Nesting deeper than this is refused: it is never needed in configuration and keeps
/// recursion bounded on hostile input.
const MAX_DEPTH: usize = 100;

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    has_anchors: bool,
    /// The tree: every finished collection's children, contiguous.
    nodes: Vec<NodeData>,
    /// Children of the collections being parsed, innermost last: a collection moves its own
    /// into `nodes` when it ends, so that they stay contiguous there.
    pending: Vec<NodeData>,
    cooked: Vec<String>,
    props: Vec<Props>,
    /// The last line start found, and a position up to which that line has no break.
    line: Cell<(usize, usize)>,
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn is_break(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

fn is_flow_indicator(c: u8) -> bool {
    matches!(c, b',' | b'[' | b']' | b'{' | b'}')
}

impl<'a> Parser<'a> {
    fn error(&self, at: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError::at(self.src, at, message)
    }

    fn text(&self, node: &NodeData) -> &str {
        scalar_text(self.src, &self.cooked, node)
    }

    /// A scalar node whose value differs from its source text.
    fn cooked(&mut self, start: usize, end: usize, style: ScalarStyle, value: String) -> NodeData {
        let mut node = NodeData::scalar(start, end, style);
        node.first = self.cooked.len() as u32;
        self.cooked.push(value);
        node
    }

    fn set_props(&mut self, node: &mut NodeData, anchor: Option<String>, tag: Option<String>) {
        if anchor.is_some() || tag.is_some() {
            node.props = self.props.len() as u32;
            self.props.push(Props { anchor, tag });
        }
    }

    /// Moves the children pending since `base` into the tree and returns the collection.
    fn finish(
        &mut self,
        base: usize,
        start: usize,
        end: usize,
        kind: RawKind,
        flow: bool,
    ) -> NodeData {
        let mut node = NodeData::collection(start, end, kind, flow);
        let children = self.pending.len() - base;
        node.first = self.nodes.len() as u32;
        node.len = if kind == RawKind::Mapping {
            children / 2
        } else {
            children
        } as u32;
        self.nodes.extend(self.pending.drain(base..));
        node
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn byte_at(&self, at: usize) -> Option<u8> {
        self.b.get(at).copied()
    }

    /// True when the byte at `at` ends a token: blank, line break or end of input.
    fn is_separator_at(&self, at: usize) -> bool {
        self.byte_at(at).is_none_or(|c| is_blank(c) || is_break(c))
    }

    fn line_start(&self, at: usize) -> usize {
        // The parser mostly asks about positions at or after its last question, so the last
        // answer is extended forward over the new bytes instead of scanning back each time.
        let (start, known) = self.line.get();
        if start <= at && at <= self.b.len() {
            if at <= known {
                return start;
            }
            let start = scan::last_newline(self.b, known, at).map_or(start, |i| i + 1);
            self.line.set((start, at));
            return start;
        }
        let start = scan::line_start(self.b, at);
        self.line.set((start, at));
        start
    }

    fn column(&self, at: usize) -> usize {
        at - self.line_start(at)
    }

    fn line_end(&self, from: usize) -> usize {
        scan::line_end(self.b, from)
    }

    fn at_document_marker(&self) -> bool {
        let rest = &self.b[self.pos..];
        // The cheap byte tests first: this runs before every token.
        (rest.starts_with(b"---") || rest.starts_with(b"..."))
            && self.is_separator_at(self.pos + 3)
            && self.column(self.pos) == 0
    }

    fn skip_blanks(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
    }

    fn skip_line_break(&mut self) {
        if self.peek() == Some(b'\r') {
            self.pos += 1;
        }
        if self.peek() == Some(b'\n') {
            self.pos += 1;
        }
    }

    /// Skips blanks, comments and line breaks up to the next token. Refuses tabs used for
    /// indentation, which YAML forbids and which would make columns ambiguous.
    fn skip_to_token(&mut self) -> Result<(), SyntaxError> {
        loop {
            let blanks_from = self.pos;
            let mut tab = false;
            while let Some(c) = self.peek().filter(|&c| is_blank(c)) {
                tab |= c == b'\t';
                self.pos += 1;
            }
            match self.peek() {
                Some(b'#') => self.pos = self.line_end(self.pos),
                Some(c) if is_break(c) => self.skip_line_break(),
                Some(_) => {
                    if tab
                        && self.b[self.line_start(blanks_from)..blanks_from]
                            .iter()
                            .all(|&c| c == b' ')
                    {
                        return Err(self.error(
                            blanks_from,
                            "tab character used for indentation; YAML allows only spaces there",
                        ));
                    }
                    return Ok(());
                }
                None => return Ok(()),
            }
        }
    }

    fn document(&mut self) -> Result<Option<NodeData>, SyntaxError> {
        if self.src.starts_with('\u{feff}') {
            self.pos = 3;
        }
        let mut directive = None;
        loop {
            self.skip_to_token()?;
            if self.peek() == Some(b'%') && self.column(self.pos) == 0 {
                directive = Some(self.pos);
                self.pos = self.line_end(self.pos);
            } else {
                break;
            }
        }
        let explicit_start = self.at_document_marker() && self.b[self.pos] == b'-';
        if explicit_start {
            self.pos += 3;
            self.skip_to_token()?;
        } else if let Some(at) = directive {
            return Err(self.error(at, "a directive must be followed by a `---` line"));
        }
        let root = if self.peek().is_none() || self.at_document_marker() {
            None
        } else {
            Some(self.node(-1, true, 0)?)
        };
        self.skip_to_token()?;
        if self.at_document_marker() && self.b[self.pos] == b'.' {
            self.pos += 3;
            self.skip_to_token()?;
        }
        if self.peek().is_some() {
            let message = if self.at_document_marker() {
                "a second YAML document starts here; Ferry edits single-document files only"
            } else {
                "unexpected content; check the indentation of this line"
            };
            return Err(self.error(self.pos, message));
        }
        Ok(root)
    }

    /// Parses the node starting at the current token. `parent_indent` is the indentation of the
    /// construct that owns it (-1 for the document root); `block` says whether a block
    /// collection may start here (not after `key: ` on the same line).
    fn node(
        &mut self,
        parent_indent: isize,
        block: bool,
        depth: usize,
    ) -> Result<NodeData, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error(self.pos, "nesting is too deep"));
        }
        let token = self.pos;
        let (anchor, tag) = self.properties()?;
        if anchor.is_some() || tag.is_some() {
            let line = self.line_start(self.pos);
            let at_line_end = self.peek().is_none_or(|c| c == b'#' || is_break(c));
            if at_line_end {
                // The node the properties belong to starts on a later line.
                let after = self.pos;
                self.skip_to_token()?;
                let column = self.column(self.pos) as isize;
                let mut node = if self.peek().is_some()
                    && !self.at_document_marker()
                    && self.line_start(self.pos) != line
                    && column > parent_indent
                {
                    self.node(parent_indent, true, depth + 1)?
                } else {
                    self.pos = after;
                    NodeData::empty(after)
                };
                self.set_props(&mut node, anchor, tag);
                return Ok(node);
            }
        }
        let start = self.pos;
        let c = self
            .peek()
            .ok_or_else(|| self.error(start, "unexpected end of file"))?;
        let mut node = match c {
            b'-' if self.is_separator_at(start + 1) => {
                if !block {
                    return Err(self.error(
                        start,
                        "a block sequence cannot start on the same line as its key; move `- ` to the next line",
                    ));
                }
                // The column matters only for a block collection; most nodes are plain values.
                let indent = self.column(start);
                self.block_sequence(indent, depth)?
            }
            b'?' if self.is_separator_at(start + 1) => {
                return Err(self.error(
                    start,
                    "complex mapping keys (`? `) are not supported; use a plain key",
                ));
            }
            b'[' | b'{' => {
                let node = self.flow_collection(depth)?;
                self.reject_key_after("a flow collection cannot be a mapping key")?;
                node
            }
            b'|' | b'>' => self.block_scalar(parent_indent)?,
            b'*' => {
                let node = self.alias()?;
                self.reject_key_after("an alias cannot be a mapping key here")?;
                node
            }
            _ => {
                let first = self.scalar_first_line(false)?;
                let after_scalar = self.pos;
                self.skip_blanks();
                if self.peek() == Some(b':') && self.is_separator_at(self.pos + 1) {
                    if !block {
                        return Err(self.error(
                            self.pos,
                            "a mapping value cannot start on the same line as its key; put quotes around a value that contains `: `",
                        ));
                    }
                    if tag.is_some() || anchor.is_some() {
                        return Err(
                            self.error(token, "anchors and tags on mapping keys are not supported")
                        );
                    }
                    let indent = self.column(start);
                    return self.block_mapping(indent, first, depth);
                }
                self.pos = after_scalar;
                self.scalar_continuation(first, parent_indent)?
            }
        };
        self.set_props(&mut node, anchor, tag);
        Ok(node)
    }

    fn reject_key_after(&mut self, message: &str) -> Result<(), SyntaxError> {
        let after = self.pos;
        self.skip_blanks();
        let is_key = self.peek() == Some(b':') && self.is_separator_at(self.pos + 1);
        if is_key {
            return Err(self.error(self.pos, message));
        }
        self.pos = after;
        Ok(())
    }

    /// Reads an anchor (`&name`) and a tag (`!tag`) in either order.
    fn properties(&mut self) -> Result<(Option<String>, Option<String>), SyntaxError> {
        let mut anchor = None;
        let mut tag = None;
        loop {
            match self.peek() {
                Some(b'&') if anchor.is_none() => {
                    self.has_anchors = true;
                    let start = self.pos + 1;
                    anchor = Some(self.name_token(start, "anchor")?);
                }
                Some(b'!') if tag.is_none() => {
                    let start = self.pos;
                    let mut end = start + 1;
                    while self
                        .byte_at(end)
                        .is_some_and(|c| !is_blank(c) && !is_break(c) && !is_flow_indicator(c))
                    {
                        end += 1;
                    }
                    tag = Some(self.src[start..end].to_owned());
                    self.pos = end;
                }
                _ => return Ok((anchor, tag)),
            }
            self.skip_blanks();
        }
    }

    fn name_token(&mut self, start: usize, what: &str) -> Result<String, SyntaxError> {
        let end = self.name_end(start, what)?;
        Ok(self.src[start..end].to_owned())
    }

    /// Moves past the anchor or alias name at `start` and returns where it ends.
    fn name_end(&mut self, start: usize, what: &str) -> Result<usize, SyntaxError> {
        let mut end = start;
        while self
            .byte_at(end)
            .is_some_and(|c| !is_blank(c) && !is_break(c) && !is_flow_indicator(c))
        {
            end += 1;
        }
        if end == start {
            return Err(self.error(
                start - 1,
                format!(
                    "{what} name is missing after `{}`",
                    self.b[start - 1] as char
                ),
            ));
        }
        self.pos = end;
        Ok(end)
    }

    fn alias(&mut self) -> Result<NodeData, SyntaxError> {
        self.has_anchors = true;
        let start = self.pos;
        self.name_end(start + 1, "alias")?;
        Ok(NodeData::alias(start, self.pos))
    }

    fn block_mapping(
        &mut self,
        indent: usize,
        first_key: NodeData,
        depth: usize,
    ) -> Result<NodeData, SyntaxError> {
        let start = first_key.start();
        let base = self.pending.len();
        let mut key = first_key;
        let mut end;
        loop {
            // At the `:` after `key`.
            let colon_end = self.pos + 1;
            self.pos = colon_end;
            let value = self.mapping_value(indent, colon_end, depth)?;
            end = value.end().max(colon_end);
            self.push_entry(base, key, value)?;
            if !self.next_sibling_at(indent, "a key of this mapping starts")? {
                break;
            }
            if self.peek() == Some(b'-') && self.is_separator_at(self.pos + 1) {
                return Err(self.error(
                    self.pos,
                    "a sequence item where a mapping key was expected; indent it under its key",
                ));
            }
            key = self.mapping_key()?;
        }
        Ok(self.finish(base, start, end, RawKind::Mapping, false))
    }

    /// Moves to the next token and says whether it continues the block collection at `indent`:
    /// false when the input ends or dedents, an error when it is indented deeper.
    fn next_sibling_at(&mut self, indent: usize, layout: &str) -> Result<bool, SyntaxError> {
        self.skip_to_token()?;
        if self.peek().is_none() || self.at_document_marker() {
            return Ok(false);
        }
        let column = self.column(self.pos);
        if column > indent {
            return Err(self.error(
                self.pos,
                format!("unexpected indentation; {layout} at column {}", indent + 1),
            ));
        }
        Ok(column == indent)
    }

    /// Adds an entry to the mapping whose entries are pending since `base`, refusing a key it
    /// already has.
    fn push_entry(
        &mut self,
        base: usize,
        key: NodeData,
        value: NodeData,
    ) -> Result<(), SyntaxError> {
        let text = self.text(&key);
        let mut earlier = base;
        let mut first = None;
        while let Some(candidate) = self.pending.get(earlier) {
            if self.text(candidate) == text {
                first = Some(*candidate);
                break;
            }
            earlier += 2;
        }
        if let Some(first) = first {
            let (line, _) = super::error::line_col(self.src, first.start());
            return Err(self.error(
                key.start(),
                format!(
                    "duplicate key `{text}` (first defined on line {line}); remove one of them"
                ),
            ));
        }
        self.pending.push(key);
        self.pending.push(value);
        Ok(())
    }

    /// A key of a block mapping: a plain or quoted scalar on one line, followed by `:`.
    fn mapping_key(&mut self) -> Result<NodeData, SyntaxError> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'[' | b'{' | b'*' | b'&' | b'!'))
            || self.peek() == Some(b'?') && self.is_separator_at(start + 1)
        {
            return Err(self.error(
                start,
                "only plain or quoted scalars are supported as mapping keys",
            ));
        }
        let key = self.scalar_first_line(false)?;
        self.skip_blanks();
        if self.peek() == Some(b':') && self.is_separator_at(self.pos + 1) {
            Ok(key)
        } else {
            Err(self.error(start, "expected `key: value` here; check the indentation, or quote a value that spans lines"))
        }
    }

    fn mapping_value(
        &mut self,
        key_indent: usize,
        colon_end: usize,
        depth: usize,
    ) -> Result<NodeData, SyntaxError> {
        self.skip_blanks();
        let at_line_end = self.peek().is_none_or(|c| c == b'#' || is_break(c));
        if !at_line_end {
            return self.node(key_indent as isize, false, depth + 1);
        }
        let after = self.pos;
        self.skip_to_token()?;
        if self.peek().is_none() || self.at_document_marker() {
            self.pos = after;
            return Ok(NodeData::empty(colon_end));
        }
        let column = self.column(self.pos);
        let compact_sequence =
            column == key_indent && self.peek() == Some(b'-') && self.is_separator_at(self.pos + 1);
        if column > key_indent || compact_sequence {
            self.node(key_indent as isize, true, depth + 1)
        } else {
            self.pos = after;
            Ok(NodeData::empty(colon_end))
        }
    }

    fn block_sequence(&mut self, indent: usize, depth: usize) -> Result<NodeData, SyntaxError> {
        let start = self.pos;
        let base = self.pending.len();
        let mut end;
        loop {
            let dash = self.pos;
            self.pos += 1;
            self.skip_blanks();
            let at_line_end = self.peek().is_none_or(|c| c == b'#' || is_break(c));
            let mut node = if at_line_end {
                let after = self.pos;
                self.skip_to_token()?;
                if self.peek().is_some()
                    && !self.at_document_marker()
                    && self.column(self.pos) > indent
                {
                    self.node(indent as isize, true, depth + 1)?
                } else {
                    self.pos = after;
                    NodeData::empty(dash + 1)
                }
            } else {
                self.node(indent as isize, true, depth + 1)?
            };
            end = node.end().max(dash + 1);
            node.dash = dash as u32;
            self.pending.push(node);
            if !self.next_sibling_at(indent, "items of this sequence start with `- `")? {
                break;
            }
            if !(self.peek() == Some(b'-') && self.is_separator_at(self.pos + 1)) {
                // A key at the sequence's column ends a compact sequence under a mapping key;
                // the caller decides whether that is valid.
                break;
            }
        }
        Ok(self.finish(base, start, end, RawKind::Sequence, false))
    }

    /// Reads the part of a scalar on the current line: a quoted scalar whole (it may span
    /// lines), or a plain scalar up to a comment, `: `, or the line end.
    fn scalar_first_line(&mut self, flow: bool) -> Result<NodeData, SyntaxError> {
        let start = self.pos;
        match self.peek() {
            Some(b'\'') => self.single_quoted(),
            Some(b'"') => self.double_quoted(),
            Some(c) => {
                let reserved = matches!(
                    c,
                    b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`'
                ) || (flow && is_flow_indicator(c))
                    || (!flow && matches!(c, b']' | b'}' | b','))
                    || (matches!(c, b'-' | b'?' | b':') && self.is_separator_at(start + 1));
                if reserved {
                    return Err(self.error(
                        start,
                        format!(
                            "a plain value cannot start with `{}`; put the value in quotes",
                            c as char
                        ),
                    ));
                }
                let end = self.plain_line_end(start, flow);
                self.pos = end;
                Ok(NodeData::scalar(start, end, ScalarStyle::Plain))
            }
            None => Err(self.error(start, "unexpected end of file")),
        }
    }

    /// End of plain scalar text on this line, trailing blanks excluded.
    fn plain_line_end(&self, start: usize, flow: bool) -> usize {
        let b = self.b;
        let mut at = if flow {
            self.flow_plain_end(start, self.line_end(start))
        } else {
            // Outside flow collections only a line break, `: ` and ` #` end a plain scalar:
            // the scan finds the candidates.
            let mut at = start;
            loop {
                at = scan::plain_stop(b, at);
                match b.get(at) {
                    Some(b':') if !self.is_separator_at(at + 1) => at += 1,
                    Some(b'#') if at == start || !is_blank(b[at - 1]) => at += 1,
                    _ => break at,
                }
            }
        };
        while at > start && is_blank(b[at - 1]) {
            at -= 1;
        }
        at
    }

    fn flow_plain_end(&self, start: usize, line_end: usize) -> usize {
        let b = self.b;
        (start..line_end)
            .find(|&at| match b[at] {
                b':' => {
                    self.is_separator_at(at + 1)
                        || self.byte_at(at + 1).is_some_and(is_flow_indicator)
                }
                b'#' => at > start && is_blank(b[at - 1]),
                c => is_flow_indicator(c),
            })
            .unwrap_or(line_end)
    }

    /// Continues a plain scalar over following lines indented deeper than its parent.
    fn scalar_continuation(
        &mut self,
        first: NodeData,
        parent_indent: isize,
    ) -> Result<NodeData, SyntaxError> {
        if first.kind != RawKind::Scalar || first.style != ScalarStyle::Plain {
            return Ok(first);
        }
        let mut line_end = self.pos;
        while self.byte_at(line_end).is_some_and(is_blank) {
            line_end += 1;
        }
        if self.byte_at(line_end).is_some_and(|c| !is_break(c)) {
            // A comment ends a plain scalar for good.
            return Ok(first);
        }
        let mut node = first;
        // Built only once a continuation line is found: most plain scalars have none.
        let mut value: Option<String> = None;
        let mut at = line_end;
        loop {
            let mut empty_lines = 0;
            let mut next = at;
            let content = loop {
                if next >= self.b.len() {
                    break None;
                }
                if self.b[next] == b'\r' {
                    next += 1;
                }
                if self.byte_at(next) == Some(b'\n') {
                    next += 1;
                }
                let mut first_char = next;
                while self.byte_at(first_char).is_some_and(is_blank) {
                    first_char += 1;
                }
                if self.byte_at(first_char).is_none_or(is_break) {
                    empty_lines += 1;
                    next = first_char;
                    continue;
                }
                break Some(first_char);
            };
            let Some(content) = content else { break };
            let column = (content - self.line_start(content)) as isize;
            let is_marker = column == 0 && {
                let rest = &self.b[content..];
                (rest.starts_with(b"---") || rest.starts_with(b"..."))
                    && self.is_separator_at(content + 3)
            };
            if column <= parent_indent || self.b[content] == b'#' || is_marker {
                break;
            }
            let end = self.plain_line_end(content, false);
            if self.byte_at(end) == Some(b':') || end == content {
                return Err(self.error(
                    content,
                    "this line continues a plain value but contains `: `; indent it as a mapping or quote the value",
                ));
            }
            let value = value.get_or_insert_with(|| self.text(&node).to_owned());
            if empty_lines == 0 {
                value.push(' ');
            } else {
                value.extend(std::iter::repeat_n('\n', empty_lines));
            }
            value.push_str(&self.src[content..end]);
            node.set_end(end);
            self.pos = end;
            at = self.line_end(end);
            if at != end && self.b[end..at].iter().any(|&c| !is_blank(c)) {
                break;
            }
        }
        Ok(match value {
            Some(value) => self.cooked(node.start(), node.end(), ScalarStyle::Plain, value),
            None => node,
        })
    }

    fn single_quoted(&mut self) -> Result<NodeData, SyntaxError> {
        let start = self.pos;
        let mut at = start + 1;
        loop {
            match self.byte_at(at) {
                None => {
                    return Err(self.error(
                        start,
                        "single-quoted value is not closed; add the closing `'`",
                    ));
                }
                Some(b'\'') if self.byte_at(at + 1) == Some(b'\'') => at += 2,
                Some(b'\'') => break,
                Some(_) => at += 1,
            }
        }
        let raw = &self.src[start + 1..at];
        self.pos = at + 1;
        let style = ScalarStyle::SingleQuoted;
        // Only `''` and line breaks change the text; without them the value is the raw text.
        Ok(if raw.bytes().any(|c| c == b'\'' || is_break(c)) {
            let value = unquote_single(raw);
            self.cooked(start, at + 1, style, value)
        } else {
            NodeData::scalar(start, at + 1, style)
        })
    }

    fn double_quoted(&mut self) -> Result<NodeData, SyntaxError> {
        let start = self.pos;
        let mut at = start + 1;
        loop {
            match self.byte_at(at) {
                None => {
                    return Err(self.error(
                        start,
                        "double-quoted value is not closed; add the closing `\"`",
                    ));
                }
                Some(b'\\') => at += 2,
                Some(b'"') => break,
                Some(_) => at += 1,
            }
        }
        let raw = &self.src[start + 1..at];
        let style = ScalarStyle::DoubleQuoted;
        // Only escapes and line breaks change the text; without them the value is the raw text.
        let node = if raw.bytes().any(|c| c == b'\\' || is_break(c)) {
            let value = unescape_double(raw)
                .map_err(|(offset, message)| self.error(start + 1 + offset, message))?;
            self.cooked(start, at + 1, style, value)
        } else {
            NodeData::scalar(start, at + 1, style)
        };
        self.pos = at + 1;
        Ok(node)
    }

    fn block_scalar(&mut self, parent_indent: isize) -> Result<NodeData, SyntaxError> {
        let start = self.pos;
        let literal = self.b[start] == b'|';
        let mut at = start + 1;
        let mut explicit_indent = None;
        let mut chomp = 0i8;
        for _ in 0..2 {
            match self.byte_at(at) {
                Some(c @ b'1'..=b'9') if explicit_indent.is_none() => {
                    explicit_indent = Some((c - b'0') as isize)
                }
                Some(b'+') if chomp == 0 => chomp = 1,
                Some(b'-') if chomp == 0 => chomp = -1,
                _ => break,
            }
            at += 1;
        }
        let header_end = at;
        while self.byte_at(at).is_some_and(is_blank) {
            at += 1;
        }
        match self.byte_at(at) {
            None => {}
            Some(b'#') if at > header_end => {}
            Some(c) if is_break(c) => {}
            Some(_) => {
                return Err(self.error(at, "unexpected text after a block scalar indicator; start the content on the next line"));
            }
        }
        let mut line = self.line_end(at);
        let mut content_indent = explicit_indent.map(|m| (parent_indent.max(0) + m) as usize);
        let mut lines: Vec<&str> = Vec::new();
        let mut span_end = header_end;
        let mut pos_end = line;
        loop {
            if line >= self.b.len() {
                break;
            }
            let next = if self.b[line] == b'\r' && self.byte_at(line + 1) == Some(b'\n') {
                line + 2
            } else {
                line + 1
            };
            let next_end = self.line_end(next);
            let text = &self.src[next..next_end];
            let spaces = text.bytes().take_while(|&c| c == b' ').count();
            let blank = text.bytes().all(is_blank);
            let indent = match content_indent {
                Some(indent) => indent,
                None if blank => {
                    lines.push(text);
                    line = next_end;
                    continue;
                }
                None => {
                    if (spaces as isize) <= parent_indent {
                        break;
                    }
                    content_indent = Some(spaces);
                    spaces
                }
            };
            let is_marker = spaces == 0
                && (text.starts_with("---") || text.starts_with("..."))
                && self.is_separator_at(next + 3);
            if !blank && (spaces < indent || is_marker) {
                break;
            }
            if !blank && text[..indent.min(text.len())].contains('\t') {
                return Err(
                    self.error(next, "tab character used for indentation in a block scalar")
                );
            }
            lines.push(text);
            if !blank {
                span_end = next_end;
                pos_end = next_end;
            }
            line = next_end;
        }
        // Trailing blank lines belong to the value only through chomping; the parser resumes
        // after the last content line so they stay between nodes.
        let indent = content_indent.unwrap_or(0);
        let value = fold_block_scalar(&lines, indent, literal, chomp);
        self.pos = pos_end;
        let style = if literal {
            ScalarStyle::Literal
        } else {
            ScalarStyle::Folded
        };
        Ok(self.cooked(start, span_end, style, value))
    }

    fn skip_flow_space(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek() {
                Some(c) if is_blank(c) || is_break(c) => self.pos += 1,
                Some(b'#')
                    if self.pos == 0
                        || matches!(self.b[self.pos - 1], b' ' | b'\t' | b'\n' | b'\r') =>
                {
                    self.pos = self.line_end(self.pos);
                }
                _ => return Ok(()),
            }
        }
    }

    fn flow_collection(&mut self, depth: usize) -> Result<NodeData, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error(self.pos, "nesting is too deep"));
        }
        let start = self.pos;
        let is_mapping = self.b[start] == b'{';
        let close = if is_mapping { b'}' } else { b']' };
        self.pos += 1;
        let base = self.pending.len();
        loop {
            self.skip_flow_space()?;
            match self.peek() {
                None => {
                    return Err(self.error(
                        start,
                        format!(
                            "`{}` is never closed; add `{}`",
                            self.b[start] as char, close as char
                        ),
                    ));
                }
                Some(c) if c == close => break,
                _ => {}
            }
            if is_mapping {
                let key = self.flow_node(depth, true)?;
                if key.kind != RawKind::Scalar {
                    return Err(
                        self.error(key.start(), "only scalars are supported as mapping keys")
                    );
                }
                self.skip_flow_space()?;
                let value = if self.peek() == Some(b':') {
                    let colon_end = self.pos + 1;
                    self.pos = colon_end;
                    self.skip_flow_space()?;
                    if matches!(self.peek(), Some(b',')) || self.peek() == Some(close) {
                        NodeData::empty(colon_end)
                    } else {
                        self.flow_node(depth, false)?
                    }
                } else {
                    NodeData::empty(key.end())
                };
                self.push_entry(base, key, value)?;
            } else {
                let node = self.flow_node(depth, false)?;
                self.skip_flow_space()?;
                if self.peek() == Some(b':') {
                    return Err(self.error(self.pos, "single-pair mappings inside `[...]` are not supported; write `{key: value}`"));
                }
                self.pending.push(node);
            }
            self.skip_flow_space()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => break,
                Some(_) => {
                    return Err(self.error(
                        self.pos,
                        format!("expected `,` or `{}` here", close as char),
                    ));
                }
                None => {
                    return Err(self.error(
                        start,
                        format!(
                            "`{}` is never closed; add `{}`",
                            self.b[start] as char, close as char
                        ),
                    ));
                }
            }
        }
        self.pos += 1;
        let kind = if is_mapping {
            RawKind::Mapping
        } else {
            RawKind::Sequence
        };
        Ok(self.finish(base, start, self.pos, kind, true))
    }

    fn flow_node(&mut self, depth: usize, is_key: bool) -> Result<NodeData, SyntaxError> {
        let (anchor, tag) = self.properties()?;
        if is_key && (anchor.is_some() || tag.is_some()) {
            return Err(self.error(
                self.pos,
                "anchors and tags on mapping keys are not supported",
            ));
        }
        let mut node = match self.peek() {
            Some(b'[' | b'{') if !is_key => self.flow_collection(depth + 1)?,
            Some(b'*') if !is_key => self.alias()?,
            _ => {
                let node = self.scalar_first_line(true)?;
                if node.kind == RawKind::Scalar && node.style == ScalarStyle::Plain {
                    self.flow_plain_continuation(node)
                } else {
                    node
                }
            }
        };
        self.set_props(&mut node, anchor, tag);
        Ok(node)
    }

    /// Plain scalars inside flow collections may continue on the next lines.
    fn flow_plain_continuation(&mut self, mut node: NodeData) -> NodeData {
        // Built only once a continuation line is found: most plain scalars have none.
        let mut value: Option<String> = None;
        loop {
            let mut at = self.pos;
            let mut breaks = 0;
            while let Some(c) = self.byte_at(at) {
                if c == b'\n' {
                    breaks += 1;
                } else if !is_blank(c) && c != b'\r' {
                    break;
                }
                at += 1;
            }
            let continues = breaks > 0
                && self
                    .byte_at(at)
                    .is_some_and(|c| !is_flow_indicator(c) && c != b'#' && c != b':');
            if !continues {
                break;
            }
            let end = self.plain_line_end(at, true);
            if end == at {
                break;
            }
            let value = value.get_or_insert_with(|| self.text(&node).to_owned());
            if breaks == 1 {
                value.push(' ');
            } else {
                value.extend(std::iter::repeat_n('\n', breaks - 1));
            }
            value.push_str(&self.src[at..end]);
            node.set_end(end);
            self.pos = end;
        }
        match value {
            Some(value) => self.cooked(node.start(), node.end(), ScalarStyle::Plain, value),
            None => node,
        }
    }
}
