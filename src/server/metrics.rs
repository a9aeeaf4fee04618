//! Prometheus metrics. The recorder is process-wide (the `metrics` facade has one global
//! recorder), installed on first use.
//!
//! Label values are bounded: forge names, Ferry's own outcomes, and event types only after
//! authentication and only those Ferry handles (others count as `other`), so an
//! unauthenticated sender cannot grow the label set.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::store::{Forge, State, Store};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The handle that renders `/metrics`, installing the recorder on first call.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            let builder = match builder.set_buckets(LATENCY_BUCKETS) {
                Ok(builder) => builder,
                Err(_) => PrometheusBuilder::new(),
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics will be empty");
            }
            handle
        })
        .clone()
}

/// Counts one webhook delivery by forge, event and outcome.
pub fn delivery(forge: Forge, event: &str, outcome: &'static str) {
    metrics::counter!(
        "ferry_webhook_deliveries_total",
        "forge" => forge.as_str(),
        "event" => event.to_owned(),
        "outcome" => outcome
    )
    .increment(1);
}

/// Acknowledgement latency: from the body read to the answer (includes the commit).
pub fn acknowledged(forge: Forge, seconds: f64) {
    metrics::histogram!("ferry_webhook_ack_seconds", "forge" => forge.as_str()).record(seconds);
}

/// Keeps the queue depth gauges fresh and runs the exporter's upkeep.
pub async fn refresh_forever(store: std::sync::Arc<dyn Store>, every: Duration) {
    let handle = handle();
    loop {
        if let Ok(counts) = store.counts().await {
            for (state, count) in counts {
                if matches!(
                    state,
                    State::Pending | State::Running | State::Dead | State::Failed
                ) {
                    metrics::gauge!("ferry_queue_depth", "state" => state.as_str())
                        .set(count as f64);
                }
            }
        }
        handle.run_upkeep();
        tokio::time::sleep(every).await;
    }
}
