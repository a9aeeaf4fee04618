//! Audit trailers: whatever people type into names and reasons, a rendered record reads back
//! as itself, and no commit message makes the reader panic.

use ferry::gitops::Trailers;
use ferry::gitops::trailers::{Action, ChangeTrailers, SourceTrailer};
use proptest::prelude::*;

fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._/:@+-]{1,30}"
}

fn change() -> impl Strategy<Value = ChangeTrailers> {
    (word(), word(), word(), proptest::option::of(word())).prop_map(
        |(service, environment, image, previous)| ChangeTrailers {
            service,
            environment,
            image,
            previous,
        },
    )
}

fn trailers() -> impl Strategy<Value = Trailers> {
    (
        prop_oneof![Just(Action::Promote), Just(Action::Rollback)],
        proptest::collection::vec(change(), 1..4),
        proptest::option::of((word(), word(), proptest::option::of("[0-9a-f]{40}"))),
        proptest::option::of(word()),
        proptest::option::of(".{0,40}"),
        proptest::collection::vec(word(), 0..3),
    )
        .prop_map(
            |(action, changes, source, merge_request, requested_by, approved_by)| Trailers {
                action,
                changes,
                source: source.map(|(project, git_ref, sha)| SourceTrailer {
                    project,
                    git_ref,
                    sha,
                }),
                merge_request,
                requested_by,
                approved_by,
            },
        )
}

proptest! {
    #[test]
    fn rendered_trailers_read_back_as_written(mut record in trailers(), summary in "[^\n]{1,60}", body in ".{0,200}") {
        let message = format!("{summary}\n\n{body}\n\n{}", record.render());
        let parsed = Trailers::parse(&message).expect("a rendered record parses");
        // Free text is stored on one line, trimmed, control characters as spaces.
        record.requested_by = record
            .requested_by
            .map(|who| who.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned())
            .filter(|who| !who.is_empty());
        prop_assert_eq!(&parsed.requested_by, &record.requested_by);
        prop_assert_eq!(parsed.changes, record.changes);
        prop_assert_eq!(parsed.approved_by, record.approved_by);
        prop_assert_eq!(parsed.source, record.source);
        prop_assert_eq!(parsed.action, record.action);
    }

    #[test]
    fn any_message_reads_without_panicking(message in "(?s).{0,400}") {
        let _ = Trailers::parse(&message);
    }

    #[test]
    fn messages_built_from_trailer_lines_read_without_panicking(lines in proptest::collection::vec(
        prop_oneof![
            Just("Ferry-Service: web".to_owned()),
            Just("Ferry-Environment: staging".to_owned()),
            Just("Ferry-Image: x:1".to_owned()),
            Just("Ferry-Previous-Image:".to_owned()),
            Just("Ferry-Source: a/b".to_owned()),
            Just("Ferry-Approved-By: ".to_owned()),
            ".{0,30}",
        ],
        0..12,
    )) {
        let message = format!("subject\n\n{}", lines.join("\n"));
        if let Some(parsed) = Trailers::parse(&message) {
            prop_assert!(parsed.changes.iter().all(|c| !c.environment.is_empty() && !c.image.is_empty()));
        }
    }
}
