//! Image specs and lossless kustomization.yaml editing.

pub mod file;
pub mod images;
pub mod render;
pub mod spec;

pub use images::{ImageEntry, Kustomization, KustomizeError, image_ops, set_images};
pub use spec::{Field, ImageSpec, SpecError};
