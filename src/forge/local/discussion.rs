//! What people and Ferry say on a merge request: comments with their reactions.

use rusqlite::{OptionalExtension, params};

use crate::domain::{MrIid, ProjectPath, UserId};
use crate::forge::{Comment, CommentId, Reaction};

use super::LocalForge;
use super::db::{self, now, sql, unsql};
use super::error::LocalError;
use super::outbox::{self, ActorRecord, CommentRecord, Recorded};
use super::rows::load;

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
}

struct Both {
    comment: Comment,
    view: CommentView,
}
