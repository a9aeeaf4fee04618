//! The promotion merge request's title and body as templates: the defaults ship in
//! `templates/merge-request/`, and a team can replace either (`gitops.mr_title_template`,
//! `gitops.mr_body_template_file`). Placeholders are `{name}`; `{{` and `}}` write a brace.
//! Unknown placeholders are refused when the configuration loads, not when a merge request
//! is opened, so a typo never reaches a merge request.

use std::collections::BTreeMap;

pub const DEFAULT_TITLE: &str = include_str!("../../../templates/merge-request/title.txt");
pub const DEFAULT_BODY: &str = include_str!("../../../templates/merge-request/body.md");

/// Every placeholder, and what it becomes.
pub const PLACEHOLDERS: [(&str, &str); 8] = [
    (
        "summary",
        "Ferry's one-line summary, e.g. `Promote web to staging: v1.2.0`",
    ),
    ("service", "the service (several joined with `+`)"),
    ("environment", "the environment (several joined with `+`)"),
    ("image", "the new image (several joined with `, `)"),
    (
        "changes",
        "a table: service, environment, current image, new image",
    ),
    (
        "source",
        "`Source: <project> <ref> <sha>` (the commit and its pipelines linked where the forge has web pages) and a line end, or nothing",
    ),
    ("gate", "what the environment's gate needs"),
    (
        "replaces",
        "a note when this replaces an earlier promotion on the branch, or nothing",
    ),
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{source_name}:{line}:{column}: {message}")]
pub struct TemplateError {
    pub source_name: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The title and body templates Ferry writes promotion merge requests with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrTemplates {
    title: String,
    body: String,
}

impl Default for MrTemplates {
    fn default() -> Self {
        Self {
            title: DEFAULT_TITLE.trim_end().to_owned(),
            body: DEFAULT_BODY.to_owned(),
        }
    }
}

impl MrTemplates {
    /// Checks the given templates (`name` says where each came from, for errors); `None`
    /// keeps the default.
    pub fn new(
        title: Option<(&str, &str)>,
        body: Option<(&str, &str)>,
    ) -> Result<Self, TemplateError> {
        let mut templates = Self::default();
        if let Some((name, text)) = title {
            check(name, text)?;
            if text.contains('\n') {
                return Err(TemplateError {
                    source_name: name.to_owned(),
                    line: 1,
                    column: text.find('\n').map_or(1, |at| at + 1),
                    message: "a title is one line; put the rest in the body template".into(),
                });
            }
            templates.title = text.to_owned();
        }
        if let Some((name, text)) = body {
            check(name, text)?;
            templates.body = text.to_owned();
        }
        Ok(templates)
    }

    pub fn title(&self, values: &BTreeMap<&str, String>) -> String {
        render(&self.title, values).trim().to_owned()
    }

    pub fn body(&self, values: &BTreeMap<&str, String>) -> String {
        render(&self.body, values)
    }
}

enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// Splits a template into text and placeholders; the error is the byte offset and message.
fn pieces(template: &str) -> Result<Vec<Piece<'_>>, (usize, String)> {
    let mut out = Vec::new();
    let mut rest = template;
    let mut at = 0;
    while let Some(open) = rest.find(['{', '}']) {
        out.push(Piece::Text(&rest[..open]));
        let tail = &rest[open..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push(Piece::Text(&tail[..1]));
            (rest, at) = (&tail[2..], at + open + 2);
            continue;
        }
        if tail.starts_with('}') {
            return Err((at + open, "a lone `}`; write `}}` for a brace".into()));
        }
        let Some(close) = tail.find('}') else {
            return Err((
                at + open,
                "`{` is not closed; write `{{` for a brace".into(),
            ));
        };
        out.push(Piece::Placeholder(&tail[1..close]));
        (rest, at) = (&tail[close + 1..], at + open + close + 1);
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

fn check(name: &str, template: &str) -> Result<(), TemplateError> {
    let error = |offset: usize, message: String| {
        let before = &template[..offset];
        TemplateError {
            source_name: name.to_owned(),
            line: before.matches('\n').count() + 1,
            column: before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1,
            message,
        }
    };
    let pieces = pieces(template).map_err(|(offset, message)| error(offset, message))?;
    let mut offset = 0;
    for piece in pieces {
        match piece {
            Piece::Text(text) => offset += text.len(),
            Piece::Placeholder(placeholder) => {
                if !PLACEHOLDERS.iter().any(|(known, _)| *known == placeholder) {
                    let known: Vec<&str> = PLACEHOLDERS.iter().map(|(known, _)| *known).collect();
                    return Err(error(
                        template[offset..]
                            .find('{')
                            .map_or(offset, |at| offset + at),
                        format!(
                            "unknown placeholder `{{{placeholder}}}`; known: {}",
                            known.join(", ")
                        ),
                    ));
                }
                offset += placeholder.len() + 2;
            }
        }
    }
    Ok(())
}

fn render(template: &str, values: &BTreeMap<&str, String>) -> String {
    // Templates were checked when they were loaded; a broken one renders as written.
    let Ok(pieces) = pieces(template) else {
        return template.to_owned();
    };
    pieces
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => text,
            Piece::Placeholder(name) => values.get(name).map_or("", String::as_str),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("summary", "Promote web to staging: v2".to_owned()),
            ("service", "web".to_owned()),
        ])
    }

    #[test]
    fn placeholders_are_filled_and_braces_escaped() {
        let templates = MrTemplates::new(
            Some(("title", "[{service}] {summary} {{ok}}")),
            Some(("body", "{summary}\n{replaces}end")),
        )
        .expect("valid");
        assert_eq!(
            templates.title(&values()),
            "[web] Promote web to staging: v2 {ok}"
        );
        assert_eq!(templates.body(&values()), "Promote web to staging: v2\nend");
    }

    #[test]
    fn mistakes_are_refused_with_line_and_column() {
        let unknown = MrTemplates::new(None, Some(("body.md", "fine\n  {sumary}\n")));
        assert_eq!(
            unknown
                .map(|_| ())
                .map_err(|e| (e.line, e.column, e.message.contains("`{sumary}`"))),
            Err((2, 3, true))
        );
        let open = MrTemplates::new(Some(("title", "x {summary")), None).map(|_| ());
        assert_eq!(
            open.map_err(|e| e.to_string()),
            Err("title:1:3: `{` is not closed; write `{{` for a brace".into())
        );
        let lone = MrTemplates::new(Some(("title", "a } b")), None).map(|_| ());
        assert!(lone.is_err());
        let two_lines = MrTemplates::new(Some(("title", "a\nb")), None).map(|_| ());
        assert!(two_lines.is_err());
    }

    #[test]
    fn the_shipped_defaults_use_known_placeholders_only() {
        assert!(
            MrTemplates::new(
                Some(("title.txt", DEFAULT_TITLE.trim_end())),
                Some(("body.md", DEFAULT_BODY))
            )
            .is_ok()
        );
    }
}
