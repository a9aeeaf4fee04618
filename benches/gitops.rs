//! `cargo bench --bench gitops`: the GitOps engine on a generated repository.
//!
//! Targets (issue 4), all medians: a promotion with a warm mirror (fetch, edit, commit, push
//! to a local bare remote) in at most 100 ms and at least 20x faster than the naive pipeline
//! teams script today (`git clone --depth 1`, edit, `git commit`, `git push`), measured in
//! the same run; flat from 5,000 to 50,000 files; one commit into 500 overlays in at most
//! 1 s; `ferry audit` over 20,000 commits in at most 1 s.
//!
//! `FERRY_BENCH_SERVICES` (default 2000, 25 files each) and `FERRY_BENCH_COMMITS` (default
//! 20000) size the large repository; the small one has a tenth of the services.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ferry::domain::ImageRef;
use ferry::gitops::{
    AuditLog, CommitSettings, Mirror, Outcome, OverlayChange, OverlayMap, Promotion, Remote, Retry,
    land,
};
use git2::{FileMode, Oid, Repository, Signature};

const ENVIRONMENTS: [&str; 3] = ["integration", "staging", "production"];
/// Base files per service, and files per overlay: 7 + 3 x 6 = 25 files a service.
const BASE_FILES: [&str; 7] = [
    "kustomization.yaml",
    "deployment.yaml",
    "service.yaml",
    "configmap.yaml",
    "hpa.yaml",
    "pdb.yaml",
    "serviceaccount.yaml",
];
const OVERLAY_FILES: [&str; 5] = [
    "replicas.yaml",
    "resources.yaml",
    "env.yaml",
    "ingress.yaml",
    "networkpolicy.yaml",
];

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn service(i: usize) -> String {
    format!("svc-{i:04}")
}

fn overlay_text(i: usize, tag: &str) -> String {
    format!(
        "# {name} overlay\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\npatches:\n  - path: replicas.yaml\n  - path: resources.yaml\nimages:\n  - name: registry.example.com/team/{name}\n    newTag: {tag} # set by Ferry\n",
        name = service(i)
    )
}

fn policy_text(services: usize) -> String {
    let mut text = String::from(
        "gitops:\n  branch: main\n  overlay: \"apps/{service}/overlays/{environment}\"\nservices:\n",
    );
    for i in 0..services {
        text.push_str(&format!(
            "  {name}:\n    image: registry.example.com/team/{name}\n    source: team/{name}\n",
            name = service(i)
        ));
    }
    text.push_str("registries: [registry.example.com]\nenvironments:\n");
    for env in ENVIRONMENTS {
        text.push_str(&format!("  {env}:\n    gate: auto\n"));
    }
    text
}

