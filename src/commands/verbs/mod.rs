//! One file per command (or per pair of opposite commands): its typed form, its row of the
//! command table, and how it is written back.

pub(super) mod approve;
pub(super) mod help;
pub(super) mod hold;
pub(super) mod options;
pub(super) mod promote;
pub(super) mod retry;
pub(super) mod rollback;
pub(super) mod status;
