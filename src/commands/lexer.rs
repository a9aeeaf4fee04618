//! Splits a command line into words, `key=value` options and quoted values, keeping where each
//! starts so errors can point at it. Quotes are `"..."`, or `“...”` as phones type them.

use super::messages::{CommandError, Position};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token<'a> {
    /// The value with quotes removed and escapes applied.
    pub(super) text: String,
    /// The key of a `key=value` token and where it starts.
    pub(super) key: Option<(&'a str, usize)>,
    pub(super) quoted: bool,
    /// Byte offsets of the whole token in the line.
    pub(super) start: usize,
    pub(super) end: usize,
}

#[derive(Clone)]
pub(super) struct Lexer<'a> {
    line_number: usize,
    line: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(line_number: usize, line: &'a str, start: usize) -> Self {
        Self {
            line_number,
            line,
            pos: start,
        }
    }

    pub(super) fn position(&self, offset: usize) -> Position {
        Position::in_line(self.line_number, self.line, offset)
    }

    /// Where the line ends (after trailing spaces are trimmed).
    pub(super) fn end_position(&self) -> Position {
        self.position(self.line.trim_end().len())
    }

    pub(super) fn source(&self, token: &Token<'_>) -> &'a str {
        self.line.get(token.start..token.end).unwrap_or_default()
    }

    fn rest(&self) -> &'a str {
        self.line.get(self.pos..).unwrap_or_default()
    }

    fn skip_whitespace(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    pub(super) fn at_end(&mut self) -> bool {
        self.skip_whitespace();
        self.rest().is_empty()
    }

    /// The next token, `None` at the end of the line.
    pub(super) fn next_token(&mut self) -> Option<Result<Token<'a>, CommandError>> {
        if self.at_end() {
            return None;
        }
        let start = self.pos;
        let rest = self.rest();
        if let Some(key_len) = key_length(rest) {
            let key = &rest[..key_len];
            self.pos += key_len + 1;
            let mut token = match self.value() {
                Ok(token) => token,
                Err(error) => return Some(Err(error)),
            };
            token.key = Some((key, start));
            token.start = start;
            return Some(Ok(token));
        }
        Some(self.value())
    }

    /// A quoted string or a bare word starting at the current position (possibly empty).
    fn value(&mut self) -> Result<Token<'a>, CommandError> {
        let start = self.pos;
        let rest = self.rest();
        match rest.chars().next() {
            Some(open @ ('"' | '“')) => self.quoted(open),
            _ => {
                let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
                self.pos += len;
                Ok(Token {
                    text: rest[..len].to_owned(),
                    key: None,
                    quoted: false,
                    start,
                    end: self.pos,
                })
            }
        }
    }

    fn quoted(&mut self, open: char) -> Result<Token<'a>, CommandError> {
        let close = if open == '“' { '”' } else { '"' };
        let start = self.pos;
        let body_start = start + open.len_utf8();
        let mut text = String::new();
        let mut chars = self
            .line
            .get(body_start..)
            .unwrap_or_default()
            .char_indices();
        while let Some((offset, c)) = chars.next() {
            if c == close {
                self.pos = body_start + offset + c.len_utf8();
                if let Some(next) = self.rest().chars().next()
                    && !next.is_whitespace()
                {
                    return Err(CommandError::TextAfterQuote {
                        at: self.position(self.pos),
                    });
                }
                return Ok(Token {
                    text,
                    key: None,
                    quoted: true,
                    start,
                    end: self.pos,
                });
            }
            if c != '\\' {
                text.push(c);
                continue;
            }
            let at = self.position(body_start + offset);
            match chars.next() {
                Some((_, 'n')) => text.push('\n'),
                Some((_, 't')) => text.push('\t'),
                Some((_, 'r')) => text.push('\r'),
                Some((_, escaped @ ('"' | '\\' | '“' | '”'))) => text.push(escaped),
                Some((_, found)) => return Err(CommandError::BadEscape { at, found }),
                None => break,
            }
        }
        Err(CommandError::UnterminatedQuote {
            at: self.position(start),
        })
    }

    /// Free text to the end of the line: one quoted value on its own is unquoted, anything
    /// else is taken as written, so a stray quote in a reason is not an error.
    pub(super) fn remainder(&mut self) -> Option<String> {
        if self.at_end() {
            return None;
        }
        let raw = self.rest().trim_end();
        let mut attempt = self.clone();
        let whole_quote = match attempt.value() {
            Ok(token) if token.quoted && attempt.at_end() => Some(token.text),
            _ => None,
        };
        self.pos = self.line.len();
        Some(whole_quote.unwrap_or_else(|| raw.to_owned()))
    }
}

