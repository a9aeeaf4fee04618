//! A kubeconfig for one user on one cluster. It never holds a private key: the user's own key
//! stays on their machine, and the kubeconfig points at it by a relative path.

use openssl::base64::encode_block;

/// What a kubeconfig needs; all values are already validated (names are printable ASCII).
#[derive(Debug, Clone, Copy)]
pub struct KubeconfigInput<'a> {
    pub cluster: &'a str,
    pub server: &'a str,
    pub ca_cert_pem: &'a [u8],
    pub client_cert_pem: &'a [u8],
    pub username: &'a str,
}

/// The path written in place of a key. kubectl resolves relative paths against the
/// kubeconfig's own directory, so putting the key next to the file is enough.
pub fn key_placeholder(username: &str) -> String {
    format!("{username}.key")
}

/// JSON strings are valid YAML double-quoted scalars, which sidesteps every YAML quoting
/// rule for values such as `system:x` or `#`.
fn quoted(value: &str) -> String {
    serde_json::Value::from(value).to_string()
}

pub fn render(input: &KubeconfigInput<'_>) -> String {
    let context = quoted(&format!("{}@{}", input.username, input.cluster));
    let cluster = quoted(input.cluster);
    format!(
        "# kubeconfig for {user} on {cluster_plain}, issued by Ferry.\n\
         # Put your private key (the one you made the CSR with) at the client-key path,\n\
         # which is relative to this file, or change the path.\n\
         apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: {cluster}\n\
         \x20 cluster:\n\
         \x20   server: {server}\n\
         \x20   certificate-authority-data: {ca}\n\
         users:\n\
         - name: {context}\n\
         \x20 user:\n\
         \x20   client-certificate-data: {cert}\n\
         \x20   client-key: {key}\n\
         contexts:\n\
         - name: {context}\n\
         \x20 context:\n\
         \x20   cluster: {cluster}\n\
         \x20   user: {context}\n\
         current-context: {context}\n",
        user = input.username,
        cluster_plain = input.cluster,
        server = quoted(input.server),
        ca = quoted(&encode_block(input.ca_cert_pem)),
        cert = quoted(&encode_block(input.client_cert_pem)),
        key = quoted(&key_placeholder(input.username)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case")]
    struct Config {
        kind: String,
        clusters: Vec<Named<ClusterEntry>>,
        users: Vec<Named<UserEntry>>,
        contexts: Vec<Named<ContextEntry>>,
        current_context: String,
    }
    #[derive(Deserialize)]
    struct Named<T> {
        name: String,
        #[serde(alias = "cluster", alias = "user", alias = "context")]
        body: T,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case")]
    struct ClusterEntry {
        server: String,
        certificate_authority_data: String,
    }
    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    struct UserEntry {
        client_certificate_data: String,
        client_key: String,
    }
    #[derive(Deserialize)]
    struct ContextEntry {
        cluster: String,
        user: String,
    }

    #[test]
    fn renders_a_kubeconfig_that_parses_back() {
        let input = KubeconfigInput {
            cluster: "integration",
            server: "https://integration.k8s.example.com:6443",
            ca_cert_pem: b"-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n",
            client_cert_pem: b"-----BEGIN CERTIFICATE-----\nME\n-----END CERTIFICATE-----\n",
            username: "alice#1:x",
        };
        let text = render(&input);
        let config: Config = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(config.kind, "Config");
        assert_eq!(config.clusters[0].name, "integration");
        assert_eq!(config.clusters[0].body.server, input.server);
        let ca = openssl::base64::decode_block(&config.clusters[0].body.certificate_authority_data)
            .unwrap();
        assert_eq!(ca, input.ca_cert_pem);
        let user = &config.users[0].body;
        let cert = openssl::base64::decode_block(&user.client_certificate_data).unwrap();
        assert_eq!(cert, input.client_cert_pem);
        assert_eq!(user.client_key, "alice#1:x.key");
        assert_eq!(config.contexts[0].body.cluster, "integration");
        assert_eq!(config.contexts[0].body.user, config.users[0].name);
        assert_eq!(config.current_context, "alice#1:x@integration");
        assert!(!text.contains("client-key-data"));
    }
}
