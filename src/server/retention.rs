//! Retention: `store.retention_days` after they finish, deliveries and comment command
//! records are removed, once at start and then every [`EVERY`], a small batch per
//! transaction so intake never waits long behind it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::store::{Pruned, Store, StoreError};

/// How often old records are looked for; they only need to go eventually.
pub const EVERY: Duration = Duration::from_secs(3600);

/// Rows per transaction: each batch is a few milliseconds of the writer thread.
pub const BATCH: usize = 200;

/// Removes everything finished more than `retention` ago, batch after batch, with a pause
/// between batches so deliveries arriving meanwhile are committed in between.
pub async fn prune_older_than(
    store: &dyn Store,
    retention: Duration,
) -> Result<Pruned, StoreError> {
    let mut total = Pruned::default();
    let Some(before) = SystemTime::now().checked_sub(retention) else {
        return Ok(total);
    };
    loop {
        let pruned = store.prune(before, BATCH).await?;
        total.deliveries += pruned.deliveries;
        total.comments += pruned.comments;
        total.commands += pruned.commands;
        if !pruned.full(BATCH) {
            return Ok(total);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Prunes now and then every `every`, until the task is aborted. A failure is logged and
/// tried again next time: retention must never stop the server.
pub async fn prune_forever(store: Arc<dyn Store>, retention: Duration, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match prune_older_than(store.as_ref(), retention).await {
            Ok(pruned) if pruned == Pruned::default() => {}
            Ok(pruned) => tracing::info!(
                deliveries = pruned.deliveries,
                comments = pruned.comments,
                commands = pruned.commands,
                "pruned records past store.retention_days"
            ),
            Err(error) => tracing::warn!(%error, "cannot prune old records; trying again later"),
        }
    }
}
