//! `ferry demo`: the whole job on a laptop, with no GitLab, no GitHub and no cluster. A
//! sandbox (`sandbox`) holds a GitOps repository built from the built-in example
//! (`template`), a source project and throw-away cluster CAs; the story (`story`) plays the
//! gitflow through the local forge and the real engine.

pub mod sandbox;
pub mod template;

pub use sandbox::Sandbox;
