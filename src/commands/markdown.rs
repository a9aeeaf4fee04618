//! Which lines of a comment are prose. Commands are read only from prose: not from fenced or
//! indented code, `>` quotes (and GitLab's `>>>` quote blocks), or HTML comments, so quoting
//! or documenting a command never runs it.

/// What the lines being read belong to.
enum Block {
    Prose,
    /// Inside a fence opened by `len` backticks or tildes.
    Fence {
        marker: char,
        len: usize,
    },
    /// Inside a GitLab `>>>` multi-line quote.
    MultiLineQuote,
    HtmlComment,
}

/// The comment's prose lines with their 1-based line numbers.
pub(super) fn prose_lines(body: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut block = Block::Prose;
    body.split('\n')
        .enumerate()
        .filter_map(move |(index, line)| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            is_prose(&mut block, line).then_some((index + 1, line))
        })
}

/// Reads one line, moving between blocks; true when the line is prose.
fn is_prose(block: &mut Block, line: &str) -> bool {
    let indent = indent_width(line);
    let text = line.trim_start();
    match block {
        Block::Fence { marker, len } => {
            if indent < 4 && closes_fence(text, *marker, *len) {
                *block = Block::Prose;
            }
            false
        }
        Block::MultiLineQuote => {
            if text.trim_end() == ">>>" {
                *block = Block::Prose;
            }
            false
        }
        Block::HtmlComment => {
            if text.contains("-->") {
                *block = Block::Prose;
            }
            false
        }
        Block::Prose if indent >= 4 => false,
        Block::Prose => {
            if let Some((marker, len)) = opens_fence(text) {
                *block = Block::Fence { marker, len };
                false
            } else if text.trim_end() == ">>>" {
                *block = Block::MultiLineQuote;
                false
            } else if let Some(after) = text.strip_prefix("<!--") {
                if !after.contains("-->") {
                    *block = Block::HtmlComment;
                }
                false
            } else {
                !text.starts_with('>')
            }
        }
    }
}

/// Columns of leading whitespace, a tab counting as 4 (enough to tell indented code).
fn indent_width(line: &str) -> usize {
    line.chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .map(|c| if c == '\t' { 4 } else { 1 })
        .sum()
}

fn fence_run(text: &str) -> Option<(char, usize)> {
    let marker = text.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = text.chars().take_while(|c| *c == marker).count();
    (len >= 3).then_some((marker, len))
}

fn opens_fence(text: &str) -> Option<(char, usize)> {
    let (marker, len) = fence_run(text)?;
    // A backtick fence's info string cannot contain backticks (that is inline code).
    let info = &text[len..];
    (marker == '~' || !info.contains('`')).then_some((marker, len))
}

fn closes_fence(text: &str, marker: char, len: usize) -> bool {
    fence_run(text).is_some_and(|(m, l)| m == marker && l >= len && text[l..].trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prose(body: &str) -> Vec<usize> {
        prose_lines(body).map(|(n, _)| n).collect()
    }

    #[test]
    fn code_quotes_and_comments_are_not_prose() {
        let body = "a\n```sh\n/ferry b\n~~~\n```\nc\n~~~~\nd\n~~~\n~~~~~\ne\n    g\n\th\n> i\n>>>\nj\n>>>\nk\n<!-- l\nm -->\nn <!-- x -->\n<!-- o -->\np\r\n";
        assert_eq!(prose(body), [1, 6, 11, 18, 21, 23, 24]);
    }

    #[test]
    fn an_unclosed_fence_runs_to_the_end() {
        assert_eq!(prose("a\n```\nb\n"), [1]);
        assert_eq!(prose("``` `x`\nb"), [1, 2], "inline code is not a fence");
    }
}
