//! The `set-image` table: every spec form and rule, each case asserting the exact output bytes.

use ferry::kustomize::{ImageSpec, KustomizeError, set_images};

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

struct Case {
    name: &'static str,
    input: String,
    specs: Vec<String>,
    expected: String,
}

fn case(
    name: &'static str,
    input: impl Into<String>,
    specs: &[&str],
    expected: impl Into<String>,
) -> Case {
    Case {
        name,
        input: input.into(),
        specs: specs.iter().map(|s| s.to_string()).collect(),
        expected: expected.into(),
    }
}

fn run(input: &str, specs: &[String]) -> Result<String, KustomizeError> {
    let specs: Vec<ImageSpec> = specs
        .iter()
        .map(|s| ImageSpec::parse(s).expect("valid spec in table"))
        .collect();
    set_images(input, &specs)
}

const BASE: &str = "resources:\n- ../base\nimages:\n- name: web\n  newTag: v1\n";

fn cases() -> Vec<Case> {
    vec![
        // Every spec form on an existing entry.
        case(
            "tag",
            BASE,
            &["web:v2"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: v2\n",
        ),
        case(
            "newname and tag",
            BASE,
            &["web=reg.io/web:v2"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: v2\n  newName: reg.io/web\n",
        ),
        case(
            "newname only keeps tag",
            BASE,
            &["web=reg.io/web"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: v1\n  newName: reg.io/web\n",
        ),
        case(
            "digest drops tag",
            BASE,
            &[&format!("web@{D1}")],
            format!("resources:\n- ../base\nimages:\n- name: web\n  digest: {D1}\n"),
        ),
        case(
            "tag and digest",
            BASE,
            &[&format!("web:v2@{D1}")],
            format!("resources:\n- ../base\nimages:\n- name: web\n  newTag: v2\n  digest: {D1}\n"),
        ),
        case(
            "newname and digest",
            BASE,
            &[&format!("web=reg.io/web@{D1}")],
            format!(
                "resources:\n- ../base\nimages:\n- name: web\n  newName: reg.io/web\n  digest: {D1}\n"
            ),
        ),
        case(
            "newname tag digest",
            BASE,
            &[&format!("web=reg.io/web:v3@{D1}")],
            format!(
                "resources:\n- ../base\nimages:\n- name: web\n  newTag: v3\n  newName: reg.io/web\n  digest: {D1}\n"
            ),
        ),
        case(
            "empty newname sets tag",
            BASE,
            &["web=:v9"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: v9\n",
        ),
        case(
            "star keeps newname",
            "images:\n- name: web\n  newName: reg.io/web\n  newTag: v1\n",
            &["web=*:v2"],
            "images:\n- name: web\n  newName: reg.io/web\n  newTag: v2\n",
        ),
        case(
            "star keeps tag while setting digest",
            BASE,
            &[&format!("web:*@{D1}")],
            format!("resources:\n- ../base\nimages:\n- name: web\n  newTag: v1\n  digest: {D1}\n"),
        ),
        case(
            "star keeps digest while setting tag",
            format!("images:\n- name: web\n  newTag: v1\n  digest: {D1}\n"),
            &["web:v2@*"],
            format!("images:\n- name: web\n  newTag: v2\n  digest: {D1}\n"),
        ),
        // Fields the spec does not mention are kept, and stale pins are dropped.
        case(
            "tag keeps newname",
            "images:\n- name: web\n  newName: reg.io/web\n  newTag: v1\n",
            &["web:v2"],
            "images:\n- name: web\n  newName: reg.io/web\n  newTag: v2\n",
        ),
        case(
            "tag drops old digest",
            format!("images:\n- name: web\n  newTag: v1\n  digest: {D1}\n"),
            &["web:v2"],
            "images:\n- name: web\n  newTag: v2\n",
        ),
        case(
            "digest replaces digest and drops tag",
            format!("images:\n- name: web\n  newTag: v1\n  digest: {D1}\n"),
            &[&format!("web@{D2}")],
            format!("images:\n- name: web\n  digest: {D2}\n"),
        ),
        case("unchanged is byte identical", BASE, &["web:v1"], BASE),
        // Matching: exact name, order kept, registry ports.
        case(
            "exact name only",
            "images:\n- name: web-canary\n  newTag: c1\n- name: web\n  newTag: v1\n",
            &["web:v2"],
            "images:\n- name: web-canary\n  newTag: c1\n- name: web\n  newTag: v2\n",
        ),
        case(
            "middle entry in place",
            "images:\n- name: a\n  newTag: '1'\n- name: b\n  newTag: '2'\n- name: c\n  newTag: '3'\n",
            &["b:two"],
            "images:\n- name: a\n  newTag: '1'\n- name: b\n  newTag: 'two'\n- name: c\n  newTag: '3'\n",
        ),
        case(
            "registry port is not a tag",
            "images:\n- name: localhost:5000/team/app\n  newTag: v1\n",
            &["localhost:5000/team/app:v2"],
            "images:\n- name: localhost:5000/team/app\n  newTag: v2\n",
        ),
        case(
            "registry port in newname",
            BASE,
            &["web=localhost:5000/web"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: v1\n  newName: localhost:5000/web\n",
        ),
        // New entries and new sections in the file's style.
        case(
            "append entry",
            BASE,
            &["api:v7"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: v1\n- name: api\n  newTag: v7\n",
        ),
        case(
            "append indented style",
            "images:\n  - name: web   # the site\n    newTag: v1\n",
            &["api=reg.io/api:v7"],
            "images:\n  - name: web   # the site\n    newTag: v1\n  - name: api\n    newName: reg.io/api\n    newTag: v7\n",
        ),
        case(
            "no images key adds a block at the end",
            "resources:\n- ../base\n",
            &["web:v1"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: v1\n",
        ),
        case(
            "no images key follows sequence indentation",
            "resources:\n  - ../base\n# end\n",
            &["web:v1"],
            "resources:\n  - ../base\n# end\nimages:\n  - name: web\n    newTag: v1\n",
        ),
        case(
            "no trailing newline",
            "resources:\n- ../base",
            &["web:v1"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: v1",
        ),
        case(
            "empty images value",
            "images:\nresources: [x]\n",
            &["web:v1"],
            "images:\n- name: web\n  newTag: v1\nresources: [x]\n",
        ),
        case(
            "empty flow images",
            "images: []\n",
            &["web:v1"],
            "images: [{name: web, newTag: v1}]\n",
        ),
        // Flow style is edited in place, never duplicated.
        case(
            "flow tag",
            "images: [{name: web, newTag: v1}]\n",
            &["web:v2"],
            "images: [{name: web, newTag: v2}]\n",
        ),
        case(
            "flow add field",
            "images: [{name: web, newTag: v1}]\n",
            &["web=reg.io/web"],
            "images: [{name: web, newTag: v1, newName: reg.io/web}]\n",
        ),
        case(
            "flow append",
            "images: [{name: web, newTag: v1}]\n",
            &["api:v2"],
            "images: [{name: web, newTag: v1}, {name: api, newTag: v2}]\n",
        ),
        case(
            "flow digest drops tag",
            "images: [{name: web, newTag: v1}]\n",
            &[&format!("web@{D1}")],
            format!("images: [{{name: web, digest: {D1}}}]\n"),
        ),
        // Tags YAML would read as something else are quoted.
        case(
            "tag 1.10 quoted",
            BASE,
            &["web:1.10"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: \"1.10\"\n",
        ),
        case(
            "tag 010 quoted",
            BASE,
            &["web:010"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: \"010\"\n",
        ),
        case(
            "tag 1234 quoted",
            BASE,
            &["web:1234"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: \"1234\"\n",
        ),
        case(
            "tag yes quoted",
            BASE,
            &["web:yes"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: \"yes\"\n",
        ),
        case(
            "tag true quoted",
            BASE,
            &["web:true"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: \"true\"\n",
        ),
        case(
            "tag null quoted",
            BASE,
            &["web:null"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: \"null\"\n",
        ),
        case(
            "tag 1e3 quoted",
            BASE,
            &["web:1e3"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: \"1e3\"\n",
        ),
        case(
            "single quotes kept",
            "images:\n- name: web\n  newTag: '1.0'\n",
            &["web:2.0"],
            "images:\n- name: web\n  newTag: '2.0'\n",
        ),
        case(
            "unquoted number tag becomes a string",
            "images:\n- name: web\n  newTag: 5\n",
            &["web:5"],
            "images:\n- name: web\n  newTag: \"5\"\n",
        ),
        case(
            "file quote style for new values",
            "images:\n- name: 'web'\n  newTag: v1\n",
            &["web:1.5"],
            "images:\n- name: 'web'\n  newTag: '1.5'\n",
        ),
        // Everything else stays byte-identical.
        case(
            "comments and flux markers kept",
            "# header\nimages:\n  # the website\n  - name: web # {\"$imagepolicy\": \"flux-system:web:name\"}\n    newTag: v1 # {\"$imagepolicy\": \"flux-system:web:tag\"}\n\n# footer\n",
            &["web:v2"],
            "# header\nimages:\n  # the website\n  - name: web # {\"$imagepolicy\": \"flux-system:web:name\"}\n    newTag: v2 # {\"$imagepolicy\": \"flux-system:web:tag\"}\n\n# footer\n",
        ),
        case(
            "crlf kept",
            "resources:\r\n- ../base\r\nimages:\r\n- name: web\r\n  newTag: v1\r\n",
            &["web:v2", "api:v1"],
            "resources:\r\n- ../base\r\nimages:\r\n- name: web\r\n  newTag: v2\r\n- name: api\r\n  newTag: v1\r\n",
        ),
        case(
            "document markers kept",
            "---\nimages:\n- name: web\n  newTag: v1\n...\n",
            &["web:v2", "api:v3"],
            "---\nimages:\n- name: web\n  newTag: v2\n- name: api\n  newTag: v3\n...\n",
        ),
        case(
            "other sections untouched",
            "resources:\n- ../base\npatches:\n- path: p.yaml\n  target: {kind: Deployment}\nconfigMapGenerator:\n- name: cfg\n  literals:\n  - A=1\nreplacements:\n- source: {kind: ConfigMap, name: cfg}\n  targets: []\nopenapi:\n  path: schema.json\nimages:\n- name: web\n  newTag: v1\n",
            &["web:v2"],
            "resources:\n- ../base\npatches:\n- path: p.yaml\n  target: {kind: Deployment}\nconfigMapGenerator:\n- name: cfg\n  literals:\n  - A=1\nreplacements:\n- source: {kind: ConfigMap, name: cfg}\n  targets: []\nopenapi:\n  path: schema.json\nimages:\n- name: web\n  newTag: v2\n",
        ),
        case(
            "key order inside entry kept",
            "images:\n- newTag: v1\n  name: web\n  newName: reg.io/web\n",
            &["web:v2"],
            "images:\n- newTag: v2\n  name: web\n  newName: reg.io/web\n",
        ),
        case(
            "images before resources",
            "images:\n- name: web\n  newTag: v1\n\nresources:\n- ../base\n",
            &["api:v1"],
            "images:\n- name: web\n  newTag: v1\n- name: api\n  newTag: v1\n\nresources:\n- ../base\n",
        ),
        // Several specs apply in order.
        case(
            "specs chain in order",
            BASE,
            &["web:v2", "web=reg.io/web", "api:a1"],
            "resources:\n- ../base\nimages:\n- name: web\n  newTag: v2\n  newName: reg.io/web\n- name: api\n  newTag: a1\n",
        ),
        case(
            "later spec sees appended entry",
            "resources: []\n",
            &["api:v1", "api:v2"],
            "resources: []\nimages:\n- name: api\n  newTag: v2\n",
        ),
    ]
}

#[test]
fn the_table() {
    let cases = cases();
    assert!(
        cases.len() >= 40,
        "the table must cover at least 40 cases, has {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        match run(&case.input, &case.specs) {
            Ok(output) if output == case.expected => {}
            Ok(output) => failures.push(format!(
                "{}:\n--- expected\n{}--- got\n{}",
                case.name, case.expected, output
            )),
            Err(err) => failures.push(format!("{}: error {err}", case.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn errors_name_the_position_and_what_to_do() {
    let err = |input: &str, spec: &str| run(input, &[spec.to_owned()]).unwrap_err().to_string();
    assert_eq!(
        err("images:\n- name: web\n  name: web\n", "web:v1"),
        "3:3: duplicate key `name` (first defined on line 2); remove one of them"
    );
    assert_eq!(
        err("images: web\n", "web:v1"),
        "1:9: `images:` must be a list of entries with `name:`"
    );
    assert_eq!(
        err("images:\n- newTag: v1\n", "web:v1"),
        "2:3: images[0] needs a `name:` that is a string, the image name used in the resources"
    );
    assert_eq!(
        err("images:\n- name: web\n- name: web\n", "web:v1"),
        "3:3: images has a second entry named `web` (the first is on line 2); remove one of them"
    );
    assert_eq!(
        err("- a\n", "web:v1"),
        "1:1: a kustomization must be a mapping of keys such as `resources:` and `images:`"
    );
    assert_eq!(
        err("resources: [\n", "web:v1"),
        "1:12: `[` is never closed; add `]`"
    );
    assert!(err("images: []\n", "web=*:*").contains("keeps every value"));
}
