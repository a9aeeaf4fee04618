//! `csr/<username>.yaml`: which clusters a CSR is for, and optionally which of its groups
//! each cluster should get.
//!
//! ```yaml
//! clusters:
//!   integration: { groups: [developers] }
//!   production: {}          # every O of the CSR
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::check::ClusterRequest;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    clusters: BTreeMap<String, RawCluster>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    #[serde(default)]
    groups: Option<BTreeSet<String>>,
}

/// Parses the request file; `file` names it in error messages (`file:line:col: ...`).
pub fn parse(text: &str, file: &str) -> Result<Vec<ClusterRequest>, String> {
    let raw: RawRequest = serde_saphyr::from_str(text).map_err(|err| {
        let location = err.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
        let detail = err.without_snippet().to_string();
        let detail = detail.split(" at line ").next().unwrap_or_default();
        format!(
            "{file}:{}:{}: {detail}; the request lists clusters, e.g. `clusters: {{ integration: {{ groups: [developers] }} }}`",
            location.line(),
            location.column()
        )
    })?;
    if raw.clusters.is_empty() {
        return Err(format!(
            "{file}: `clusters` is empty; name at least one cluster"
        ));
    }
    Ok(raw
        .clusters
        .into_iter()
        .map(|(cluster, wanted)| ClusterRequest {
            cluster,
            groups: wanted.groups,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_clusters_and_optional_groups() {
        let requests = parse(
            "clusters:\n  integration: { groups: [developers] }\n  production: {}\n",
            "csr/alice.yaml",
        )
        .unwrap();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].cluster, "integration");
        assert_eq!(requests[0].groups, Some(["developers".to_owned()].into()));
        assert_eq!(requests[1].groups, None);
    }

    #[test]
    fn errors_point_at_the_place() {
        let err = parse(
            "clusters:\n  integration: { group: [x] }\n",
            "csr/alice.yaml",
        )
        .unwrap_err();
        assert!(err.starts_with("csr/alice.yaml:2:"), "{err}");
        assert!(err.contains("group"), "{err}");
        assert!(parse("clusters: {}\n", "f").is_err());
        assert!(parse("", "f").is_err());
    }
}
