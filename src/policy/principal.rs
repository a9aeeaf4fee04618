//! Who may approve or override: `user:<numeric id>` or `group:<group path>`.

use std::fmt;

use crate::domain::UserId;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    User(UserId),
    Group(String),
}

/// Someone who approved or asked for something, with the groups the forge says they are in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub user: UserId,
    pub groups: Vec<String>,
}

impl Person {
    pub fn new(user: u64, groups: &[&str]) -> Self {
        Self {
            user: UserId(user),
            groups: groups.iter().map(|group| (*group).to_owned()).collect(),
        }
    }
}

impl Principal {
    /// Parses `user:42` or `group:platform/sre`. The error says what to write instead.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(id) = text.strip_prefix("user:") {
            return id.parse::<u64>().map(|id| Self::User(UserId(id))).map_err(|_| {
                format!(
                    "`{text}`: users are named by their numeric forge id, because user names can be changed and then taken by someone else; write `user:1234  # {id}`"
                )
            });
        }
        if let Some(group) = text.strip_prefix("group:") {
            let valid = !group.is_empty()
                && group.split('/').all(|segment| {
                    !segment.is_empty()
                        && segment
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                });
            return if valid {
                Ok(Self::Group(group.to_owned()))
            } else {
                Err(format!(
                    "`{text}`: a group is its full path, such as `group:platform/sre`"
                ))
            };
        }
        Err(format!(
            "`{text}` names nobody: write `user:<numeric id>` or `group:<group path>`"
        ))
    }

    pub fn includes(&self, person: &Person) -> bool {
        match self {
            Self::User(id) => person.user == *id,
            Self::Group(group) => person.groups.iter().any(|g| g == group),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(id) => write!(f, "user:{id}"),
            Self::Group(group) => write!(f, "group:{group}"),
        }
    }
}

/// `user:1, group:sre` for messages.
pub fn list(principals: &[Principal]) -> String {
    principals
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn any_includes(principals: &[Principal], person: &Person) -> bool {
    principals.iter().any(|p| p.includes(person))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_by_id_and_groups_by_path() {
        assert_eq!(Principal::parse("user:42"), Ok(Principal::User(UserId(42))));
        assert_eq!(
            Principal::parse("group:platform/sre"),
            Ok(Principal::Group("platform/sre".into()))
        );
        assert!(
            Principal::parse("user:alice")
                .unwrap_err()
                .contains("numeric forge id")
        );
        assert!(Principal::parse("group:").is_err());
        assert!(Principal::parse("alice").is_err());
        let sre = Person::new(7, &["sre"]);
        assert!(Principal::Group("sre".into()).includes(&sre));
        assert!(Principal::User(UserId(7)).includes(&sre));
        assert!(!Principal::User(UserId(8)).includes(&sre));
    }
}
