//! Who the bot is on a forge, asked of the forge once when the service starts.
//!
//! Why ask: a configured user name alone can be renamed, and the old name then taken by a
//! person whose comments Ferry would ignore (while its own renamed account's comments would
//! be read as commands). The token's account id does not change.

use std::time::Duration;

use super::Forge;
use crate::domain::BotIdentity;

/// How long start waits for the answer: the adapter's retries against a forge that hangs
/// could take minutes, and the server must listen (and answer health checks) long before.
const ASK_TIMEOUT: Duration = Duration::from_secs(10);

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
    // ForgeError messages name the operation and the status, never the token.
    let answer = match tokio::time::timeout(ASK_TIMEOUT, forge.current_user()).await {
        Ok(answer) => answer.map_err(|error| error.to_string()),
        Err(_) => Err(format!("no answer within {}s", ASK_TIMEOUT.as_secs())),
    };
    match answer {
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
