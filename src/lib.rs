//! Ferry: a GitOps promotion bot driven by merge requests.
//!
//! The library holds everything; the `ferry` binary only parses arguments and calls in.
//! Dependency direction (see `docs/architecture.md`): `domain` <- `yaml` <- `kustomize`
//! <- `cli`. Pure modules do no network or git I/O.

pub mod cli;
pub mod commands;
pub mod config;
pub mod csr;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod events;
pub mod forge;
pub mod gitops;
pub mod kustomize;
pub mod policy;
pub mod server;
pub mod service;
pub mod store;
pub mod worker;
pub mod yaml;
