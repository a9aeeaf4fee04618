//! Hostile input: the parser and the image setter never panic, whatever the bytes; they either
//! succeed or return an error with a position inside the input.

use ferry::kustomize::{ImageSpec, set_images};
use ferry::yaml::parse_model;
use proptest::prelude::*;

const VALID: &str = "# c\nresources:\n  - ../base\nimages:\n  - name: web # n\n    newTag: 'v1'\n    digest: \"sha256:x\"\npatches:\n- patch: |-\n    a: b\n  target: {kind: D, name: [x, y]}\nlist: [1, &a 2, *a]\n";

fn yamlish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            " ", "  ", "\n", "\r\n", "\t", "-", "- ", ":", ": ", "?", "#", "'", "\"", "\\", "|",
            ">", "|-", ">+2", "[", "]", "{", "}", ",", "&a", "*a", "!!str", "---", "...", "%YAML",
            "name", "images", "web", "v1", "é", "🚀", "\u{feff}",
        ]),
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn random_yamlish_text_never_panics(text in yamlish()) {
        if let Err(err) = parse_model(&text) {
            prop_assert!(err.line >= 1 && err.line <= text.lines().count().max(1) + 1, "{err} outside the input");
        }
        let spec = ImageSpec::parse("web:v2").unwrap();
        let _ = set_images(&text, &[spec]);
    }

    #[test]
    fn mangled_kustomizations_never_panic(cut in 0..VALID.len(), insert in yamlish(), drop in 0usize..8) {
        let mut text = VALID.to_owned();
        let at = (0..=cut).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let end = (at + drop).min(text.len());
        let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
        text.replace_range(at..end, &insert);
        let _ = parse_model(&text);
        let specs = [ImageSpec::parse("web:v2").unwrap(), ImageSpec::parse("api=reg.io/api:1.10").unwrap()];
        if let Ok(out) = set_images(&text, &specs) {
            // Whatever it accepted, its output must read back.
            prop_assert!(parse_model(&out).is_ok(), "output does not parse:\n{out}");
        }
    }
}
