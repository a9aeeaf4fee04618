//! Byte scans the parser runs on every line, tuned for short lines.
//!
//! Each edit parses the whole file, so these loops are its hottest code.

/// How far [`line_start`] looks byte by byte before handing over to `memrchr`.
const NEAR: usize = 32;

/// The start of the line holding `at`. Tokens sit a few columns into their line, where a
/// plain loop beats `memrchr`'s setup; it gives way after [`NEAR`] bytes so that long lines
/// stay linear.
pub(super) fn line_start(b: &[u8], at: usize) -> usize {
    let at = at.min(b.len());
    let near = at.saturating_sub(NEAR);
    let mut i = at;
    while i > near {
        if b[i - 1] == b'\n' {
            return i;
        }
        i -= 1;
    }
    memchr::memrchr(b'\n', &b[..i]).map_or(0, |found| found + 1)
}

/// The last `\n` in `b[from..to]`, looked for backwards from `to` like [`line_start`].
pub(super) fn last_newline(b: &[u8], from: usize, to: usize) -> Option<usize> {
    let to = to.min(b.len());
    let near = to.saturating_sub(NEAR).max(from);
    let mut i = to;
    while i > near {
        if b[i - 1] == b'\n' {
            return Some(i - 1);
        }
        i -= 1;
    }
    memchr::memrchr(b'\n', b.get(from..i)?).map(|found| from + found)
}

/// The first line break (`\n` or `\r`) at or after `from`, or the end of the input. Most
/// callers skip a comment, which is long enough for `memchr2` to pay.
pub(super) fn line_end(b: &[u8], from: usize) -> usize {
    let from = from.min(b.len());
    memchr::memchr2(b'\n', b'\r', &b[from..]).map_or(b.len(), |found| from + found)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` equal to `byte`; exact for the lowest such byte,
/// which is all the callers use.
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The first byte at or after `from` that may end a plain scalar in block context (a line
/// break, `:` or `#`), or the end of the input. Eight bytes at a time: plain values are most
/// of a kustomization's bytes.
pub(super) fn plain_stop(b: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(chunk) = b.get(at..at + 8) {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let word = u64::from_le_bytes(bytes);
        let found = bytes_equal(word, b'\n')
            | bytes_equal(word, b'\r')
            | bytes_equal(word, b':')
            | bytes_equal(word, b'#');
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while at < b.len() && !matches!(b[at], b'\n' | b'\r' | b':' | b'#') {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_stop(b: &[u8], from: usize) -> usize {
        (from..b.len())
            .find(|&i| matches!(b[i], b'\n' | b'\r' | b':' | b'#'))
            .unwrap_or(b.len())
    }

    #[test]
    fn scans_agree_with_the_obvious_loops() {
        let mut text = String::new();
        for i in 0..300 {
            text.push_str(&"x".repeat(i % 70));
            text.push(match i % 5 {
                0 => '\n',
                1 => ':',
                2 => '#',
                3 => '\r',
                _ => '\u{e9}',
            });
        }
        let b = text.as_bytes();
        for from in 0..=b.len() {
            assert_eq!(plain_stop(b, from), naive_stop(b, from), "from {from}");
            let end = (from..b.len())
                .find(|&i| matches!(b[i], b'\n' | b'\r'))
                .unwrap_or(b.len());
            assert_eq!(line_end(b, from), end, "from {from}");
            let start = b[..from]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |i| i + 1);
            assert_eq!(line_start(b, from), start, "from {from}");
            for floor in [0, from / 2, from.saturating_sub(3), from] {
                let last = b[floor..from].iter().rposition(|&c| c == b'\n');
                assert_eq!(last_newline(b, floor, from), last.map(|i| floor + i));
            }
        }
    }
}
