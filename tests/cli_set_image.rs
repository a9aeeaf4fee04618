//! The `ferry set-image` and `ferry patch` commands, run as a user runs them.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

const OVERLAY: &str = "# staging overlay\nresources:\n  - ../../base\nimages:\n  - name: registry.example.com/eap/website\n    newTag: v1 # promoted by Ferry\n";

fn ferry() -> Command {
    Command::cargo_bin("ferry").expect("ferry binary is built")
}

fn overlay(dir: &Path) -> PathBuf {
    let path = dir.join("kustomization.yaml");
    fs::write(&path, OVERLAY).expect("write overlay");
    path
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn writes_the_directorys_kustomization_and_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = overlay(dir.path());
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let output = ferry()
        .arg("set-image")
        .arg(dir.path())
        .arg("registry.example.com/eap/website:v2")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("updated"));
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        OVERLAY.replace("newTag: v1", "newTag: v2")
    );
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != "kustomization.yaml")
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );
}

#[test]
fn finds_kustomization_yml_and_kustomization() {
    for name in ["kustomization.yml", "Kustomization"] {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(name), OVERLAY).unwrap();
        ferry()
            .arg("set-image")
            .arg(dir.path())
            .arg("registry.example.com/eap/website:v3")
            .assert()
            .success();
        assert!(
            fs::read_to_string(dir.path().join(name))
                .unwrap()
                .contains("newTag: v3 # promoted by Ferry")
        );
    }
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("kustomization.yaml"), OVERLAY).unwrap();
    fs::write(dir.path().join("kustomization.yml"), OVERLAY).unwrap();
    let output = ferry()
        .arg("set-image")
        .arg(dir.path())
        .arg("x:v1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("holds both kustomization.yaml and kustomization.yml"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = overlay(dir.path());
    let output = ferry()
        .arg("set-image")
        .arg(&path)
        .arg("registry.example.com/eap/website:v2")
        .arg("--dry-run")
        .output()
        .unwrap();
    assert!(output.status.success());
    let diff = stdout(&output);
    assert!(
        diff.contains("-    newTag: v1 # promoted by Ferry\n+    newTag: v2 # promoted by Ferry\n"),
        "{diff}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), OVERLAY);
}

#[test]
fn diff_prints_after_writing() {
    let dir = tempfile::tempdir().unwrap();
    let path = overlay(dir.path());
    let output = ferry()
        .arg("set-image")
        .arg(&path)
        .arg("api:a1")
        .arg("--diff")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        stdout(&output).contains("+  - name: api\n+    newTag: a1\n"),
        "{}",
        stdout(&output)
    );
    assert!(
        fs::read_to_string(&path)
            .unwrap()
            .ends_with("  - name: api\n    newTag: a1\n")
    );
}

#[test]
fn check_exits_one_when_the_file_would_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = overlay(dir.path());
    ferry()
        .arg("set-image")
        .arg(&path)
        .arg("registry.example.com/eap/website:v2")
        .arg("--check")
        .assert()
        .code(1);
    ferry()
        .arg("set-image")
        .arg(&path)
        .arg("registry.example.com/eap/website:v1")
        .arg("--check")
        .assert()
        .code(0);
    assert_eq!(fs::read_to_string(&path).unwrap(), OVERLAY);
}

#[test]
fn bad_input_exits_two_with_a_position_and_leaves_the_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kustomization.yaml");
    let cases = [
        (
            "images:\n  - name: web\n    newTag: v1\n   bad: indent\n",
            "web:v2",
            "kustomization.yaml:4:4: unexpected indentation",
        ),
        (
            "images:\n- name: web\nimages: []\n",
            "web:v2",
            "kustomization.yaml:3:1: duplicate key `images`",
        ),
        (
            "images: [{name: web\n",
            "web:v2",
            "kustomization.yaml:1:10: `{` is never closed",
        ),
        (
            OVERLAY,
            "web",
            "image spec `web`: it names an image but sets nothing",
        ),
        (OVERLAY, "web:bad tag", "tag `bad tag` is not valid"),
    ];
    for (content, spec, message) in cases {
        fs::write(&path, content).unwrap();
        let output = ferry()
            .arg("set-image")
            .arg(&path)
            .arg(spec)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{content}");
        assert!(
            stderr(&output).contains(message),
            "expected `{message}` in:\n{}",
            stderr(&output)
        );
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            content,
            "file must be untouched"
        );
    }
    let output = ferry()
        .arg("set-image")
        .arg(dir.path().join("missing"))
        .arg("web:v1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("missing: cannot read"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn patch_reads_the_patch_from_an_argument_a_file_or_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    fs::write(&path, "# settings\nreplicas: 1 # keep low\nname: web\n").unwrap();
    ferry()
        .arg("patch")
        .arg(&path)
        .arg(r#"[{"op": "replace", "path": "/replicas", "value": 2}]"#)
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "# settings\nreplicas: 2 # keep low\nname: web\n"
    );

    let patch_file = dir.path().join("patch.json");
    fs::write(
        &patch_file,
        r#"[{"op": "add", "path": "/labels", "value": {"team": "eap"}}]"#,
    )
    .unwrap();
    ferry()
        .arg("patch")
        .arg(&path)
        .arg(format!("@{}", patch_file.display()))
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "# settings\nreplicas: 2 # keep low\nname: web\nlabels:\n  team: eap\n"
    );

    ferry()
        .arg("patch")
        .arg(&path)
        .arg("-")
        .write_stdin(r#"[{"op": "remove", "path": "/name"}]"#)
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "# settings\nreplicas: 2 # keep low\nlabels:\n  team: eap\n"
    );
}

#[test]
fn patch_errors_say_which_operation_or_where_the_json_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    fs::write(&path, "a: 1\n").unwrap();
    let output = ferry()
        .arg("patch")
        .arg(&path)
        .arg(r#"[{"op": "test", "path": "/a", "value": 2}]"#)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("config.yaml: patch operation 0 (`test` at `/a`): the value there is not the expected one"), "{}", stderr(&output));
    let output = ferry()
        .arg("patch")
        .arg(&path)
        .arg("[{\"op\": \"replace\",\n \"path\": }]")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("<argument>:2:10: not a JSON Patch"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "a: 1\n");
}

#[test]
fn help_explains_each_subcommand() {
    let output = ferry().arg("--help").output().unwrap();
    let help = stdout(&output);
    assert!(
        help.contains("set-image") && help.contains("patch"),
        "{help}"
    );
    let output = ferry().args(["set-image", "--help"]).output().unwrap();
    let help = stdout(&output);
    for needle in [
        "NAME=NEWNAME:TAG",
        "--dry-run",
        "--check",
        "--diff",
        "--verify-render",
    ] {
        assert!(
            help.contains(needle),
            "set-image --help lacks {needle}:\n{help}"
        );
    }
    ferry().arg("no-such-command").assert().code(2);
}
