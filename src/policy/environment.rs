//! Decoding of the `environments:` section.

use regex::Regex;

use crate::domain::{EnvironmentName, ServiceName};

use super::decode::{self, Fields};
use super::diagnostic::{Diagnostics, did_you_mean};
use super::freeze::{self, FreezeWindow};
use super::glob::Glob;
use super::load::principals;
use super::node::{Node, Pos};
use super::schema::{
    ENVIRONMENT_KEYS, Environment, FREEZE_KEYS, Gate, Service, TRIGGER_KEYS, Trigger,
};
use super::template::{TAG_VARIABLES, Template};

pub fn decode_all(node: &Node, services: &[Service], diags: &mut Diagnostics) -> Vec<Environment> {
    let entries = decode::named_entries(node, "`environments`", diags);
    let names: Vec<&str> = entries.iter().map(|(name, _, _)| *name).collect();
    let known = Known {
        names: &names,
        services,
    };
    entries
        .iter()
        .filter_map(|(name, pos, body)| decode_one(name, *pos, body, &known, diags))
        .collect()
}

/// Names other entries may refer to, for existence checks with suggestions.
struct Known<'a> {
    names: &'a [&'a str],
    services: &'a [Service],
}

fn decode_one(
    name: &str,
    pos: Pos,
    node: &Node,
    known: &Known<'_>,
    diags: &mut Diagnostics,
) -> Option<Environment> {
    let name = EnvironmentName::parse(name)
        .map_err(|e| diags.error(pos, "bad-name", e.to_string()))
        .ok();
    let section = format!(
        "environment `{}`",
        name.as_ref().map_or("?", |n| n.as_str())
    );
    let fields = Fields::read(node, &section, ENVIRONMENT_KEYS, diags)?.at(pos);
    let trigger = fields.get("trigger").and_then(|n| decode_trigger(n, diags));
    let tag = fields
        .get("tag")
        .and_then(|n| decode_tag(n, trigger.as_ref(), diags));
    if trigger.is_some() && fields.get("tag").is_none() {
        diags.error_with_help(
            fields.pos,
            "missing-key",
            format!("{section} has a `trigger` but no `tag` template"),
            "add e.g. `tag: \"{branch}.{short_sha}\"` to say how images are tagged",
        );
    }
    let allow_tags = fields
        .get("allow_tags")
        .and_then(|n| decode_regex(n, diags));
    let from = fields
        .get("from")
        .and_then(|n| environment_ref(n, "`from`", known, diags));
    let next = fields
        .get("next")
        .and_then(|n| environment_ref(n, "`next`", known, diags));
    let gate = decode_gate(&fields, &section, diags);
    let fast_rollback = fields
        .get("rollback")
        .and_then(|n| decode_rollback(n, diags))
        .unwrap_or(false);
    let freeze = fields
        .get("freeze")
        .map(|n| decode_freezes(n, diags))
        .unwrap_or_default();
    let overrides = fields
        .get("overrides")
        .map(|n| principals(n, "`overrides`", diags))
        .unwrap_or_default();
    let services = fields
        .get("services")
        .map(|n| service_refs(n, known.services, diags));
    Some(Environment {
        name: name?,
        pos,
        trigger,
        tag,
        allow_tags,
        from,
        next,
        gate: gate?,
        fast_rollback,
        freeze,
        overrides,
        services,
    })
}

fn decode_trigger(node: &Node, diags: &mut Diagnostics) -> Option<Trigger> {
    let fields = Fields::read(node, "`trigger`", TRIGGER_KEYS, diags)?;
    let globs = |key: &str, diags: &mut Diagnostics| -> Vec<Glob> {
        let Some(n) = fields.get(key) else {
            return Vec::new();
        };
        decode::strings(n, "a trigger pattern", diags)
            .into_iter()
            .filter_map(|(text, pos)| {
                let glob = Glob::parse(text);
                if glob.is_none() {
                    diags.error(pos, "bad-pattern", "an empty pattern matches nothing: remove it or write a branch or tag pattern such as `release-*`");
                }
                glob
            })
            .collect()
    };
    let trigger = Trigger {
        branches: globs("branch", diags),
        tags: globs("tag", diags),
    };
    if fields.get("branch").is_none() && fields.get("tag").is_none() {
        diags.error_with_help(
            node.pos,
            "empty-trigger",
            "this trigger matches no event",
            "add `branch: <pattern>` and/or `tag: <pattern>`",
        );
    }
    Some(trigger)
}

