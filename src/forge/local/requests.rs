//! Merge requests: numbered per project, their head read live from the source branch.

use rusqlite::{Connection, params};

use crate::domain::{CommitSha, MrIid, ProjectPath};
use crate::forge::{ChangedFile, MergeRequest, MrState, MrUpdate, NewMergeRequest};

use super::db::{self, now, sql, unsql};
use super::error::LocalError;
use super::outbox::{self, ActorRecord, Recorded};
use super::repo;
use super::rows::{COLUMNS, MrRow, load, open_rows, select};
use super::{LocalForge, users};

/// Which merge requests [`LocalForge::list`] returns; `None` means all.
#[derive(Debug, Clone, Default)]
pub struct MrFilter {
    pub project: Option<ProjectPath>,
    pub state: Option<MrState>,
}

/// A merge request as the CLI shows it.
#[derive(Debug, Clone)]
pub struct MrView {
    pub project: ProjectPath,
    pub mr: MergeRequest,
    pub author: String,
    /// The commit the merge put on the target branch.
    pub merge_sha: Option<CommitSha>,
    pub created_at: String,
}

impl LocalForge {
    /// Opens a merge request by the acting user. Both branches must exist; one open merge
    /// request per source branch, as on GitLab.
    pub fn create(
        &self,
        project: &ProjectPath,
        new: &NewMergeRequest,
    ) -> Result<MergeRequest, LocalError> {
        if new.source_branch == new.target_branch {
            return Err(LocalError::Invalid(format!(
                "a merge request needs two branches, and `{}` is both source and target",
                new.source_branch
            )));
        }
        let mut connection = self.writer()?;
        let repo = Self::repository(&connection, project)?;
        let head = repo.head_sha(&new.source_branch)?.ok_or_else(|| {
            LocalError::NotFound(format!(
                "the source branch `{}` does not exist in {}; push it first",
                new.source_branch,
                repo.location()
            ))
        })?;
        if repo.head(&new.target_branch)?.is_none() {
            return Err(LocalError::NotFound(format!(
                "the target branch `{}` does not exist in {}",
                new.target_branch,
                repo.location()
            )));
        }
        let labels = serde_json::to_string(&new.labels)
            .map_err(|err| LocalError::Invalid(format!("labels: {err}")))?;
        let tx = db::write(&mut connection)?;
        if let Some(existing) = open_rows(&tx, Some(project))?
            .into_iter()
            .find(|row| row.source_branch == new.source_branch)
        {
            return Err(LocalError::Conflict(format!(
                "another open merge request already exists for this source branch: !{}",
                existing.iid
            )));
        }
        let iid: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(iid), 0) + 1 FROM merge_requests WHERE project = ?1",
                [project.as_str()],
                |row| row.get(0),
            )
            .map_err(LocalError::store("number the merge request"))?;
        tx.execute(
            &format!("INSERT INTO merge_requests ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, ?8, ?9, NULL, ?10)"),
            params![
                project.as_str(),
                iid,
                new.title,
                new.body,
                new.source_branch,
                new.target_branch,
                labels,
                sql(self.user.id.0),
                head.as_str(),
                now()
            ],
        )
        .map_err(LocalError::store("save the merge request"))?;
        let row = load(&tx, project, MrIid(unsql(iid)))?;
        let actor = Some(ActorRecord::from(&self.user));
        outbox::append(&tx, &Recorded::MrOpened(row.to_record(Some(&head), actor)))?;
        tx.commit()
            .map_err(LocalError::store("save the merge request"))?;
        Ok(row.to_forge(Some(head)))
    }

    pub fn get(&self, project: &ProjectPath, iid: MrIid) -> Result<MergeRequest, LocalError> {
        let connection = self.connection()?;
        let row = load(&connection, project, iid)?;
        let repo = Self::repository(&connection, project)?;
        let head = row.head(Some(&repo))?;
        Ok(row.to_forge(head))
    }

    /// The merge request with what the CLI shows besides.
    pub fn view(&self, project: &ProjectPath, iid: MrIid) -> Result<MrView, LocalError> {
        let connection = self.connection()?;
        let row = load(&connection, project, iid)?;
        let repo = Self::repository(&connection, project).ok();
        let head = row.head(repo.as_ref())?;
        view_of(&connection, &row, head)
    }

    pub fn find_open(
        &self,
        project: &ProjectPath,
        source_branch: &str,
    ) -> Result<Option<MergeRequest>, LocalError> {
        let connection = self.connection()?;
        let Some(row) = open_rows(&connection, Some(project))?
            .into_iter()
            .find(|row| row.source_branch == source_branch)
        else {
            return Ok(None);
        };
        let repo = Self::repository(&connection, project)?;
        let head = row.head(Some(&repo))?;
        Ok(Some(row.to_forge(head)))
    }

    pub fn list(&self, filter: &MrFilter) -> Result<Vec<MrView>, LocalError> {
        let connection = self.connection()?;
        let rows = match &filter.project {
            Some(project) => select(&connection, "WHERE project = ?1", &[&project.as_str()])?,
            None => select(&connection, "", &[])?,
        };
        rows.iter()
            .filter(|row| filter.state.is_none_or(|state| row.state == state))
            .map(|row| {
                let repo = Self::repository(&connection, &row.project).ok();
                let head = row.head(repo.as_ref())?;
                view_of(&connection, row, head)
            })
            .collect()
    }

    /// Changes title, body or labels. No event: in the domain `MrUpdated` means new commits.
    pub fn update(
        &self,
        project: &ProjectPath,
        iid: MrIid,
        update: &MrUpdate,
    ) -> Result<MergeRequest, LocalError> {
        let mut connection = self.connection()?;
        let tx = db::write(&mut connection)?;
        let row = load(&tx, project, iid)?;
        let labels = match &update.labels {
            Some(labels) => serde_json::to_string(labels)
                .map_err(|err| LocalError::Invalid(format!("labels: {err}")))?,
            None => serde_json::to_string(&row.labels)
                .map_err(|err| LocalError::Invalid(format!("labels: {err}")))?,
        };
        tx.execute(
            "UPDATE merge_requests SET title = ?3, body = ?4, labels = ?5 WHERE project = ?1 AND iid = ?2",
            params![
                project.as_str(),
                sql(iid.0),
                update.title.as_deref().unwrap_or(&row.title),
                update.body.as_deref().unwrap_or(&row.body),
                labels
            ],
        )
        .map_err(LocalError::store(format!("update {project}!{iid}")))?;
        let row = load(&tx, project, iid)?;
        tx.commit()
            .map_err(LocalError::store(format!("update {project}!{iid}")))?;
        let repo = Self::repository(&connection, project)?;
        let head = row.head(Some(&repo))?;
        Ok(row.to_forge(head))
    }

    /// Closes without merging; closing a closed merge request changes nothing.
    pub fn close(&self, project: &ProjectPath, iid: MrIid) -> Result<MergeRequest, LocalError> {
        let mut connection = self.writer()?;
        let repo = Self::repository(&connection, project)?;
        let tx = db::write(&mut connection)?;
        let row = load(&tx, project, iid)?;
        match row.state {
            MrState::Closed => {
                let head = row.head(None)?;
                return Ok(row.to_forge(head));
            }
            MrState::Merged => {
                return Err(LocalError::Conflict(format!(
                    "{project}!{iid} is merged; a merged merge request cannot be closed"
                )));
            }
            MrState::Open => {}
        }
        let head = row.head(Some(&repo))?;
        tx.execute(
            "UPDATE merge_requests SET state = 'closed', seen_head = ?3 WHERE project = ?1 AND iid = ?2",
            params![project.as_str(), sql(iid.0), head.as_ref().map(CommitSha::as_str)],
        )
        .map_err(LocalError::store(format!("close {project}!{iid}")))?;
        let row = load(&tx, project, iid)?;
        let actor = Some(ActorRecord::from(&self.user));
        outbox::append(
            &tx,
            &Recorded::MrClosed(row.to_record(head.as_ref(), actor)),
        )?;
        tx.commit()
            .map_err(LocalError::store(format!("close {project}!{iid}")))?;
        Ok(row.to_forge(head))
    }

    pub fn changed(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<ChangedFile>, LocalError> {
        let connection = self.connection()?;
        let row = load(&connection, project, iid)?;
        let repo = Self::repository(&connection, project)?;
        let Some(head) = row.head(Some(&repo))? else {
            return Ok(Vec::new());
        };
        let source = repo::oid(&head)?;
        let target = match (row.state, row.merge_sha.as_deref()) {
            // Once merged the target holds the head and the diff from the merge base would be
            // empty; the engine still reads a merged request's files (CSR signing does).
            (MrState::Merged, Some(merge)) => {
                let merge =
                    CommitSha::parse(merge).map_err(|err| LocalError::Corrupt(err.to_string()))?;
                repo.target_before_merge(repo::oid(&merge)?, source)?
            }
            _ => repo.head(&row.target_branch)?,
        };
        match target {
            Some(target) => repo.changed_files(source, target),
            None => Ok(Vec::new()),
        }
    }
}

fn view_of(
    connection: &Connection,
    row: &MrRow,
    head: Option<CommitSha>,
) -> Result<MrView, LocalError> {
    Ok(MrView {
        project: row.project.clone(),
        mr: row.to_forge(head),
        author: users::name_of(connection, row.author)?,
        merge_sha: row
            .merge_sha
            .as_deref()
            .and_then(|s| CommitSha::parse(s).ok()),
        created_at: row.created_at.clone(),
    })
}
