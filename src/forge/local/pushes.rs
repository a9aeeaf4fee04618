//! Pushes: recorded ones (a source project's branch or tag, which the engine promotes from)
//! and noticed ones (commits pushed with plain git to a merge request's source branch).
//!
//! Pushes to the branches of a merge request are noticed by comparing heads rather than
//! recorded by whoever pushes: Ferry's own promotion commits, a person's `git push` and the
//! demo all write to the repository directly, and comparing catches every one of them. The
//! comparison runs whenever events are read and whenever a push is recorded.

use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::{CommitSha, GitRef, ProjectPath};

use super::db::{self, sql};
use super::error::LocalError;
use super::outbox::{self, ActorRecord, PushRecord, Recorded};
use super::rows::open_rows;
use super::{LocalForge, users};

impl LocalForge {
    /// Records that `pusher` pushed `git_ref` of `project` to `sha`, as the forge's push hook
    /// would; returns the event's sequence number. The project need not be served by this
    /// forge (a source project's CI may only report here). A branch with an open merge
    /// request that moved also gets its `MrUpdated`.
    pub fn record_push(
        &self,
        project: &ProjectPath,
        git_ref: &GitRef,
        sha: &CommitSha,
        pusher: &str,
    ) -> Result<u64, LocalError> {
        let mut connection = self.connection()?;
        let pusher = users::ensure(&connection, pusher)?;
        let tx = db::write(&mut connection)?;
        let full = git_ref.full_name();
        let before: Option<String> = tx
            .query_row(
                "SELECT sha FROM pushed_refs WHERE project = ?1 AND git_ref = ?2",
                params![project.as_str(), full],
                |row| row.get(0),
            )
            .optional()
            .map_err(LocalError::store("read the previous push"))?;
        tx.execute(
            "INSERT INTO pushed_refs (project, git_ref, sha) VALUES (?1, ?2, ?3)
             ON CONFLICT (project, git_ref) DO UPDATE SET sha = ?3",
            params![project.as_str(), full, sha.as_str()],
        )
        .map_err(LocalError::store("record the push"))?;
        let record = PushRecord {
            project: project.to_string(),
            name: git_ref.short_name().to_owned(),
            before,
            sha: sha.to_string(),
            pusher: Some(ActorRecord::from(&pusher)),
        };
        let seq = outbox::append(
            &tx,
            &match git_ref {
                GitRef::Branch(_) => Recorded::BranchPushed(record),
                GitRef::Tag(_) => Recorded::TagPushed(record),
            },
        )?;
        if let GitRef::Branch(branch) = git_ref {
            sync(
                &tx,
                Some(project),
                Some((branch, ActorRecord::from(&pusher))),
            )?;
        }
        tx.commit().map_err(LocalError::store("record the push"))?;
        Ok(seq)
    }

    /// Records an `MrUpdated` for every open merge request whose source branch moved since
    /// its last event. Returns how many did.
    pub fn sync_heads(&self) -> Result<usize, LocalError> {
        let mut connection = self.connection()?;
        let tx = db::write(&mut connection)?;
        let moved = sync(&tx, None, None)?;
        tx.commit()
            .map_err(LocalError::store("record moved heads"))?;
        Ok(moved)
    }
}

/// `pushed` is the branch a recorded push moved and who pushed it; other branches that moved
/// were pushed by someone unknown.
fn sync(
    connection: &Connection,
    project: Option<&ProjectPath>,
    pushed: Option<(&str, ActorRecord)>,
) -> Result<usize, LocalError> {
    let mut moved = 0;
    for row in open_rows(connection, project)? {
        // A project whose repository went away has no heads to compare; its merge requests
        // keep their last known head.
        let Ok(repo) = LocalForge::repository(connection, &row.project) else {
            continue;
        };
        let Some(head) = repo.head_sha(&row.source_branch)? else {
            continue;
        };
        if row.seen_head.as_deref() == Some(head.as_str()) {
            continue;
        }
        connection
            .execute(
                "UPDATE merge_requests SET seen_head = ?3 WHERE project = ?1 AND iid = ?2",
                params![row.project.as_str(), sql(row.iid), head.as_str()],
            )
            .map_err(LocalError::store("record the new head"))?;
        let actor = pushed
            .as_ref()
            .filter(|(branch, _)| *branch == row.source_branch)
            .map(|(_, pusher)| pusher.clone());
        outbox::append(
            connection,
            &Recorded::MrUpdated(row.to_record(Some(&head), actor)),
        )?;
        moved += 1;
    }
    Ok(moved)
}
