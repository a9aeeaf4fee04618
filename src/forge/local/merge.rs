//! Merging: the head-SHA guard, a real merge commit on the target branch, and the events.

use rusqlite::params;

use crate::domain::{CommitSha, MrIid, ProjectPath};
use crate::forge::{AccessLevel, MergeOptions, MergeOutcome, MrState};

use super::db::{self, now, sql, unsql};
use super::error::LocalError;
use super::outbox::{self, ActorRecord, MergeRecord, Recorded};
use super::repo::{self, Refusal};
use super::rows::load;
use super::{LocalForge, users};

/// What the merging user says when asked to merge once the pipeline passes.
pub(crate) const NO_PIPELINE_NOTE: &str =
    "Merged at once: the local forge runs no pipelines, so there is nothing to wait for.";

impl LocalForge {
    /// Merges the merge request if its head still is `options.sha`, with a merge commit
    /// (both parents) moved onto the target branch by compare-and-swap. The acting user needs
    /// write access. Asking to merge when the pipeline succeeds merges at once, and says so.
    pub fn accept(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        options: &MergeOptions,
    ) -> Result<MergeOutcome, LocalError> {
        let mut connection = self.writer()?;
        let access = users::access(&connection, self.user.id)?;
        if access < AccessLevel::Write {
            return Err(LocalError::Forbidden(format!(
                "{name} may not merge in {project}: merging needs write access and {name} has {}; merge as someone with write access, or raise {name}'s access with `LocalForge::add_user`",
                users::access_name(access),
                name = self.user.username
            )));
        }
        let repo = Self::repository(&connection, project)?;
        // The write lock is held across the git work so two processes never merge the same
        // merge request twice.
        let tx = db::write(&mut connection)?;
        let row = load(&tx, project, iid)?;
        match row.state {
            MrState::Merged => {
                return Ok(if row.seen_head.as_deref() == Some(options.sha.as_str()) {
                    MergeOutcome::Merged {
                        merge_commit: row
                            .merge_sha
                            .as_deref()
                            .and_then(|sha| CommitSha::parse(sha).ok()),
                    }
                } else {
                    MergeOutcome::NotMergeable {
                        reason: format!("{project}!{iid} is already merged"),
                    }
                });
            }
            MrState::Closed => {
                return Ok(MergeOutcome::NotMergeable {
                    reason: format!("{project}!{iid} is closed; open a new merge request"),
                });
            }
            MrState::Open => {}
        }
        let Some(head) = repo.head_sha(&row.source_branch)? else {
            return Ok(MergeOutcome::NotMergeable {
                reason: format!("the source branch `{}` no longer exists", row.source_branch),
            });
        };
        if head != options.sha {
            return Ok(MergeOutcome::ShaMismatch);
        }
        let Some(target_head) = repo.head(&row.target_branch)? else {
            return Ok(MergeOutcome::NotMergeable {
                reason: format!("the target branch `{}` no longer exists", row.target_branch),
            });
        };
        let source = repo::oid(&head)?;
        let merge_commit = if repo.contains(target_head, source)? {
            // Already in the target (say a merge whose bookkeeping was cut short): nothing
            // to commit, the merge request is merged at the target's head.
            target_head
        } else {
            let message = options.commit_message.clone().unwrap_or_else(|| {
                format!(
                    "Merge branch '{}' into '{}'\n\n{}\n\nSee merge request {project}!{iid}",
                    row.source_branch, row.target_branch, row.title
                )
            });
            match repo.merge(source, &row.target_branch, &message, &self.user.username)? {
                Ok(commit) => commit,
                Err(Refusal::Conflict(reason)) => {
                    return Ok(MergeOutcome::NotMergeable { reason });
                }
                Err(Refusal::Contended(message)) => return Err(LocalError::Conflict(message)),
            }
        };
        let merge_sha = CommitSha::parse(&merge_commit.to_string())
            .map_err(|err| LocalError::Corrupt(err.to_string()))?;
        tx.execute(
            "UPDATE merge_requests SET state = 'merged', seen_head = ?3, merge_sha = ?4 WHERE project = ?1 AND iid = ?2",
            params![project.as_str(), sql(iid.0), head.as_str(), merge_sha.as_str()],
        )
        .map_err(LocalError::store(format!("record the merge of {project}!{iid}")))?;
        let merged = load(&tx, project, iid)?;
        let me = ActorRecord::from(&self.user);
        outbox::append(
            &tx,
            &Recorded::MrMerged(MergeRecord {
                merge_request: merged.to_record(Some(&head), Some(me.clone())),
                merged_by: Some(me),
                merge_sha: merge_sha.to_string(),
            }),
        )?;
        if options.when_pipeline_succeeds {
            let created_at = now();
            tx.execute(
                "INSERT INTO comments (project, iid, author_id, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![project.as_str(), sql(iid.0), sql(self.user.id.0), NO_PIPELINE_NOTE, created_at],
            )
            .map_err(LocalError::store("save the comment"))?;
            let id = unsql(tx.last_insert_rowid());
            outbox::append(
                &tx,
                &self.comment_event(project, iid, id, NO_PIPELINE_NOTE, false, created_at),
            )?;
        }
        tx.commit().map_err(LocalError::store(format!(
            "record the merge of {project}!{iid}"
        )))?;
        if options.remove_source_branch
            && let Err(error) = repo.delete_branch(&row.source_branch, source)
        {
            // The merge stands; a leftover branch is only clutter.
            tracing::warn!(%error, branch = %row.source_branch, "could not delete the merged branch");
        }
        Ok(MergeOutcome::Merged {
            merge_commit: Some(merge_sha),
        })
    }
}
