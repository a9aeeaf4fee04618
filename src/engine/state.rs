//! What the workflow remembers between events, per merge request of the GitOps repository:
//! `/ferry approve` votes (tied to the head SHA they were given for, so a push resets them)
//! and holds; per commit, the last verdict of each CI that reported on it. Kept in Ferry's own SQLite file, never in the merge request body, which anyone
//! who can edit the MR could rewrite.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::forge_event::PipelineStatus;
use crate::domain::{MrIid, ProjectPath, UserId};

#[derive(Debug, thiserror::Error)]
#[error("the workflow state is unavailable: {0}")]
pub struct StateError(String);

/// SQLite integers are signed; forge ids fit (they are far below 2^63).
fn sql(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

fn from_sql(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

impl From<rusqlite::Error> for StateError {
    fn from(error: rusqlite::Error) -> Self {
        Self(error.to_string())
    }
}

/// A hold on a merge request: who put it and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRecord {
    pub by: UserId,
    pub by_name: String,
    pub reason: Option<String>,
}

#[derive(Clone)]
pub struct State {
    connection: Arc<Mutex<Connection>>,
}

impl State {
    pub fn open(path: &Path) -> Result<Self, StateError> {
        let connection = Connection::open(path)?;
        Self::init(connection)
    }

    pub fn in_memory() -> Result<Self, StateError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(connection: Connection) -> Result<Self, StateError> {
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS approvals (
                 project TEXT NOT NULL,
                 mr INTEGER NOT NULL,
                 user_id INTEGER NOT NULL,
                 username TEXT NOT NULL,
                 head_sha TEXT NOT NULL,
                 PRIMARY KEY (project, mr, user_id)
             );
             CREATE TABLE IF NOT EXISTS holds (
                 project TEXT NOT NULL,
                 mr INTEGER NOT NULL,
                 by_id INTEGER NOT NULL,
                 by_user TEXT NOT NULL,
                 reason TEXT,
                 PRIMARY KEY (project, mr)
             );
             CREATE TABLE IF NOT EXISTS requesters (
                 project TEXT NOT NULL,
                 branch TEXT NOT NULL,
                 user_id INTEGER NOT NULL,
                 PRIMARY KEY (project, branch)
             );
             CREATE TABLE IF NOT EXISTS overrides (
                 project TEXT NOT NULL,
                 mr INTEGER NOT NULL,
                 user_id INTEGER NOT NULL,
                 reason TEXT NOT NULL,
                 PRIMARY KEY (project, mr)
             );
             CREATE TABLE IF NOT EXISTS answers (
                 project TEXT NOT NULL,
                 mr INTEGER NOT NULL,
                 text TEXT NOT NULL,
                 PRIMARY KEY (project, mr)
             );
             CREATE TABLE IF NOT EXISTS usernames (
                 user_id INTEGER PRIMARY KEY,
                 username TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS csr_outcomes (
                 project TEXT NOT NULL,
                 mr INTEGER NOT NULL,
                 text TEXT NOT NULL,
                 PRIMARY KEY (project, mr)
             );",
        )?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS pipelines (
                 project TEXT NOT NULL,
                 sha TEXT NOT NULL,
                 name TEXT NOT NULL,
                 status TEXT NOT NULL,
                 finished_ms INTEGER,
                 PRIMARY KEY (project, sha, name)
             );
             CREATE TABLE IF NOT EXISTS feed_positions (
                 feed TEXT PRIMARY KEY,
                 seq INTEGER NOT NULL
             );",
        )?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StateError> {
        let connection = self
            .connection
            .lock()
            .map_err(|_| StateError("a previous writer panicked".into()))?;
        Ok(f(&connection)?)
    }

    /// Records `user`'s approval of the merge request at `head_sha` (replacing an older one).
    pub fn approve(
        &self,
        project: &ProjectPath,
        mr: MrIid,
        user: UserId,
        username: &str,
        head_sha: &str,
    ) -> Result<(), StateError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO approvals (project, mr, user_id, username, head_sha) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (project, mr, user_id) DO UPDATE SET username = ?4, head_sha = ?5",
                params![project.as_str(), sql(mr.0), sql(user.0), username, head_sha],
            )
            .map(|_| ())
        })
    }

    /// Withdraws `user`'s approval; true when there was one.
    pub fn unapprove(
        &self,
        project: &ProjectPath,
        mr: MrIid,
        user: UserId,
    ) -> Result<bool, StateError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM approvals WHERE project = ?1 AND mr = ?2 AND user_id = ?3",
                params![project.as_str(), sql(mr.0), sql(user.0)],
            )
            .map(|n| n > 0)
        })
    }

    /// The approvals given for `head_sha`: approvals of an older head do not count.
    pub fn approvals(
        &self,
        project: &ProjectPath,
        mr: MrIid,
        head_sha: &str,
    ) -> Result<Vec<(UserId, String)>, StateError> {
        self.with(|c| {
            let mut statement = c.prepare(
                "SELECT user_id, username FROM approvals WHERE project = ?1 AND mr = ?2 AND head_sha = ?3 ORDER BY username",
            )?;
            statement
                .query_map(params![project.as_str(), sql(mr.0), head_sha], |row| {
                    Ok((UserId(from_sql(row.get(0)?)), row.get(1)?))
                })?
                .collect()
        })
    }

    pub fn hold(
        &self,
        project: &ProjectPath,
        mr: MrIid,
        hold: &HoldRecord,
    ) -> Result<(), StateError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO holds (project, mr, by_id, by_user, reason) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (project, mr) DO UPDATE SET by_id = ?3, by_user = ?4, reason = ?5",
                params![project.as_str(), sql(mr.0), sql(hold.by.0), hold.by_name, hold.reason],
            )
            .map(|_| ())
        })
    }

    /// Lifts the hold; true when there was one.
    pub fn unhold(&self, project: &ProjectPath, mr: MrIid) -> Result<bool, StateError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM holds WHERE project = ?1 AND mr = ?2",
                params![project.as_str(), sql(mr.0)],
            )
            .map(|n| n > 0)
        })
    }

    pub fn held(&self, project: &ProjectPath, mr: MrIid) -> Result<Option<HoldRecord>, StateError> {
        self.with(|c| {
            c.query_row(
                "SELECT by_id, by_user, reason FROM holds WHERE project = ?1 AND mr = ?2",
                params![project.as_str(), sql(mr.0)],
                |row| {
                    Ok(HoldRecord {
                        by: UserId(from_sql(row.get(0)?)),
                        by_name: row.get(1)?,
                        reason: row.get(2)?,
                    })
                },
            )
            .optional()
        })
    }
}

