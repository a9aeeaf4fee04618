//! The outbox: every change becomes the domain event it is, in order.

use ferry::domain::forge_event::ReviewState;
use ferry::domain::{ForgeEvent, GitRef, ProjectPath};

use crate::local_support::{World, sha};

#[test]
fn every_operation_appends_its_event_in_order() {
    let world = World::new();
    let dana = world.forge.as_user("dana").expect("dana");
    let head = world.branch("bump", "app.yaml", "image: web:2\n");
    let mr = dana
        .create(
            &world.project,
            &crate::local_support::new_mr("bump", "Bump"),
        )
        .expect("create");
    let comment = dana
        .comment(&world.project, mr.iid, "/ferry promote")
        .expect("comment");
    world
        .forge
        .approve(&world.project, mr.iid)
        .expect("approve");
    world
        .forge
        .unapprove(&world.project, mr.iid)
        .expect("unapprove");
    world.accept(mr.iid, &head);
    world.branch("other", "README.md", "# other\n");
    let other = world.open_mr("other", "Other");
    world.forge.close(&world.project, other.iid).expect("close");

    let events = world.forge.events_after(0).expect("events");
    let seqs: Vec<u64> = events.iter().map(|(seq, _)| *seq).collect();
    assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]), "{seqs:?}");
    let kinds: Vec<&str> = events.iter().map(|(_, event)| event.kind()).collect();
    assert_eq!(
        kinds,
        [
            "mr_opened",
            "comment_created",
            "review_submitted",
            "review_submitted",
            "mr_merged",
            "mr_opened",
            "mr_closed"
        ]
    );
    let events: Vec<ForgeEvent> = events.into_iter().map(|(_, event)| event).collect();
    let ForgeEvent::MrOpened(opened) = &events[0] else {
        unreachable!()
    };
    assert_eq!(
        (opened.number, opened.head_sha.clone()),
        (1, Some(sha(&head)))
    );
    assert_eq!(opened.author_id, Some(dana.user().id));
    assert_eq!(
        opened.actor.as_ref().map(|actor| actor.username.as_str()),
        Some("dana")
    );
    let ForgeEvent::CommentCreated(said) = &events[1] else {
        unreachable!()
    };
    assert_eq!(
        (said.note_id, said.body.as_str(), said.author.id),
        (comment.id.0, "/ferry promote", dana.user().id)
    );
    assert!(!said.edited && !said.system && said.created_at.is_some());
    let ForgeEvent::ReviewSubmitted(approved) = &events[2] else {
        unreachable!()
    };
    assert_eq!(
        (approved.state, approved.head_sha.clone()),
        (ReviewState::Approved, Some(sha(&head)))
    );
    let ForgeEvent::ReviewSubmitted(withdrawn) = &events[3] else {
        unreachable!()
    };
    assert_eq!(withdrawn.state, ReviewState::Unapproved);
    let ForgeEvent::MrMerged(merged) = &events[4] else {
        unreachable!()
    };
    assert_eq!(merged.merge_sha.as_str(), world.main());
    assert_eq!(
        merged.merged_by.as_ref().map(|actor| actor.id),
        Some(world.forge.user().id)
    );
    assert_eq!(merged.merge_request.head_sha, Some(sha(&head)));
    let ForgeEvent::MrClosed(closed) = &events[6] else {
        unreachable!()
    };
    assert_eq!(closed.number, other.iid.0);
}

/// Kind, ref name, before, sha, pusher.
type PushSeen<'a> = (&'a str, &'a str, Option<String>, String, Option<String>);