fn decode_tag(node: &Node, trigger: Option<&Trigger>, diags: &mut Diagnostics) -> Option<Template> {
    let text = decode::string(node, "`tag`", diags)?;
    let template = Template::parse(text, TAG_VARIABLES)
        .map_err(|message| diags.error(node.pos, "bad-template", message))
        .ok()?;
    if let Some(bad) = template
        .literals()
        .flat_map(str::chars)
        .find(|c| !(c.is_ascii_alphanumeric() || "_.-".contains(*c)))
    {
        diags.error_with_help(
            node.pos,
            "bad-template",
            format!("`{bad}` cannot appear in an image tag"),
            "between variables use only letters, digits, `_`, `.` and `-`",
        );
    }
    if let Some(trigger) = trigger {
        let needs = |variable: &str, refs: &[Glob], kind: &str, diags: &mut Diagnostics| {
            if template.uses(variable) && refs.is_empty() {
                diags.error_with_help(
                    node.pos,
                    "bad-template",
                    format!("`{{{variable}}}` is empty here: this environment is triggered by {kind} only"),
                    format!("use a variable the trigger provides, or add a `{variable}:` pattern to the trigger"),
                );
            }
        };
        needs("tag", &trigger.tags, "branches", diags);
        needs("branch", &trigger.branches, "tags", diags);
    }
    Some(template)
}

fn decode_regex(node: &Node, diags: &mut Diagnostics) -> Option<Regex> {
    let text = decode::string(node, "`allow_tags`", diags)?;
    if let Err(error) = Regex::new(text) {
        // The regex crate's message spans several lines; its last line says what is wrong.
        let full = error.to_string();
        let reason = full
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("error: "))
            .unwrap_or(&full);
        diags.error_with_help(
            node.pos,
            "bad-regex",
            format!("`allow_tags` is not a valid regular expression: {reason}"),
            "quote it with single quotes in YAML so backslashes stay as written",
        );
        return None;
    }
    // Anchored so that `v\d+` cannot accept `xv1-anything`: the whole tag must match.
    Regex::new(&format!("^(?:{text})$"))
        .map_err(|e| {
            diags.error_with_help(
                node.pos,
                "bad-regex",
                format!("`allow_tags` is not a valid regular expression: {e}"),
                "quote it with single quotes in YAML so backslashes stay as written",
            )
        })
        .ok()
}

fn environment_ref(
    node: &Node,
    what: &str,
    known: &Known<'_>,
    diags: &mut Diagnostics,
) -> Option<EnvironmentName> {
    let text = decode::string(node, what, diags)?;
    if !known.names.contains(&text) {
        let message = format!("{what} names environment `{text}`, which is not defined");
        match did_you_mean(text, known.names) {
            Some(close) => diags.error_with_help(
                node.pos,
                "unknown-environment",
                message,
                format!("did you mean `{close}`?"),
            ),
            None => diags.error_with_help(
                node.pos,
                "unknown-environment",
                message,
                format!("the environments are: {}", known.names.join(", ")),
            ),
        }
        return None;
    }
    EnvironmentName::parse(text).ok()
}

fn service_refs(node: &Node, services: &[Service], diags: &mut Diagnostics) -> Vec<ServiceName> {
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    decode::string_list(node, "`services`", diags)
        .into_iter()
        .filter_map(|(text, pos)| {
            let found = services.iter().find(|s| s.name.as_str() == text);
            if found.is_none() {
                let help = did_you_mean(text, &names).map_or_else(
                    || format!("the services are: {}", names.join(", ")),
                    |close| format!("did you mean `{close}`?"),
                );
                diags.error_with_help(
                    pos,
                    "unknown-service",
                    format!("service `{text}` is not defined under `services`"),
                    help,
                );
            }
            found.map(|s| s.name.clone())
        })
        .collect()
}

/// `rollback: fast` or `rollback: gated`.
fn decode_rollback(node: &Node, diags: &mut Diagnostics) -> Option<bool> {
    match decode::string(node, "`rollback`", diags)? {
        "fast" => Some(true),
        "gated" => Some(false),
        other => {
            diags.error_with_help(
                node.pos,
                "bad-rollback",
                format!("`rollback: {other}` is not a rollback mode"),
                "write `rollback: fast` (rollbacks need no approvals and ignore freezes) or `rollback: gated` (the default: a rollback passes the gate like any promotion)",
            );
            None
        }
    }
}

