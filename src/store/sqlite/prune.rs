//! Retention in SQLite: finished deliveries and finished comment command records older than
//! a cutoff are deleted a small batch at a time, so the writer thread (and SQLite's one write
//! lock) is never held long and webhooks keep being acknowledged while old rows go.

use rusqlite::{Connection, params};

use super::super::{Pruned, StoreError, to_millis};

/// Partial indexes so that finding old rows is a range scan, not a scan of the whole table.
pub(super) const SCHEMA: &str = "
CREATE INDEX IF NOT EXISTS deliveries_finished ON deliveries (finished_at)
    WHERE state IN ('done', 'ignored');
CREATE INDEX IF NOT EXISTS comment_commands_finished ON comment_commands (finished_at)
    WHERE state = 'done';
";

/// A comment's record goes as a whole, and only once nothing about it can still run: every
/// command done before the cutoff, and every delivery that recorded one done (or already
/// gone). Removing only some of a comment's commands would let an edit run the removed ones
/// again; removing those of a dead delivery would let an operator's retry run them again.
const OLD_COMMENTS: &str = "
SELECT DISTINCT c.forge, c.project, c.merge_request, c.comment_id FROM comment_commands c
WHERE c.state = 'done' AND c.finished_at < ?1 AND NOT EXISTS (
    SELECT 1 FROM comment_commands o
    LEFT JOIN deliveries d ON d.id = o.event_id
    WHERE o.forge = c.forge AND o.project = c.project AND o.merge_request = c.merge_request
      AND o.comment_id = c.comment_id
      AND (o.state != 'done' OR o.finished_at IS NULL OR o.finished_at >= ?1
           OR (d.id IS NOT NULL AND d.state != 'done')))
LIMIT ?2";

/// Deliveries are kept while they could still matter: pending, running (a retry is coming),
/// dead and failed (operators read and retry them) stay whatever their age.
const OLD_DELIVERIES: &str = "
DELETE FROM deliveries WHERE id IN (
    SELECT id FROM deliveries
    WHERE state IN ('done', 'ignored') AND finished_at < ?1
    ORDER BY finished_at LIMIT ?2)";

pub(super) fn prune(
    connection: &Connection,
    before: std::time::SystemTime,
    batch: usize,
) -> Result<Pruned, StoreError> {
    let cutoff = to_millis(before);
    let limit = i64::try_from(batch.max(1)).unwrap_or(i64::MAX);
    let comments: Vec<(String, String, i64, i64)> = connection
        .prepare_cached(OLD_COMMENTS)?
        .query_map(params![cutoff, limit], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut commands = 0;
    for (forge, project, merge_request, comment_id) in &comments {
        commands += connection
            .prepare_cached(
                "DELETE FROM comment_commands WHERE forge = ?1 AND project = ?2 \
                 AND merge_request = ?3 AND comment_id = ?4",
            )?
            .execute(params![forge, project, merge_request, comment_id])?;
    }
    let deliveries = connection
        .prepare_cached(OLD_DELIVERIES)?
        .execute(params![cutoff, limit])?;
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    Ok(Pruned {
        deliveries: count(deliveries),
        comments: count(comments.len()),
        commands: count(commands),
    })
}
