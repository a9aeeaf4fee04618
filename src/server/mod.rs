//! `ferry serve`: the HTTP side of webhook intake, plus the worker pool it runs.
//!
//! Start from code:
//! ```ignore
//! let config = ferry::config::Config::load(None)?;
//! let store: Arc<dyn Store> = Arc::new(SqliteStore::open_for_serve(&config.queue_path(), &options)?);
//! let handler: Arc<dyn Handler> = Arc::new(MyHandler);
//! let running = ferry::server::start(&config, store, handler).await?;
//! println!("{}", running.local_addr());
//! running.run_until_signal().await; // or running.shutdown().await
//! ```

pub mod auth;
mod health;
pub mod intake;
pub mod metrics;
pub mod retention;
mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use secrecy::SecretString;
use tokio::sync::{Notify, oneshot};

use crate::config::Config;
use crate::store::Store;
use crate::worker::{Handler, WorkerSettings, Workers};

#[derive(Clone)]
pub(crate) struct AppState {
    store: Arc<dyn Store>,
    gitlab_secrets: Option<Arc<[SecretString]>>,
    github_secrets: Option<Arc<[SecretString]>>,
    wake: Arc<Notify>,
    workers_alive: Arc<AtomicBool>,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {address}: {source}; is another server using it? set server.listen")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// A started server: HTTP accepting, workers running.
pub struct Running {
    local_addr: SocketAddr,
    stop_http: oneshot::Sender<()>,
    http: tokio::task::JoinHandle<std::io::Result<()>>,
    workers: Workers,
    refresher: tokio::task::JoinHandle<()>,
    /// Removes old records; `None` when `store.retention_days` is 0.
    pruner: Option<tokio::task::JoinHandle<()>>,
    grace: Duration,
}

/// Binds `config.server.listen`, starts the workers on `store` with `handler`, and serves.
pub async fn start(
    config: &Config,
    store: Arc<dyn Store>,
    handler: Arc<dyn Handler>,
) -> Result<Running, ServeError> {
    let workers = Workers::spawn(
        Arc::clone(&store),
        handler,
        WorkerSettings::from(&config.workers),
    );
    let secrets = |forge: &crate::config::ForgeConfig| {
        forge
            .enabled
            .then(|| Arc::from(forge.secrets.clone().into_boxed_slice()))
    };
    let state = AppState {
        store: Arc::clone(&store),
        gitlab_secrets: secrets(&config.forges.gitlab),
        github_secrets: secrets(&config.forges.github),
        wake: workers.waker(),
        workers_alive: workers.alive(),
        metrics: metrics::handle(),
    };
    let router = router(state, config.server.body_limit_bytes);
    let address = config.server.listen;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind { address, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { address, source })?;
    let (stop_http, stopped) = oneshot::channel::<()>();
    let http = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    let pruner = config.store.retention().map(|retention| {
        tokio::spawn(retention::prune_forever(
            Arc::clone(&store),
            retention,
            retention::EVERY,
        ))
    });
    let refresher = tokio::spawn(metrics::refresh_forever(store, Duration::from_secs(5)));
    tracing::info!(%local_addr, "ferry serve listening");
    Ok(Running {
        local_addr,
        stop_http,
        http,
        workers,
        refresher,
        pruner,
        grace: Duration::from_secs(config.server.shutdown_grace_seconds),
    })
}

fn router(state: AppState, body_limit: usize) -> Router {
    Router::new()
        .route("/webhooks/gitlab", post(webhook::gitlab))
        .route("/webhooks/github", post(webhook::github))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        // axum's default limit is 2 MB; forges send up to 25 MB.
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

impl Running {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections, answers the requests in flight (each after its
    /// commit), then stops the workers: running handlers get the grace period, and the
    /// leases of those still running after it are given back.
    pub async fn shutdown(self) {
        let _ = self.stop_http.send(());
        match self.http.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "the HTTP server stopped with an error"),
            Err(error) => tracing::warn!(%error, "the HTTP server task failed"),
        }
        self.workers.shutdown(self.grace).await;
        // An aborted task drops what it holds (the store, and with it the data directory's
        // lock) only when the runtime next polls it: wait for that, so a server started
        // right after this one returns finds the directory free.
        self.refresher.abort();
        let _ = self.refresher.await;
        if let Some(pruner) = self.pruner {
            pruner.abort();
            let _ = pruner.await;
        }
        tracing::info!("ferry serve stopped");
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down as [`Running::shutdown`].
    pub async fn run_until_signal(self) {
        wait_for_signal().await;
        tracing::info!("shutdown signal received");
        self.shutdown().await;
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
