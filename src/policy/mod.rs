//! Promotion policy: the schema of `policies/promotion.yaml`, its loader with positioned
//! diagnostics, and its evaluation (plan, gate, merge request validation). No network or git
//! I/O: history is reached through the [`history::History`] trait.

pub mod check;
pub mod decode;
pub mod diagnostic;
pub mod environment;
pub mod freeze;
pub mod glob;
pub mod load;
pub mod node;
pub mod principal;
pub mod schema;
pub mod template;

pub use diagnostic::Diagnostic;
pub use load::{LoadError, load_dir, parse};
pub use schema::{Environment, Gate, Policy, Service};
pub mod event;
pub mod gate;
pub mod history;
pub mod overlay;
pub mod plan;
pub mod validate;
