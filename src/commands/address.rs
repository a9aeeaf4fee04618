//! How a line addresses Ferry: `/ferry ...` or `@<bot-username> ...` at its start. Bare
//! `/approve`-style commands are GitLab quick actions and are left to GitLab.

pub(super) const SLASH_PREFIX: &str = "/ferry";

/// Where the command starts in `line`, and the prefix as written, when the line addresses
/// Ferry. At most three spaces may come first (four make indented code).
pub(super) fn command_start<'a>(line: &'a str, bot_username: &str) -> Option<(usize, &'a str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let text = &line[indent..];
    let prefix_len = if starts_with_ignore_case(text, SLASH_PREFIX) {
        SLASH_PREFIX.len()
    } else if !bot_username.is_empty()
        && text.starts_with('@')
        && starts_with_ignore_case(text.get(1..)?, bot_username)
    {
        // `@ferry-bot:` and `@ferry-bot,` read naturally too.
        let after = 1 + bot_username.len();
        after + usize::from(text.get(after..)?.starts_with([':', ',']))
    } else {
        return None;
    };
    let rest = text.get(prefix_len..)?;
    let separated = rest.is_empty() || rest.starts_with(char::is_whitespace);
    let written = text.get(..prefix_len)?.trim_end_matches([':', ',']);
    separated.then_some((indent + prefix_len, written))
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_and_mention_prefixes() {
        assert_eq!(command_start("/ferry promote", "bot"), Some((6, "/ferry")));
        assert_eq!(command_start("   /FERRY x", "bot"), Some((9, "/FERRY")));
        assert_eq!(
            command_start("@Ferry-Bot: x", "ferry-bot"),
            Some((11, "@Ferry-Bot"))
        );
        assert_eq!(
            command_start("@ferry-bot", "ferry-bot"),
            Some((10, "@ferry-bot"))
        );
        assert_eq!(command_start("/ferry", "b"), Some((6, "/ferry")));
        for not_addressed in [
            "/ferryx",
            "/approve",
            "    /ferry x",
            "@ferry-bots x",
            "x /ferry",
            "@b x",
        ] {
            assert_eq!(
                command_start(not_addressed, "ferry-bot"),
                None,
                "{not_addressed}"
            );
        }
        assert_eq!(command_start("@ x", ""), None);
    }
}
