//! Webhook parsing cost: `cargo bench --bench events`. Prints medians per payload for
//! `events::parse` and `events::repository_of` (what intake calls per delivery), and for
//! `commands::parse_comment` on a typical comment. The intake target is 2,000 deliveries/s on
//! 2 cores, so parsing must stay well under 500 µs per delivery.

use std::hint::black_box;
use std::time::Instant;

use ferry::domain::Forge;

const ROUNDS: usize = 2_000;
const SAMPLES: usize = 9;

/// Median microseconds per call of `work` over `SAMPLES` samples of `ROUNDS` calls.
fn median_micros(mut work: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..ROUNDS {
                work();
            }
            start.elapsed().as_secs_f64() * 1e6 / ROUNDS as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[SAMPLES / 2]
}

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/fixtures/webhooks/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn main() {
    let payloads = [
        ("gitlab/push.json", Forge::GitLab, "Push Hook"),
        (
            "gitlab/merge_request_merge.json",
            Forge::GitLab,
            "Merge Request Hook",
        ),
        ("gitlab/note_merge_request.json", Forge::GitLab, "Note Hook"),
        (
            "gitlab/pipeline_success.json",
            Forge::GitLab,
            "Pipeline Hook",
        ),
        ("github/push.json", Forge::GitHub, "push"),
        (
            "github/pull_request_merged.json",
            Forge::GitHub,
            "pull_request",
        ),
        (
            "github/issue_comment_created.json",
            Forge::GitHub,
            "issue_comment",
        ),
        (
            "github/check_suite_completed.json",
            Forge::GitHub,
            "check_suite",
        ),
    ];
    for (path, forge, header) in payloads {
        let body = fixture(path);
        let parse = median_micros(|| {
            black_box(ferry::events::parse(forge, header, black_box(&body)).ok());
        });
        let repository = median_micros(|| {
            black_box(ferry::events::repository_of(forge, black_box(&body)).ok());
        });
        println!(
            "events {path} ({} bytes): parse median {parse:.1} µs, repository_of median {repository:.1} µs",
            body.len()
        );
    }
    let comment = "Checked the staging run, numbers look fine.\n\n```\n/ferry rollback production\n```\n\n/ferry approve\n/ferry promote production service=web override=\"release train\"\n";
    let commands = median_micros(|| {
        black_box(ferry::commands::parse_comment(
            black_box(comment),
            "ferry-bot",
        ));
    });
    println!("commands parse_comment (2 commands, 8 lines): median {commands:.1} µs");
}
