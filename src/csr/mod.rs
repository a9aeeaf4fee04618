//! Cluster client certificates from CSRs: policy, validation rules, signing, kubeconfigs and
//! the ledger. Pure: no network or git I/O (reading the CA key file is the only I/O, and the
//! CLI or server decides where it comes from).

pub mod ca;
pub mod check;
pub mod duration;
pub mod extensions;
pub mod key;
pub mod kubeconfig;
pub mod ledger;
pub mod merge;
pub mod names;
pub mod pem;
pub mod policy;
pub mod public_key;
pub mod request;
pub mod self_check;
pub mod sign;
pub mod signature;
pub mod subject;
pub mod verdict;
