//! Render checks with `kubectl kustomize`: an image edit must change the rendered container
//! images it targets, and nothing else.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use thiserror::Error;

use super::images::ImageEntry;
use crate::domain::image::split_reference;

#[derive(Debug, Error)]
pub enum RenderError {
    #[error(
        "`kubectl` was not found on PATH; install kubectl (it bundles kustomize) or drop --verify-render"
    )]
    KubectlMissing,
    #[error("`kubectl kustomize {dir}` failed {when} the edit:\n{stderr}")]
    Failed {
        dir: String,
        when: &'static str,
        stderr: String,
    },
    #[error("cannot prepare the render check: {0}")]
    Io(#[from] std::io::Error),
    #[error("the rendered output is not YAML ({0}); run `kubectl kustomize` by hand to see it")]
    Output(String),
    #[error("{0}")]
    Rejected(String),
}

/// One container image the edit changed in the render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageChange {
    /// `Kind/name` of the resource.
    pub resource: String,
    /// JSON Pointer of the `image` field inside the resource.
    pub field: String,
    pub before: String,
    pub after: String,
}

/// What the edit is meant to do to the render: the entries it changed, as they are after it.
#[derive(Debug, Clone)]
pub struct Target {
    pub entry: ImageEntry,
}

/// Renders the kustomization directory of `file` as it is, and with `new_text` in place of the
/// file (in a sibling copy, so the real file is not touched before the check passes), and
/// checks that only container images changed, each as one of `targets` says.
pub fn verify(
    file: &Path,
    new_text: &str,
    targets: &[Target],
) -> Result<Vec<ImageChange>, RenderError> {
    let file = fs::canonicalize(file)?;
    let dir = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let before = render(&dir, "before")?;
    let parent = dir.parent().unwrap_or(&dir);
    let copy = tempfile::Builder::new()
        .prefix(".ferry-render-")
        .tempdir_in(parent)?;
    copy_dir(&dir, copy.path())?;
    let name = file
        .file_name()
        .ok_or_else(|| std::io::Error::other("kustomization path has no file name"))?;
    fs::write(copy.path().join(name), new_text)?;
    let after = render(copy.path(), "after")?;
    compare(&before, &after, targets)
}

fn render(dir: &Path, when: &'static str) -> Result<Vec<Value>, RenderError> {
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => RenderError::KubectlMissing,
            _ => RenderError::Io(err),
        })?;
    if !output.status.success() {
        return Err(RenderError::Failed {
            dir: dir.display().to_string(),
            when,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&text).map_err(|err| RenderError::Output(err.to_string()))?;
    Ok(docs.into_iter().filter(|doc| !doc.is_null()).collect())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".git" || name.to_string_lossy().starts_with(".ferry-render-") {
            continue;
        }
        let target = to.join(&name);
        if entry.path().is_dir() {
            fs::create_dir(&target)?;
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn resource_name(doc: &Value) -> String {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("?");
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    format!("{kind}/{name}")
}

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

fn is_container_image(path: &[String]) -> bool {
    matches!(path, [.., list, index, field]
        if field == "image" && index.parse::<usize>().is_ok() && CONTAINER_LISTS.contains(&list.as_str()))
}

/// Every container image in a render, for messages.
fn images_in(docs: &[Value]) -> Vec<String> {
    fn walk(value: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    path.push(k.clone());
                    walk(v, path, out);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    path.push(i.to_string());
                    walk(v, path, out);
                    path.pop();
                }
            }
            Value::String(image) if is_container_image(path) && !out.contains(image) => {
                out.push(image.clone())
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for doc in docs {
        walk(doc, &mut Vec::new(), &mut out);
    }
    out
}

fn differences(
    before: &Value,
    after: &Value,
    path: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, Value, Value)>,
) {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                path.push(k.clone());
                differences(v, b.get(k).unwrap_or(&Value::Null), path, out);
                path.pop();
            }
            for (k, v) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                path.push(k.clone());
                out.push((path.clone(), Value::Null, v.clone()));
                path.pop();
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                path.push(i.to_string());
                differences(v, w, path, out);
                path.pop();
            }
        }
        (a, b) if a != b => out.push((path.clone(), a.clone(), b.clone())),
        _ => {}
    }
}

/// Whether a rendered image is what `entry` produces: its name, and its tag and digest where
/// the entry sets them.
fn produced_by(image: &str, entry: &ImageEntry) -> bool {
    let (name, tag, digest) = split_reference(image);
    let expected_name = entry.new_name.as_deref().unwrap_or(&entry.name);
    name == expected_name
        && entry.new_tag.as_deref().is_none_or(|t| tag == Some(t))
        && entry.digest.as_deref().is_none_or(|d| digest == Some(d))
}

fn compare(
    before: &[Value],
    after: &[Value],
    targets: &[Target],
) -> Result<Vec<ImageChange>, RenderError> {
    if before.len() != after.len() {
        return Err(RenderError::Rejected(format!(
            "the render has {} resources after the edit instead of {}; only images should change",
            after.len(),
            before.len()
        )));
    }
    let mut changes = Vec::new();
    for (old, new) in before.iter().zip(after) {
        let mut found = Vec::new();
        differences(old, new, &mut Vec::new(), &mut found);
        for (path, was, is) in found {
            let field = format!("/{}", path.join("/"));
            let (Some(was), Some(is)) = (was.as_str(), is.as_str()) else {
                return Err(RenderError::Rejected(format!(
                    "the edit changed {} at {field}, which is not a container image",
                    resource_name(new)
                )));
            };
            if !is_container_image(&path) {
                return Err(RenderError::Rejected(format!(
                    "the edit changed {} at {field}, which is not a container image",
                    resource_name(new)
                )));
            }
            changes.push(ImageChange {
                resource: resource_name(new),
                field,
                before: was.to_owned(),
                after: is.to_owned(),
            });
        }
    }
    for change in &changes {
        if !targets.iter().any(|t| produced_by(&change.after, &t.entry)) {
            return Err(RenderError::Rejected(format!(
                "{} {} became `{}`, which none of the edited entries produces",
                change.resource, change.field, change.after
            )));
        }
    }
    for target in targets {
        if !changes.iter().any(|c| produced_by(&c.after, &target.entry)) {
            let images = images_in(after);
            let listed = if images.is_empty() {
                "none".to_owned()
            } else {
                images.join(", ")
            };
            return Err(RenderError::Rejected(format!(
                "no container image in the render changed for `images:` entry `{}`: no resource uses an image named `{}` (check the name against the base). Images in the render: {listed}",
                target.entry.name, target.entry.name
            )));
        }
    }
    Ok(changes)
}
