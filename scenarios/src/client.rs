//! The HTTP client every goose user sends with, built for the target's protocol: plain HTTP/1.1,
//! HTTP/1.1 over TLS, or h2 agreed through ALPN. Over TLS it trusts exactly the certificate the
//! target wrote to its key directory. Whatever the protocol it sends the same headers, so bytes
//! per request compare across protocols.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use authbench_targets::spec::{Protocol, TargetSpec};

/// The user agent goose's own client sends (`goose/<version>`): kept, so bytes per request equal
/// those of runs made with goose's client.
pub const USER_AGENT: &str = "goose/0.19.0";

/// goose's default request timeout, kept for the same reason.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// How clients reach a target: plain HTTP, or TLS trusting one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientSpec {
    /// Plain HTTP/1.1.
    Plain,
    /// HTTPS, trusting only `root_pem` (the target's certificate), speaking `protocol`.
    Tls { root_pem: Arc<[u8]>, protocol: Protocol },
}

/// Why a client for a target could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "cannot read the target's certificate {path}: {source} (start the target with --tls and this --key-dir first)"
    )]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the target's certificate is not PEM: {0} (delete the key directory's tls-* files to have new ones made)")]
    Pem(#[source] reqwest::Error),
    #[error("the target's certificate file holds no certificate (delete the key directory's tls-* files to have new ones made)")]
    NoCertificate,
    #[error("building the HTTP client failed: {0}")]
    Build(#[source] reqwest::Error),
}

impl ClientSpec {
    /// The client for a target of `spec` that keeps its keys (and its certificate) in `key_dir`.
    pub fn for_target(spec: &TargetSpec, key_dir: &Path) -> Result<ClientSpec, ClientError> {
        if !spec.tls {
            return Ok(ClientSpec::Plain);
        }
        let path = key_dir.join(authbench_targets::tls::CERT_FILE);
        let pem = std::fs::read(&path).map_err(|source| ClientError::Read { path, source })?;
        Ok(ClientSpec::Tls { root_pem: pem.into(), protocol: spec.protocol })
    }

    /// `https` over TLS, `http` otherwise.
    pub fn scheme(&self) -> &'static str {
        match self {
            ClientSpec::Plain => "http",
            ClientSpec::Tls { .. } => "https",
        }
    }

    /// A builder with goose's settings (user agent, gzip accepted, timeout) for this protocol;
    /// callers may change the timeout.
    pub fn builder(&self) -> Result<reqwest::ClientBuilder, ClientError> {
        let builder = reqwest::Client::builder().user_agent(USER_AGENT).gzip(true).timeout(TIMEOUT);
        match self {
            ClientSpec::Plain => Ok(builder.http1_only()),
            ClientSpec::Tls { root_pem, protocol } => {
                let roots = reqwest::Certificate::from_pem_bundle(root_pem).map_err(ClientError::Pem)?;
                if roots.is_empty() {
                    return Err(ClientError::NoCertificate);
                }
                let builder = builder.tls_certs_only(roots);
                Ok(match protocol {
                    Protocol::Http1 => builder.http1_only(),
                    // ALPN offers h2 and http/1.1, as browsers do; the target's ALPN decides.
                    Protocol::H2 => builder,
                })
            }
        }
    }

    /// A ready client for this protocol, with goose's settings.
    pub fn build(&self) -> Result<reqwest::Client, ClientError> {
        self.builder()?.build().map_err(ClientError::Build)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authbench_targets::token::alg::Alg;

    #[test]
    fn a_plain_target_needs_no_certificate() {
        let spec = TargetSpec::jwt(Alg::Hs256);
        let c = ClientSpec::for_target(&spec, Path::new("/nonexistent")).unwrap();
        assert_eq!(c, ClientSpec::Plain);
        assert_eq!(c.scheme(), "http");
        assert!(c.build().is_ok());
    }

    #[test]
    fn a_tls_target_without_its_certificate_says_which_file() {
        let spec = TargetSpec { tls: true, ..TargetSpec::jwt(Alg::Hs256) };
        let err = ClientSpec::for_target(&spec, Path::new("/nonexistent")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/tls-cert.pem") && err.contains("--tls"), "{err}");
        let garbage = ClientSpec::Tls { root_pem: Arc::from(&b"not pem"[..]), protocol: Protocol::H2 };
        assert!(matches!(garbage.build(), Err(ClientError::NoCertificate)));
    }
}