impl State {
    /// Remembers who asked for the promotion on `branch` (the gate's "author").
    pub fn set_requester(
        &self,
        project: &ProjectPath,
        branch: &str,
        user: UserId,
    ) -> Result<(), StateError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO requesters (project, branch, user_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT (project, branch) DO UPDATE SET user_id = ?3",
                params![project.as_str(), branch, sql(user.0)],
            )
            .map(|_| ())
        })
    }

    pub fn requester(
        &self,
        project: &ProjectPath,
        branch: &str,
    ) -> Result<Option<UserId>, StateError> {
        self.with(|c| {
            c.query_row(
                "SELECT user_id FROM requesters WHERE project = ?1 AND branch = ?2",
                params![project.as_str(), branch],
                |row| Ok(UserId(from_sql(row.get(0)?))),
            )
            .optional()
        })
    }

    /// A freeze override asked for on a merge request: who asked, and why.
    pub fn set_override(
        &self,
        project: &ProjectPath,
        mr: MrIid,
        user: UserId,
        reason: &str,
    ) -> Result<(), StateError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO overrides (project, mr, user_id, reason) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (project, mr) DO UPDATE SET user_id = ?3, reason = ?4",
                params![project.as_str(), sql(mr.0), sql(user.0), reason],
            )
            .map(|_| ())
        })
    }

    pub fn freeze_override(
        &self,
        project: &ProjectPath,
        mr: MrIid,
    ) -> Result<Option<(UserId, String)>, StateError> {
        self.with(|c| {
            c.query_row(
                "SELECT user_id, reason FROM overrides WHERE project = ?1 AND mr = ?2",
                params![project.as_str(), sql(mr.0)],
                |row| Ok((UserId(from_sql(row.get(0)?)), row.get(1)?)),
            )
            .optional()
        })
    }

    /// The answer to the latest commands, shown in the status comment.
    pub fn set_answer(
        &self,
        project: &ProjectPath,
        mr: MrIid,
        text: &str,
    ) -> Result<(), StateError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO answers (project, mr, text) VALUES (?1, ?2, ?3)
                 ON CONFLICT (project, mr) DO UPDATE SET text = ?3",
                params![project.as_str(), sql(mr.0), text],
            )
            .map(|_| ())
        })
    }

    pub fn answer(&self, project: &ProjectPath, mr: MrIid) -> Result<Option<String>, StateError> {
        self.with(|c| {
            c.query_row(
                "SELECT text FROM answers WHERE project = ?1 AND mr = ?2",
                params![project.as_str(), sql(mr.0)],
                |row| row.get(0),
            )
            .optional()
        })
    }
}

