//! The span tree the parser produces: every node knows the bytes it came from, so edits can
//! replace exactly those bytes and nothing else. Scalars borrow their text from the source when
//! it needs no unquoting or folding, so a parse allocates little.

use std::borrow::Cow;

/// A half-open byte range `[start, end)` into the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    pub fn empty_at(at: usize) -> Self {
        Self { start: at, end: at }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scalar<'a> {
    /// The scalar's content after unquoting, unescaping and folding.
    pub value: Cow<'a, str>,
    pub style: ScalarStyle,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'a> {
    pub key: Node<'a>,
    pub value: Node<'a>,
}

impl Entry<'_> {
    /// The key's text, for matching JSON Pointer tokens.
    pub fn key_str(&self) -> &str {
        match &self.key.kind {
            Kind::Scalar(scalar) => &scalar.value,
            _ => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mapping<'a> {
    pub flow: bool,
    pub entries: Vec<Entry<'a>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item<'a> {
    /// Offset of the `-` indicator for block sequence items.
    pub dash: Option<usize>,
    pub node: Node<'a>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sequence<'a> {
    pub flow: bool,
    pub items: Vec<Item<'a>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind<'a> {
    /// A value with no text at all (`key:` followed by nothing).
    Empty,
    Scalar(Scalar<'a>),
    Mapping(Mapping<'a>),
    Sequence(Sequence<'a>),
    Alias(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node<'a> {
    /// The node's own text, without its anchor and tag. For block collections: from the first
    /// key or `-` to the end of the last value.
    pub span: Span,
    pub kind: Kind<'a>,
    /// Anchor and tag, boxed because almost no node has them and nodes should stay small.
    pub props: Option<Box<Props>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Props {
    pub anchor: Option<String>,
    pub tag: Option<String>,
}

impl<'a> Node<'a> {
    pub fn new(span: Span, kind: Kind<'a>) -> Self {
        Self {
            span,
            kind,
            props: None,
        }
    }

    pub fn anchor(&self) -> Option<&str> {
        self.props.as_ref().and_then(|p| p.anchor.as_deref())
    }

    pub fn tag(&self) -> Option<&str> {
        self.props.as_ref().and_then(|p| p.tag.as_deref())
    }

    pub fn set_props(&mut self, anchor: Option<String>, tag: Option<String>) {
        self.props = (anchor.is_some() || tag.is_some()).then(|| Box::new(Props { anchor, tag }));
    }

    pub fn as_mapping(&self) -> Option<&Mapping<'a>> {
        match &self.kind {
            Kind::Mapping(mapping) => Some(mapping),
            _ => None,
        }
    }

    pub fn as_sequence(&self) -> Option<&Sequence<'a>> {
        match &self.kind {
            Kind::Sequence(sequence) => Some(sequence),
            _ => None,
        }
    }

    pub fn is_block_collection(&self) -> bool {
        match &self.kind {
            Kind::Mapping(mapping) => !mapping.flow,
            Kind::Sequence(sequence) => !sequence.flow,
            _ => false,
        }
    }
}

/// A parsed single-document YAML file.
#[derive(Debug, Clone, PartialEq)]
pub struct Document<'a> {
    /// `None` for a document with no content (only comments, or empty).
    pub root: Option<Node<'a>>,
    /// The line break the file uses, kept for inserted lines.
    pub newline: &'static str,
    /// Whether any anchor or alias appears: a value may then be shared between places, so an
    /// edit cannot be checked by looking at the edited place alone.
    pub has_anchors: bool,
}