fn decode_gate(fields: &Fields<'_>, section: &str, diags: &mut Diagnostics) -> Option<Gate> {
    let node = fields.require("gate", diags)?;
    let kind = decode::string(node, "`gate`", diags)?;
    let manual_only = ["approvals", "approvers", "authors_may_approve"];
    match kind {
        "auto" => {
            for key in manual_only {
                if fields.get(key).is_some() {
                    diags.error_with_help(
                        node.pos,
                        "auto-gate-approvals",
                        format!("{section} has `gate: auto` and `{key}`, which only applies to `gate: manual`"),
                        format!("remove `{key}`, or make the gate manual"),
                    );
                }
            }
            Some(Gate::Auto)
        }
        "manual" => {
            let approvals = match fields.get("approvals") {
                Some(n) => decode::count(n, "`approvals`", diags)?,
                None => 1,
            };
            let approvers = fields
                .get("approvers")
                .map(|n| principals(n, "`approvers`", diags))
                .unwrap_or_default();
            if approvals > 0 && fields.get("approvers").is_none() {
                diags.error_with_help(
                    node.pos,
                    "missing-key",
                    format!("{section} has a manual gate but no `approvers`"),
                    "add `approvers: [group:<group>, user:<id>]`",
                );
            }
            let authors_may_approve = match fields.get("authors_may_approve") {
                Some(n) => decode::boolean(n, "`authors_may_approve`", diags)?,
                None => false,
            };
            Some(Gate::Manual {
                approvals,
                approvers,
                authors_may_approve,
            })
        }
        other => {
            diags.error_with_help(
                node.pos,
                "bad-gate",
                format!("`gate: {other}` is not a gate"),
                "write `gate: auto` (merge when checks pass) or `gate: manual` (needs approvals)",
            );
            None
        }
    }
}

fn decode_freezes(node: &Node, diags: &mut Diagnostics) -> Vec<FreezeWindow> {
    let super::node::Value::Seq(items) = &node.value else {
        diags.error(
            node.pos,
            "wrong-type",
            format!(
                "`freeze` must be a list of windows, found {}",
                node.value.kind()
            ),
        );
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| decode_freeze(item, diags))
        .collect()
}

fn decode_freeze(node: &Node, diags: &mut Diagnostics) -> Option<FreezeWindow> {
    let fields = Fields::read(node, "a freeze window", FREEZE_KEYS, diags)?;
    let days: Vec<_> = fields
        .require("days", diags)
        .map(|n| decode::string_list(n, "`days`", diags))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(text, pos)| {
            let day = freeze::parse_day(text);
            if day.is_none() {
                diags.error_with_help(
                    pos,
                    "bad-day",
                    format!("`{text}` is not a day of the week"),
                    format!("write one of {}", freeze::day_names().join(", ")),
                );
            }
            day
        })
        .collect();
    let time = |key: &str, diags: &mut Diagnostics| {
        let n = fields.require(key, diags)?;
        let text = decode::string(n, &format!("`{key}`"), diags)?;
        let minutes = freeze::parse_time(text);
        if minutes.is_none() {
            diags.error_with_help(
                n.pos,
                "bad-time",
                format!("`{text}` is not a time of day"),
                "write HH:MM on a 24-hour clock, from 00:00 to 24:00",
            );
        }
        minutes.map(|m| (m, n.pos))
    };
    let (from, to) = (time("from", diags), time("to", diags));
    if let (Some((from, _)), Some((to, pos))) = (from, to)
        && (from == to || to == 0)
    {
        diags.error_with_help(
            pos,
            "bad-time",
            "`to` must differ from `from` and not be 00:00",
            "for a whole day write `from: \"00:00\"` and `to: \"24:00\"`",
        );
    }
    let timezone = fields.require("timezone", diags).and_then(|n| {
        let name = decode::string(n, "`timezone`", diags)?;
        let zone = jiff::tz::TimeZone::get(name);
        if zone.is_err() {
            diags.error_with_help(
                n.pos,
                "bad-timezone",
                format!("time zone `{name}` does not exist"),
                timezone_help(name),
            );
        }
        zone.ok().map(|zone| (name.to_owned(), zone))
    });
    let (timezone_name, timezone) = timezone?;
    Some(FreezeWindow {
        days,
        from: from?.0,
        to: to?.0,
        timezone_name,
        timezone,
    })
}

fn timezone_help(name: &str) -> String {
    let names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    match did_you_mean(name, &refs) {
        Some(close) => format!("did you mean `{close}`? (IANA names such as `Europe/Berlin`)"),
        None => "use an IANA time zone name such as `Europe/Berlin`, `Asia/Shanghai` or `UTC`"
            .to_owned(),
    }
}
