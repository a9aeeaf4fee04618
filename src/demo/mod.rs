//! `ferry demo`: the whole job on a laptop, with no GitLab, no GitHub and no cluster. A
//! sandbox (`sandbox`) holds a GitOps repository built from the built-in example
//! (`template`), a source project and throw-away cluster CAs; `world` puts people on the
//! local forge and starts the real service on it; the story (`story`) plays the gitflow.

pub mod sandbox;
pub mod story;
pub mod template;
pub mod world;

pub use sandbox::Sandbox;
pub use story::Story;
pub use world::World;
