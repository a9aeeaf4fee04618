//! Plain types shared by every module. No I/O.

pub mod image;

pub use image::{Digest, ImageName, ImageRef, ImageRefError, Tag};
pub mod event;
pub mod forge_event;
pub mod merge_request;
pub mod names;
pub mod source;

pub use event::SourceEvent;
pub use forge_event::{Actor, BotIdentity, Forge, ForgeEvent};
pub use merge_request::MrIid;
pub use names::{EnvironmentName, NameError, ServiceName};
pub use source::{CommitSha, GitRef, ProjectPath, Source, SourceError, UserId};
