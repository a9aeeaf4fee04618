//! Branch and tag patterns such as `release-*`: `*` matches any run of characters (`/`
//! included, so `release/*` matches `release/1.2/hotfix`), `?` matches one character, and
//! everything else matches itself.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(String);

impl Glob {
    /// Refuses only the empty pattern: every other text is a valid pattern.
    pub fn parse(pattern: &str) -> Option<Self> {
        (!pattern.is_empty()).then(|| Self(pattern.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, text: &str) -> bool {
        let pattern: Vec<char> = self.0.chars().collect();
        let text: Vec<char> = text.chars().collect();
        // Iterative matching with one backtrack point: linear in practice, no recursion.
        let (mut p, mut t) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match pattern.get(p) {
                Some('*') => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(&c) if c == '?' || c == text[t] => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((star_p, star_t)) => {
                        p = star_p + 1;
                        t = star_t + 1;
                        star = Some((star_p, star_t + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].iter().all(|&c| c == '*')
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Glob::parse(pattern).unwrap().matches(text)
    }

    #[test]
    fn literal_star_and_question_mark() {
        assert!(matches("develop", "develop"));
        assert!(!matches("develop", "develop2"));
        assert!(matches("release-*", "release-1.2.3"));
        assert!(matches("release-*", "release-"));
        assert!(!matches("release-*", "hotfix-1"));
        assert!(matches("v*", "v1.2.3-hotfix1"));
        assert!(matches("release/*", "release/1.2/x"));
        assert!(matches("v?.*", "v1.0"));
        assert!(!matches("v?.*", "v10.0"));
        assert!(matches("*-rc*", "v1-rc2"));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(!matches("a*b*c", "aXbYbZ"));
        assert!(Glob::parse("").is_none());
    }
}
