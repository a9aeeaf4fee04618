//! Property tests: random kustomization files with comments and odd formatting. After an edit,
//! every line outside the `images:` section is byte-identical, and an independent parser
//! (serde-saphyr) reads the images the spec semantics call for and the rest unchanged.

use ferry::kustomize::{Field, ImageSpec, set_images};
use proptest::prelude::*;
use serde_json::Value;

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    new_name: Option<String>,
    tag: Option<String>,
    digest: Option<String>,
}

#[derive(Debug, Clone)]
struct File {
    text: String,
    /// 0-based line range `[start, end)` of the images section (empty when there is none).
    images_lines: (usize, usize),
    entries: Vec<Entry>,
}

const NAMES: [&str; 5] = [
    "web",
    "api",
    "registry.example.com/eap/website",
    "localhost:5000/team/app",
    "worker",
];
const TAGS: [&str; 6] = [
    "v1",
    "1.10",
    "release-1.0.0.ab12cd3",
    "010",
    "yes",
    "develop.1a2b3c4",
];
const DIGEST: &str = "sha256:abababababababababababababababababababababababababababababababab";

fn entry() -> impl Strategy<Value = Entry> {
    (
        0..NAMES.len(),
        proptest::option::of("reg\\.io/[a-z]{1,6}"),
        proptest::option::of(0..TAGS.len()),
        any::<bool>(),
    )
        .prop_map(|(name, new_name, tag, digest)| Entry {
            name: NAMES[name].to_owned(),
            new_name,
            tag: tag.map(|t| TAGS[t].to_owned()),
            digest: digest.then(|| DIGEST.to_owned()),
        })
}

fn quoted(value: &str, style: u8) -> String {
    match style % 3 {
        0 if !matches!(value, "1.10" | "010" | "yes") => value.to_owned(),
        1 => format!("'{value}'"),
        _ => format!("\"{value}\""),
    }
}

fn comment(choice: u8) -> &'static str {
    [
        "",
        " # note",
        "   #tight",
        " # {\"$imagepolicy\": \"flux-system:web:tag\"}",
    ][choice as usize % 4]
}

prop_compose! {
    fn file()(
        indent in prop::sample::select(vec![2usize, 4]),
        seq_indent in prop::sample::select(vec![0usize, 2]),
        flow_images in any::<bool>(),
        has_images in any::<bool>(),
        images_first in any::<bool>(),
        crlf in any::<bool>(),
        header in any::<bool>(),
        entries in prop::collection::vec(entry(), 1..5),
        style in prop::collection::vec(any::<u8>(), 32),
    ) -> File {
        let mut dedup: Vec<Entry> = Vec::new();
        for e in entries {
            if !dedup.iter().any(|d| d.name == e.name) {
                dedup.push(e);
            }
        }
        let pad = " ".repeat(indent);
        let dash = " ".repeat(seq_indent);
        let mut lines: Vec<String> = Vec::new();
        if header {
            lines.push("# overlay managed by a team".to_owned());
            lines.push("---".to_owned());
        }
        let mut other = vec![
            "apiVersion: kustomize.config.k8s.io/v1beta1".to_owned(),
            format!("kind: Kustomization{}", comment(style[0])),
            String::new(),
            "resources:".to_owned(),
            format!("{dash}- ../../base{}", comment(style[1])),
            format!("{dash}- 'extra.yaml'"),
            "# patches below".to_owned(),
            "patches:".to_owned(),
            format!("{dash}- patch: |-"),
            format!("{dash}  {pad}- op: replace"),
            format!("{dash}  {pad}  path: /spec/replicas"),
            format!("{dash}  {pad}  value: 3"),
            format!("{dash}  target: {{kind: Deployment, name: web}}"),
            "labels:".to_owned(),
            format!("{pad}team: eap{}", comment(style[2])),
        ];
        let mut images = Vec::new();
        if has_images {
            if flow_images {
                let items: Vec<String> = dedup.iter().enumerate().map(|(i, e)| {
                    let mut fields = vec![format!("name: {}", quoted(&e.name, style[3 + i] & 1))];
                    if let Some(n) = &e.new_name { fields.push(format!("newName: {n}")); }
                    if let Some(t) = &e.tag { fields.push(format!("newTag: {}", quoted(t, style[8 + i]))); }
                    if let Some(d) = &e.digest { fields.push(format!("digest: {d}")); }
                    format!("{{{}}}", fields.join(", "))
                }).collect();
                images.push(format!("images: [{}]{}", items.join(", "), comment(style[13])));
            } else {
                images.push(format!("images:{}", comment(style[14])));
                for (i, e) in dedup.iter().enumerate() {
                    if style[15 + i] % 3 == 0 {
                        images.push(format!("{dash}# entry {i}"));
                    }
                    images.push(format!("{dash}- name: {}{}", quoted(&e.name, style[3 + i] & 1), comment(style[20 + i])));
                    if let Some(n) = &e.new_name { images.push(format!("{dash}  newName: {n}")); }
                    if let Some(t) = &e.tag { images.push(format!("{dash}  newTag: {}{}", quoted(t, style[8 + i]), comment(style[25 + i]))); }
                    if let Some(d) = &e.digest { images.push(format!("{dash}  digest: {d}")); }
                }
            }
        }
        let images_lines;
        if images_first {
            images_lines = (lines.len(), lines.len() + images.len());
            lines.extend(images);
            lines.append(&mut other);
        } else {
            lines.append(&mut other);
            images_lines = (lines.len(), lines.len() + images.len());
            lines.extend(images);
        }
        lines.push("# end of file".to_owned());
        let newline = if crlf { "\r\n" } else { "\n" };
        let mut text = lines.join(newline);
        text.push_str(newline);
        File { text, images_lines, entries: if has_images { dedup } else { Vec::new() } }
    }
}

