//! Check+sign throughput: `cargo bench --bench csr`. Prints the median of several samples
//! for a P-256 CA and an RSA-2048 CA (target: at least 2,000 per second with P-256).

#[path = "../tests/csr_support/mod.rs"]
mod csr_support;

use std::time::Instant;

use csr_support::*;
use ferry::csr::check::{ClusterRequest, check_csr};
use time::OffsetDateTime;

const CSRS: usize = 200;
const SAMPLES: usize = 9;

/// Runs `work` over all CSRs `SAMPLES` times and returns the per-second rates, sorted.
fn sample(mut work: impl FnMut()) -> Vec<f64> {
    let mut rates = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let start = Instant::now();
        work();
        rates.push(CSRS as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    rates
}

fn report(label: &str, rates: &[f64]) {
    let median = rates[SAMPLES / 2];
    println!(
        "csr {label}: median {median:.0}/s ({:.1} µs each) over {SAMPLES} samples of {CSRS} (min {:.0}/s, max {:.0}/s)",
        1e6 / median,
        rates[0],
        rates[SAMPLES - 1]
    );
}

fn main() {
    let policy = policy();
    let csrs: Vec<Vec<u8>> = (0..CSRS).map(|_| valid_csr()).collect();
    let clusters = [ClusterRequest::all_groups("integration")];
    let rates = sample(|| {
        for csr in &csrs {
            std::hint::black_box(
                check_csr(csr, &policy, "alice", &clusters).expect("known cluster"),
            );
        }
    });
    report("check only", &rates);
    let ttl = "30d".parse().expect("valid lifetime");
    for (label, ca) in [
        ("P-256 CA", TestCa::new(p256(), 3650)),
        ("RSA-2048 CA", TestCa::new(rsa_key(2048), 3650)),
    ] {
        let ca = ca.load();
        let rates = sample(|| {
            for csr in &csrs {
                let checked = check_csr(csr, &policy, "alice", &clusters).expect("known cluster");
                let approved = checked.approved("integration").expect("accepted");
                let issued = ferry::csr::sign::sign(approved, &ca, ttl, OffsetDateTime::now_utc())
                    .expect("signed");
                std::hint::black_box(issued);
            }
        });
        report(&format!("check+sign, {label}"), &rates);
    }
}
