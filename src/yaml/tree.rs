//! The span tree the parser produces: every node knows the bytes it came from, so edits can
//! replace exactly those bytes and nothing else.
//!
//! The tree is one flat vector of nodes: a collection's children sit next to each other and
//! the collection holds their index range. A parse then fills a few vectors instead of
//! allocating one per collection, a placed node never moves again, and dropping the tree frees
//! those vectors without walking it (an edit parses the whole file, so this is most of its
//! cost). A scalar whose value is its source text (most are) stores only its span; the few
//! that need unquoting or folding keep their value in a side table. Callers see the tree
//! through [`Node`], a copyable handle.

/// A half-open byte range `[start, end)` into the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    #[inline]
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    #[inline]
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

/// An absent index in a [`NodeData`] field.
pub(super) const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RawKind {
    Empty,
    Scalar,
    Mapping,
    Sequence,
    Alias,
}

/// One node as stored. Offsets are `u32` to keep nodes at 32 bytes; the parser refuses files
/// of 4 GiB or more.
#[derive(Debug, Clone, Copy)]
pub(super) struct NodeData {
    pub start: u32,
    pub end: u32,
    /// Collections: the index of the first child. Scalars: the index of the value in the
    /// cooked table, or [`NONE`] when the value is the source text.
    pub first: u32,
    /// Collections: the number of entries (a mapping's children are key, value, key, ...) or
    /// items.
    pub len: u32,
    /// Block sequence items: the offset of the `-`.
    pub dash: u32,
    /// Index into the property table, or [`NONE`].
    pub props: u32,
    pub kind: RawKind,
    pub style: ScalarStyle,
    pub flow: bool,
}

impl NodeData {
    #[inline]
    fn new(start: usize, end: usize, kind: RawKind) -> Self {
        Self {
            start: start as u32,
            end: end as u32,
            first: NONE,
            len: 0,
            dash: NONE,
            props: NONE,
            kind,
            style: ScalarStyle::Plain,
            flow: false,
        }
    }

    #[inline]
    pub fn empty(at: usize) -> Self {
        Self::new(at, at, RawKind::Empty)
    }

    #[inline]
    pub fn scalar(start: usize, end: usize, style: ScalarStyle) -> Self {
        Self {
            style,
            ..Self::new(start, end, RawKind::Scalar)
        }
    }

    #[inline]
    pub fn alias(start: usize, end: usize) -> Self {
        Self::new(start, end, RawKind::Alias)
    }

    #[inline]
    pub fn collection(start: usize, end: usize, kind: RawKind, flow: bool) -> Self {
        Self {
            flow,
            ..Self::new(start, end, kind)
        }
    }

    #[inline]
    pub fn start(&self) -> usize {
        self.start as usize
    }

    #[inline]
    pub fn end(&self) -> usize {
        self.end as usize
    }

    #[inline]
    pub fn set_end(&mut self, end: usize) {
        self.end = end as u32;
    }
}

/// The value of a scalar node: its cooked value, or the text of its span without quotes.
#[inline]
pub(super) fn scalar_text<'s>(src: &'s str, cooked: &'s [String], node: &NodeData) -> &'s str {
    if node.first != NONE {
        return cooked.get(node.first as usize).map_or("", String::as_str);
    }
    let (start, end) = (node.start(), node.end());
    let range = match node.style {
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => start + 1..end.saturating_sub(1),
        _ => start..end,
    };
    src.get(range).unwrap_or("")
}

#[derive(Debug, Clone, PartialEq)]
pub struct Props {
    pub anchor: Option<String>,
    pub tag: Option<String>,
}

/// A parsed single-document YAML file.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    pub(super) src: &'a str,
    pub(super) nodes: Vec<NodeData>,
    pub(super) cooked: Vec<String>,
    pub(super) props: Vec<Props>,
    /// The root's index, [`NONE`] for a document with no content (only comments, or empty).
    pub(super) root: u32,
    /// The line break the file uses, kept for inserted lines.
    pub newline: &'static str,
    /// Whether any anchor or alias appears: a value may then be shared between places, so an
    /// edit cannot be checked by looking at the edited place alone.
    pub has_anchors: bool,
}

impl Document<'_> {
    /// The root node, `None` for a document with no content.
    #[inline]
    pub fn root(&self) -> Option<Node<'_>> {
        (self.root != NONE).then(|| self.node(self.root))
    }

    #[inline]
    fn node(&self, index: u32) -> Node<'_> {
        let data = &self.nodes[index as usize];
        Node {
            span: Span::new(data.start(), data.end()),
            doc: self,
            data,
        }
    }
}

/// A node of a [`Document`].
#[derive(Clone, Copy)]
pub struct Node<'d> {
    /// The node's own text, without its anchor and tag. For block collections: from the first
    /// key or `-` to the end of the last value.
    pub span: Span,
    doc: &'d Document<'d>,
    data: &'d NodeData,
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("span", &self.span)
            .field("kind", &self.kind())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scalar<'d> {
    /// The scalar's content after unquoting, unescaping and folding.
    pub value: &'d str,
    pub style: ScalarStyle,
}

