//! Scalar content: unquoting, unescaping and line folding, as YAML 1.2 defines them.

/// Content of a single-quoted scalar (without its quotes).
pub fn unquote_single(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut blank_run: Option<usize> = None;
    let mut chars = raw.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '\'' => {
                chars.next();
                out.push('\'');
                blank_run = None;
            }
            '\r' | '\n' => {
                fold_break(&mut out, &mut blank_run, c, &mut chars);
            }
            ' ' | '\t' => {
                blank_run.get_or_insert(out.len());
                out.push(c);
            }
            _ => {
                out.push(c);
                blank_run = None;
            }
        }
    }
    out
}

/// Content of a double-quoted scalar (without its quotes), or the byte offset and message of
/// an invalid escape.
pub fn unescape_double(raw: &str) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(raw.len());
    let mut blank_run: Option<usize> = None;
    let mut chars = raw.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => {
                blank_run = None;
                let Some((_, escaped)) = chars.next() else {
                    return Err((
                        at,
                        "a `\\` at the end of a double-quoted value escapes nothing".into(),
                    ));
                };
                let simple = match escaped {
                    '0' => Some('\0'),
                    'a' => Some('\x07'),
                    'b' => Some('\x08'),
                    't' | '\t' => Some('\t'),
                    'n' => Some('\n'),
                    'v' => Some('\x0b'),
                    'f' => Some('\x0c'),
                    'r' => Some('\r'),
                    'e' => Some('\x1b'),
                    ' ' => Some(' '),
                    '"' => Some('"'),
                    '/' => Some('/'),
                    '\\' => Some('\\'),
                    'N' => Some('\u{85}'),
                    '_' => Some('\u{a0}'),
                    'L' => Some('\u{2028}'),
                    'P' => Some('\u{2029}'),
                    _ => None,
                };
                if let Some(ch) = simple {
                    out.push(ch);
                    continue;
                }
                match escaped {
                    '\r' | '\n' => {
                        // An escaped line break joins the lines without a space.
                        if escaped == '\r' && chars.peek().is_some_and(|&(_, c)| c == '\n') {
                            chars.next();
                        }
                        while chars.peek().is_some_and(|&(_, c)| c == ' ' || c == '\t') {
                            chars.next();
                        }
                    }
                    'x' | 'u' | 'U' => {
                        let digits = match escaped {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut code = 0u32;
                        for _ in 0..digits {
                            let digit = chars.next().and_then(|(_, d)| d.to_digit(16));
                            let Some(digit) = digit else {
                                return Err((
                                    at,
                                    format!("`\\{escaped}` needs {digits} hex digits"),
                                ));
                            };
                            code = code * 16 + digit;
                        }
                        let Some(ch) = char::from_u32(code) else {
                            return Err((
                                at,
                                format!("`\\{escaped}{code:X}` is not a valid character"),
                            ));
                        };
                        out.push(ch);
                    }
                    other => {
                        return Err((
                            at,
                            format!("unknown escape `\\{other}` in a double-quoted value"),
                        ));
                    }
                }
            }
            '\r' | '\n' => fold_break(&mut out, &mut blank_run, c, &mut chars),
            ' ' | '\t' => {
                blank_run.get_or_insert(out.len());
                out.push(c);
            }
            _ => {
                out.push(c);
                blank_run = None;
            }
        }
    }
    Ok(out)
}

/// Folds a line break inside a quoted scalar: blanks around it are dropped, one break becomes a
/// space and every further empty line a newline.
fn fold_break(
    out: &mut String,
    blank_run: &mut Option<usize>,
    first: char,
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
) {
    if let Some(start) = blank_run.take() {
        out.truncate(start);
    }
    if first == '\r' && chars.peek().is_some_and(|&(_, c)| c == '\n') {
        chars.next();
    }
    let mut empty_lines = 0;
    loop {
        while chars.peek().is_some_and(|&(_, c)| c == ' ' || c == '\t') {
            chars.next();
        }
        match chars.peek() {
            Some(&(_, '\r')) => {
                chars.next();
                if chars.peek().is_some_and(|&(_, c)| c == '\n') {
                    chars.next();
                }
                empty_lines += 1;
            }
            Some(&(_, '\n')) => {
                chars.next();
                empty_lines += 1;
            }
            _ => break,
        }
    }
    if empty_lines == 0 {
        out.push(' ');
    } else {
        out.extend(std::iter::repeat_n('\n', empty_lines));
    }
}

/// Content of a literal (`|`) or folded (`>`) block scalar from its raw lines (indentation
/// included), with chomping: -1 strip, 0 clip, 1 keep.
pub fn fold_block_scalar(lines: &[&str], indent: usize, literal: bool, chomp: i8) -> String {
    let content: Vec<&str> = lines
        .iter()
        .map(|line| line.get(indent..).unwrap_or(""))
        .collect();
    let is_empty = |line: &str| line.bytes().all(|c| c == b' ' || c == b'\t');
    let Some(last) = content.iter().rposition(|line| !is_empty(line)) else {
        return if chomp > 0 {
            "\n".repeat(lines.len())
        } else {
            String::new()
        };
    };
    let body = &content[..=last];
    let trailing = content.len() - last - 1;
    let mut out = if literal {
        body.join("\n")
    } else {
        let mut out = String::new();
        let mut previous_normal: Option<bool> = None;
        let mut pending_empty = 0;
        for line in body {
            if is_empty(line) {
                pending_empty += 1;
                continue;
            }
            let normal = !line.starts_with([' ', '\t']);
            match previous_normal {
                None => out.extend(std::iter::repeat_n('\n', pending_empty)),
                Some(true) if normal && pending_empty == 0 => out.push(' '),
                Some(true) if normal => out.extend(std::iter::repeat_n('\n', pending_empty)),
                Some(_) => out.extend(std::iter::repeat_n('\n', pending_empty + 1)),
            }
            out.push_str(line);
            previous_normal = Some(normal);
            pending_empty = 0;
        }
        out
    };
    match chomp {
        -1 => {}
        0 => out.push('\n'),
        _ => out.extend(std::iter::repeat_n('\n', trailing + 1)),
    }
    out
}
