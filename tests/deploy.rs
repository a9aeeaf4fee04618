//! What ships for running Ferry for real: the Kubernetes manifests render with the real
//! `kubectl kustomize`, the configuration they mount loads, and the CI templates are YAML.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn the_kubernetes_manifests_render_with_probes_a_volume_and_no_secret_values() {
    let output = Command::new("kubectl")
        .args(["kustomize", &format!("{ROOT}/deploy/kubernetes")])
        .output()
        .expect("kubectl is installed (.ci/run installs it)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rendered = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "kind: Deployment",
        "kind: Service",
        "kind: PersistentVolumeClaim",
        "kind: ConfigMap",
        "path: /readyz",
        "path: /healthz",
        "claimName: ferry-data",
        "runAsNonRoot: true",
        "image: registry.example.com/platform/ferry:0.1.0",
        "name: ferry-secrets",
    ] {
        assert!(
            rendered.contains(expected),
            "missing `{expected}` in:\n{rendered}"
        );
    }
    assert!(
        !rendered.contains("kind: Secret\n"),
        "secrets are created by operators, not shipped"
    );
}

#[test]
fn the_mounted_configuration_loads_once_the_secrets_are_set() {
    let file = Path::new(ROOT).join("deploy/kubernetes/ferry.yaml");
    let mut env = BTreeMap::new();
    let missing =
        ferry::config::Config::load_with_env(Some(&file), &env).expect_err("no secrets yet");
    assert!(
        missing.to_string().contains("FERRY_FORGES__GITLAB__SECRET"),
        "{missing}"
    );
    env.insert("FERRY_FORGES__GITLAB__SECRET".to_owned(), "s".to_owned());
    let missing =
        ferry::config::Config::load_with_env(Some(&file), &env).expect_err("no token yet");
    assert!(
        missing.to_string().contains("FERRY_GITOPS__TOKEN"),
        "{missing}"
    );
    env.insert("FERRY_GITOPS__TOKEN".to_owned(), "t".to_owned());
    let config = ferry::config::Config::load_with_env(Some(&file), &env).expect("loads");
    assert_eq!(config.gitops.project.as_deref(), Some("platform/gitops"));
    assert_eq!(config.store.data_dir, Path::new("/var/lib/ferry"));
}

#[test]
fn the_ci_templates_are_yaml_with_the_jobs_they_document() {
    for (file, jobs) in [
        (
            "templates/ci/source-project.gitlab-ci.yml",
            &["ferry:integration", "ferry:staging", "ferry:production"][..],
        ),
        (
            "templates/ci/gitops-repo.gitlab-ci.yml",
            &["ferry:policy", "ferry:render"][..],
        ),
    ] {
        let text = std::fs::read_to_string(Path::new(ROOT).join(file)).expect("template");
        let value: serde_json::Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        for job in jobs {
            assert!(value.get(*job).is_some(), "{file} has no job {job}");
        }
    }
}
