//! Who the bot is on a forge, asked of the forge once when the service starts.
//!
//! Why ask: a configured user name alone can be renamed, and the old name then taken by a
//! person whose comments Ferry would ignore (while its own renamed account's comments would
//! be read as commands). The token's account id does not change.

use super::Forge;
use crate::domain::BotIdentity;

/// The bot's identity on `forge`: `configured` when it already names the user id, else the
/// token's account as the forge reports it (id and current user name).
///
/// When the forge cannot answer, `configured` is kept and a warning logged: a forge that is
/// briefly down at start must not keep Ferry from starting, and matching by name is what
/// Ferry did before it could ask.
pub async fn bot_identity(forge: &dyn Forge, configured: BotIdentity) -> BotIdentity {
    if configured.user_id.is_some() {
        return configured;
    }
    match forge.current_user().await {
        Ok(user) => {
            if !user.username.eq_ignore_ascii_case(&configured.username) {
                tracing::warn!(
                    configured = %configured.username,
                    account = %user.username,
                    "the token's account is not named as bot_username says; using the account"
                );
            }
            tracing::info!(id = user.id.0, username = %user.username, "the bot's account");
            BotIdentity {
                user_id: Some(user.id),
                username: user.username,
            }
        }
        Err(error) => {
            // ForgeError messages name the operation and status, never the token.
            tracing::warn!(
                %error,
                username = %configured.username,
                "cannot ask the forge who the bot is; recognising its comments by user name \
                 until the next start (set bot_user_id to avoid this)"
            );
            configured
        }
    }
}
