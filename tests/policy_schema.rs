//! The published JSON Schema lists exactly the keys the loader accepts, and rejects others.

use ferry::policy::schema::{
    ENVIRONMENT_KEYS, FREEZE_KEYS, GITOPS_KEYS, SERVICE_KEYS, TOP_KEYS, TRIGGER_KEYS,
};
use serde_json::Value;

fn schema() -> Value {
    serde_json::from_str(include_str!("../docs/policy.schema.json")).unwrap()
}

fn keys_at(section: &Value) -> Vec<String> {
    assert_eq!(
        section["additionalProperties"],
        Value::Bool(false),
        "{section}"
    );
    let mut keys: Vec<String> = section["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn sorted(keys: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    keys.sort();
    keys
}

#[test]
fn schema_sections_match_the_loader() {
    let schema = schema();
    let environment = &schema["$defs"]["environment"];
    let cases = [
        (&schema, TOP_KEYS),
        (&schema["properties"]["gitops"], GITOPS_KEYS),
        (
            &schema["properties"]["services"]["additionalProperties"],
            SERVICE_KEYS,
        ),
        (environment, ENVIRONMENT_KEYS),
        (&environment["properties"]["trigger"], TRIGGER_KEYS),
        (&environment["properties"]["freeze"]["items"], FREEZE_KEYS),
    ];
    for (section, keys) in cases {
        assert_eq!(keys_at(section), sorted(keys));
    }
}

#[test]
fn every_reference_resolves() {
    fn refs(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target.clone());
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let schema = schema();
    let mut found = Vec::new();
    refs(&schema, &mut found);
    assert!(!found.is_empty());
    for target in found {
        let name = target.strip_prefix("#/$defs/").unwrap();
        assert!(schema["$defs"].get(name).is_some(), "dangling {target}");
    }
}

fn yaml_as_json(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

#[test]
fn the_example_policy_validates_against_the_schema() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let example = yaml_as_json(include_str!(
        "../templates/gitops-example/policies/promotion.yaml"
    ));
    let errors: Vec<String> = validator
        .iter_errors(&example)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let mut typo = example.clone();
    typo["environments"]["production"]["aprovals"] = Value::from(2);
    assert!(!validator.is_valid(&typo));
    let mut by_name = example;
    by_name["environments"]["production"]["approvers"] = serde_json::json!(["user:alice"]);
    assert!(!validator.is_valid(&by_name));
}
