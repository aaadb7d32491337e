//! `huntbook schema`: the JSON Schemas an editor reads accept every shipped playbook and the example
//! configurations, and refuse a misspelt key — checked with a JSON Schema validator over the files as YAML reads
//! them.

use crate::common;

/// A YAML file as the JSON an editor's YAML language server gives the schema: plain scalars that read as
/// booleans or numbers become those, quoted and other scalars strings.
fn yaml_json(text: &str) -> serde_json::Value {
    fn convert(node: &marked_yaml::Node) -> serde_json::Value {
        match node {
            marked_yaml::Node::Mapping(mapping) => {
                serde_json::Value::Object(mapping.iter().map(|(k, v)| (k.as_str().to_string(), convert(v))).collect())
            }
            marked_yaml::Node::Sequence(items) => serde_json::Value::Array(items.iter().map(convert).collect()),
            marked_yaml::Node::Scalar(scalar) => {
                let text = scalar.as_str();
                if !scalar.may_coerce() {
                    return serde_json::Value::String(text.to_string());
                }
                match text {
                    "true" => serde_json::Value::Bool(true),
                    "false" => serde_json::Value::Bool(false),
                    "null" | "~" | "" => serde_json::Value::Null,
                    _ => text
                        .parse::<i64>()
                        .map(serde_json::Value::from)
                        .or_else(|_| text.parse::<f64>().map(serde_json::Value::from))
                        .unwrap_or_else(|_| serde_json::Value::String(text.to_string())),
                }
            }
        }
    }
    convert(&marked_yaml::parse_yaml(0, text).expect("YAML"))
}

fn schema(kind: &str) -> jsonschema::Validator {
    let output = common::huntbook().args(["schema", kind]).output().expect("huntbook runs");
    assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

fn problems(validator: &jsonschema::Validator, document: &serde_json::Value) -> Vec<String> {
    validator.iter_errors(document).map(|error| format!("{} at {}", error, error.instance_path())).collect()
}

#[test]
fn the_playbook_schema_accepts_every_shipped_playbook_and_refuses_a_misspelt_key() {
    let validator = schema("playbook");
    let mut checked = 0;
    for entry in std::fs::read_dir(common::repo().join("playbooks")).expect("playbooks") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let document = yaml_json(&std::fs::read_to_string(&path).expect("playbook"));
            assert_eq!(problems(&validator, &document), Vec::<String>::new(), "{}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 8, "{checked} playbooks");

    let shipped = std::fs::read_to_string(common::repo().join("playbooks/manual-device-isolation.yaml")).expect("file");
    for (from, to) in [
        ("severity:", "severty:"),
        ("    per: hit", "    per: hit\n    supress: { for: 1h }"),
        ("    per: hit", "    per: hit\n    suppress: { for: soon }"),
        ("severity: medium", "severity: urgent"),
    ] {
        let document = yaml_json(&shipped.replacen(from, to, 1));
        assert!(!problems(&validator, &document).is_empty(), "{to:?} is accepted");
    }
}

#[test]
fn the_configuration_schema_accepts_the_examples_and_refuses_a_misspelt_key() {
    let validator = schema("config");
    let example = std::fs::read_to_string(common::repo().join("examples/huntbook.yaml")).expect("example");
    assert_eq!(problems(&validator, &yaml_json(&example)), Vec::<String>::new());
    // The Kubernetes example's configuration (a Graph tenant, SMTP, meta, http, daemon) is in a ConfigMap.
    let manifests = std::fs::read_to_string(common::repo().join("deploy/kubernetes/huntbook.yaml")).expect("manifests");
    let config = manifests
        .split("\n---")
        .map(yaml_json)
        .find_map(|document| document["data"]["huntbook.yaml"].as_str().map(str::to_string))
        .expect("the ConfigMap's huntbook.yaml");
    assert_eq!(problems(&validator, &yaml_json(&config)), Vec::<String>::new(), "{config}");
    let misspelt = example.replacen("receivers:", "recievers:", 1);
    assert!(!problems(&validator, &yaml_json(&misspelt)).is_empty());
    let wrong_via = example.replacen("via: file", "via: fax", 1);
    assert!(!problems(&validator, &yaml_json(&wrong_via)).is_empty());
}
