//! What people and Ferry say on a merge request: comments with reactions, approvals (tied to
//! the head they were given for) and commit statuses.

use rusqlite::{OptionalExtension, params};

use crate::domain::{CommitSha, MrIid, ProjectPath, UserId};
use crate::forge::{Approval, Comment, CommentId, CommitStatus, MrState, Reaction};

use super::db::{self, now, sql, unsql};
use super::error::LocalError;
use super::outbox::{self, ActorRecord, CommentRecord, Recorded, ReviewRecord, Verdict};
use super::requests::load;
use super::{LocalForge, users};

/// A comment as the CLI shows it.
#[derive(Debug, Clone)]
pub struct CommentView {
    pub id: CommentId,
    pub author: String,
    pub body: String,
    pub created_at: String,
    pub edited: bool,
    /// Reaction name (GitLab's emoji names) and who gave it.
    pub reactions: Vec<(String, Vec<String>)>,
}

/// A commit status as the CLI shows it.
#[derive(Debug, Clone)]
pub struct StatusView {
    pub context: String,
    pub state: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
}

impl LocalForge {
    /// Writes a comment as the acting user.
    pub fn comment(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        body: &str,
    ) -> Result<Comment, LocalError> {
        if body.trim().is_empty() {
            return Err(LocalError::Invalid(
                "the comment is empty; write something".into(),
            ));
        }
        let mut connection = self.writer()?;
        let tx = db::write(&mut connection)?;
        load(&tx, project, iid)?;
        let created_at = now();
        tx.execute(
            "INSERT INTO comments (project, iid, author_id, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![project.as_str(), sql(iid.0), sql(self.user.id.0), body, created_at],
        )
        .map_err(LocalError::store("save the comment"))?;
        let id = unsql(tx.last_insert_rowid());
        outbox::append(
            &tx,
            &self.comment_event(project, iid, id, body, false, created_at),
        )?;
        tx.commit().map_err(LocalError::store("save the comment"))?;
        Ok(Comment {
            id: CommentId(id),
            author: self.user.id,
            body: body.to_owned(),
        })
    }