/// A bare repository with `services` x 25 files and `commits` commits of history, written
/// straight into the object database (generating 20,000 commits with the git CLI would take
/// longer than the benchmark).
fn generate(dir: &Path, services: usize, commits: usize) {
    let repo = Repository::init_bare(dir).expect("init");
    let blob = |text: &str| repo.blob(text.as_bytes()).expect("blob");
    let mut apps = repo.treebuilder(None).expect("builder");
    for i in 0..services {
        let mut base = repo.treebuilder(None).expect("builder");
        for file in BASE_FILES {
            base.insert(
                file,
                blob(&format!(
                    "# {} {file}\nkind: Thing\nmetadata:\n  name: {}\n",
                    service(i),
                    service(i)
                )),
                0o100644,
            )
            .expect("insert");
        }
        let mut overlays = repo.treebuilder(None).expect("builder");
        for env in ENVIRONMENTS {
            let mut overlay = repo.treebuilder(None).expect("builder");
            overlay
                .insert("kustomization.yaml", blob(&overlay_text(i, "v0")), 0o100644)
                .expect("insert");
            for file in OVERLAY_FILES {
                overlay
                    .insert(
                        file,
                        blob(&format!("# {} {env} {file}\nspec: {{}}\n", service(i))),
                        0o100644,
                    )
                    .expect("insert");
            }
            overlays
                .insert(env, overlay.write().expect("tree"), 0o040000)
                .expect("insert");
        }
        let mut svc = repo.treebuilder(None).expect("builder");
        svc.insert("base", base.write().expect("tree"), 0o040000)
            .expect("insert");
        svc.insert("overlays", overlays.write().expect("tree"), 0o040000)
            .expect("insert");
        apps.insert(service(i), svc.write().expect("tree"), 0o040000)
            .expect("insert");
    }
    let mut policies = repo.treebuilder(None).expect("builder");
    policies
        .insert("promotion.yaml", blob(&policy_text(services)), 0o100644)
        .expect("insert");
    let mut root = repo.treebuilder(None).expect("builder");
    root.insert("apps", apps.write().expect("tree"), 0o040000)
        .expect("insert");
    root.insert("policies", policies.write().expect("tree"), 0o040000)
        .expect("insert");
    let tree = repo.find_tree(root.write().expect("tree")).expect("tree");
    let who = Signature::new(
        "Generator",
        "gen@example.com",
        &git2::Time::new(1_700_000_000, 0),
    )
    .expect("sig");
    let mut head: Oid = repo
        .commit(None, &who, &who, "Initial", &tree, &[])
        .expect("commit");

    // History: mostly Ferry promotions with trailers, every tenth a hand edit.
    let mut rng = fastrand::Rng::with_seed(7);
    for n in 0..commits {
        let i = rng.usize(..services);
        let env = ENVIRONMENTS[rng.usize(..3)];
        let tag = format!("build-{n}");
        let path = format!("apps/{}/overlays/{env}/kustomization.yaml", service(i));
        let parent = repo.find_commit(head).expect("head");
        let mut update = git2::build::TreeUpdateBuilder::new();
        update.upsert(path.as_str(), blob(&overlay_text(i, &tag)), FileMode::Blob);
        let tree = repo
            .find_tree(
                update
                    .create_updated(&repo, &parent.tree().expect("tree"))
                    .expect("update"),
            )
            .expect("tree");
        let message = if n % 10 == 9 {
            format!("Hand edit {}\n", service(i))
        } else {
            format!(
                "Promote {s} to {env}: {tag}\n\nFerry-Action: promote\nFerry-Service: {s}\nFerry-Environment: {env}\nFerry-Image: registry.example.com/team/{s}:{tag}\nFerry-Source: team/{s} refs/heads/develop {sha:040x}\n",
                s = service(i),
                sha = n + 1
            )
        };
        let when = Signature::new(
            "Generator",
            "gen@example.com",
            &git2::Time::new(1_700_000_000 + n as i64 * 60, 0),
        )
        .expect("sig");
        head = repo
            .commit(None, &when, &when, &message, &tree, &[&parent])
            .expect("commit");
    }
    repo.reference("refs/heads/main", head, true, "generated")
        .expect("ref");
}

fn promotion(
    policy: &ferry::policy::Policy,
    service_index: usize,
    env: &str,
    tag: &str,
) -> Promotion {
    let image = ImageRef::parse(&format!(
        "registry.example.com/team/{}:{tag}",
        service(service_index)
    ))
    .expect("image");
    Promotion::new(vec![
        OverlayChange::from_policy(policy, &service(service_index), env, image).expect("change"),
    ])
}

/// Median time of one promotion with a warm mirror: fetch, edit, commit, push.
fn ferry_promotions(work: &Path, remote: &Path, services: usize, rounds: usize) -> Duration {
    let mirror = Mirror::open(&work.join("data"), Remote::local(remote)).expect("mirror");
    mirror.fetch().expect("warm-up fetch");
    let policy = ferry::gitops::policy_at(&mirror, "main").expect("policy");
    let settings = CommitSettings::default();
    let mut rng = fastrand::Rng::with_seed(11);
    let mut samples = Vec::new();
    for round in 0..rounds {
        let change = promotion(
            &policy,
            rng.usize(..services),
            ENVIRONMENTS[round % 3],
            &format!("ferry-{round}"),
        );
        let start = Instant::now();
        let outcome = land(
            &mirror,
            &settings,
            &Retry::default(),
            "main",
            "main",
            &change,
        )
        .expect("land");
        samples.push(start.elapsed());
        assert!(matches!(outcome, Outcome::Landed { .. }));
    }
    median(samples)
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=CI", "-c", "user.email=ci@example.com"])
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("git");
    assert!(status.success(), "git {args:?}");
}

