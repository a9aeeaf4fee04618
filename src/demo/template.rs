//! The example GitOps repository, built into the binary so `ferry demo` needs nothing on
//! disk: two services, a base and three overlays each, and the policies.

macro_rules! template_file {
    ($path:literal) => {
        (
            $path,
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/templates/gitops-example/",
                $path
            )),
        )
    };
}

/// `(path in the repository, content)` of every file of `templates/gitops-example/`.
pub const GITOPS_EXAMPLE: &[(&str, &str)] = &[
    template_file!("apps/api/base/deployment.yaml"),
    template_file!("apps/api/base/kustomization.yaml"),
    template_file!("apps/api/base/service.yaml"),
    template_file!("apps/api/overlays/integration/kustomization.yaml"),
    template_file!("apps/api/overlays/production/kustomization.yaml"),
    template_file!("apps/api/overlays/staging/kustomization.yaml"),
    template_file!("apps/web/base/deployment.yaml"),
    template_file!("apps/web/base/kustomization.yaml"),
    template_file!("apps/web/base/service.yaml"),
    template_file!("apps/web/overlays/integration/kustomization.yaml"),
    template_file!("apps/web/overlays/production/kustomization.yaml"),
    template_file!("apps/web/overlays/staging/kustomization.yaml"),
    template_file!("policies/csr.yaml"),
    template_file!("policies/promotion.yaml"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A file added to the template must be added here too, or the demo would lack it.
    #[test]
    fn every_template_file_is_built_in() {
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/gitops-example");
        let mut on_disk = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    on_disk.push(path.strip_prefix(&root).unwrap().display().to_string());
                }
            }
        }
        on_disk.sort();
        let built_in: Vec<String> = GITOPS_EXAMPLE
            .iter()
            .map(|(p, _)| (*p).to_owned())
            .collect();
        assert_eq!(built_in, on_disk);
    }
}
