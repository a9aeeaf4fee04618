//! The bot's own comments, found again by a hidden marker and edited in place, so a merge
//! request carries one status comment however many pushes and webhooks it sees.

use crate::domain::{MrIid, ProjectPath};

use super::{Comment, Forge, ForgeError};

/// The hidden marker for `key`: an HTML comment both forges keep in the body but do not show.
pub fn marker(key: &str) -> String {
    format!("<!-- ferry:{key} -->")
}

/// Writes `body` into the bot's comment carrying `marker(key)`: edits it when it exists and
/// differs, leaves it alone when it already says `body`, creates it otherwise.
pub async fn upsert_own_comment(
    forge: &dyn Forge,
    project: &ProjectPath,
    iid: MrIid,
    key: &str,
    body: &str,
) -> Result<Comment, ForgeError> {
    let marker = marker(key);
    let full = if body.contains(&marker) {
        body.to_owned()
    } else {
        format!("{body}\n\n{marker}")
    };
    match forge.find_own_comment(project, iid, &marker).await? {
        Some(existing) if existing.body == full => Ok(existing),
        Some(existing) => forge.edit_comment(project, iid, existing.id, &full).await,
        None => forge.create_comment(project, iid, &full).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_hidden_html_comments() {
        assert_eq!(marker("status"), "<!-- ferry:status -->");
    }
}
