//! `{variable}` templates for image tags and overlay paths, and the branch-name sanitiser.

use crate::domain::{ImageRefError, Tag};

use super::diagnostic::did_you_mean;

/// Variables an image tag template may use.
pub const TAG_VARIABLES: &[&str] = &["branch", "tag", "sha", "short_sha", "pipeline_id"];
/// Variables an overlay path template may use.
pub const OVERLAY_VARIABLES: &[&str] = &["service", "environment"];

/// The longest image tag registries accept.
pub const MAX_TAG_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Variable(&'static str),
}

/// A parsed template such as `{branch}.{short_sha}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses `text`, allowing only the variables in `allowed`. Errors are whole sentences.
    pub fn parse(text: &str, allowed: &[&'static str]) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err(format!("`}}` without a matching `{{` in `{text}`"));
            }
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| format!("`{{` without a closing `}}` in `{text}`"))?;
            let name = &after[..close];
            let variable = allowed
                .iter()
                .find(|known| **known == name)
                .ok_or_else(|| unknown_variable(name, allowed))?;
            pieces.push(Piece::Variable(variable));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(Self {
            source: text.to_owned(),
            pieces,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn uses(&self, variable: &str) -> bool {
        self.variables().any(|name| name == variable)
    }

    pub fn variables(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Variable(name) => Some(*name),
            Piece::Text(_) => None,
        })
    }

    /// The literal text between variables.
    pub fn literals(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Text(text) => Some(text.as_str()),
            Piece::Variable(_) => None,
        })
    }

    /// Fills in the template; `value` returns `None` for a variable it cannot provide.
    pub fn render<'v>(
        &self,
        mut value: impl FnMut(&str) -> Option<&'v str>,
    ) -> Result<String, MissingVariable> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Variable(name) => out.push_str(value(name).ok_or(MissingVariable(name))?),
            }
        }
        Ok(out)
    }
}

fn unknown_variable(name: &str, allowed: &[&str]) -> String {
    let known = allowed
        .iter()
        .map(|v| format!("{{{v}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    match did_you_mean(name, allowed) {
        Some(close) => {
            format!("unknown variable `{{{name}}}`: did you mean `{{{close}}}`? (known: {known})")
        }
        None => format!("unknown variable `{{{name}}}`: the known variables are {known}"),
    }
}

/// The template used a variable the event does not provide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingVariable(pub &'static str);

/// The values a tag template can draw on.
#[derive(Debug, Clone, Default)]
pub struct TagValues<'a> {
    pub branch: Option<&'a str>,
    pub tag: Option<&'a str>,
    pub sha: Option<&'a str>,
    pub short_sha: Option<&'a str>,
    pub pipeline_id: Option<String>,
}

