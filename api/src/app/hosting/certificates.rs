//! TLS certificates of a hosting service: uploaded with their key, or made from a CSR
//! whose key the server generated and keeps sealed. Private keys never leave the
//! server: not in answers, logs or audit details; the provisioner gets them sealed.
//!
//! A row is pending (a CSR waiting for its signed certificate) or issued. Uploading a
//! certificate without a key completes the service's pending CSR with the same public
//! key; the CSR's row becomes the certificate. Uploads to one service take turns under
//! its lock, so one pending CSR becomes one certificate, not two. The X.509 work (parsing,
//! key derivation and generation) runs off the async threads.

use hostadmin_domain::audit as actions;
use hostadmin_domain::certificates::CertificateSource;
use hostadmin_domain::ids::new_id;
use hostadmin_domain::policy::Actor;
use hostadmin_domain::sealing::{SealError, Sealer};
use hostadmin_domain::time;
use hostadmin_persistence::certificates::{self as store, CertificateRow, Issued, NewCertificate};
use hostadmin_persistence::services::ServiceRow;

use crate::app::access::Reached;
use crate::app::hosting::{self, Work};
use crate::certificates::{self as x509, CertificateName, ParsedCertificate};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// A certificate upload as sent: PEM text, checked by [`upload`].
pub struct Upload {
    pub certificate_pem: String,
    pub private_key_pem: Option<String>,
    pub chain_pem: Option<String>,
}

/// Upload a certificate, with its key or for a pending CSR of this service: `422`
/// `certificate_expired`, `certificate_mismatch` (a key that is not the certificate's),
/// `private_key_required` (no key, and no pending CSR with the certificate's public key),
/// and the PEM errors, each at its field.
pub async fn upload(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    upload: Upload,
) -> Result<CertificateRow, ApiError> {
    let sealer = state.sealer.clone();
    let checked = off_thread(move || check_upload(&sealer, &upload)).await??;
    hosting::add(state, actor, &service, actions::CERTIFICATE_UPLOAD, move |work| {
        let parsed = &checked.certificate;
        let issued = Issued {
            common_name: parsed.common_name.clone(),
            sans: parsed.sans.join(" "),
            subject: parsed.subject.clone(),
            issuer: parsed.issuer.clone(),
            not_before: parsed.not_before,
            not_after: parsed.not_after,
            certificate_pem: parsed.pem.clone(),
            chain_pem: checked.chain_pem.clone(),
        };
        let Some((id, sealed)) = &checked.sealed else { return complete_csr(work, parsed, &issued) };
        let new = NewCertificate {
            id: id.clone(),
            source: CertificateSource::Upload,
            service_id: work.service.id.clone(),
            common_name: String::new(),
            sans: String::new(),
            issued: Some(issued),
            csr_pem: None,
            public_key_sha256: parsed.public_key_sha256.clone(),
            private_key_sealed: sealed.clone(),
            now: work.now,
        };
        store::insert(work.conn, &new)?;
        Ok(new.id)
    })
    .await
}

/// The pending CSR of the service whose key the certificate has becomes the certificate;
/// answers its id.
fn complete_csr(work: &mut Work<'_>, parsed: &ParsedCertificate, issued: &Issued) -> Result<String, ApiError> {
    let pending =
        store::find_pending_by_key(work.conn, &work.service.id, &parsed.public_key_sha256)?.ok_or_else(|| {
            ApiError::invalid(
                "private_key_required",
                "/private_key_pem",
                "send the private key: this certificate's key was not made by a pending CSR of this service",
            )
        })?;
    hosting::applied(store::complete(work.conn, &pending.id, pending.version, issued, work.now)?)?;
    Ok(pending.id)
}