    /// Replaces the text of one of the acting user's own comments.
    pub fn edit(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        comment: CommentId,
        body: &str,
    ) -> Result<Comment, LocalError> {
        let mut connection = self.writer()?;
        let tx = db::write(&mut connection)?;
        let found: Option<(i64, String, String)> = tx
            .query_row(
                "SELECT author_id, body, created_at FROM comments WHERE id = ?1 AND project = ?2 AND iid = ?3",
                params![sql(comment.0), project.as_str(), sql(iid.0)],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
            .map_err(LocalError::store("read the comment"))?;
        let Some((author, old, created_at)) = found else {
            return Err(LocalError::NotFound(format!(
                "{project}!{iid} has no comment {comment}"
            )));
        };
        if UserId(unsql(author)) != self.user.id {
            return Err(LocalError::Forbidden(format!(
                "comment {comment} is not {}'s; only its author may edit it",
                self.user.username
            )));
        }
        if old != body {
            tx.execute(
                "UPDATE comments SET body = ?2, edited_at = ?3 WHERE id = ?1",
                params![sql(comment.0), body, now()],
            )
            .map_err(LocalError::store("edit the comment"))?;
            outbox::append(
                &tx,
                &self.comment_event(project, iid, comment.0, body, true, created_at),
            )?;
        }
        tx.commit().map_err(LocalError::store("edit the comment"))?;
        Ok(Comment {
            id: comment,
            author: self.user.id,
            body: body.to_owned(),
        })
    }

    pub(super) fn comment_event(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        id: u64,
        body: &str,
        edited: bool,
        created_at: String,
    ) -> Recorded {
        Recorded::CommentCreated(CommentRecord {
            project: project.to_string(),
            merge_request: iid.0,
            note_id: id,
            author: ActorRecord::from(&self.user),
            body: body.to_owned(),
            edited,
            created_at,
            url: format!("{}#note_{id}", Self::web_url(project, iid.0)),
        })
    }

    /// The comments, oldest first.
    pub fn comment_list(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<Comment>, LocalError> {
        Ok(self
            .comment_views(project, iid)?
            .into_iter()
            .map(|view| view.comment)
            .collect())
    }

    /// The comments with names, times and reactions, oldest first.
    pub fn comments_shown(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<CommentView>, LocalError> {
        Ok(self
            .comment_views(project, iid)?
            .into_iter()
            .map(|view| view.view)
            .collect())
    }

    fn comment_views(&self, project: &ProjectPath, iid: MrIid) -> Result<Vec<Both>, LocalError> {
        let connection = self.connection()?;
        load(&connection, project, iid)?;
        let mut statement = connection
            .prepare(
                "SELECT c.id, c.author_id, COALESCE(u.name, ''), c.body, c.created_at, c.edited_at IS NOT NULL
                 FROM comments c LEFT JOIN users u ON u.id = c.author_id
                 WHERE c.project = ?1 AND c.iid = ?2 ORDER BY c.id",
            )
            .map_err(LocalError::store("read the comments"))?;
        let rows = statement
            .query_map(params![project.as_str(), sql(iid.0)], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, bool>(5)?,
                ))
            })
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(LocalError::store("read the comments"))?;
        let mut reactions = connection
            .prepare(
                "SELECT r.name, COALESCE(u.name, '') FROM reactions r LEFT JOIN users u ON u.id = r.user_id
                 WHERE r.comment_id = ?1 ORDER BY r.name, u.name",
            )
            .map_err(LocalError::store("read the reactions"))?;
        let mut out = Vec::new();
        for (id, author, name, body, created_at, edited) in rows {
            let given = reactions
                .query_map([id], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(LocalError::store("read the reactions"))?;
            let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
            for (reaction, user) in given {
                match grouped.last_mut() {
                    Some((last, users)) if *last == reaction => users.push(user),
                    _ => grouped.push((reaction, vec![user])),
                }
            }
            let id = CommentId(unsql(id));
            out.push(Both {
                comment: Comment {
                    id,
                    author: UserId(unsql(author)),
                    body: body.clone(),
                },
                view: CommentView {
                    id,
                    author: name,
                    body,
                    created_at,
                    edited,
                    reactions: grouped,
                },
            });
        }
        Ok(out)
    }

    /// Adds the acting user's reaction; a repeat changes nothing.
    pub fn add_reaction(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        comment: CommentId,
        reaction: Reaction,
    ) -> Result<(), LocalError> {
        let connection = self.writer()?;
        let exists: Option<i64> = connection
            .query_row(
                "SELECT id FROM comments WHERE id = ?1 AND project = ?2 AND iid = ?3",
                params![sql(comment.0), project.as_str(), sql(iid.0)],
                |row| row.get(0),
            )
            .optional()
            .map_err(LocalError::store("read the comment"))?;
        if exists.is_none() {
            return Err(LocalError::NotFound(format!(
                "{project}!{iid} has no comment {comment}"
            )));
        }
        connection
            .execute(
                "INSERT OR IGNORE INTO reactions (comment_id, user_id, name) VALUES (?1, ?2, ?3)",
                params![sql(comment.0), sql(self.user.id.0), reaction.gitlab_name()],
            )
            .map_err(LocalError::store("save the reaction"))?;
        Ok(())
    }

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
                super::requests::state_label(row.state)
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

    /// The role of `user` in every project: the access level of their account.
    pub fn access(&self, user: UserId) -> Result<crate::forge::AccessLevel, LocalError> {
        users::access(&*self.connection()?, user)
    }

    pub fn member_of(&self, group: &str, user: UserId) -> Result<bool, LocalError> {
        users::is_member(&*self.connection()?, group, user)
    }
}

struct Both {
    comment: Comment,
    view: CommentView,
}
