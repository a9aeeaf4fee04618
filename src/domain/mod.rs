//! Plain types shared by every module. No I/O.

pub mod image;

pub use image::{Digest, ImageName, ImageRef, ImageRefError, Tag};
