//! What decides whether a merge request may merge: approvals (tied to the head they were
//! given for) and commit statuses.

use rusqlite::params;

use crate::domain::{CommitSha, MrIid, ProjectPath, UserId};
use crate::forge::{Approval, CommitStatus, MrState};

use super::LocalForge;
use super::db::{self, now, sql, unsql};
use super::error::LocalError;
use super::outbox::{self, ActorRecord, Recorded, ReviewRecord, Verdict};
use super::rows::load;

/// A commit status as the CLI shows it.
#[derive(Debug, Clone)]
pub struct StatusView {
    pub context: String,
    pub state: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
}

impl LocalForge {
    /// Approves the merge request's current head as the acting user. The approval counts
    /// until the head moves.
    pub fn approve(&self, project: &ProjectPath, iid: MrIid) -> Result<Approval, LocalError> {
        self.review(project, iid, Verdict::Approved)
    }

    /// Withdraws the acting user's approval.
    pub fn unapprove(&self, project: &ProjectPath, iid: MrIid) -> Result<Approval, LocalError> {
        self.review(project, iid, Verdict::Unapproved)
    }

    fn review(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        verdict: Verdict,
    ) -> Result<Approval, LocalError> {
        let mut connection = self.writer()?;
        let repo = Self::repository(&connection, project)?;
        let tx = db::write(&mut connection)?;
        let row = load(&tx, project, iid)?;
        if row.state != MrState::Open {
            return Err(LocalError::Conflict(format!(
                "{project}!{iid} is {}; only open merge requests take approvals",
                super::rows::state_name(row.state)
            )));
        }
        let head = row.head(Some(&repo))?.ok_or_else(|| {
            LocalError::NotFound(format!(
                "the source branch `{}` of {project}!{iid} is gone; there is nothing to approve",
                row.source_branch
            ))
        })?;
        match verdict {
            Verdict::Approved => tx.execute(
                "INSERT INTO approvals (project, iid, user_id, head_sha) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (project, iid, user_id) DO UPDATE SET head_sha = ?4",
                params![
                    project.as_str(),
                    sql(iid.0),
                    sql(self.user.id.0),
                    head.as_str()
                ],
            ),
            Verdict::Unapproved => tx.execute(
                "DELETE FROM approvals WHERE project = ?1 AND iid = ?2 AND user_id = ?3",
                params![project.as_str(), sql(iid.0), sql(self.user.id.0)],
            ),
        }
        .map_err(LocalError::store("save the approval"))?;
        outbox::append(
            &tx,
            &Recorded::ReviewSubmitted(ReviewRecord {
                project: project.to_string(),
                merge_request: iid.0,
                reviewer: ActorRecord::from(&self.user),
                verdict,
                head_sha: Some(head.to_string()),
            }),
        )?;
        tx.commit()
            .map_err(LocalError::store("save the approval"))?;
        Ok(Approval {
            user: self.user.id,
            username: self.user.username.clone(),
            commit: Some(head),
        })
    }

    /// The approvals of the current head, one per user.
    pub fn approval_list(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<Approval>, LocalError> {
        let connection = self.connection()?;
        let row = load(&connection, project, iid)?;
        let repo = Self::repository(&connection, project).ok();
        let Some(head) = row.head(repo.as_ref())? else {
            return Ok(Vec::new());
        };
        let mut statement = connection
            .prepare(
                "SELECT a.user_id, COALESCE(u.name, '') FROM approvals a LEFT JOIN users u ON u.id = a.user_id
                 WHERE a.project = ?1 AND a.iid = ?2 AND a.head_sha = ?3 ORDER BY a.user_id",
            )
            .map_err(LocalError::store("read the approvals"))?;
        let rows = statement
            .query_map(
                params![project.as_str(), sql(iid.0), head.as_str()],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
            )
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(LocalError::store("read the approvals"))?;
        Ok(rows
            .into_iter()
            .map(|(user, username)| Approval {
                user: UserId(unsql(user)),
                username,
                commit: Some(head.clone()),
            })
            .collect())
    }

    /// Sets `status.context` on `sha`; the last one set wins.
    pub fn set_status(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        sha: &CommitSha,
        status: &CommitStatus,
    ) -> Result<(), LocalError> {
        let connection = self.connection()?;
        load(&connection, project, iid)?;
        connection
            .execute(
                "INSERT INTO statuses (project, sha, context, iid, state, description, target_url, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (project, sha, context) DO UPDATE SET
                     iid = ?4, state = ?5, description = ?6, target_url = ?7, updated_at = ?8",
                params![
                    project.as_str(),
                    sha.as_str(),
                    status.context,
                    sql(iid.0),
                    status.state.gitlab_name(),
                    status.description,
                    status.target_url,
                    now()
                ],
            )
            .map_err(LocalError::store("save the status"))?;
        Ok(())
    }

    /// The statuses set on `sha`, by context.
    pub fn statuses(
        &self,
        project: &ProjectPath,
        sha: &CommitSha,
    ) -> Result<Vec<StatusView>, LocalError> {
        let connection = self.connection()?;
        let mut statement = connection
            .prepare(
                "SELECT context, state, description, target_url FROM statuses
                 WHERE project = ?1 AND sha = ?2 ORDER BY context",
            )
            .map_err(LocalError::store("read the statuses"))?;
        statement
            .query_map(params![project.as_str(), sha.as_str()], |row| {
                Ok(StatusView {
                    context: row.get(0)?,
                    state: row.get(1)?,
                    description: row.get(2)?,
                    target_url: row.get(3)?,
                })
            })
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(LocalError::store("read the statuses"))
    }
}