/// The length of `key` when `text` starts with `key=`; keys are ASCII words.
fn key_length(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if !bytes.first()?.is_ascii_alphabetic() {
        return None;
    }
    let len = bytes
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-'))?;
    (bytes[len] == b'=').then_some(len)
}

/// Writes `text` so that the lexer reads it back as one value: bare when that is safe,
/// otherwise in quotes with escapes.
pub(super) fn quote_if_needed(text: &str) -> String {
    let bare = !text.is_empty()
        && !text.starts_with(['"', '“'])
        && key_length(text).is_none()
        && !text.contains(|c: char| c.is_whitespace() || c == '\\');
    if bare {
        return text.to_owned();
    }
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(line: &str) -> Vec<(String, Option<String>, bool)> {
        let mut lexer = Lexer::new(1, line, 0);
        std::iter::from_fn(|| lexer.next_token())
            .map(|t| {
                let t = t.unwrap();
                (t.text, t.key.map(|(k, _)| k.to_owned()), t.quoted)
            })
            .collect()
    }

    #[test]
    fn words_options_and_quotes() {
        assert_eq!(
            tokens(r#"promote  production service=web override="late \"fix\"" “smart”"#),
            [
                ("promote".into(), None, false),
                ("production".into(), None, false),
                ("web".into(), Some("service".into()), false),
                (r#"late "fix""#.into(), Some("override".into()), true),
                ("smart".into(), None, true),
            ]
        );
        // A `=` that does not follow a key is part of a word.
        assert_eq!(
            tokens("=x 1=2"),
            [("=x".into(), None, false), ("1=2".into(), None, false)]
        );
    }

    #[test]
    fn quote_errors_point_at_the_problem() {
        let error = |line: &str| {
            let mut lexer = Lexer::new(2, line, 0);
            loop {
                match lexer.next_token() {
                    Some(Err(error)) => return error,
                    Some(Ok(_)) => {}
                    None => panic!("no error in {line}"),
                }
            }
        };
        assert_eq!(
            error(r#"hold "open"#),
            CommandError::UnterminatedQuote {
                at: Position { line: 2, column: 6 }
            }
        );
        assert_eq!(
            error(r#"a "x\q""#),
            CommandError::BadEscape {
                at: Position { line: 2, column: 5 },
                found: 'q'
            }
        );
        assert_eq!(
            error(r#"a "x"y"#),
            CommandError::TextAfterQuote {
                at: Position { line: 2, column: 6 }
            }
        );
        // Columns count characters, not bytes.
        assert_eq!(error("é \"").position(), Position { line: 2, column: 3 });
    }

    #[test]
    fn quoting_round_trips() {
        for text in [
            "plain",
            "two words",
            "",
            "a=b",
            "\"q",
            "back\\slash",
            "line\nbreak",
            "“x",
        ] {
            let written = quote_if_needed(text);
            let mut lexer = Lexer::new(1, &written, 0);
            let token = lexer.next_token().unwrap().unwrap();
            assert!(token.key.is_none(), "{written}");
            assert_eq!(token.text, text, "{written}");
            assert!(lexer.at_end());
        }
    }
}
