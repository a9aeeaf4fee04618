//! Local accounts: a name, a numeric id (the policy's `user:<id>`), an access level for every
//! project of this forge, and group memberships (the policy's `group:<path>`).

use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::UserId;
use crate::forge::{AccessLevel, User};

use super::LocalForge;
use super::db::{sql, unsql};
use super::error::LocalError;

/// What an account created on first use may do: push and merge, like a developer. The local
/// forge is no security boundary (whoever can write its directory can act as anyone), so a
/// stricter default would only get in the way; `add_user` sets less where it matters.
pub const DEFAULT_ACCESS: AccessLevel = AccessLevel::Write;

pub(crate) fn access_name(level: AccessLevel) -> &'static str {
    match level {
        AccessLevel::None => "none",
        AccessLevel::Read => "read",
        AccessLevel::Triage => "triage",
        AccessLevel::Write => "write",
        AccessLevel::Maintain => "maintain",
        AccessLevel::Admin => "admin",
    }
}

/// Reads an access level as `add_user` stores it or a person writes it.
pub fn parse_access(text: &str) -> Result<AccessLevel, LocalError> {
    Ok(match text {
        "none" => AccessLevel::None,
        "read" => AccessLevel::Read,
        "triage" => AccessLevel::Triage,
        "write" => AccessLevel::Write,
        "maintain" => AccessLevel::Maintain,
        "admin" => AccessLevel::Admin,
        other => {
            return Err(LocalError::Invalid(format!(
                "`{other}` is not an access level: write none, read, triage, write, maintain or admin"
            )));
        }
    })
}

pub(crate) fn check_name(name: &str) -> Result<(), LocalError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(LocalError::Invalid(format!(
            "`{name}` is not a user name: use letters, digits, `.`, `_` and `-`"
        )))
    }
}

/// Creates the account, or sets its groups and access when it exists.
pub(crate) fn upsert(
    connection: &mut Connection,
    name: &str,
    groups: &[&str],
    access: AccessLevel,
) -> Result<User, LocalError> {
    check_name(name)?;
    for group in groups {
        if group.is_empty() || group.starts_with('/') || group.ends_with('/') {
            return Err(LocalError::Invalid(format!(
                "`{group}` is not a group path: write it as `team` or `parent/team`"
            )));
        }
    }
    let tx = super::db::write(connection)?;
    tx.execute(
        "INSERT INTO users (name, access) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET access = ?2",
        params![name, access_name(access)],
    )
    .map_err(LocalError::store(format!("save user {name}")))?;
    let id: i64 = tx
        .query_row("SELECT id FROM users WHERE name = ?1", [name], |row| {
            row.get(0)
        })
        .map_err(LocalError::store(format!("read user {name}")))?;
    tx.execute("DELETE FROM memberships WHERE user_id = ?1", [id])
        .map_err(LocalError::store("replace memberships"))?;
    for group in groups {
        tx.execute(
            "INSERT OR IGNORE INTO memberships (user_id, group_path) VALUES (?1, ?2)",
            params![id, group],
        )
        .map_err(LocalError::store("save a membership"))?;
    }
    tx.commit().map_err(LocalError::store("save the user"))?;
    Ok(User {
        id: UserId(unsql(id)),
        username: name.to_owned(),
    })
}

/// The account named `name`, created with [`DEFAULT_ACCESS`] and no groups if it is new.
pub(crate) fn ensure(connection: &Connection, name: &str) -> Result<User, LocalError> {
    check_name(name)?;
    connection
        .execute(
            "INSERT OR IGNORE INTO users (name, access) VALUES (?1, ?2)",
            params![name, access_name(DEFAULT_ACCESS)],
        )
        .map_err(LocalError::store(format!("create user {name}")))?;
    let id: i64 = connection
        .query_row("SELECT id FROM users WHERE name = ?1", [name], |row| {
            row.get(0)
        })
        .map_err(LocalError::store(format!("read user {name}")))?;
    Ok(User {
        id: UserId(unsql(id)),
        username: name.to_owned(),
    })
}

pub(crate) fn by_id(connection: &Connection, id: UserId) -> Result<Option<User>, LocalError> {
    connection
        .query_row("SELECT name FROM users WHERE id = ?1", [sql(id.0)], |row| {
            row.get::<_, String>(0)
        })
        .optional()
        .map_err(LocalError::store(format!("read user {id}")))
        .map(|name| name.map(|username| User { id, username }))
}

pub(crate) fn by_name(connection: &Connection, name: &str) -> Result<Option<User>, LocalError> {
    connection
        .query_row("SELECT id FROM users WHERE name = ?1", [name], |row| {
            row.get::<_, i64>(0)
        })
        .optional()
        .map_err(LocalError::store(format!("read user {name}")))
        .map(|id| {
            id.map(|id| User {
                id: UserId(unsql(id)),
                username: name.to_owned(),
            })
        })
}

/// A name for messages; an id nobody knows reads as `user <id>`.
pub(crate) fn name_of(connection: &Connection, id: UserId) -> Result<String, LocalError> {
    Ok(by_id(connection, id)?
        .map(|user| user.username)
        .unwrap_or_else(|| format!("user {id}")))
}

pub(crate) fn access(connection: &Connection, id: UserId) -> Result<AccessLevel, LocalError> {
    let text: Option<String> = connection
        .query_row(
            "SELECT access FROM users WHERE id = ?1",
            [sql(id.0)],
            |row| row.get(0),
        )
        .optional()
        .map_err(LocalError::store(format!("read the access of user {id}")))?;
    match text {
        Some(text) => parse_access(&text).map_err(|err| LocalError::Corrupt(err.to_string())),
        None => Ok(AccessLevel::None),
    }
}

/// Membership counts for the group and every subgroup of it, as GitLab's inherited membership.
pub(crate) fn is_member(
    connection: &Connection,
    group: &str,
    id: UserId,
) -> Result<bool, LocalError> {
    let mut statement = connection
        .prepare("SELECT group_path FROM memberships WHERE user_id = ?1")
        .map_err(LocalError::store("read memberships"))?;
    let groups = statement
        .query_map([sql(id.0)], |row| row.get::<_, String>(0))
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(LocalError::store("read memberships"))?;
    Ok(groups.iter().any(|member_of| {
        group == member_of
            || group
                .strip_prefix(member_of.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }))
}

impl LocalForge {
    /// The role of `user` in every project: the access level of their account.
    pub fn access(&self, user: UserId) -> Result<AccessLevel, LocalError> {
        access(&*self.connection()?, user)
    }

    pub fn member_of(&self, group: &str, user: UserId) -> Result<bool, LocalError> {
        is_member(&*self.connection()?, group, user)
    }
}