/// Usernames as signed webhooks report them, and what the CSR flow said after a merge.
impl State {
    /// Records the username the forge reported for `user` in a verified webhook. The forge
    /// API gives only ids for a merge request's author, and CSRs are named by username.
    pub fn remember_username(&self, user: UserId, username: &str) -> Result<(), StateError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO usernames (user_id, username) VALUES (?1, ?2)
                 ON CONFLICT (user_id) DO UPDATE SET username = ?2",
                params![sql(user.0), username],
            )
            .map(|_| ())
        })
    }

    pub fn username(&self, user: UserId) -> Result<Option<String>, StateError> {
        self.with(|c| {
            c.query_row(
                "SELECT username FROM usernames WHERE user_id = ?1",
                params![sql(user.0)],
                |row| row.get(0),
            )
            .optional()
        })
    }

    /// What signing a merged CSR merge request came to, kept for its status comment.
    pub fn set_csr_outcome(
        &self,
        project: &ProjectPath,
        mr: MrIid,
        text: &str,
    ) -> Result<(), StateError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO csr_outcomes (project, mr, text) VALUES (?1, ?2, ?3)
                 ON CONFLICT (project, mr) DO UPDATE SET text = ?3",
                params![project.as_str(), sql(mr.0), text],
            )
            .map(|_| ())
        })
    }

    pub fn csr_outcome(
        &self,
        project: &ProjectPath,
        mr: MrIid,
    ) -> Result<Option<String>, StateError> {
        self.with(|c| {
            c.query_row(
                "SELECT text FROM csr_outcomes WHERE project = ?1 AND mr = ?2",
                params![project.as_str(), sql(mr.0)],
                |row| row.get(0),
            )
            .optional()
        })
    }
}

/// What one CI (a GitHub app's check suite, a status context, a GitLab pipeline) last said
/// about a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineRecord {
    pub name: String,
    pub status: PipelineStatus,
}

fn status_name(status: PipelineStatus) -> &'static str {
    match status {
        PipelineStatus::Success => "success",
        PipelineStatus::Failed => "failed",
        PipelineStatus::Canceled => "canceled",
        PipelineStatus::Skipped => "skipped",
    }
}

fn status_from_name(name: &str) -> Option<PipelineStatus> {
    Some(match name {
        "success" => PipelineStatus::Success,
        "failed" => PipelineStatus::Failed,
        "canceled" => PipelineStatus::Canceled,
        "skipped" => PipelineStatus::Skipped,
        _ => return None,
    })
}

impl State {
    /// Records that CI `name` finished on `sha` with `status`. A re-run replaces the earlier
    /// verdict; a delivery that finished before the one kept is dropped, since webhooks can
    /// arrive out of order.
    pub fn record_pipeline(
        &self,
        project: &ProjectPath,
        sha: &str,
        name: &str,
        status: PipelineStatus,
        finished_at: Option<jiff::Timestamp>,
    ) -> Result<(), StateError> {
        let finished_ms = finished_at.map(|at| at.as_millisecond());
        self.with(|c| {
            c.execute(
                "INSERT INTO pipelines (project, sha, name, status, finished_ms) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (project, sha, name) DO UPDATE SET status = ?4, finished_ms = ?5
                 WHERE ?5 IS NULL OR pipelines.finished_ms IS NULL OR pipelines.finished_ms <= ?5",
                params![project.as_str(), sha.to_ascii_lowercase(), name, status_name(status), finished_ms],
            )
            .map(|_| ())
        })
    }

