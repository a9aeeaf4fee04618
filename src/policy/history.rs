//! What has run where: the question provenance checks ask. The GitOps engine answers it from
//! the audit trailers of earlier promotion commits; tests use [`InMemoryHistory`].

use thiserror::Error;

use crate::domain::{CommitSha, EnvironmentName, ImageRef, ServiceName};

/// History could not be read (the engine's implementation does git I/O).
#[derive(Debug, Error)]
#[error("cannot read the promotion history: {0}")]
pub struct HistoryError(pub String);

pub trait History {
    /// The source commit `image` of `service` was built from, if history knows it.
    fn commit_of(
        &self,
        service: &ServiceName,
        image: &ImageRef,
    ) -> Result<Option<CommitSha>, HistoryError>;

    /// Whether an image of `service` built from `commit` was ever promoted to `environment`.
    fn ran_in(
        &self,
        service: &ServiceName,
        commit: &CommitSha,
        environment: &EnvironmentName,
    ) -> Result<bool, HistoryError>;
}

/// History kept in memory, for tests and dry runs.
#[derive(Debug, Clone, Default)]
pub struct InMemoryHistory {
    builds: Vec<(ServiceName, String, CommitSha)>,
    runs: Vec<(ServiceName, CommitSha, EnvironmentName)>,
}

impl InMemoryHistory {
    /// Records that `image` of `service` was built from `commit`.
    pub fn built(&mut self, service: &ServiceName, image: &ImageRef, commit: &CommitSha) {
        self.builds
            .push((service.clone(), image.to_string(), commit.clone()));
    }

    /// Records that `commit` of `service` ran in `environment`.
    pub fn ran(
        &mut self,
        service: &ServiceName,
        commit: &CommitSha,
        environment: &EnvironmentName,
    ) {
        self.runs
            .push((service.clone(), commit.clone(), environment.clone()));
    }
}

impl History for InMemoryHistory {
    fn commit_of(
        &self,
        service: &ServiceName,
        image: &ImageRef,
    ) -> Result<Option<CommitSha>, HistoryError> {
        let image = image.to_string();
        Ok(self
            .builds
            .iter()
            .find(|(s, i, _)| s == service && *i == image)
            .map(|(_, _, commit)| commit.clone()))
    }

    fn ran_in(
        &self,
        service: &ServiceName,
        commit: &CommitSha,
        environment: &EnvironmentName,
    ) -> Result<bool, HistoryError> {
        Ok(self
            .runs
            .iter()
            .any(|(s, c, e)| s == service && c == commit && e == environment))
    }
}
