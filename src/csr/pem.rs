//! Rule `csr.pem`: the file holds exactly one `CERTIFICATE REQUEST` block and nothing else.

use super::verdict::{Rule, Violation};

/// Larger than any honest CSR (an RSA-8192 request is about 5 KiB), small enough that a
/// hostile file costs nothing to refuse.
pub const MAX_CSR_BYTES: usize = 16 * 1024;

const BEGIN: &str = "-----BEGIN CERTIFICATE REQUEST-----";
const END: &str = "-----END CERTIFICATE REQUEST-----";

fn refuse(message: impl Into<String>) -> Violation {
    Violation::new(Rule::Pem, message)
}

/// Returns the DER bytes of the single CSR block, or why the file is not acceptable.
pub fn decode(file: &[u8]) -> Result<Vec<u8>, Violation> {
    if file.len() > MAX_CSR_BYTES {
        return Err(refuse(format!(
            "the file is {} bytes, more than the limit of {MAX_CSR_BYTES}; commit only the CSR produced by `openssl req -new`",
            file.len()
        )));
    }
    let text = std::str::from_utf8(file).map_err(|_| {
        refuse("the file is not text; commit the PEM form of the CSR (`openssl req -outform PEM`)")
    })?;
    if text.contains("PRIVATE KEY-----") {
        return Err(refuse(
            "the file contains a PRIVATE KEY; remove it from the merge request, treat that key as leaked, and generate a new key and CSR",
        ));
    }
    let blocks = text.matches("-----BEGIN ").count();
    if blocks > 1 {
        return Err(refuse(format!(
            "the file holds {blocks} PEM blocks; keep only the one CERTIFICATE REQUEST block"
        )));
    }
    let lines: Vec<&str> = text
        .lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.trim().is_empty())
        .collect();
    let (Some(first), Some(last)) = (lines.first(), lines.last()) else {
        return Err(refuse(
            "the file is empty; commit the CSR produced by `openssl req -new`",
        ));
    };
    if *first != BEGIN {
        return Err(refuse(format!(
            "the file must start with `{BEGIN}` (found `{}`); remove anything before the CSR",
            preview(first)
        )));
    }
    if *last != END || lines.len() < 3 {
        return Err(refuse(format!(
            "the file must end with `{END}` (found `{}`); remove anything after the CSR or re-export it whole",
            preview(last)
        )));
    }
    let body: String = lines[1..lines.len() - 1].concat();
    if body.contains(':') {
        return Err(refuse(
            "the CSR has PEM headers (`Proc-Type:` ...); export it again without encryption",
        ));
    }
    decode_base64(&body).ok_or_else(|| {
        refuse("the CSR body is not valid base64; export the CSR again instead of editing it")
    })
}

/// Shows a line in a message without flooding it or echoing control characters.
fn preview(line: &str) -> String {
    let shown: String = line.chars().take(40).collect();
    shown.escape_debug().to_string()
}

/// Strict standard base64 with padding: anything unexpected is refused rather than skipped.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let chunks = bytes.chunks_exact(4);
    let last_index = chunks.len() - 1;
    for (index, chunk) in chunks.enumerate() {
        let padding = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        if padding > 2 || (padding > 0 && index != last_index) {
            return None;
        }
        let mut value: u32 = 0;
        for &byte in &chunk[..4 - padding] {
            value = (value << 6) | u32::from(sextet(byte)?);
        }
        value <<= 6 * padding as u32;
        let decoded = value.to_be_bytes();
        out.extend_from_slice(&decoded[1..4 - padding]);
    }
    Some(out)
}

fn sextet(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_vectors() {
        assert_eq!(decode_base64("Zm9vYmFy").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(decode_base64("Zm9vYg==").as_deref(), Some(&b"foob"[..]));
        assert_eq!(decode_base64("Zm9vYmE=").as_deref(), Some(&b"fooba"[..]));
        for bad in ["", "Zm9", "Zm9v=mFy", "Zm9vY===", "Zm9v YmFy", "Zm9v*mFy"] {
            assert_eq!(decode_base64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn framing() {
        let good = format!("{BEGIN}\nZm9vYmFy\n{END}\n");
        assert_eq!(decode(good.as_bytes()), Ok(b"foobar".to_vec()));
        let crlf = format!("\r\n{BEGIN}\r\nZm9v\r\nYmFy\r\n{END}\r\n\r\n");
        assert_eq!(decode(crlf.as_bytes()), Ok(b"foobar".to_vec()));
        let cases = [
            format!("hello\n{BEGIN}\nZm9vYmFy\n{END}\n"),
            format!("{BEGIN}\nZm9vYmFy\n{END}\ntrailer"),
            format!("{BEGIN}\n{END}\n"),
            format!("{BEGIN}\nZm9vYmFy\n"),
            "-----BEGIN NEW CERTIFICATE REQUEST-----\nZm9vYmFy\n-----END NEW CERTIFICATE REQUEST-----".to_owned(),
            String::new(),
        ];
        for case in cases {
            let err = decode(case.as_bytes()).unwrap_err();
            assert_eq!(err.rule, Rule::Pem, "{case:?}");
        }
        assert!(decode(&[0xff, 0xfe]).is_err());
        assert!(decode(&vec![b'A'; MAX_CSR_BYTES + 1]).is_err());
    }
}
