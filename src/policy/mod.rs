//! Promotion policy: the schema of `policies/promotion.yaml`, its loader with positioned
//! diagnostics, and its evaluation (plan, gate, merge request validation). No network or git
//! I/O: history is reached through the [`history::History`] trait.

pub mod decode;
pub mod diagnostic;
pub mod glob;
pub mod node;
pub mod principal;
pub mod template;
