//! `cargo bench --bench set_image`: set-image speed, in process and as a whole `ferry` process.
//!
//! Targets (issue 2): at least 50,000 in-process edits/s on a 200-line kustomization with 50
//! images, and a whole-process `ferry set-image` median of at most 5 ms. Figures are medians.

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use ferry::kustomize::{ImageSpec, set_images};

const IMAGES: usize = 50;

/// A realistic overlay: header comments, resources, a patch with a block scalar, and 50 image
/// entries with comments, padded to 200 lines.
fn kustomization() -> String {
    let mut lines = vec![
        "# production overlay for the eap platform".to_owned(),
        "apiVersion: kustomize.config.k8s.io/v1beta1".to_owned(),
        "kind: Kustomization".to_owned(),
        "namespace: eap-production".to_owned(),
        String::new(),
        "resources:".to_owned(),
        "  - ../../base".to_owned(),
        "  - ingress.yaml # public entry".to_owned(),
        "patches:".to_owned(),
        "  - target: {kind: Deployment, name: web}".to_owned(),
        "    patch: |-".to_owned(),
        "      - op: replace".to_owned(),
        "        path: /spec/replicas".to_owned(),
        "        value: 3".to_owned(),
        "images:".to_owned(),
    ];
    for i in 0..IMAGES {
        if i % 5 == 0 {
            lines.push(format!("  # group {}", i / 5));
        }
        lines.push(format!("  - name: registry.example.com/eap/service-{i:02}"));
        lines.push(format!(
            "    newTag: release-1.{i}.0.ab12cd3 # {{\"$imagepolicy\": \"flux-system:s{i}:tag\"}}"
        ));
    }
    while lines.len() < 199 {
        lines.push(format!("# padding line {}", lines.len()));
    }
    lines.push("# end".to_owned());
    lines.join("\n") + "\n"
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn in_process(text: &str) -> Duration {
    let specs: Vec<ImageSpec> = (0..IMAGES)
        .map(|i| {
            ImageSpec::parse(&format!(
                "registry.example.com/eap/service-{i:02}:release-2.{i}.0.cd34ef5"
            ))
            .expect("valid spec")
        })
        .collect();
    // `FERRY_BENCH_EDITS` shrinks the run, for profiling under valgrind.
    let batch: usize = std::env::var("FERRY_BENCH_EDITS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let rounds = if batch < 2_000 { 1 } else { 21 };
    let mut per_edit = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        for i in 0..batch {
            let out = set_images(black_box(text), std::slice::from_ref(&specs[i % IMAGES]))
                .expect("edit succeeds");
            black_box(out);
        }
        per_edit.push(start.elapsed() / batch as u32);
    }
    median(per_edit)
}

fn whole_process(text: &str) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kustomization.yaml");
    std::fs::write(&path, text).expect("write fixture");
    let mut samples = Vec::new();
    for run in 0..201 {
        let spec = format!(
            "registry.example.com/eap/service-{:02}:run-{run}",
            run % IMAGES
        );
        let start = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .arg("set-image")
            .arg(&path)
            .arg(&spec)
            .output()
            .expect("run ferry");
        samples.push(start.elapsed());
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
    median(samples)
}

fn main() {
    let text = kustomization();
    assert_eq!(text.lines().count(), 200);
    let edit = in_process(&text);
    let rate = 1.0 / edit.as_secs_f64();
    println!(
        "set_image/in_process: median {:.2} us per edit = {:.0} edits/s (target 50,000/s: {:.2}x the target)",
        edit.as_secs_f64() * 1e6,
        rate,
        rate / 50_000.0
    );
    if std::env::var_os("FERRY_BENCH_EDITS").is_some() {
        return;
    }
    let process = whole_process(&text);
    let ms = process.as_secs_f64() * 1e3;
    println!(
        "set_image/whole_process: median {ms:.2} ms per `ferry set-image` (target 5 ms: {:.2}x the budget used)",
        ms / 5.0
    );
}