#[derive(Debug, Clone, Copy)]
pub enum Kind<'d> {
    /// A value with no text at all (`key:` followed by nothing).
    Empty,
    Scalar(Scalar<'d>),
    Mapping(Mapping<'d>),
    Sequence(Sequence<'d>),
    /// An alias, with the anchor name it refers to.
    Alias(&'d str),
}

impl<'d> Node<'d> {
    #[inline]
    pub fn kind(&self) -> Kind<'d> {
        let data = self.data;
        match data.kind {
            RawKind::Empty => Kind::Empty,
            RawKind::Scalar => Kind::Scalar(Scalar {
                value: scalar_text(self.doc.src, &self.doc.cooked, data),
                style: data.style,
            }),
            RawKind::Mapping => Kind::Mapping(Mapping {
                flow: data.flow,
                doc: self.doc,
                first: data.first,
                len: data.len,
            }),
            RawKind::Sequence => Kind::Sequence(Sequence {
                flow: data.flow,
                doc: self.doc,
                first: data.first,
                len: data.len,
            }),
            RawKind::Alias => {
                Kind::Alias(self.doc.src.get(data.start() + 1..data.end()).unwrap_or(""))
            }
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.data.kind == RawKind::Empty
    }

    /// The scalar's value, `None` for other nodes.
    #[inline]
    pub fn scalar(&self) -> Option<Scalar<'d>> {
        match self.kind() {
            Kind::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    #[inline]
    pub fn has_props(&self) -> bool {
        self.data.props != NONE
    }

    #[inline]
    fn props(&self) -> Option<&'d Props> {
        self.doc.props.get(self.data.props as usize)
    }

    #[inline]
    pub fn anchor(&self) -> Option<&'d str> {
        self.props().and_then(|p| p.anchor.as_deref())
    }

    #[inline]
    pub fn tag(&self) -> Option<&'d str> {
        self.props().and_then(|p| p.tag.as_deref())
    }

    #[inline]
    pub fn as_mapping(&self) -> Option<Mapping<'d>> {
        match self.kind() {
            Kind::Mapping(mapping) => Some(mapping),
            _ => None,
        }
    }

    #[inline]
    pub fn as_sequence(&self) -> Option<Sequence<'d>> {
        match self.kind() {
            Kind::Sequence(sequence) => Some(sequence),
            _ => None,
        }
    }

    #[inline]
    pub fn is_block_collection(&self) -> bool {
        matches!(self.data.kind, RawKind::Mapping | RawKind::Sequence) && !self.data.flow
    }

    #[inline]
    pub fn is_flow_collection(&self) -> bool {
        matches!(self.data.kind, RawKind::Mapping | RawKind::Sequence) && self.data.flow
    }

    /// The `-` of this node when it is an item of a block sequence.
    #[inline]
    fn dash(&self) -> Option<usize> {
        (self.data.dash != NONE).then_some(self.data.dash as usize)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Entry<'d> {
    pub key: Node<'d>,
    pub value: Node<'d>,
}

impl<'d> Entry<'d> {
    /// The key's text, for matching JSON Pointer tokens.
    #[inline]
    pub fn key_str(&self) -> &'d str {
        self.key.scalar().map_or("", |scalar| scalar.value)
    }
}

#[derive(Clone, Copy)]
pub struct Mapping<'d> {
    pub flow: bool,
    doc: &'d Document<'d>,
    first: u32,
    len: u32,
}

impl std::fmt::Debug for Mapping<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping")
            .field("flow", &self.flow)
            .field("entries", &self.entries().collect::<Vec<_>>())
            .finish()
    }
}

impl<'d> Mapping<'d> {
    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn get(&self, index: usize) -> Option<Entry<'d>> {
        (index < self.len()).then(|| self.entry(index))
    }

    #[inline]
    fn entry(&self, index: usize) -> Entry<'d> {
        let key = self.first + 2 * index as u32;
        Entry {
            key: self.doc.node(key),
            value: self.doc.node(key + 1),
        }
    }

    #[inline]
    pub fn last(&self) -> Option<Entry<'d>> {
        self.len().checked_sub(1).and_then(|index| self.get(index))
    }

    #[inline]
    pub fn entries(self) -> impl DoubleEndedIterator<Item = Entry<'d>> + ExactSizeIterator + 'd {
        let mapping = self;
        (0..self.len()).map(move |index| mapping.entry(index))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Item<'d> {
    /// Offset of the `-` indicator for block sequence items.
    pub dash: Option<usize>,
    pub node: Node<'d>,
}

#[derive(Clone, Copy)]
pub struct Sequence<'d> {
    pub flow: bool,
    doc: &'d Document<'d>,
    first: u32,
    len: u32,
}

impl std::fmt::Debug for Sequence<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequence")
            .field("flow", &self.flow)
            .field("items", &self.items().collect::<Vec<_>>())
            .finish()
    }
}

impl<'d> Sequence<'d> {
    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn get(&self, index: usize) -> Option<Item<'d>> {
        (index < self.len()).then(|| self.item(index))
    }

    #[inline]
    pub fn last(&self) -> Option<Item<'d>> {
        self.len().checked_sub(1).and_then(|index| self.get(index))
    }

    #[inline]
    pub fn items(self) -> impl DoubleEndedIterator<Item = Item<'d>> + ExactSizeIterator + 'd {
        let sequence = self;
        (0..self.len()).map(move |index| sequence.item(index))
    }

    #[inline]
    fn item(&self, index: usize) -> Item<'d> {
        let node = self.doc.node(self.first + index as u32);
        Item {
            dash: node.dash(),
            node,
        }
    }
}
