//! The span parser's model must agree with an independent YAML parser (serde-saphyr) on every
//! construct it accepts.

use ferry::yaml::{SyntaxError, parse_model};
use serde_json::{Value, json};

/// The reference parser, set to the YAML 1.2 core schema Ferry uses. Numbers are compared as
/// floats because the two parsers pick different JSON number kinds for the same value.
fn reference(src: &str) -> Value {
    let options = serde_saphyr::options! { strict_booleans: true };
    let value = serde_saphyr::from_str_with_options::<Value>(src, options)
        .unwrap_or_else(|e| panic!("reference parser rejected:\n{src}\n{e}"));
    normalize(value)
}

fn normalize(value: Value) -> Value {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, normalize(v))).collect())
        }
        other => other,
    }
}

#[track_caller]
fn agrees(src: &str) {
    let ours =
        normalize(parse_model(src).unwrap_or_else(|e| panic!("ferry rejected:\n{src}\n{e}")));
    assert_eq!(ours, reference(src), "models differ for:\n{src}");
}

#[track_caller]
fn rejects(src: &str) -> SyntaxError {
    match parse_model(src) {
        Ok(model) => panic!("accepted invalid YAML:\n{src}\nas {model}"),
        Err(err) => err,
    }
}

#[test]
fn block_mappings_and_sequences() {
    agrees("a: 1\nb: two\nc:\n  d: [1, 2]\n  e:\n  - x\n  - y: z\n    w: 3\n");
    agrees("- a\n- - b\n  - c\n-\n  k: v\n- # comment\n  j: 1\n");
    agrees(
        "images:\n- name: web\n  newTag: v1 # pinned\n\n  digest: sha256:abc\nresources: [../base]\n",
    );
    agrees("key:\n    deep:\n        deeper: x\nnext: y\n");
}

#[test]
fn scalars_of_every_style() {
    agrees(
        "a: 'it''s'\nb: \"tab\\there \\u00e9 \\x41\"\nc: plain words here\nd: ~\ne: null\nf: true\ng: 1.5\nh: 12\ni: -3\nj: 0x1F\nk: 1e3\n",
    );
    agrees(
        "a: |\n  line 1\n   line 2\n\n  line 3\nb: >-\n  folded\n  text\n\n  para\nc: |+\n  keep\n\nd: x\n",
    );
    agrees("a: >\n  one\n    more\n  two\nb: |2\n    indented\n");
    agrees("a: plain\n  continued\n\n  para\nb: 'single\n  folded'\nc: \"double\\\n  joined\"\n");
    agrees("a: \"\"\nb: ''\nc: '#not comment'\nd: a#b\ne: \"x: y\"\nf: http://example.com/x\n");
    agrees("ver: 1.10\noct: 010\nyes: yes\nno: off\n");
}

#[test]
fn flow_collections() {
    agrees("a: {b: 1, c: [x, y, {d: e}], 'f': \"g\"}\nh: []\ni: {}\n");
    agrees("a: [\n  one,\n  two, # comment\n  three\n]\n");
    agrees("images: [{name: a, newTag: b}, {name: c}]\n");
}

#[test]
fn documents_anchors_and_line_ends() {
    agrees("---\na: 1\n...\n");
    agrees("# only a comment\n---\n# c\na: &x {k: v}\nb: *x\n");
    agrees("a: 1\r\nb:\r\n  - x\r\n  - 'y'\r\n");
    agrees("%YAML 1.2\n---\na: b\n");
    agrees("a: !!str 123\nb: !custom thing\n");
}

#[test]
fn empty_documents_are_null() {
    assert_eq!(parse_model("").unwrap(), Value::Null);
    assert_eq!(parse_model("# nothing\n\n").unwrap(), Value::Null);
    assert_eq!(
        parse_model("a:\nb: # c\n").unwrap(),
        json!({"a": null, "b": null})
    );
}

#[test]
fn errors_point_at_the_problem() {
    let err = rejects("a: 1\nb: 2\na: 3\n");
    assert_eq!((err.line, err.column), (3, 1));
    assert!(err.message.contains("duplicate key `a`"), "{err}");
    assert!(err.message.contains("line 1"), "{err}");

    let err = rejects("a:\n\tb: 1\n");
    assert_eq!((err.line, err.column), (2, 1));
    assert!(err.message.contains("tab"), "{err}");

    let err = rejects("a: [1, 2\n");
    assert_eq!((err.line, err.column), (1, 4));

    let err = rejects("a: 'open\n");
    assert_eq!((err.line, err.column), (1, 4));

    let err = rejects("a: b: c\n");
    assert_eq!(err.line, 1);

    let err = rejects("a:\n  b: 1\n   c: 2\n");
    assert_eq!((err.line, err.column), (3, 4));

    let err = rejects("a: 1\n---\nb: 2\n");
    assert!(err.message.contains("second YAML document"), "{err}");

    let err = rejects("a: \"bad \\q escape\"\n");
    assert_eq!((err.line, err.column), (1, 9));

    let err = rejects("a: *nowhere\n");
    assert!(err.message.contains("no anchor"), "{err}");

    rejects("- a\nb: c\n");
    rejects("a: 1\n b: 2\n");
    rejects("? complex\n: key\n");
    rejects("a: |\n  x\n b\n");
    rejects("{a: 1}}\n");
}

#[test]
fn hostile_nesting_is_refused_not_overflowed() {
    let deep = "[".repeat(10_000);
    rejects(&deep);
    let deep_block: String = (0..2000)
        .map(|i| format!("{}- \n", " ".repeat(i)))
        .collect();
    let _ = parse_model(&deep_block);
}
