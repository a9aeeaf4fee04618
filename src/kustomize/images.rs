//! The `images:` list of a kustomization: reading it and setting images losslessly.

use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use jsonptr::PointerBuf;
use serde_json::{Map, Value};
use thiserror::Error;

use super::spec::{Field, ImageSpec};
use crate::yaml::{self, Document, EditError, Node, Sequence, SyntaxError, ValueKind, line_col};

#[derive(Debug, Error)]
pub enum KustomizeError {
    #[error(transparent)]
    Edit(#[from] EditError),
    /// Valid YAML, but not a kustomization Ferry can edit.
    #[error("{line}:{column}: {message}")]
    Shape {
        line: usize,
        column: usize,
        message: String,
    },
}

impl From<SyntaxError> for KustomizeError {
    fn from(err: SyntaxError) -> Self {
        Self::Edit(EditError::Syntax(err))
    }
}

impl KustomizeError {
    /// Whether the message starts with a `line:col` position.
    pub fn has_position(&self) -> bool {
        match self {
            KustomizeError::Edit(err) => err.has_position(),
            KustomizeError::Shape { .. } => true,
        }
    }

    /// The message without its position, for callers that report the position themselves.
    pub fn message(&self) -> String {
        match self {
            KustomizeError::Edit(EditError::Syntax(err)) => err.message.clone(),
            KustomizeError::Edit(EditError::Unsupported { message, .. }) => message.clone(),
            KustomizeError::Shape { message, .. } => message.clone(),
            KustomizeError::Edit(err) => err.to_string(),
        }
    }

    /// The 1-based line the error is about, when it has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            KustomizeError::Edit(EditError::Syntax(err)) => Some(err.line),
            KustomizeError::Edit(EditError::Unsupported { location, .. }) => {
                location.split(':').next().and_then(|l| l.parse().ok())
            }
            KustomizeError::Shape { line, .. } => Some(*line),
            KustomizeError::Edit(_) => None,
        }
    }
}

/// One entry of `images:` as the file has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    pub name: String,
    pub new_name: Option<String>,
    pub new_tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageEntry {
    /// The image reference kustomize renders for a base image named `name` and no tag of its own.
    pub fn reference(&self) -> String {
        let mut out = self.new_name.clone().unwrap_or_else(|| self.name.clone());
        if let Some(tag) = &self.new_tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(digest);
        }
        out
    }
}

/// A parsed kustomization: its text and span tree, checked to have a usable shape.
///
/// The shape is checked on the tree and no model of the file is built up front: a service
/// promoting many images pays for every allocation here, and an edit needs the model of the
/// one entry it changes.
pub struct Kustomization<'a> {
    src: &'a str,
    doc: Document<'a>,
}

impl<'a> Kustomization<'a> {
    pub fn parse(src: &'a str) -> Result<Self, KustomizeError> {
        let doc = yaml::parse(src)?;
        let kustomization = Self { src, doc };
        kustomization.check_shape()?;
        Ok(kustomization)
    }

    fn shape_error(&self, node: Option<Node>, message: String) -> KustomizeError {
        let (line, column) = line_col(self.src, node.map_or(0, |n| n.span.start));
        KustomizeError::Shape {
            line,
            column,
            message,
        }
    }

