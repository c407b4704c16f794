//! The one HTTP client of the drivers: reqwest over rustls with ring (no OpenSSL), the
//! system's trusted roots plus an optional private CA (a test ACME server's), bounded
//! connect and request times, and no redirects: a driver talks to the URL it was given.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use x509_parser::pem::Pem;

/// How long establishing a connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a client could not be built (a bad CA file, a TLS setup failure).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClientError(String);

impl ClientError {
    pub fn new(detail: impl Into<String>) -> Self {
        Self(detail.into())
    }
}

/// An error with its causes, `outer: inner: innermost`: libraries put the useful part
/// (connection refused, certificate unknown) in the sources.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The certificates of a PEM file's `CERTIFICATE` blocks.
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let mut certificates = Vec::new();
    for block in Pem::iter_from_buffer(pem) {
        let block = block.map_err(|e| ClientError(format!("not PEM: {e}")))?;
        if block.label == "CERTIFICATE" {
            certificates.push(CertificateDer::from(block.contents));
        }
    }
    if certificates.is_empty() {
        return Err(ClientError("no CERTIFICATE block".into()));
    }
    Ok(certificates)
}

/// A client that trusts the system's roots and `extra_roots`.
pub fn client(extra_roots: Vec<CertificateDer<'static>>) -> Result<reqwest::Client, ClientError> {
    // ring, as rcgen and instant-acme use: rustls 0.23.48 deprecates it for lack of
    // post-quantum key exchange, whose provider (aws-lc) costs a C build of its own.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = if extra_roots.is_empty() {
        rustls_platform_verifier::Verifier::new(provider.clone())
    } else {
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots, provider.clone())
    }
    .map_err(|e| ClientError(format!("TLS roots: {e}")))?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError(format!("TLS versions: {e}")))?
        .dangerous() // not dangerous: the platform verifier checks chains and names
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("hostadmin/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ClientError(format!("HTTP client: {e}")))
}

/// A transport failure as a driver error: timeouts and connection failures are worth a
/// retry. The URL is left out of the message: one could carry credentials.
pub fn transport_error(server: &str, error: reqwest::Error) -> super::DriverError {
    use super::DriverError;
    let (timeout, connect) = (error.is_timeout(), error.is_connect() || error.is_request());
    let detail = format!("{server}: {}", with_causes(&error.without_url()));
    if timeout {
        DriverError::Timeout(detail)
    } else if connect {
        DriverError::Unreachable(detail)
    } else {
        DriverError::Unavailable(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_builds_with_and_without_a_private_root() {
        assert!(client(Vec::new()).is_ok());
        let ca = rcgen::generate_simple_self_signed(vec!["ca.test".to_owned()]).unwrap();
        let roots = pem_certificates(ca.cert.pem().as_bytes()).unwrap();
        assert_eq!(roots.len(), 1);
        assert!(client(roots).is_ok());
        assert!(pem_certificates(b"nothing").is_err());
    }
}
