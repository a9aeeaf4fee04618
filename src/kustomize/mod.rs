//! Image specs and lossless kustomization.yaml editing.
