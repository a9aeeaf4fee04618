//! Problems found in a policy file, each with where it is and what to do about it.

use std::fmt;

use super::node::Pos;

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub pos: Pos,
    /// A stable id such as `unknown-key`, for documentation and tests.
    pub code: &'static str,
    pub message: String,
    /// What to do next, when the message alone does not say it.
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: error[{}]: {}",
            self.file, self.pos, self.code, self.message
        )?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Collects diagnostics for one file so decoding can go on after a problem.
#[derive(Debug)]
pub struct Diagnostics {
    file: String,
    found: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new(file: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            found: Vec::new(),
        }
    }

    pub fn error(&mut self, pos: Pos, code: &'static str, message: impl Into<String>) {
        self.push(pos, code, message.into(), None);
    }

    pub fn error_with_help(
        &mut self,
        pos: Pos,
        code: &'static str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(pos, code, message.into(), Some(help.into()));
    }

    fn push(&mut self, pos: Pos, code: &'static str, message: String, help: Option<String>) {
        self.found.push(Diagnostic {
            file: self.file.clone(),
            pos,
            code,
            message,
            help,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// All diagnostics in file order, so people can fix them top to bottom.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.found.sort_by_key(|d| d.pos);
        self.found
    }
}

/// The known word closest to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|candidate| (strsim::jaro_winkler(word, candidate), *candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        let known = ["approvals", "approvers", "allow_tags"];
        assert_eq!(did_you_mean("aprovers", &known), Some("approvers"));
        assert_eq!(did_you_mean("approval", &known), Some("approvals"));
        assert_eq!(did_you_mean("timezone", &known), None);
    }
}
