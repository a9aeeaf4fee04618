//! The local forge against real bare git repositories: merge requests and their heads, real
//! merges, discussion, access, the event outbox, several handles on one directory, and bad
//! input. Both the blocking inherent methods and the async `Forge` trait are driven.

#[allow(dead_code)]
mod git_support;
#[allow(dead_code)]
mod local_support;

#[path = "local_forge/bad_input.rs"]
mod bad_input;
#[path = "local_forge/concurrency.rs"]
mod concurrency;
#[path = "local_forge/discussion.rs"]
mod discussion;
#[path = "local_forge/lifecycle.rs"]
mod lifecycle;
#[path = "local_forge/merging.rs"]
mod merging;
#[path = "local_forge/outbox.rs"]
mod outbox;
