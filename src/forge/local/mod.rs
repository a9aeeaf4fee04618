//! The local forge: merge requests, comments, approvals and commit statuses kept in a SQLite
//! file in a directory Ferry owns, branches in real git repositories. For teams on plain git
//! hosting, and for `ferry demo`.
//!
//! Every change made through it is also appended to an outbox as the domain event it is
//! ([`LocalForge::events_after`]), so a server can feed the engine from it while other
//! processes (`ferry mr ...`) act on the same directory. See docs/forges.md ("Local forge").
//!
//! The inherent methods block (SQLite and libgit2 do); the `Forge` implementation runs them on
//! the blocking pool.

mod db;
mod discussion;
mod error;
mod forge_impl;
mod merge;
mod outbox;
mod pushes;
mod repo;
mod requests;
mod reviews;
mod rows;
mod users;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::{ForgeEvent, ProjectPath};
use crate::forge::{AccessLevel, User};

pub use discussion::CommentView;
pub use error::LocalError;
pub use requests::{MrFilter, MrView};
pub use reviews::StatusView;
pub use users::{DEFAULT_ACCESS, parse_access};

use repo::ProjectRepo;

/// The account of a handle opened to read; SQLite never hands out id 0.
const READER: crate::domain::UserId = crate::domain::UserId(0);

/// A handle on one local forge directory, acting as one user. Cheap to clone; clones (and
/// [`LocalForge::as_user`]) share one connection.
#[derive(Clone)]
pub struct LocalForge {
    shared: Arc<Shared>,
    user: User,
}

struct Shared {
    dir: PathBuf,
    connection: Mutex<Connection>,
}

impl LocalForge {
    /// Opens (or creates) the forge kept in `dir`, acting as the account `acting_as`, which is
    /// created with [`DEFAULT_ACCESS`] if it does not exist yet.
    pub fn open(dir: &Path, acting_as: &str) -> Result<Self, LocalError> {
        let connection = db::open(dir)?;
        let user = users::ensure(&connection, acting_as)?;
        Ok(Self {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                connection: Mutex::new(connection),
            }),
            user,
        })
    }

    /// Whether `dir` holds a local forge (so a reader need not create one by mistake).
    pub fn exists(dir: &Path) -> bool {
        dir.join(db::FILE_NAME).is_file()
    }

    /// Opens the forge in `dir` to read it, acting as no account: anything that writes fails.
    pub fn open_to_read(dir: &Path) -> Result<Self, LocalError> {
        let connection = db::open(dir)?;
        Ok(Self {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                connection: Mutex::new(connection),
            }),
            user: User {
                id: READER,
                username: "nobody".into(),
            },
        })
    }

    /// The same forge acting as another account (created on first use).
    pub fn as_user(&self, name: &str) -> Result<Self, LocalError> {
        let user = users::ensure(&*self.connection()?, name)?;
        Ok(Self {
            shared: Arc::clone(&self.shared),
            user,
        })
    }

    /// The account this handle acts as.
    pub fn user(&self) -> &User {
        &self.user
    }

    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Creates the account `name` or changes it: its groups (replacing the ones it had;
    /// membership of `eap` counts for `eap/admins` too) and its access level in every project.
    pub fn add_user(
        &self,
        name: &str,
        groups: &[&str],
        access: AccessLevel,
    ) -> Result<User, LocalError> {
        users::upsert(&mut *self.connection()?, name, groups, access)
    }

    /// The account named `name`, if it exists.
    pub fn find_user(&self, name: &str) -> Result<Option<User>, LocalError> {
        users::by_name(&*self.connection()?, name)
    }

    /// Serves `project` from the git repository at `repository` (a path to a bare repository;
    /// see `repo.rs` for URLs). Registering it again moves it.
    pub fn add_project(&self, project: &ProjectPath, repository: &str) -> Result<(), LocalError> {
        let location = match Path::new(repository) {
            path if path.exists() => std::path::absolute(path)
                .map_err(LocalError::io(format!("cannot resolve {repository}")))?
                .display()
                .to_string(),
            _ => repository.to_owned(),
        };
        ProjectRepo::open(&location)?;
        self.connection()?
            .execute(
                "INSERT INTO projects (path, repository) VALUES (?1, ?2)
                 ON CONFLICT (path) DO UPDATE SET repository = ?2",
                params![project.as_str(), location],
            )
            .map_err(LocalError::store(format!("save project {project}")))?;
        Ok(())
    }

    /// Every project this forge serves, with its repository.
    pub fn projects(&self) -> Result<Vec<(ProjectPath, String)>, LocalError> {
        let connection = self.connection()?;
        let mut statement = connection
            .prepare("SELECT path, repository FROM projects ORDER BY path")
            .map_err(LocalError::store("read the projects"))?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(LocalError::store("read the projects"))?;
        rows.into_iter()
            .map(|(path, repository)| {
                ProjectPath::parse(&path)
                    .map(|path| (path, repository))
                    .map_err(|err| LocalError::Corrupt(err.to_string()))
            })
            .collect()
    }

    /// Every event recorded after sequence number `after`, oldest first. Pushes made with
    /// plain git to a branch with an open merge request are noticed here first: each becomes
    /// an `MrUpdated` ahead of the events returned.
    pub fn events_after(&self, after: u64) -> Result<Vec<(u64, ForgeEvent)>, LocalError> {
        self.sync_heads()?;
        let records = outbox::after(&*self.connection()?, after)?;
        records
            .into_iter()
            .map(|(seq, record)| record.into_event().map(|event| (seq, event)))
            .collect()
    }

    /// The connection for a change made as the acting user, who must be one.
    fn writer(&self) -> Result<MutexGuard<'_, Connection>, LocalError> {
        // Else a reader's write fails on a foreign key, which reads as a store failure that
        // retrying might cure.
        if self.user.id == READER {
            return Err(LocalError::Forbidden(
                "this handle was opened to read (`LocalForge::open_to_read`); open the forge as a user to change it".into(),
            ));
        }
        self.connection()
    }

    fn connection(&self) -> Result<MutexGuard<'_, Connection>, LocalError> {
        self.shared.connection.lock().map_err(|_| {
            LocalError::Conflict("a previous call panicked while writing; reopen the forge".into())
        })
    }

    fn repository(
        connection: &Connection,
        project: &ProjectPath,
    ) -> Result<ProjectRepo, LocalError> {
        let location: Option<String> = connection
            .query_row(
                "SELECT repository FROM projects WHERE path = ?1",
                [project.as_str()],
                |row| row.get(0),
            )
            .optional()
            .map_err(LocalError::store(format!("read project {project}")))?;
        let location = location.ok_or_else(|| {
            LocalError::NotFound(format!(
                "the local forge has no project {project}; add it with `LocalForge::add_project` (ferry demo does)"
            ))
        })?;
        ProjectRepo::open(&location)
    }

    fn web_url(project: &ProjectPath, iid: u64) -> String {
        format!("local:{project}!{iid}")
    }
}
