//! The `images:` list of a kustomization: reading it and setting images losslessly.

use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use jsonptr::PointerBuf;
use serde_json::{Map, Value};
use thiserror::Error;

use super::spec::{Field, ImageSpec};
use crate::yaml::{self, Document, EditError, Node, SyntaxError, line_col};

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

/// A parsed kustomization: its text, span tree and model, checked to have a usable shape.
pub struct Kustomization<'a> {
    src: &'a str,
    doc: Document<'a>,
    model: Value,
}

impl<'a> Kustomization<'a> {
    pub fn parse(src: &'a str) -> Result<Self, KustomizeError> {
        let doc = yaml::parse(src)?;
        let model = yaml::to_model(src, &doc)?;
        let kustomization = Self { src, doc, model };
        kustomization.check_shape()?;
        Ok(kustomization)
    }

    fn shape_error(&self, node: Option<&Node>, message: String) -> KustomizeError {
        let (line, column) = line_col(self.src, node.map_or(0, |n| n.span.start));
        KustomizeError::Shape {
            line,
            column,
            message,
        }
    }

    fn images_node(&self) -> Option<&Node<'a>> {
        let root = self.doc.root.as_ref()?.as_mapping()?;
        root.entries
            .iter()
            .find(|e| e.key_str() == "images")
            .map(|e| &e.value)
    }

    fn check_shape(&self) -> Result<(), KustomizeError> {
        let root = self.doc.root.as_ref();
        if !self.model.is_object() {
            return Err(self.shape_error(
                root,
                "a kustomization must be a mapping of keys such as `resources:` and `images:`"
                    .to_owned(),
            ));
        }
        let images = self.images_node();
        let entries = match self.model.get("images") {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Array(entries)) => entries,
            Some(_) => {
                return Err(self.shape_error(
                    images,
                    "`images:` must be a list of entries with `name:`".to_owned(),
                ));
            }
        };
        let nodes = images
            .and_then(Node::as_sequence)
            .map(|s| s.items.as_slice())
            .unwrap_or_default();
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let node = nodes.get(index).map(|item| &item.node);
            let name = entry.get("name").and_then(Value::as_str);
            let Some(name) = name.filter(|_| entry.is_object()) else {
                return Err(self.shape_error(node, format!("images[{index}] needs a `name:` that is a string, the image name used in the resources")));
            };
            for field in ["newName", "newTag", "digest"] {
                if entry
                    .get(field)
                    .is_some_and(|v| !v.is_string() && !v.is_number())
                {
                    return Err(
                        self.shape_error(node, format!("images[{index}].{field} must be a string"))
                    );
                }
            }
            if let Some((_, first)) = seen.iter().find(|(seen_name, _)| *seen_name == name) {
                let (line, _) =
                    line_col(self.src, nodes.get(*first).map_or(0, |i| i.node.span.start));
                return Err(self.shape_error(node, format!("images has a second entry named `{name}` (the first is on line {line}); remove one of them")));
            }
            seen.push((name, index));
        }
        Ok(())
    }

    pub fn model(&self) -> &Value {
        &self.model
    }

    /// The entries of `images:` in file order.
    pub fn images(&self) -> Vec<ImageEntry> {
        let text = |entry: &Value, key: &str| entry.get(key).map(scalar_text);
        self.model
            .get("images")
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
        let ops = image_ops(&self.model, specs)
            .map_err(|message| self.shape_error(self.images_node(), message))?;
        Ok(yaml::apply_patch_parsed(
            self.src, self.doc, self.model, &ops,
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

/// The JSON Patch that applies `specs` to a kustomization model, each spec seeing the result
/// of the ones before it.
pub fn image_ops(model: &Value, specs: &[ImageSpec]) -> Result<Vec<PatchOperation>, String> {
    if let [spec] = specs {
        return spec_ops(model, spec);
    }
    // Only `images` is planned on, so only it is copied.
    let mut images = Map::new();
    if let Some(list) = model.get("images") {
        images.insert("images".to_owned(), list.clone());
    }
    let mut images = Value::Object(images);
    let mut all = Vec::new();
    for spec in specs {
        let ops = spec_ops(&images, spec)?;
        json_patch::patch(&mut images, &ops)
            .map_err(|err| format!("internal error planning `{spec}`: {err}"))?;
        all.extend(ops);
    }
    Ok(all)
}

fn spec_ops(model: &Value, spec: &ImageSpec) -> Result<Vec<PatchOperation>, String> {
    let images = model.get("images");
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