/// Why a tag could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("the tag template uses `{{{0}}}`, which this event does not provide")]
    Missing(&'static str),
    #[error(transparent)]
    Invalid(#[from] ImageRefError),
}

impl From<MissingVariable> for TagError {
    fn from(missing: MissingVariable) -> Self {
        Self::Missing(missing.0)
    }
}

/// Renders an image tag. Each variable's value is sanitised (characters an image tag cannot
/// hold become `-`); when the result is longer than 128 characters the branch and tag
/// values are shortened first, so the commit SHA that makes the tag unique survives.
pub fn render_tag(template: &Template, values: &TagValues<'_>) -> Result<Tag, TagError> {
    let sanitised = |v: Option<&str>| v.map(sanitise);
    let mut shortened = [sanitised(values.branch), sanitised(values.tag)];
    let (sha, short_sha) = (sanitised(values.sha), sanitised(values.short_sha));
    let pipeline = sanitised(values.pipeline_id.as_deref());
    let render = |[branch, tag]: &[Option<String>; 2]| {
        template.render(|name| match name {
            "branch" => branch.as_deref(),
            "tag" => tag.as_deref(),
            "sha" => sha.as_deref(),
            "short_sha" => short_sha.as_deref(),
            "pipeline_id" => pipeline.as_deref(),
            _ => None,
        })
    };
    let mut text = render(&shortened)?;
    for index in 0..shortened.len() {
        while text.len() > MAX_TAG_LEN {
            let Some(value) = shortened[index].as_mut().filter(|v| v.len() > 1) else {
                break;
            };
            let cut = (text.len() - MAX_TAG_LEN).min(value.len() - 1);
            value.truncate(value.len() - cut);
            text = render(&shortened)?;
        }
    }
    Ok(Tag::parse(&finish_tag(text))?)
}

/// Replaces every character an image tag cannot hold with `-`. Only ASCII letters, digits,
/// `_`, `.` and `-` are kept.
pub fn sanitise(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Makes a rendered text a valid tag whatever the inputs were: a tag may not start with `.`
/// or `-` (such a first character becomes `_`), may not be empty, and holds at most 128
/// characters.
fn finish_tag(text: String) -> String {
    let mut text = sanitise(&text);
    if text.starts_with(['.', '-']) {
        text.replace_range(..1, "_");
    }
    if text.is_empty() {
        text.push('_');
    }
    text.truncate(MAX_TAG_LEN);
    text
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn tag_template(text: &str) -> Template {
        Template::parse(text, TAG_VARIABLES).unwrap()
    }

    const SHA: &str = "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12";

    fn branch_values(branch: &str) -> TagValues<'_> {
        TagValues {
            branch: Some(branch),
            sha: Some(SHA),
            short_sha: Some(&SHA[..7]),
            ..TagValues::default()
        }
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        assert_eq!(
            Template::parse("{branh}.{short_sha}", TAG_VARIABLES).unwrap_err(),
            "unknown variable `{branh}`: did you mean `{branch}`? (known: {branch}, {tag}, {sha}, {short_sha}, {pipeline_id})"
        );
        assert_eq!(
            Template::parse("{branch", TAG_VARIABLES).unwrap_err(),
            "`{` without a closing `}` in `{branch`"
        );
        assert_eq!(
            Template::parse("x}", TAG_VARIABLES).unwrap_err(),
            "`}` without a matching `{` in `x}`"
        );
        assert!(Template::parse("{service}", TAG_VARIABLES).is_err());
    }

    #[test]
    fn gitflow_tags() {
        let template = tag_template("{branch}.{short_sha}");
        assert_eq!(
            render_tag(&template, &branch_values("develop"))
                .unwrap()
                .as_str(),
            "develop.ab12cd3"
        );
        assert_eq!(
            render_tag(&template, &branch_values("feature/JIRA-1 new ui"))
                .unwrap()
                .as_str(),
            "feature-JIRA-1-new-ui.ab12cd3"
        );
        let missing = render_tag(&tag_template("{tag}"), &branch_values("develop"));
        assert_eq!(missing, Err(TagError::Missing("tag")));
    }

    #[test]
    fn long_branches_are_shortened_before_the_sha() {
        let branch = "b".repeat(300);
        let tag = render_tag(
            &tag_template("{branch}.{short_sha}"),
            &branch_values(&branch),
        )
        .unwrap();
        assert_eq!(tag.as_str().len(), MAX_TAG_LEN);
        assert!(tag.as_str().ends_with(".ab12cd3"));
    }

    proptest! {
        #[test]
        fn any_branch_gives_a_valid_tag(branch in "\\PC{0,300}", sep in "[._-]{0,3}") {
            let template = tag_template(&format!("{{branch}}{sep}{{short_sha}}"));
            let tag = render_tag(&template, &branch_values(&branch)).unwrap();
            prop_assert!(Tag::parse(tag.as_str()).is_ok());
            prop_assert!(tag.as_str().len() <= MAX_TAG_LEN);
            prop_assert!(tag.as_str().ends_with(&SHA[..7]));
        }

        #[test]
        fn valid_short_branches_are_kept_as_they_are(branch in "[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,100}") {
            let tag = render_tag(&tag_template("{branch}.{short_sha}"), &branch_values(&branch))
                .unwrap();
            prop_assert_eq!(tag.as_str(), format!("{branch}.{}", &SHA[..7]));
        }

        #[test]
        fn sanitising_keeps_length_and_is_idempotent(value in "\\PC{0,200}") {
            let once = sanitise(&value);
            prop_assert_eq!(once.chars().count(), value.chars().count());
            prop_assert_eq!(sanitise(&once), once.clone());
            prop_assert!(once.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)));
        }
    }
}
