//! `ferry::yaml::apply_patch`: RFC 6902 operations applied to YAML text, checked byte for byte.

use ferry::yaml::{EditError, apply_patch};
use json_patch::PatchOperation;
use serde_json::json;

fn ops(patch: serde_json::Value) -> Vec<PatchOperation> {
    serde_json::from_value(patch).expect("test patch is valid JSON Patch")
}

#[track_caller]
fn patched(src: &str, patch: serde_json::Value) -> String {
    apply_patch(src, &ops(patch)).unwrap_or_else(|e| panic!("patch failed: {e}\n{src}"))
}

#[test]
fn replace_keeps_comments_quotes_and_layout() {
    let src = "# top\nspec:\n  replicas: 2   # scale here\n  name: 'web'\nother: [a, b]\n";
    let out = patched(
        src,
        json!([
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "replace", "path": "/spec/name", "value": "api"},
        ]),
    );
    assert_eq!(
        out,
        "# top\nspec:\n  replicas: 3   # scale here\n  name: 'api'\nother: [a, b]\n"
    );
}

#[test]
fn add_appends_in_the_mappings_own_indentation() {
    let src = "a:\n    b: 1 # one\n    c: 2\nd: x\n";
    let out = patched(
        src,
        json!([{"op": "add", "path": "/a/e", "value": {"f": [1, 2]}}]),
    );
    assert_eq!(
        out,
        "a:\n    b: 1 # one\n    c: 2\n    e:\n        f:\n        - 1\n        - 2\nd: x\n"
    );
}

#[test]
fn add_to_the_root_goes_after_trailing_comments() {
    let src = "a: 1\n# trailing note\n\n";
    let out = patched(src, json!([{"op": "add", "path": "/b", "value": "two"}]));
    assert_eq!(out, "a: 1\n# trailing note\nb: two\n\n");
}

#[test]
fn remove_takes_whole_lines_or_the_key_after_a_dash() {
    let src = "items:\n- name: a # first\n  tag: v1\n- name: b\n  tag: v2\nafter: 1\n";
    let out = patched(src, json!([{"op": "remove", "path": "/items/0/name"}]));
    assert_eq!(out, "items:\n- tag: v1\n- name: b\n  tag: v2\nafter: 1\n");
    let out = patched(src, json!([{"op": "remove", "path": "/items/1"}]));
    assert_eq!(out, "items:\n- name: a # first\n  tag: v1\nafter: 1\n");
    let out = patched(src, json!([{"op": "remove", "path": "/items/0/tag"}]));
    assert_eq!(
        out,
        "items:\n- name: a # first\n- name: b\n  tag: v2\nafter: 1\n"
    );
}

#[test]
fn removing_the_last_member_leaves_an_empty_collection() {
    let out = patched(
        "a:\n  only: 1\nb: 2\n",
        json!([{"op": "remove", "path": "/a/only"}]),
    );
    assert_eq!(out, "a: {}\nb: 2\n");
    let out = patched("a:\n- x\nb: 2\n", json!([{"op": "remove", "path": "/a/0"}]));
    assert_eq!(out, "a: []\nb: 2\n");
}

#[test]
fn flow_collections_are_edited_in_place() {
    let src = "images: [{name: a, newTag: b}, {name: c}]  # flow\n";
    let out = patched(
        src,
        json!([
            {"op": "replace", "path": "/images/0/newTag", "value": "1.10"},
            {"op": "add", "path": "/images/1/newTag", "value": "v2"},
            {"op": "remove", "path": "/images/0/name"},
            {"op": "add", "path": "/images/-", "value": {"name": "d"}},
        ]),
    );
    assert_eq!(
        out,
        "images: [{newTag: \"1.10\"}, {name: c, newTag: v2}, {name: d}]  # flow\n"
    );
}

#[test]
fn sequence_insertions_keep_item_style() {
    let src = "list:\n  -   name: a\n      v: 1\n";
    let out = patched(
        src,
        json!([
            {"op": "add", "path": "/list/-", "value": {"name": "b", "v": 2}},
            {"op": "add", "path": "/list/0", "value": "first"},
        ]),
    );
    assert_eq!(
        out,
        "list:\n  - first\n  -   name: a\n      v: 1\n  -   name: b\n      v: 2\n"
    );
}

#[test]
fn crlf_files_stay_crlf() {
    let src = "a: 1\r\nb:\r\n  c: 2\r\n";
    let out = patched(
        src,
        json!([{"op": "add", "path": "/b/d", "value": 3}, {"op": "remove", "path": "/a"}]),
    );
    assert_eq!(out, "b:\r\n  c: 2\r\n  d: 3\r\n");
}

#[test]
fn values_that_would_change_type_are_quoted() {
    let src = "a: x\n";
    for (value, written) in [
        ("1.10", "\"1.10\""),
        ("010", "\"010\""),
        ("1234", "\"1234\""),
        ("yes", "\"yes\""),
        ("true", "\"true\""),
        ("null", "\"null\""),
        ("1e3", "\"1e3\""),
        ("", "\"\""),
        ("a: b", "\"a: b\""),
        ("#x", "\"#x\""),
        ("v1.2.3", "v1.2.3"),
        ("line\nbreak", "\"line\\nbreak\""),
    ] {
        let out = patched(
            src,
            json!([{"op": "replace", "path": "/a", "value": value}]),
        );
        assert_eq!(out, format!("a: {written}\n"), "value {value:?}");
    }
}

#[test]
fn replacing_a_collection_changes_only_the_members_that_differ() {
    let src = "a:\n  keep: 1 # stays\n  change: 2\n  drop: 3\n";
    let out = patched(
        src,
        json!([{"op": "replace", "path": "/a", "value": {"keep": 1, "change": 5, "new": 6}}]),
    );
    assert_eq!(out, "a:\n  keep: 1 # stays\n  change: 5\n  new: 6\n");
}

#[test]
fn test_move_and_copy() {
    let src = "a: 1\nb: 2\n";
    let out = patched(
        src,
        json!([
            {"op": "test", "path": "/a", "value": 1},
            {"op": "copy", "from": "/a", "path": "/c"},
            {"op": "move", "from": "/b", "path": "/d"},
        ]),
    );
    assert_eq!(out, "a: 1\nc: 1\nd: 2\n");
}

#[test]
fn failing_operations_name_the_operation_and_leave_nothing_half_done() {
    let err = apply_patch(
        "a: 1\n",
        &ops(json!([{"op": "test", "path": "/a", "value": 2}])),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            EditError::Patch {
                index: 0,
                op: "test",
                ..
            }
        ),
        "{err}"
    );
    let err = apply_patch(
        "a: 1\n",
        &ops(json!([
            {"op": "replace", "path": "/a", "value": 2},
            {"op": "remove", "path": "/missing"},
        ])),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "patch operation 1 (`remove` at `/missing`): the path does not exist in the document; check the keys and indexes"
    );
}

#[test]
fn block_scalars_and_other_sections_are_untouched() {
    let src = "patches:\n- patch: |-\n    - op: replace\n      path: /spec\n  target:\n    kind: Deployment\nimages:\n- name: x\n";
    let out = patched(
        src,
        json!([{"op": "add", "path": "/images/0/newTag", "value": "v2"}]),
    );
    assert_eq!(
        out,
        "patches:\n- patch: |-\n    - op: replace\n      path: /spec\n  target:\n    kind: Deployment\nimages:\n- name: x\n  newTag: v2\n"
    );
}
