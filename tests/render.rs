//! `--verify-render` against real `kubectl kustomize` renders of the shipped example overlays.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use ferry::kustomize::render::{self, RenderError, Target};
use ferry::kustomize::{ImageEntry, ImageSpec, set_images};

/// These tests need kubectl. Without it they fail, unless FERRY_ALLOW_MISSING_KUBECTL=1, in
/// which case they say loudly that they were skipped.
fn kubectl_available() -> bool {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("FERRY_ALLOW_MISSING_KUBECTL").as_deref() == Ok("1"),
            "kubectl is not on PATH: install it to run the render tests, or set FERRY_ALLOW_MISSING_KUBECTL=1 to skip them"
        );
        eprintln!("SKIPPED: kubectl not found, render test not run");
    }
    found
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn example() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/gitops-example"),
        dir.path(),
    );
    let overlay = dir.path().join("apps/web/overlays/staging");
    (dir, overlay)
}

fn rendered_images(dir: &Path) -> String {
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with("image:") || l.trim_start().starts_with("- image:"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_matching_edit_changes_the_rendered_image_and_passes() {
    if !kubectl_available() {
        return;
    }
    let (_keep, overlay) = example();
    let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .arg("set-image")
        .arg(&overlay)
        .arg("registry.example.com/eap/website:release-1.0.0.ab12cd3")
        .arg("--verify-render")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("Deployment/web /spec/template/spec/containers/0/image: registry.example.com/eap/website:release-0.9.0.5d6e7f8 -> registry.example.com/eap/website:release-1.0.0.ab12cd3"), "{stderr}");
    assert!(
        rendered_images(&overlay)
            .contains("registry.example.com/eap/website:release-1.0.0.ab12cd3")
    );
    let siblings: Vec<_> = fs::read_dir(overlay.parent().unwrap())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        siblings.len(),
        3,
        "render copies must be cleaned up: {siblings:?}"
    );
}

#[test]
fn a_name_that_no_resource_uses_is_caught_and_nothing_is_written() {
    if !kubectl_available() {
        return;
    }
    let (_keep, overlay) = example();
    let file = overlay.join("kustomization.yaml");
    let before = fs::read_to_string(&file).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .arg("set-image")
        .arg(&overlay)
        .arg("eap/website:release-1.0.0.ab12cd3")
        .arg("--verify-render")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no resource uses an image named `eap/website`"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "Images in the render: registry.example.com/eap/website:release-0.9.0.5d6e7f8"
        ),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), before);
}

#[test]
fn changes_outside_container_images_are_refused() {
    if !kubectl_available() {
        return;
    }
    let (_keep, overlay) = example();
    let file = overlay.join("kustomization.yaml");
    let text = fs::read_to_string(&file).unwrap();
    let spec = ImageSpec::parse("registry.example.com/eap/website:v2").unwrap();
    let edited = set_images(&text, &[spec])
        .unwrap()
        .replace("namespace: web-staging", "namespace: web-elsewhere");
    let target = Target {
        entry: ImageEntry {
            name: "registry.example.com/eap/website".into(),
            new_name: None,
            new_tag: Some("v2".into()),
            digest: None,
        },
    };
    let err = render::verify(&file, &edited, &[target]).unwrap_err();
    assert!(
        matches!(&err, RenderError::Rejected(m) if m.contains("/metadata/namespace, which is not a container image")),
        "{err}"
    );
}

#[test]
fn every_example_overlay_renders() {
    if !kubectl_available() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/gitops-example/apps");
    for service in ["web", "api"] {
        for environment in ["integration", "staging", "production"] {
            let images = rendered_images(&root.join(service).join("overlays").join(environment));
            assert!(
                images.contains("registry.example.com/eap/"),
                "{service}/{environment}: {images}"
            );
        }
    }
}