    fn images_node(&self) -> Option<Node<'_>> {
        let root = self.doc.root()?.as_mapping()?;
        root.entries()
            .find(|e| e.key_str() == "images")
            .map(|e| e.value)
    }

    /// The `images:` list, `None` when there is none.
    fn image_list(&self) -> Option<Sequence<'_>> {
        self.images_node().as_ref().and_then(Node::as_sequence)
    }

    fn check_shape(&self) -> Result<(), KustomizeError> {
        let root = self.doc.root();
        if root.as_ref().and_then(Node::as_mapping).is_none() {
            return Err(self.shape_error(
                root,
                "a kustomization must be a mapping of keys such as `resources:` and `images:`"
                    .to_owned(),
            ));
        }
        let images = self.images_node();
        match images.map(yaml::value_kind) {
            None | Some(ValueKind::Null | ValueKind::Sequence) => {}
            Some(ValueKind::Alias) => {
                return Err(self.shape_error(
                    images,
                    "`images:` is an alias; write the list out so Ferry can edit it".to_owned(),
                ));
            }
            Some(_) => {
                return Err(self.shape_error(
                    images,
                    "`images:` must be a list of entries with `name:`".to_owned(),
                ));
            }
        }
        let Some(list) = self.image_list() else {
            return Ok(());
        };
        let mut names: Vec<(&str, usize)> = Vec::with_capacity(list.len());
        for (index, item) in list.items().enumerate() {
            let node = Some(item.node);
            // One pass over the entry's keys (the parser has refused repeated keys): this runs
            // for every entry on every edit.
            let mut fields = [None; 4];
            for entry in item.node.as_mapping().into_iter().flat_map(|m| m.entries()) {
                let slot = match entry.key_str() {
                    "name" => 0,
                    "newName" => 1,
                    "newTag" => 2,
                    "digest" => 3,
                    _ => continue,
                };
                fields[slot] = Some(yaml::value_kind(entry.value));
            }
            let Some(ValueKind::String(name)) = fields[0] else {
                return Err(self.shape_error(node, format!("images[{index}] needs a `name:` that is a string, the image name used in the resources")));
            };
            for (key, field) in ["newName", "newTag", "digest"]
                .into_iter()
                .zip(&fields[1..])
            {
                match field {
                    None | Some(ValueKind::String(_) | ValueKind::Number) => {}
                    Some(ValueKind::Alias) => {
                        return Err(self.shape_error(node, format!("images[{index}].{key} is an alias; write the value out so Ferry can edit it")));
                    }
                    Some(_) => {
                        return Err(self
                            .shape_error(node, format!("images[{index}].{key} must be a string")));
                    }
                }
            }
            names.push((name, index));
        }
        // Sorted by name, then position: a repeated name sits right after its first entry.
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            let (name, first, second) = (pair[0].0, pair[0].1, pair[1].1);
            let (Some(first), second) = (list.get(first), list.get(second).map(|item| item.node))
            else {
                return Ok(());
            };
            let (line, _) = line_col(self.src, first.node.span.start);
            return Err(self.shape_error(second, format!("images has a second entry named `{name}` (the first is on line {line}); remove one of them")));
        }
        Ok(())
    }

    /// The model of `images:`, `None` when the key is absent.
    fn images_model(&self) -> Result<Option<Value>, KustomizeError> {
        Ok(match self.images_node() {
            Some(node) => Some(yaml::node_model(self.src, node)?),
            None => None,
        })
    }

    /// The position of the entry named `name`, if there is one.
    fn entry_named(&self, name: &str) -> Option<usize> {
        self.image_list()?.items().position(|item| {
            item.node.as_mapping().is_some_and(|m| {
                m.entries().any(|e| {
                    // The text first: it tells most entries apart without resolving the value.
                    e.key_str() == "name"
                        && e.value.scalar().is_some_and(|s| s.value == name)
                        && yaml::value_kind(e.value) == ValueKind::String(name)
                })
            })
        })
    }

    /// The entries of `images:` in file order.
    pub fn images(&self) -> Vec<ImageEntry> {
        let text = |entry: &Value, key: &str| entry.get(key).map(scalar_text);
        self.images_model()
            .ok()
            .flatten()
            .as_ref()
            .and_then(Value::as_array)
            .map(|entries| {
                entries
                    .iter()
                    .map(|entry| ImageEntry {
                        name: text(entry, "name").unwrap_or_default(),
                        new_name: text(entry, "newName"),
                        new_tag: text(entry, "newTag"),
                        digest: text(entry, "digest"),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Applies `specs` in order and returns the new text (the same text when nothing changes).
    pub fn set_images(self, specs: &[ImageSpec]) -> Result<String, KustomizeError> {
        let existing = match specs {
            [spec] => self.entry_named(spec.name.as_str()),
            _ => None,
        };
        let images = match existing {
            // One spec for an existing entry: the patch reads and changes that entry only, so
            // the other entries stand as nulls in the model it is planned on. The writer checks
            // the result against the entry's own model, or re-reads the whole file.
            Some(index) => {
                let list = self.image_list();
                let mut sparse = vec![Value::Null; list.map_or(0, |list| list.len())];
                if let (Some(slot), Some(item)) =
                    (sparse.get_mut(index), list.and_then(|list| list.get(index)))
                {
                    *slot = yaml::node_model(self.src, item.node)?;
                }
                Some(Value::Array(sparse))
            }
            None => self.images_model()?,
        };
        let ops = image_ops(images.as_ref(), specs)
            .map_err(|message| self.shape_error(self.images_node(), message))?;
        Ok(yaml::apply_patch_under(
            self.src, self.doc, "images", images, &ops,
        )?)
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Sets the images of a kustomization given as text.
pub fn set_images(src: &str, specs: &[ImageSpec]) -> Result<String, KustomizeError> {
    Kustomization::parse(src)?.set_images(specs)
}

fn pointer(tokens: &[&str]) -> PointerBuf {
    PointerBuf::from_tokens(tokens.iter().copied())
}

/// The JSON Patch that applies `specs` to a kustomization whose `images:` value has the model
/// `images` (`None` when the key is absent), each spec seeing the result of the ones before it.
pub fn image_ops(
    images: Option<&Value>,
    specs: &[ImageSpec],
) -> Result<Vec<PatchOperation>, String> {
    if let [spec] = specs {
        return spec_ops(images, spec);
    }
    // The patch is planned on a kustomization holding only `images:`, the key it changes.
    let mut model = Map::new();
    if let Some(list) = images {
        model.insert("images".to_owned(), list.clone());
    }
    let mut images = Value::Object(model);
    let mut all = Vec::new();
    for spec in specs {
        let ops = spec_ops(images.get("images"), spec)?;
        json_patch::patch(&mut images, &ops)
            .map_err(|err| format!("internal error planning `{spec}`: {err}"))?;
        all.extend(ops);
    }
    Ok(all)
}

fn spec_ops(images: Option<&Value>, spec: &ImageSpec) -> Result<Vec<PatchOperation>, String> {
    let entries = images.and_then(Value::as_array);
    let found = entries.and_then(|entries| {
        entries
            .iter()
            .position(|e| e.get("name").and_then(Value::as_str) == Some(spec.name.as_str()))
    });
    let Some(index) = found else {
        let entry = new_entry(spec)?;
        let op = match images {
            Some(Value::Array(_)) => PatchOperation::Add(AddOperation {
                path: pointer(&["images", "-"]),
                value: entry,
            }),
            Some(_) => PatchOperation::Replace(ReplaceOperation {
                path: pointer(&["images"]),
                value: Value::Array(vec![entry]),
            }),
            None => PatchOperation::Add(AddOperation {
                path: pointer(&["images"]),
                value: Value::Array(vec![entry]),
            }),
        };
        return Ok(vec![op]);
    };
    let entry = entries
        .and_then(|e| e.get(index))
        .cloned()
        .unwrap_or(Value::Null);
    let index = index.to_string();
    let mut ops = Vec::new();
    let mut set = |key: &str, value: String| {
        if entry.get(key).map(scalar_text).as_deref() != Some(value.as_str())
            || !entry.get(key).is_some_and(Value::is_string)
        {
            ops.push(PatchOperation::Add(AddOperation {
                path: pointer(&["images", &index, key]),
                value: Value::String(value),
            }));
        }
    };
    if let Field::Set(name) = &spec.new_name {
        set("newName", name.to_string());
    }
    if let Field::Set(tag) = &spec.tag {
        set("newTag", tag.to_string());
    }
    if let Field::Set(digest) = &spec.digest {
        set("digest", digest.to_string());
    }
    // Setting a tag alone drops a pinned digest, and setting a digest alone drops the tag:
    // otherwise the old image would keep running under the new label.
    let mut unset = |key: &str| {
        if entry.get(key).is_some() {
            ops.push(PatchOperation::Remove(RemoveOperation {
                path: pointer(&["images", &index, key]),
            }));
        }
    };
    if spec.tag.is_set() && spec.digest == Field::Unmentioned {
        unset("digest");
    }
    if spec.digest.is_set() && spec.tag == Field::Unmentioned {
        unset("newTag");
    }
    Ok(ops)
}

fn new_entry(spec: &ImageSpec) -> Result<Value, String> {
    let mut entry = Map::new();
    entry.insert("name".to_owned(), Value::String(spec.name.to_string()));
    if let Some(name) = spec.new_name.set_value() {
        entry.insert("newName".to_owned(), Value::String(name.to_string()));
    }
    if let Some(tag) = spec.tag.set_value() {
        entry.insert("newTag".to_owned(), Value::String(tag.to_string()));
    }
    if let Some(digest) = spec.digest.set_value() {
        entry.insert("digest".to_owned(), Value::String(digest.to_string()));
    }
    if entry.len() == 1 {
        return Err(format!(
            "`{spec}` keeps every value, but there is no `images:` entry named `{}` to keep them from",
            spec.name
        ));
    }
    Ok(Value::Object(entry))
}
