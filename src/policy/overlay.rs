//! Reading the `images:` entries of an overlay's kustomization.
//!
//! This is the one place that parses kustomizations for policy checks. The lossless editor's
//! parser runs first, so that a file the image setter cannot edit is a file the policy refuses;
//! the entries themselves are then read with the stricter typed rules below (a tag YAML reads
//! as a number must be quoted).

use super::node::{Node, Value};

/// One `images:` entry, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayImage {
    pub name: String,
    pub new_name: Option<String>,
    pub new_tag: Option<String>,
    pub digest: Option<String>,
    /// Line of the entry in the file.
    pub line: u64,
}

impl OverlayImage {
    /// The image name the cluster will pull: `newName` when set, else `name`.
    pub fn effective_name(&self) -> &str {
        self.new_name.as_deref().unwrap_or(&self.name)
    }

    pub fn same_target(&self, other: &Self) -> bool {
        (&self.name, &self.new_name, &self.new_tag, &self.digest)
            == (&other.name, &other.new_name, &other.new_tag, &other.digest)
    }
}

/// Why a kustomization cannot be read: a message and the line it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub line: u64,
    pub message: String,
}

/// The `images:` entries of a kustomization (none when it has no `images:`).
pub fn overlay_images(text: &str) -> Result<Vec<OverlayImage>, Unreadable> {
    if !text.trim().is_empty()
        && let Err(error) = crate::kustomize::Kustomization::parse(text)
    {
        return Err(Unreadable {
            line: error.line().unwrap_or(1) as u64,
            message: error.message(),
        });
    }
    let root: Node = serde_saphyr::from_str(text).map_err(|error| Unreadable {
        line: error.location().map_or(1, |l| l.line()),
        message: format!("not valid YAML: {}", error.without_snippet()),
    })?;
    let entries = match &root.value {
        Value::Map(entries) => entries,
        Value::Null => return Ok(Vec::new()),
        other => {
            return Err(Unreadable {
                line: root.pos.line,
                message: format!("a kustomization is a mapping, this is {}", other.kind()),
            });
        }
    };
    let Some((_, images)) = entries
        .iter()
        .find(|(key, _)| key.value == Value::Str("images".into()))
    else {
        return Ok(Vec::new());
    };
    match &images.value {
        Value::Seq(items) => items.iter().map(image_entry).collect(),
        Value::Null => Ok(Vec::new()),
        other => Err(Unreadable {
            line: images.pos.line,
            message: format!("`images` must be a list, found {}", other.kind()),
        }),
    }
}

fn image_entry(node: &Node) -> Result<OverlayImage, Unreadable> {
    let unreadable = |message: String| Unreadable {
        line: node.pos.line,
        message,
    };
    let Value::Map(fields) = &node.value else {
        return Err(unreadable(format!(
            "each `images` entry must be a mapping with `name`, found {}",
            node.value.kind()
        )));
    };
    let get = |key: &str| -> Result<Option<String>, Unreadable> {
        let Some((_, value)) = fields
            .iter()
            .find(|(k, _)| k.value == Value::Str(key.into()))
        else {
            return Ok(None);
        };
        match &value.value {
            Value::Str(text) => Ok(Some(text.clone())),
            Value::Int(number) => Ok(Some(number.to_string())),
            Value::Null => Ok(None),
            other => Err(Unreadable {
                line: value.pos.line,
                message: format!(
                    "`{key}` must be a string, found {}: put it in quotes",
                    other.kind()
                ),
            }),
        }
    };
    let name = get("name")?.ok_or_else(|| unreadable("an `images` entry has no `name`".into()))?;
    Ok(OverlayImage {
        name,
        new_name: get("newName")?,
        new_tag: get("newTag")?,
        digest: get("digest")?,
        line: node.pos.line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entries_with_lines() {
        let text = "resources: [../../base]\nimages:\n  - name: registry.example.com/eap/api\n    newTag: develop.ab12cd3\n  - name: nginx\n    newName: mirror.example.com/nginx\n    newTag: 1234\n";
        let images = overlay_images(text).unwrap();
        assert_eq!(images.len(), 2);
        assert_eq!(images[0].new_tag.as_deref(), Some("develop.ab12cd3"));
        assert_eq!(images[0].line, 3);
        assert_eq!(images[1].effective_name(), "mirror.example.com/nginx");
        assert_eq!(images[1].new_tag.as_deref(), Some("1234"));
    }

    #[test]
    fn refuses_what_the_image_setter_cannot_edit() {
        assert_eq!(overlay_images("images: {a: b}\n").unwrap_err().line, 1);
        let float = overlay_images("images:\n  - name: x\n    newTag: 1.10\n").unwrap_err();
        assert_eq!(float.line, 3);
        assert!(float.message.contains("put it in quotes"));
        assert!(overlay_images("images:\n  - newTag: v1\n").is_err());
        assert!(overlay_images("images: [\n").is_err());
        assert_eq!(overlay_images("").unwrap(), Vec::new());
    }

    #[test]
    fn refuses_valid_yaml_the_lossless_editor_does_not_edit() {
        let complex_key = overlay_images("resources: []\n? [a, b]\n: c\n").unwrap_err();
        assert_eq!(complex_key.line, 2);
        assert!(
            complex_key
                .message
                .contains("only plain or quoted scalars are supported as mapping keys"),
            "{}",
            complex_key.message
        );
        let twice = overlay_images("images:\n- name: web\n- name: web\n").unwrap_err();
        assert_eq!(twice.line, 3);
    }
}
