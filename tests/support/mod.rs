//! Test support shared by integration tests: in-memory forges served over HTTP.
//!
//! Each test binary uses part of it; `#[allow(dead_code)]` on `mod support;` keeps the rest quiet.

pub mod fake_github;
pub mod fake_github_git;
pub mod fake_gitlab;
pub mod fake_gitlab_git;
pub mod faults;
pub mod github_hooks;
pub mod gitlab_hooks;
pub mod queue;
pub mod service;