#[test]
fn recorded_pushes_chain_before_and_events_after_skips_what_was_read() {
    let world = World::new();
    // A source project the forge does not serve: its CI only reports pushes here.
    let source = ProjectPath::parse("eap/website").expect("project");
    let (one, two) = ("1".repeat(40), "2".repeat(40));
    let develop = GitRef::Branch("develop".into());
    let first = world
        .forge
        .record_push(&source, &develop, &sha(&one), "ci")
        .expect("push");
    let second = world
        .forge
        .record_push(&source, &develop, &sha(&two), "ci")
        .expect("push");
    let tag = world
        .forge
        .record_push(&source, &GitRef::Tag("v1.2.3".into()), &sha(&two), "ci")
        .expect("tag");
    assert!(first < second && second < tag);

    let events = world.forge.events_after(0).expect("events");
    let pushes: Vec<PushSeen<'_>> = events
        .iter()
        .map(|(_, event)| match event {
            ForgeEvent::BranchPushed(push) | ForgeEvent::TagPushed(push) => (
                event.kind(),
                push.name.as_str(),
                push.before.as_ref().map(ToString::to_string),
                push.sha.to_string(),
                push.pusher.as_ref().map(|pusher| pusher.username.clone()),
            ),
            other => panic!("a push expected, got {other:?}"),
        })
        .collect();
    let ci = Some("ci".to_owned());
    assert_eq!(
        pushes,
        [
            ("branch_pushed", "develop", None, one.clone(), ci.clone()),
            (
                "branch_pushed",
                "develop",
                Some(one.clone()),
                two.clone(),
                ci.clone()
            ),
            ("tag_pushed", "v1.2.3", None, two.clone(), ci),
        ]
    );
    let later: Vec<u64> = world
        .forge
        .events_after(first)
        .expect("events")
        .iter()
        .map(|(seq, _)| *seq)
        .collect();
    assert_eq!(later, [second, tag]);
    assert!(world.forge.events_after(tag).expect("events").is_empty());
}

#[test]
fn a_recorded_push_to_a_merge_request_branch_also_updates_it() {
    let world = World::new();
    world.branch("bump", "app.yaml", "image: web:2\n");
    world.open_mr("bump", "Bump");
    let newer = world.add_commit("bump", "app.yaml", "image: web:3\n");
    let seq = world
        .forge
        .record_push(
            &world.project,
            &GitRef::Branch("bump".into()),
            &sha(&newer),
            "dana",
        )
        .expect("push");
    let events = world.forge.events_after(seq - 1).expect("events");
    let kinds: Vec<&str> = events.iter().map(|(_, event)| event.kind()).collect();
    assert_eq!(kinds, ["branch_pushed", "mr_updated"]);
    let ForgeEvent::MrUpdated(updated) = &events[1].1 else {
        unreachable!()
    };
    assert_eq!(updated.head_sha, Some(sha(&newer)));
    assert_eq!(
        updated.actor.as_ref().map(|actor| actor.username.as_str()),
        Some("dana")
    );
    assert_eq!(
        world.forge.sync_heads().expect("sync"),
        0,
        "not announced twice"
    );
}

#[test]
fn a_recorded_push_names_its_pusher_only_on_the_branch_pushed() {
    let world = World::new();
    world.branch("mine", "app.yaml", "image: web:2\n");
    world.branch("theirs", "README.md", "# theirs\n");
    world.open_mr("mine", "Mine");
    world.open_mr("theirs", "Theirs");
    let mine = world.add_commit("mine", "app.yaml", "image: web:3\n");
    world.add_commit("theirs", "README.md", "# theirs, moved\n");
    let seq = world
        .forge
        .record_push(
            &world.project,
            &GitRef::Branch("mine".into()),
            &sha(&mine),
            "dana",
        )
        .expect("push");
    let updates: Vec<(String, Option<String>)> = world
        .forge
        .events_after(seq)
        .expect("events")
        .into_iter()
        .filter_map(|(_, event)| match event {
            ForgeEvent::MrUpdated(mr) => Some((mr.source_branch, mr.actor.map(|a| a.username))),
            _ => None,
        })
        .collect();
    let expected = [
        ("mine".to_owned(), Some("dana".to_owned())),
        ("theirs".to_owned(), None),
    ];
    assert_eq!(updates, expected, "dana did not push `theirs`");
}
