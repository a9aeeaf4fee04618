//! The GitOps engine from async code: each call opens the mirror (which takes its lock) on
//! the blocking pool, fetches, and runs the work there.

use crate::gitops::{GitOpsError, Mirror};

use super::{Engine, EngineError};

impl Engine {
    /// Runs `work` on a freshly fetched mirror of the GitOps repository.
    pub(super) async fn with_mirror<T, F>(&self, work: F) -> Result<T, EngineError>
    where
        T: Send + 'static,
        F: FnOnce(&Mirror) -> Result<T, GitOpsError> + Send + 'static,
    {
        let data_dir = self.config.data_dir.clone();
        let remote = self.config.gitops_remote.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mirror = Mirror::open(&data_dir, remote)?;
            mirror.fetch()?;
            work(&mirror)
        })
        .await
        .map_err(|error| EngineError::Other(format!("the git task failed: {error}")))?;
        Ok(result?)
    }
}
