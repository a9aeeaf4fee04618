//! The comment command grammar: what is a command, what each command reads as, and what a
//! person is told when a line is wrong.

use ferry::commands::{
    self, Command, CommandError, Help, Hold, Position, Promote, Rollback, parse_comment,
};
use ferry::domain::{EnvironmentName, ServiceName, Tag};

const BOT: &str = "ferry-bot";

fn env(name: &str) -> EnvironmentName {
    EnvironmentName::parse(name).unwrap()
}

fn service(name: &str) -> ServiceName {
    ServiceName::parse(name).unwrap()
}

/// The only command in `line`, parsed.
fn one(line: &str) -> Result<Command, CommandError> {
    let mut found = parse_comment(line, BOT);
    assert_eq!(found.len(), 1, "{line:?} -> {found:?}");
    found.remove(0).result
}

fn error(line: &str) -> String {
    one(line).unwrap_err().to_string()
}

#[test]
fn every_verb_with_its_arguments() {
    let cases: Vec<(&str, Command)> = vec![
        (
            "/ferry promote",
            Command::Promote(Promote {
                environment: None,
                services: vec![],
                freeze_override: None,
            }),
        ),
        (
            "/ferry promote production service=web service=api",
            Command::Promote(Promote {
                environment: Some(env("production")),
                services: vec![service("web"), service("api")],
                freeze_override: None,
            }),
        ),
        (
            r#"/ferry promote override="hotfix \"CVE\"" Production"#,
            Command::Promote(Promote {
                environment: Some(env("production")),
                services: vec![],
                freeze_override: Some(r#"hotfix "CVE""#.into()),
            }),
        ),
        (
            "/ferry promote staging override=“typed on a phone”",
            Command::Promote(Promote {
                environment: Some(env("staging")),
                services: vec![],
                freeze_override: Some("typed on a phone".into()),
            }),
        ),
        ("/ferry approve", Command::Approve),
        ("/ferry Unapprove", Command::Unapprove),
        ("/ferry hold", Command::Hold(Hold { reason: None })),
        (
            "/ferry hold waiting for QA, see a=b \"x",
            Command::Hold(Hold {
                reason: Some("waiting for QA, see a=b \"x".into()),
            }),
        ),
        (
            r#"/ferry hold "  padded\tand\nbroken  ""#,
            Command::Hold(Hold {
                reason: Some("  padded\tand\nbroken  ".into()),
            }),
        ),
        ("/ferry unhold", Command::Unhold),
        (
            "/ferry rollback production",
            Command::Rollback(Rollback {
                environment: env("production"),
                to: None,
                services: vec![],
                freeze_override: None,
            }),
        ),
        (
            "/ferry rollback staging TO release-1.4.0.0d1a26e service=web",
            Command::Rollback(Rollback {
                environment: env("staging"),
                to: Some(Tag::parse("release-1.4.0.0d1a26e").unwrap()),
                services: vec![service("web")],
                freeze_override: None,
            }),
        ),
        ("/ferry retry", Command::Retry),
        ("/ferry status", Command::Status),
        ("/ferry help", Command::Help(Help { command: None })),
        (
            "/ferry help Rollback",
            Command::Help(Help {
                command: Some("rollback"),
            }),
        ),
        ("@ferry-bot status", Command::Status),
        ("@Ferry-Bot: approve", Command::Approve),
        ("   /ferry\u{a0}status  ", Command::Status),
    ];
    for (line, expected) in cases {
        assert_eq!(one(line), Ok(expected), "{line}");
    }
}

#[test]
fn several_commands_each_with_its_line() {
    let body = "Looks good to me.\n\n/ferry approve\n/ferry promote produktion\nthanks\r\n@ferry-bot status\n";
    let found = parse_comment(body, BOT);
    let lines: Vec<usize> = found.iter().map(|c| c.line).collect();
    assert_eq!(lines, [3, 4, 6]);
    assert_eq!(found[0].result, Ok(Command::Approve));
    assert!(
        found[1].result.is_ok(),
        "environment existence is the policy's job"
    );
    assert_eq!(found[2].result, Ok(Command::Status));
}

#[test]
fn lines_that_only_mention_commands_are_not_commands() {
    let body = "\
To approve, write `/ferry approve`.
> /ferry approve
```
/ferry approve
```
~~~md
/ferry rollback production
~~~
    /ferry approve
<!--
/ferry approve
-->
>>>
/ferry approve
>>>
/approve
/ferryapprove
@someone-else approve
please /ferry approve
";
    assert_eq!(parse_comment(body, BOT), vec![]);
}

#[test]
fn errors_say_where_what_and_what_to_write() {
    let cases = [
        (
            "/ferry",
            "line 1, column 7: `/ferry` needs a command, for example `/ferry status`; `/ferry help` lists them all",
        ),
        (
            "@ferry-bot",
            "line 1, column 11: `@ferry-bot` needs a command, for example `@ferry-bot status`; `@ferry-bot help` lists them all",
        ),
        (
            "/ferry promot production",
            "line 1, column 8: `promot` is not a Ferry command; did you mean `promote`?; `/ferry help` lists them all",
        ),
        (
            "/ferry deploy",
            "line 1, column 8: `deploy` is not a Ferry command; `/ferry help` lists them all",
        ),
        (
            "/ferry promote production servce=web",
            "line 1, column 27: `promote` has no option `servce`; did you mean `service`?; it takes `service=`, `override=`",
        ),
        (
            "/ferry promote override=a override=b",
            "line 1, column 27: `override` is given twice; give it once",
        ),
        (
            "/ferry promote service=",
            "line 1, column 16: `service=` has no value; write `service=VALUE`, in quotes if it contains spaces",
        ),
        (
            "/ferry rollback",
            "line 1, column 16: `rollback` needs ENVIRONMENT; write `/ferry rollback ENVIRONMENT [to VERSION] [service=SERVICE]... [override=\"REASON\"]`",
        ),
        (
            "/ferry rollback production to",
            "line 1, column 30: `rollback` needs VERSION; write `/ferry rollback ENVIRONMENT [to VERSION] [service=SERVICE]... [override=\"REASON\"]`",
        ),
        (
            "/ferry rollback production v1.2.3",
            "line 1, column 28: `v1.2.3` is not expected here; write `/ferry rollback ENVIRONMENT [to VERSION] [service=SERVICE]... [override=\"REASON\"]`",
        ),
        (
            "/ferry rollback production ot v1.2.3",
            "line 1, column 28: `ot` is not expected here; did you mean `to`?; write `/ferry rollback ENVIRONMENT [to VERSION] [service=SERVICE]... [override=\"REASON\"]`",
        ),
        (
            "/ferry approve now",
            "line 1, column 16: `now` is not expected here; write `/ferry approve`",
        ),
        (
            "/ferry promote prod/eu",
            "line 1, column 16: `prod/eu` is not a valid environment name: use 1 to 63 lowercase letters, digits, `-` and `_`, starting with a letter or digit",
        ),
        (
            "/ferry rollback production to v1.2.3!",
            "line 1, column 31: `v1.2.3!` is not a version: write an image tag such as `v1.4.0` or `release-1.4.0.0d1a26e`",
        ),
        (
            "/ferry promote override=\"  \"",
            "line 1, column 16: override cannot be empty: say why",
        ),
        (
            "/ferry promote override=\"late",
            "line 1, column 25: this quote is never closed; end the value with a `\"`",
        ),
        (
            "/ferry promote override=\"a\\qb\"",
            "line 1, column 27: `\\q` is not an escape Ferry knows; inside quotes write `\\\\` for a backslash, `\\\"` for a quote, `\\n` for a new line, `\\t` for a tab",
        ),
        (
            "/ferry promote override=\"a\"b",
            "line 1, column 28: put a space after the closing quote",
        ),
        (
            "/ferry help deploy",
            "line 1, column 13: `deploy` is not a Ferry command; `/ferry help` lists them all",
        ),
        (
            "/ferry \"promote\"",
            "line 1, column 8: `\"promote\"` is not a Ferry command; did you mean `promote`?; `/ferry help` lists them all",
        ),
    ];
    for (line, message) in cases {
        assert_eq!(error(line), message, "{line}");
    }
}

#[test]
fn error_positions_are_on_the_comment_line_in_characters() {
    let found = parse_comment("Grüße!\n\n  /ferry hold\n  /ferry rolback", BOT);
    assert_eq!(found.len(), 2);
    let error = found[1].result.as_ref().unwrap_err();
    assert_eq!(
        error.position(),
        Position {
            line: 4,
            column: 10
        }
    );
    let found = parse_comment("/ferry promote ünïcode", BOT);
    assert!(
        found[0]
            .result
            .as_ref()
            .unwrap_err()
            .to_string()
            .starts_with("line 1, column 16:")
    );
}

#[test]
fn too_many_commands_are_cut_off_with_one_error() {
    let body = "/ferry status\n".repeat(commands::MAX_COMMANDS_PER_COMMENT + 5);
    let found = parse_comment(&body, BOT);
    assert_eq!(found.len(), commands::MAX_COMMANDS_PER_COMMENT + 1);
    assert_eq!(
        found
            .last()
            .unwrap()
            .result
            .as_ref()
            .unwrap_err()
            .to_string(),
        "line 11, column 1: only 10 commands are run per comment; write the others in a new comment"
    );
}

#[test]
fn help_is_written_from_the_table_the_parser_reads() {
    let overview = commands::help_text(&Help { command: None }, BOT);
    assert!(overview.contains("`/ferry` or `@ferry-bot`"), "{overview}");
    for spec in commands::table::COMMANDS {
        // Every row is in the overview, with the usage the errors quote ...
        assert!(
            overview.contains(&format!("| `{}` | {} |", spec.usage(), spec.summary)),
            "{}",
            spec.name
        );
        // ... every example in it parses ...
        for example in spec.examples {
            let parsed = one(example).unwrap_or_else(|e| panic!("{example}: {e}"));
            assert_eq!(parsed.name(), spec.name);
        }
        // ... and `help NAME` explains every argument and option.
        let Ok(Command::Help(help)) = one(&format!("/ferry help {}", spec.name)) else {
            panic!("help {}", spec.name)
        };
        let text = commands::help_text(&help, BOT);
        for arg in spec.args {
            assert!(text.contains(arg.help), "{}: {}", spec.name, arg.name);
        }
        for option in spec.options {
            assert!(text.contains(option.help), "{}: {}", spec.name, option.key);
        }
    }
    assert_eq!(commands::table::COMMANDS.len(), 9);
    insta::assert_snapshot!("help_overview", overview);
    let Ok(Command::Help(rollback)) = one("/ferry help rollback") else {
        panic!()
    };
    insta::assert_snapshot!("help_rollback", commands::help_text(&rollback, BOT));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn name() -> impl Strategy<Value = String> {
        "[a-z0-9][a-z0-9_-]{0,20}"
    }

    fn reason() -> impl Strategy<Value = String> {
        // Any text with something visible in it, including quotes, escapes and new lines.
        "\\PC{0,30}"
            .prop_filter("not blank", |s| !s.trim().is_empty())
            .prop_map(|s| s.replace('\r', "\n"))
    }

    fn targets() -> impl Strategy<Value = (Vec<ServiceName>, Option<String>)> {
        (
            prop::collection::vec(name().prop_map(|n| ServiceName::parse(&n).unwrap()), 0..3),
            prop::option::of(reason()),
        )
    }

    fn command() -> impl Strategy<Value = Command> {
        let environment = || name().prop_map(|n| EnvironmentName::parse(&n).unwrap());
        let tag = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}".prop_map(|t| Tag::parse(&t).unwrap());
        let verbs: Vec<&'static str> = commands::table::COMMANDS.iter().map(|s| s.name).collect();
        prop_oneof![
            (prop::option::of(environment()), targets()).prop_map(
                |(environment, (services, freeze_override))| {
                    Command::Promote(Promote {
                        environment,
                        services,
                        freeze_override,
                    })
                }
            ),
            Just(Command::Approve),
            Just(Command::Unapprove),
            prop::option::of(reason()).prop_map(|reason| Command::Hold(Hold { reason })),
            Just(Command::Unhold),
            (environment(), prop::option::of(tag), targets()).prop_map(
                |(environment, to, (services, freeze_override))| {
                    Command::Rollback(Rollback {
                        environment,
                        to,
                        services,
                        freeze_override,
                    })
                }
            ),
            Just(Command::Retry),
            Just(Command::Status),
            prop::option::of(prop::sample::select(verbs))
                .prop_map(|command| Command::Help(Help { command })),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn written_commands_parse_back_to_themselves(command in command()) {
            let written = command.to_string();
            prop_assert_eq!(one(&written), Ok(command), "{}", written);
        }

        #[test]
        fn several_written_commands_keep_their_lines(commands in prop::collection::vec(command(), 1..5)) {
            let body: Vec<String> = commands.iter().map(|c| format!("{c}\nsome prose")).collect();
            let found = parse_comment(&body.join("\n"), BOT);
            prop_assert_eq!(found.len(), commands.len());
            for (index, (found, command)) in found.iter().zip(&commands).enumerate() {
                prop_assert_eq!(found.line, 2 * index + 1);
                prop_assert_eq!(&found.result, &Ok(command.clone()));
            }
        }

        #[test]
        fn no_input_panics(body in "\\PC{0,300}") {
            let _ = parse_comment(&body, BOT);
            let _ = parse_comment(&format!("/ferry {body}"), BOT);
            let _ = parse_comment(&format!("@ferry-bot {body}"), "ferry-bot");
        }

        #[test]
        fn no_arbitrary_bytes_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), bot in "\\PC{0,12}") {
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse_comment(&text, &bot);
            let _ = parse_comment(&format!("/ferry rollback {text}"), &bot);
        }

        #[test]
        fn errors_point_inside_their_line(body in "(/ferry [a-z =\"\\\\“”]{0,30}\n){1,4}") {
            let lines: Vec<&str> = body.split('\n').collect();
            for found in parse_comment(&body, BOT) {
                if let Err(error) = found.result {
                    let at = error.position();
                    prop_assert_eq!(at.line, found.line);
                    let width = lines[at.line - 1].chars().count();
                    prop_assert!(at.column >= 1 && at.column <= width + 1, "{} in {:?}", error, body);
                }
            }
        }
    }
}

#[test]
fn a_command_keeps_its_identity_across_spellings_and_lines() {
    let identities = |body: &str| -> Vec<String> {
        parse_comment(body, BOT)
            .iter()
            .map(commands::CommandLine::identity)
            .collect()
    };
    // The same commands however they are spelled, wherever they are in the comment.
    assert_eq!(
        identities("/ferry approve\n/ferry promote Production  service=web"),
        identities("intro\n\n@Ferry-Bot: Approve\n  /FERRY promote production service=web  "),
    );
    assert_eq!(
        identities("/ferry approve\n@ferry-bot promote production service=web"),
        ["/ferry approve", "/ferry promote production service=web"]
    );
    // Different arguments are different commands; an error keeps its text, spaces collapsed.
    assert_ne!(
        identities("/ferry promote staging"),
        identities("/ferry promote production")
    );
    assert_ne!(identities("/ferry hold a"), identities("/ferry hold b"));
    assert_eq!(
        identities("  /ferry   promot    staging "),
        ["/ferry promot staging"]
    );
    let lines = parse_comment("x\n   /ferry   promot staging\t", BOT);
    assert_eq!(lines[0].source, "/ferry   promot staging");
    assert_eq!(lines[0].line, 2);
}