/// Make a key pair (ECDSA P-256) and a certificate signing request for it. The key stays
/// on the server, sealed; the row is pending until the signed certificate is uploaded,
/// and nothing reaches the servers before.
pub async fn create_csr(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    common_name: CertificateName,
    sans: Vec<CertificateName>,
) -> Result<CertificateRow, ApiError> {
    let sealer = state.sealer.clone();
    let generated = off_thread(move || -> Result<NewCertificate, ApiError> {
        let generated = x509::generate_csr(&common_name, &sans).map_err(ApiError::internal)?;
        let id = new_id();
        let sealed = sealer.seal(&key_context(&id), generated.key.pkcs8_pem().as_bytes()).map_err(sealing_failed)?;
        let mut names = vec![common_name.as_str().to_owned()];
        for name in &sans {
            if !names.iter().any(|n| n == name.as_str()) {
                names.push(name.as_str().to_owned());
            }
        }
        Ok(NewCertificate {
            id,
            source: CertificateSource::Csr,
            service_id: String::new(),
            common_name: common_name.as_str().to_owned(),
            sans: names.join(" "),
            issued: None,
            csr_pem: Some(generated.csr_pem),
            public_key_sha256: generated.key.public_key_sha256(),
            private_key_sealed: sealed,
            now: time::now(),
        })
    })
    .await??;
    hosting::add(state, actor, &service, actions::CERTIFICATE_CSR, move |work| {
        let new = NewCertificate { service_id: work.service.id.clone(), now: work.now, ..generated.clone() };
        store::insert(work.conn, &new)?;
        Ok(new.id)
    })
    .await
}

/// An upload, read and checked: the certificate, its chain and, when given, its
/// matching key sealed for the new row.
struct CheckedUpload {
    certificate: ParsedCertificate,
    chain_pem: Option<String>,
    /// The new row's id and its sealed key; none: the key must come from a pending CSR.
    sealed: Option<(String, String)>,
}

fn check_upload(sealer: &Sealer, input: &Upload) -> Result<CheckedUpload, ApiError> {
    let mut errors = Vec::new();
    let certificate = x509::parse_certificate(&input.certificate_pem)
        .map_err(|invalid| errors.push(FieldError::new("/certificate_pem", invalid)))
        .ok();
    let key = input.private_key_pem.as_deref().and_then(|pem| {
        x509::parse_private_key(pem).map_err(|invalid| errors.push(FieldError::new("/private_key_pem", invalid))).ok()
    });
    let chain = match (&certificate, input.chain_pem.as_deref()) {
        (Some(certificate), Some(text)) => x509::parse_chain(text, certificate)
            .map_err(|invalid| errors.push(FieldError::new("/chain_pem", invalid)))
            .ok(),
        _ => None,
    };
    let Some(certificate) = certificate.filter(|_| errors.is_empty()) else {
        return Err(ApiError::fields(errors));
    };
    if certificate.not_after < time::now() {
        return Err(ApiError::invalid(
            "certificate_expired",
            "/certificate_pem",
            format!("the certificate expired at {}", time::to_utc(certificate.not_after).to_rfc3339()),
        ));
    }
    let sealed = match key {
        Some(key) if !x509::key_matches(&certificate, &key) => {
            return Err(ApiError::invalid(
                "certificate_mismatch",
                "/private_key_pem",
                "the private key is not the key of this certificate",
            ))
        }
        Some(key) => {
            let id = new_id();
            let sealed = sealer.seal(&key_context(&id), key.pkcs8_pem().as_bytes()).map_err(sealing_failed)?;
            Some((id, sealed))
        }
        None => None,
    };
    let chain_pem = chain.map(|chain| chain.iter().map(|c| c.pem.as_str()).collect::<String>());
    Ok(CheckedUpload { certificate, chain_pem, sealed })
}

/// The context a row's private key is sealed under: a sealed key copied to another row
/// does not open.
pub fn key_context(id: &str) -> String {
    format!("certificate:{id}")
}

pub(crate) fn sealing_failed(e: SealError) -> ApiError {
    ApiError::internal(format!("sealing a private key: {e}"))
}

/// CPU work (parsing, key derivation, key generation) off the async threads.
pub(crate) async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| ApiError::internal(format!("certificate work failed: {e}")))
}