    /// The last verdict of every CI that reported on `sha`, by name.
    pub fn pipelines(
        &self,
        project: &ProjectPath,
        sha: &str,
    ) -> Result<Vec<PipelineRecord>, StateError> {
        self.with(|c| {
            let mut statement = c.prepare(
                "SELECT name, status FROM pipelines WHERE project = ?1 AND sha = ?2 ORDER BY name",
            )?;
            let rows = statement
                .query_map(params![project.as_str(), sha.to_ascii_lowercase()], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(name, status)| {
                    status_from_name(&status).map(|status| PipelineRecord { name, status })
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> ProjectPath {
        ProjectPath::parse("eap/gitops").expect("project")
    }

    #[test]
    fn approvals_count_only_for_the_head_they_were_given_for() {
        let state = State::in_memory().expect("state");
        state
            .approve(&project(), MrIid(1), UserId(7), "bob", "aaa")
            .expect("approve");
        state
            .approve(&project(), MrIid(1), UserId(8), "carol", "aaa")
            .expect("approve");
        assert_eq!(
            state
                .approvals(&project(), MrIid(1), "aaa")
                .expect("read")
                .len(),
            2
        );
        assert!(
            state
                .approvals(&project(), MrIid(1), "bbb")
                .expect("read")
                .is_empty()
        );
        state
            .approve(&project(), MrIid(1), UserId(7), "bob", "bbb")
            .expect("re-approve");
        assert_eq!(
            state.approvals(&project(), MrIid(1), "bbb").expect("read"),
            vec![(UserId(7), "bob".to_owned())]
        );
        assert!(
            state
                .unapprove(&project(), MrIid(1), UserId(7))
                .expect("unapprove")
        );
        assert!(
            !state
                .unapprove(&project(), MrIid(1), UserId(7))
                .expect("again")
        );
        assert!(
            state
                .approvals(&project(), MrIid(2), "aaa")
                .expect("other MR")
                .is_empty()
        );
    }

    #[test]
    fn pipelines_keep_the_latest_verdict_per_ci() {
        let state = State::in_memory().expect("state");
        let (p, sha) = (project(), "ABC123");
        assert!(state.pipelines(&p, "abc123").expect("read").is_empty());
        let at = |t: &str| Some(t.parse::<jiff::Timestamp>().expect("time"));
        let record = |name: &str, status, when| {
            state
                .record_pipeline(&p, sha, name, status, when)
                .expect("record")
        };
        record(
            "actions",
            PipelineStatus::Failed,
            at("2026-01-01T10:00:00Z"),
        );
        record(
            "actions",
            PipelineStatus::Success,
            at("2026-01-01T10:05:00Z"),
        );
        // An older delivery arriving late does not undo the re-run.
        record(
            "actions",
            PipelineStatus::Failed,
            at("2026-01-01T10:04:59.5Z"),
        );
        record("ci/jenkins", PipelineStatus::Skipped, None);
        assert_eq!(
            state.pipelines(&p, "abc123").expect("read"),
            vec![
                PipelineRecord {
                    name: "actions".into(),
                    status: PipelineStatus::Success
                },
                PipelineRecord {
                    name: "ci/jenkins".into(),
                    status: PipelineStatus::Skipped
                },
            ]
        );
        assert!(state.pipelines(&p, "def456").expect("other").is_empty());
    }

    #[test]
    fn holds_are_set_replaced_and_lifted() {
        let state = State::in_memory().expect("state");
        assert_eq!(state.held(&project(), MrIid(3)).expect("read"), None);
        let hold = HoldRecord {
            by: UserId(5),
            by_name: "alice".into(),
            reason: Some("incident 42".into()),
        };
        state.hold(&project(), MrIid(3), &hold).expect("hold");
        assert_eq!(state.held(&project(), MrIid(3)).expect("read"), Some(hold));
        assert!(state.unhold(&project(), MrIid(3)).expect("unhold"));
        assert_eq!(state.held(&project(), MrIid(3)).expect("read"), None);
    }

    #[test]
    fn usernames_and_csr_outcomes_are_remembered_and_replaced() {
        let state = State::in_memory().expect("state");
        assert_eq!(state.username(UserId(9)).expect("read"), None);
        state
            .remember_username(UserId(9), "alice")
            .expect("remember");
        state
            .remember_username(UserId(9), "alice2")
            .expect("rename");
        assert_eq!(
            state.username(UserId(9)).expect("read").as_deref(),
            Some("alice2")
        );
        assert_eq!(state.csr_outcome(&project(), MrIid(4)).expect("read"), None);
        state
            .set_csr_outcome(&project(), MrIid(4), "signed")
            .expect("set");
        assert_eq!(
            state
                .csr_outcome(&project(), MrIid(4))
                .expect("read")
                .as_deref(),
            Some("signed")
        );
        assert_eq!(state.csr_outcome(&project(), MrIid(5)).expect("read"), None);
    }
}