fn copy_repository(from: &Path, to: &Path) {
    let (from, to) = (from.to_str().expect("path"), to.to_str().expect("path"));
    git(
        Path::new("."),
        &["clone", "-q", "--bare", "--no-local", from, to],
    );
}

/// The pipeline teams script: shallow clone, edit the file, commit, push.
fn naive_promotions(work: &Path, remote: &Path, services: usize, rounds: usize) -> Duration {
    let mut samples = Vec::new();
    let url = format!("file://{}", remote.display());
    for round in 0..rounds {
        let clone = work.join(format!("naive-{round}"));
        let i = (round * 7919) % services;
        let start = Instant::now();
        git(
            work,
            &[
                "clone",
                "-q",
                "--depth",
                "1",
                "--branch",
                "main",
                &url,
                &clone.display().to_string(),
            ],
        );
        let file = clone.join(format!(
            "apps/{}/overlays/staging/kustomization.yaml",
            service(i)
        ));
        let text = std::fs::read_to_string(&file).expect("overlay");
        let edited: String = text
            .lines()
            .map(|line| {
                if line.trim_start().starts_with("newTag:") {
                    format!("    newTag: naive-{round} # set by CI")
                } else {
                    line.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&file, edited + "\n").expect("write");
        git(&clone, &["commit", "-q", "-am", "promote"]);
        git(&clone, &["push", "-q", "origin", "HEAD:main"]);
        samples.push(start.elapsed());
        let _ = std::fs::remove_dir_all(&clone);
    }
    median(samples)
}

fn wide_promotion(work: &Path, remote: &Path, services: usize, rounds: usize) -> Duration {
    let mirror = Mirror::open(&work.join("data"), Remote::local(remote)).expect("mirror");
    mirror.fetch().expect("warm-up fetch");
    let policy = ferry::gitops::policy_at(&mirror, "main").expect("policy");
    let mut samples = Vec::new();
    for round in 0..rounds {
        let changes = (0..500.min(services))
            .map(|i| {
                let image = ImageRef::parse(&format!(
                    "registry.example.com/team/{}:wide-{round}",
                    service(i)
                ))
                .expect("image");
                OverlayChange::from_policy(&policy, &service(i), "integration", image)
                    .expect("change")
            })
            .collect();
        let start = Instant::now();
        land(
            &mirror,
            &CommitSettings::default(),
            &Retry::default(),
            "main",
            "main",
            &Promotion::new(changes),
        )
        .expect("land");
        samples.push(start.elapsed());
    }
    median(samples)
}

/// `ferry audit` as a whole process: with no index (first run), and with the index warm.
fn audit_process(work: &Path, remote: &Path, rounds: usize) -> (Duration, Duration, usize) {
    let data = work.join("audit-data");
    let run = || {
        let start = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(["audit", "--format", "json", "--repo"])
            .arg(remote)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .expect("ferry audit");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let elapsed = start.elapsed();
        let records: Vec<serde_json::Value> =
            serde_json::from_slice(&output.stdout).expect("a JSON array of records");
        (elapsed, records.len())
    };
    // The mirror's first clone is not the audit's cost: make it once, then drop the index.
    run();
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut records = 0;
    for _ in 0..rounds {
        let _ = std::fs::remove_dir_all(
            data.join("mirrors")
                .read_dir()
                .expect("mirrors")
                .filter_map(Result::ok)
                .find(|e| e.path().extension().is_some_and(|x| x == "git"))
                .expect("mirror")
                .path()
                .join("ferry-audit"),
        );
        let (time, count) = run();
        cold.push(time);
        records = count;
        warm.push(run().0);
    }
    (median(cold), median(warm), records)
}

fn audit_in_process(work: &Path, remote: &Path) -> Duration {
    let mirror = Mirror::open(&work.join("audit-lib"), Remote::local(remote)).expect("mirror");
    mirror.fetch().expect("fetch");
    let policy = ferry::gitops::policy_at(&mirror, "main").expect("policy");
    let overlays = OverlayMap::from_policy(&policy);
    let mut samples = Vec::new();
    for _ in 0..3 {
        let _ = std::fs::remove_dir_all(mirror.dir().join("ferry-audit"));
        let start = Instant::now();
        let log = AuditLog::load(&mirror, "main", &overlays).expect("log");
        samples.push(start.elapsed());
        assert!(log.records.len() > 1000);
    }
    median(samples)
}

/// A generated remote of `size` services under `dir`, copied from `kept` when an earlier run
/// left one there.
fn remote_of(dir: &Path, size: usize, commits: usize, kept: Option<&Path>) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    let remote = dir.join("remote.git");
    if remote.exists() {
        return remote; // the promotions' run made it
    }
    let generated = kept.map(|kept| kept.join(format!("size-{size}-{commits}.git")));
    if let Some(generated) = generated.as_ref().filter(|path| path.exists()) {
        copy_repository(generated, &remote);
        return remote;
    }
    let start = Instant::now();
    generate(&remote, size, commits);
    // A hosted repository is packed; the naive pipeline's clone would otherwise pay for
    // packing 100,000 loose objects that the generator wrote.
    git(&remote, &["repack", "-adq"]);
    println!(
        "generated {} files, {commits} commits in {:.1} s",
        size * 25 + 1,
        start.elapsed().as_secs_f64()
    );
    if let Some(generated) = &generated {
        std::fs::create_dir_all(generated.parent().expect("parent")).expect("dir");
        copy_repository(&remote, generated);
    }
    remote
}

fn main() {
    // SAFETY: first thing in the process; no thread has been spawned yet.
    unsafe { ferry::gitops::tuning::configure_libgit2() };
    let services = env_number("FERRY_BENCH_SERVICES", 2000);
    let commits = env_number("FERRY_BENCH_COMMITS", 20_000);
    let rounds = env_number("FERRY_BENCH_ROUNDS", 21);
    let naive_rounds = env_number("FERRY_BENCH_NAIVE_ROUNDS", 5);
    let temp = tempfile::tempdir().expect("temp dir");
    // Generating the large repository takes minutes: FERRY_BENCH_DIR keeps the generated
    // remotes between runs, and FERRY_BENCH_ONLY (promote, wide or audit) runs one measure,
    // for profiling it again and again.
    let kept = std::env::var_os("FERRY_BENCH_DIR").map(std::path::PathBuf::from);
    let only = std::env::var("FERRY_BENCH_ONLY").ok();
    let runs = |part: &str| only.as_deref().is_none_or(|only| only == part);

    if runs("promote") {
        let mut per_size = Vec::new();
        for size in [services / 10, services] {
            let dir = temp.path().join(format!("size-{size}"));
            let remote = remote_of(&dir, size, commits, kept.as_deref());
            let ferry = ferry_promotions(&dir, &remote, size, rounds);
            let naive = naive_promotions(&dir, &remote, size, naive_rounds);
            println!(
                "{:>6} files: ferry promote (warm mirror) median {}, naive clone+commit+push median {}: {:.0}x faster",
                size * 25 + 1,
                ms(ferry),
                ms(naive),
                naive.as_secs_f64() / ferry.as_secs_f64()
            );
            per_size.push((size, ferry));
        }
        let [(small_size, small), (large_size, large)] = per_size[..] else {
            unreachable!("two sizes")
        };
        println!(
            "flatness: {:.2}x the {}-file median at {} files",
            large.as_secs_f64() / small.as_secs_f64(),
            small_size * 25 + 1,
            large_size * 25 + 1
        );
    }
    let dir = temp.path().join(format!("size-{services}"));
    let remote = remote_of(&dir, services, commits, kept.as_deref());
    if runs("wide") {
        let wide = wide_promotion(&dir, &remote, services, 5);
        println!(
            "one commit into 500 overlays: median {} (target 1 s)",
            ms(wide)
        );
    }
    if runs("audit") {
        let lib = audit_in_process(&dir, &remote);
        println!(
            "audit log of {commits}+ commits in process, no index: median {}",
            ms(lib)
        );
        let (cold, warm, records) = audit_process(&dir, &remote, 3);
        println!(
            "ferry audit (whole process, {records} records): no index median {}, warm index median {} (target 1 s)",
            ms(cold),
            ms(warm)
        );
    }
}