fn spec() -> impl Strategy<Value = String> {
    (0..NAMES.len(), 0..7usize, 0..TAGS.len()).prop_map(|(name, form, tag)| {
        let (name, tag) = (NAMES[name], TAGS[tag]);
        match form {
            0 => format!("{name}:{tag}"),
            1 => format!("{name}@{DIGEST}"),
            2 => format!("{name}:{tag}@{DIGEST}"),
            3 => format!("{name}=reg.io/new:{tag}"),
            4 => format!("{name}=reg.io/new"),
            5 => format!("{name}=*:{tag}"),
            _ => format!("{name}=:{tag}"),
        }
    })
}

/// The spec semantics, written independently of the implementation.
fn expected(entries: &[Entry], specs: &[ImageSpec]) -> Vec<Entry> {
    let mut entries = entries.to_vec();
    for spec in specs {
        let index = match entries.iter().position(|e| e.name == spec.name.as_str()) {
            Some(index) => index,
            None => {
                entries.push(Entry {
                    name: spec.name.to_string(),
                    new_name: None,
                    tag: None,
                    digest: None,
                });
                entries.len() - 1
            }
        };
        let e = &mut entries[index];
        if let Field::Set(n) = &spec.new_name {
            e.new_name = Some(n.to_string());
        }
        if let Field::Set(t) = &spec.tag {
            e.tag = Some(t.to_string());
            if spec.digest == Field::Unmentioned {
                e.digest = None;
            }
        }
        if let Field::Set(d) = &spec.digest {
            e.digest = Some(d.to_string());
            if spec.tag == Field::Unmentioned {
                e.tag = None;
            }
        }
    }
    entries
}

fn reference_images(text: &str) -> (Vec<Entry>, Value) {
    let options = serde_saphyr::options! { strict_booleans: true };
    let mut model: Value = serde_saphyr::from_str_with_options(text, options)
        .expect("independent parser reads the output");
    let images = model
        .as_object_mut()
        .and_then(|m| m.shift_remove("images"))
        .unwrap_or(Value::Null);
    let get = |e: &Value, k: &str| {
        e.get(k).map(|v| {
            v.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("{k} must read back as a string, got {v}"))
        })
    };
    let entries = images
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| Entry {
                    name: get(e, "name").unwrap_or_default(),
                    new_name: get(e, "newName"),
                    tag: get(e, "newTag"),
                    digest: get(e, "digest"),
                })
                .collect()
        })
        .unwrap_or_default();
    (entries, model)
}

fn same(a: &[Entry], b: &[Entry]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.name == y.name && x.new_name == y.new_name && x.tag == y.tag && x.digest == y.digest
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn edits_touch_only_the_images_section(file in file(), specs in prop::collection::vec(spec(), 1..4)) {
        let (original_entries, original_rest) = reference_images(&file.text);
        prop_assert!(same(&original_entries, &file.entries), "generator and parser disagree:\n{}", file.text);
        let parsed: Vec<ImageSpec> = specs.iter().map(|s| ImageSpec::parse(s).unwrap()).collect();
        let output = set_images(&file.text, &parsed).map_err(|e| TestCaseError::fail(format!("{e}\n{}", file.text)))?;

        let (entries, rest) = reference_images(&output);
        let want = expected(&file.entries, &parsed);
        prop_assert!(same(&entries, &want), "images differ:\n{:?}\nwant\n{:?}\ninput:\n{}\noutput:\n{}", entries, want, file.text, output);
        prop_assert_eq!(&rest, &original_rest, "something outside images changed:\n{}", output);

        let newline = if file.text.contains("\r\n") { "\r\n" } else { "\n" };
        let old_lines: Vec<&str> = file.text.split(newline).collect();
        for change in similar::TextDiff::from_slices(&old_lines, &output.split(newline).collect::<Vec<_>>()).iter_all_changes() {
            if change.tag() == similar::ChangeTag::Delete {
                let line = change.old_index().unwrap_or(usize::MAX);
                prop_assert!(
                    (file.images_lines.0..file.images_lines.1).contains(&line),
                    "line {} outside the images section changed: {:?}\ninput:\n{}\noutput:\n{}", line + 1, change.value(), file.text, output
                );
            }
        }
        if newline == "\n" {
            prop_assert!(!output.contains('\r'));
        } else {
            prop_assert_eq!(output.matches('\n').count(), output.matches("\r\n").count(), "mixed line ends");
        }
    }
}
