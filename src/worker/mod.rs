//! Workers: take deliveries from the store and run them through a [`Handler`].
//!
//! Workers live beside the server rather than inside it because they only need a [`Store`]:
//! a later deployment can run them in a process of their own, and tests drive them without
//! HTTP.
//!
//! Contract with handlers (at least once, idempotent in effect): a delivery can reach a
//! handler more than once (a crash after the handler's work but before the done mark is
//! committed; a lease that expired while a slow handler was still running). The handler gets
//! the delivery's (forge, delivery id) as an idempotency key and must make a repeat do
//! nothing new. The done mark is committed only after the handler returned `Ok`.

mod backoff;
pub mod comments;
mod pool;
pub mod record;

use std::fmt;

pub use backoff::Backoff;
pub use comments::{Bots, CommandToRun, CommentCommands, CommentPlan};
pub use pool::{WorkerSettings, Workers};
pub use record::RecordingHandler;

use crate::store::{BoxFuture, Delivery};

/// Processes one delivery. The workflow engine implements this; `ferry serve` uses
/// [`RecordingHandler`] until then.
pub trait Handler: Send + Sync + 'static {
    /// Does the delivery's work. `delivery.forge` + `delivery.delivery_id` is the
    /// idempotency key: a second call with the same key must not repeat effects.
    fn handle<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), HandlerError>>;
}

/// Why a handler failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    pub message: String,
    /// True when retrying cannot help (the delivery goes straight to the dead letters).
    pub permanent: bool,
}

impl HandlerError {
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HandlerError {}
