//! The `merge_requests` table: a row, how it reads back (checked, so a hand-edited store is
//! an error rather than a panic), and what it becomes for the trait and the outbox.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::domain::{CommitSha, MrIid, ProjectPath, UserId};
use crate::forge::{MergeRequest, MrState};

use super::LocalForge;
use super::db::{sql, unsql};
use super::error::LocalError;
use super::outbox::{ActorRecord, MrRecord};
use super::repo::ProjectRepo;

/// One `merge_requests` row.
pub(crate) struct MrRow {
    pub project: ProjectPath,
    pub iid: u64,
    pub title: String,
    pub body: String,
    pub state: MrState,
    pub source_branch: String,
    pub target_branch: String,
    pub labels: Vec<String>,
    pub author: UserId,
    pub seen_head: Option<String>,
    pub merge_sha: Option<String>,
    pub created_at: String,
}

pub(crate) const COLUMNS: &str = "project, iid, title, body, state, source_branch, target_branch, labels, author_id, seen_head, merge_sha, created_at";

pub(crate) fn state_name(state: MrState) -> &'static str {
    match state {
        MrState::Open => "open",
        MrState::Closed => "closed",
        MrState::Merged => "merged",
    }
}

/// A row as SQLite holds it, before its text is checked.
struct Raw {
    project: String,
    iid: i64,
    title: String,
    body: String,
    state: String,
    source_branch: String,
    target_branch: String,
    labels: String,
    author: i64,
    seen_head: Option<String>,
    merge_sha: Option<String>,
    created_at: String,
}

fn read_row(row: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok(Raw {
        project: row.get(0)?,
        iid: row.get(1)?,
        title: row.get(2)?,
        body: row.get(3)?,
        state: row.get(4)?,
        source_branch: row.get(5)?,
        target_branch: row.get(6)?,
        labels: row.get(7)?,
        author: row.get(8)?,
        seen_head: row.get(9)?,
        merge_sha: row.get(10)?,
        created_at: row.get(11)?,
    })
}

fn into_row(raw: Raw) -> Result<MrRow, LocalError> {
    let state = match raw.state.as_str() {
        "open" => MrState::Open,
        "closed" => MrState::Closed,
        "merged" => MrState::Merged,
        other => {
            return Err(LocalError::Corrupt(format!(
                "merge request state `{other}`"
            )));
        }
    };
    Ok(MrRow {
        project: ProjectPath::parse(&raw.project)
            .map_err(|err| LocalError::Corrupt(err.to_string()))?,
        iid: unsql(raw.iid),
        title: raw.title,
        body: raw.body,
        state,
        source_branch: raw.source_branch,
        target_branch: raw.target_branch,
        labels: serde_json::from_str(&raw.labels)
            .map_err(|err| LocalError::Corrupt(format!("labels: {err}")))?,
        author: UserId(unsql(raw.author)),
        seen_head: raw.seen_head,
        merge_sha: raw.merge_sha,
        created_at: raw.created_at,
    })
}

pub(crate) fn load(
    connection: &Connection,
    project: &ProjectPath,
    iid: MrIid,
) -> Result<MrRow, LocalError> {
    let row = connection
        .query_row(
            &format!("SELECT {COLUMNS} FROM merge_requests WHERE project = ?1 AND iid = ?2"),
            params![project.as_str(), sql(iid.0)],
            read_row,
        )
        .optional()
        .map_err(LocalError::store(format!("read {project}!{iid}")))?;
    let row = row.ok_or_else(|| {
        LocalError::NotFound(format!(
            "{project} has no merge request !{iid}; `ferry mr list --project {project}` shows the ones it has"
        ))
    })?;
    into_row(row)
}

pub(crate) fn select(
    connection: &Connection,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<MrRow>, LocalError> {
    let mut statement = connection
        .prepare(&format!(
            "SELECT {COLUMNS} FROM merge_requests {filter} ORDER BY project, iid"
        ))
        .map_err(LocalError::store("read merge requests"))?;
    let rows = statement
        .query_map(args, read_row)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(LocalError::store("read merge requests"))?;
    rows.into_iter().map(into_row).collect()
}

pub(crate) fn open_rows(
    connection: &Connection,
    project: Option<&ProjectPath>,
) -> Result<Vec<MrRow>, LocalError> {
    match project {
        Some(project) => select(
            connection,
            "WHERE state = 'open' AND project = ?1",
            &[&project.as_str()],
        ),
        None => select(connection, "WHERE state = 'open'", &[]),
    }
}

impl MrRow {
    /// The head: the source branch's commit while open (its last known one if the branch is
    /// gone), the head it was merged or closed at afterwards.
    pub(crate) fn head(&self, repo: Option<&ProjectRepo>) -> Result<Option<CommitSha>, LocalError> {
        let live = match (self.state, repo) {
            (MrState::Open, Some(repo)) => repo.head_sha(&self.source_branch)?,
            _ => None,
        };
        Ok(live.or_else(|| {
            self.seen_head
                .as_deref()
                .and_then(|s| CommitSha::parse(s).ok())
        }))
    }

    pub(crate) fn to_forge(&self, head: Option<CommitSha>) -> MergeRequest {
        MergeRequest {
            iid: MrIid(self.iid),
            title: self.title.clone(),
            body: self.body.clone(),
            state: self.state,
            source_branch: self.source_branch.clone(),
            target_branch: self.target_branch.clone(),
            head_sha: head,
            labels: self.labels.clone(),
            author: self.author,
            web_url: LocalForge::web_url(&self.project, self.iid),
        }
    }

    pub(crate) fn to_record(
        &self,
        head: Option<&CommitSha>,
        actor: Option<ActorRecord>,
    ) -> MrRecord {
        MrRecord {
            project: self.project.to_string(),
            number: self.iid,
            title: self.title.clone(),
            source_branch: self.source_branch.clone(),
            target_branch: self.target_branch.clone(),
            head_sha: head.map(ToString::to_string),
            author_id: self.author.0,
            actor,
            url: LocalForge::web_url(&self.project, self.iid),
        }
    }
}
