//! Comments, reactions, approvals per head, commit statuses, access levels and groups.

use ferry::domain::UserId;
use ferry::forge::{AccessLevel, CommitStatus, Forge, ForgeError, Reaction, StatusState};

use crate::local_support::{World, sha};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_are_written_edited_and_listed_oldest_first() {
    let world = World::new();
    world.branch("bump", "app.yaml", "image: web:2\n");
    let mr = world.open_mr("bump", "Bump");
    let dana = world.forge.as_user("dana").expect("dana");
    let (project, iid) = (&world.project, mr.iid);

    let first = dana
        .create_comment(project, iid, "/ferry promote staging")
        .await
        .expect("comment");
    let second = world
        .forge
        .create_comment(project, iid, "Ferry here <!-- ferry:status -->")
        .await
        .expect("comment");
    let third = dana
        .create_comment(project, iid, "thanks")
        .await
        .expect("comment");
    assert!(first.id < second.id && second.id < third.id);

    let edited = world
        .forge
        .edit_comment(
            project,
            iid,
            second.id,
            "Ferry, edited <!-- ferry:status -->",
        )
        .await
        .expect("edit");
    assert_eq!(edited.body, "Ferry, edited <!-- ferry:status -->");
    let bodies: Vec<String> = world
        .forge
        .comments(project, iid)
        .await
        .expect("comments")
        .into_iter()
        .map(|comment| comment.body)
        .collect();
    assert_eq!(
        bodies,
        [
            "/ferry promote staging",
            "Ferry, edited <!-- ferry:status -->",
            "thanks"
        ]
    );

    let own = world
        .forge
        .find_own_comment(project, iid, "ferry:status")
        .await
        .expect("find");
    assert_eq!(own.map(|comment| comment.id), Some(second.id));
    assert_eq!(
        dana.find_own_comment(project, iid, "ferry:status")
            .await
            .expect("find"),
        None
    );

    let not_hers = dana.edit_comment(project, iid, second.id, "hijacked").await;
    assert!(
        matches!(not_hers, Err(ForgeError::Forbidden { .. })),
        "{not_hers:?}"
    );
    let empty = dana.create_comment(project, iid, "  \n").await;
    assert!(
        matches!(empty, Err(ForgeError::InvalidInput { .. })),
        "{empty:?}"
    );
    let shown = world.forge.comments_shown(project, iid).expect("shown");
    assert_eq!(shown[0].author, "dana");
    assert!(shown[1].edited && !shown[0].edited);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reacting_twice_is_not_an_error() {
    let world = World::new();
    world.branch("bump", "app.yaml", "image: web:2\n");
    let mr = world.open_mr("bump", "Bump");
    let comment = world
        .forge
        .comment(&world.project, mr.iid, "/ferry promote")
        .expect("comment");
    for _ in 0..2 {
        world
            .forge
            .react(&world.project, mr.iid, comment.id, Reaction::ThumbsUp)
            .await
            .expect("react");
    }
    world
        .forge
        .react(&world.project, mr.iid, comment.id, Reaction::Eyes)
        .await
        .expect("react");
    let shown = world
        .forge
        .comments_shown(&world.project, mr.iid)
        .expect("shown");
    assert_eq!(
        shown[0].reactions,
        [
            ("eyes".to_owned(), vec!["ferry".to_owned()]),
            ("thumbsup".to_owned(), vec!["ferry".to_owned()])
        ]
    );
    let missing = world
        .forge
        .react(
            &world.project,
            mr.iid,
            ferry::forge::CommentId(99),
            Reaction::Eyes,
        )
        .await;
    assert!(
        matches!(missing, Err(ForgeError::NotFound { .. })),
        "{missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_count_for_the_head_they_were_given_for() {
    let world = World::new();
    let head = world.branch("bump", "app.yaml", "image: web:2\n");
    let mr = world.open_mr("bump", "Bump");
    let (alice, bob) = (
        world.forge.as_user("alice").expect("alice"),
        world.forge.as_user("bob").expect("bob"),
    );
    let approval = alice.approve(&world.project, mr.iid).expect("approve");
    assert_eq!(approval.commit, Some(sha(&head)));
    bob.approve(&world.project, mr.iid).expect("approve");
    alice
        .approve(&world.project, mr.iid)
        .expect("approving twice is fine");
    // Through the Forge trait, as the engine reads them.
    let approvals = async || {
        world
            .forge
            .approvals(&world.project, mr.iid)
            .await
            .expect("approvals")
    };
    let approvers = async || -> Vec<String> {
        approvals()
            .await
            .into_iter()
            .map(|approval| approval.username)
            .collect()
    };
    let given = approvals().await;
    assert!(
        given
            .iter()
            .all(|approval| approval.commit == Some(sha(&head)))
    );
    assert_eq!(approvers().await, ["alice", "bob"]);

    bob.unapprove(&world.project, mr.iid).expect("unapprove");
    assert_eq!(approvers().await, ["alice"]);

    let newer = world.add_commit("bump", "app.yaml", "image: web:3\n");
    assert!(approvers().await.is_empty(), "the head moved");
    let again = bob
        .approve(&world.project, mr.iid)
        .expect("approve the new head");
    assert_eq!(again.commit, Some(sha(&newer)));
    assert_eq!(approvers().await, ["bob"]);

    world.forge.close(&world.project, mr.iid).expect("close");
    let closed = alice.approve(&world.project, mr.iid).expect_err("closed");
    assert!(
        closed.to_string().contains("only open merge requests"),
        "{closed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_statuses_are_set_and_read_back() {
    let world = World::new();
    let head = sha(&world.branch("bump", "app.yaml", "image: web:2\n"));
    let mr = world.open_mr("bump", "Bump");
    let status = |context: &str, state| CommitStatus {
        context: context.into(),
        state,
        description: Some(format!("{context} says")),
        target_url: Some(mr.web_url.clone()),
    };
    let forge: &dyn Forge = &world.forge;
    for (context, state) in [
        ("ferry/policy", StatusState::Pending),
        ("ferry/gate", StatusState::Failed),
        ("ferry/policy", StatusState::Success),
    ] {
        let status = status(context, state);
        forge
            .set_commit_status(&world.project, mr.iid, &head, &status)
            .await
            .expect("set");
    }
    let read: Vec<(String, String)> = world
        .forge
        .statuses(&world.project, &head)
        .expect("statuses")
        .into_iter()
        .map(|status| (status.context, status.state))
        .collect();
    let expected = [("ferry/gate", "failed"), ("ferry/policy", "success")]
        .map(|(c, s)| (c.to_owned(), s.to_owned()));
    assert_eq!(read, expected, "the last one set wins");
    let other = sha(&world.main());
    assert!(
        world
            .forge
            .statuses(&world.project, &other)
            .expect("statuses")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_levels_and_groups() {
    let world = World::new();
    let forge: &dyn Forge = &world.forge;
    let add = |name: &str, groups: &[&str], level| world.forge.add_user(name, groups, level);
    let admin = add("ada", &["eap", "ops/oncall"], AccessLevel::Admin).expect("ada");
    let reader = add("rita", &[], AccessLevel::Read).expect("rita");
    let fresh = world.forge.as_user("newbie").expect("newbie").user().id;
    for (user, level) in [
        (admin.id, AccessLevel::Admin),
        (reader.id, AccessLevel::Read),
        (fresh, ferry::forge::local::DEFAULT_ACCESS),
        (UserId(4242), AccessLevel::None),
    ] {
        let found = forge.access_level(&world.project, user).await;
        assert_eq!(found.expect("level"), level, "user {user}");
    }
    let is_member =
        async |group: &str, user: UserId| forge.is_group_member(group, user).await.expect("member");
    // Membership counts for subgroups, not for the parent or a longer name.
    for (group, user, member) in [
        ("eap", admin.id, true),
        ("eap/admins", admin.id, true),
        ("ops/oncall", admin.id, true),
        ("ops", admin.id, false),
        ("eapx", admin.id, false),
        ("eap", reader.id, false),
    ] {
        assert_eq!(is_member(group, user).await, member, "{group} {user}");
    }

    // Adding again replaces groups and access, and keeps the id.
    let again = add("ada", &["ops"], AccessLevel::Write).expect("ada again");
    assert_eq!(again.id, admin.id);
    assert!(!is_member("eap", admin.id).await);
    assert!(is_member("ops/oncall", admin.id).await);
    assert_eq!(
        world.forge.access(admin.id).expect("level"),
        AccessLevel::Write
    );
    assert_eq!(world.forge.find_user("ada").expect("find"), Some(again));
    assert_eq!(world.forge.find_user("nobody-here").expect("find"), None);

    for bad in ["", "/eap", "eap/"] {
        assert!(
            add("ada", &[bad], AccessLevel::Write).is_err(),
            "group `{bad}`"
        );
    }
    assert!(ferry::forge::local::parse_access("owner").is_err());
    let maintain = ferry::forge::local::parse_access("maintain");
    assert_eq!(maintain.expect("level"), AccessLevel::Maintain);
}
