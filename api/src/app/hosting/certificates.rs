//! TLS certificates of a hosting service: uploaded with their key, or made from a CSR
//! whose key the server generated and keeps sealed. Private keys never leave the
//! server: not in answers, logs or audit details; the provisioner gets them sealed.
//!
//! A row is pending (a CSR waiting for its signed certificate) or issued. Uploading a
//! certificate without a key completes the service's pending CSR with the same public
//! key; the CSR's row becomes the certificate. Uploads to one service take turns under
//! its lock, so one pending CSR becomes one certificate, not two. The X.509 work (parsing,
//! key derivation and generation) runs off the async threads.

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::policy::{Action, Actor};
use hostadmin_domain::provisioning::{ResourceAction, ResourceKind};
use hostadmin_domain::sealing::{SealError, Sealer};
use hostadmin_domain::time;
use hostadmin_persistence::certificates::{self as store, CertificateRow, Issued, NewCertificate};
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::{DbConnection, StoreError};

use crate::app::access::Reached;
use crate::app::hosting::{self, OfService, Work};
use crate::certificates::{self as x509, CertificateName, ParsedCertificate};
use crate::http::etag::IfMatch;
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

impl OfService for CertificateRow {
    fn find(conn: &mut DbConnection, service_id: &str, id: &str) -> Result<Option<Self>, StoreError> {
        store::find(conn, service_id, id)
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }
}

/// A certificate upload as sent: PEM text, checked by [`upload`].
pub struct Upload {
    pub certificate_pem: String,
    pub private_key_pem: Option<String>,
    pub chain_pem: Option<String>,
}

/// A page of the service's certificates and pending CSRs, newest first.
pub async fn list(
    state: &AppState,
    service: Reached<ServiceRow>,
    before: Option<String>,
    limit: i64,
) -> Result<Vec<CertificateRow>, ApiError> {
    service.expect(Action::ReadHosting)?;
    let service_id = service.row.id;
    state.db.run(move |conn| Ok(store::list(conn, &service_id, before.as_deref(), limit)?)).await
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
    service.expect(Action::WriteHosting)?;
    let sealer = state.sealer.clone();
    let checked = off_thread(move || check_upload(&sealer, &upload)).await??;
    hosting::write(state, actor, &service.row.id, move |work| {
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
        let (id, from_csr) = match &checked.sealed {
            Some((id, sealed)) => {
                let new = NewCertificate {
                    id: id.clone(),
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
                (id.clone(), false)
            }
            None => (complete_csr(work, parsed, &issued)?, true),
        };
        let row: CertificateRow = work.written(&id)?;
        let details = serde_json::json!({
            "service_id": row.service_id, "common_name": row.common_name, "sans": parsed.sans,
            "issuer": row.issuer, "not_after": row.not_after.map(time::to_utc), "from_csr": from_csr,
        });
        work.record(actions::CERTIFICATE_UPLOAD, target::CERTIFICATE, &row.id, details)?;
        work.provision(ResourceKind::Certificate, ResourceAction::Create, &row.id, spec(&row))?;
        Ok(row)
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
    service.expect(Action::WriteHosting)?;
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
    hosting::write(state, actor, &service.row.id, move |work| {
        let new = NewCertificate { service_id: work.service.id.clone(), now: work.now, ..generated.clone() };
        store::insert(work.conn, &new)?;
        let row: CertificateRow = work.written(&new.id)?;
        let details =
            serde_json::json!({"service_id": row.service_id, "common_name": row.common_name, "sans": row.sans});
        work.record(actions::CERTIFICATE_CSR, target::CERTIFICATE, &row.id, details)?;
        Ok(row)
    })
    .await
}

/// Remove a certificate (from the servers too) or a pending CSR and its key.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    certificate: Reached<(ServiceRow, CertificateRow)>,
    if_match: IfMatch,
) -> Result<(), ApiError> {
    hosting::change(state, actor, certificate, Action::WriteHosting, if_match, |work, row: CertificateRow| {
        hosting::applied(store::delete(work.conn, &row.id, row.version)?)?;
        let issued = row.certificate_pem.is_some();
        if issued {
            let spec = serde_json::json!({"common_name": row.common_name});
            work.provision(ResourceKind::Certificate, ResourceAction::Delete, &row.id, spec)?;
        }
        let details =
            serde_json::json!({"service_id": row.service_id, "common_name": row.common_name, "issued": issued});
        work.record(actions::CERTIFICATE_DELETE, target::CERTIFICATE, &row.id, details)
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

/// What the provisioner gets: the certificate, its chain and the key still sealed (with
/// the context that opens it).
fn spec(row: &CertificateRow) -> serde_json::Value {
    serde_json::json!({
        "common_name": row.common_name,
        "sans": row.sans.split_whitespace().collect::<Vec<_>>(),
        "certificate_pem": row.certificate_pem,
        "chain_pem": row.chain_pem,
        "private_key_sealed": row.private_key_sealed,
        "private_key_context": key_context(&row.id),
    })
}

/// The context a row's private key is sealed under: a sealed key copied to another row
/// does not open.
fn key_context(id: &str) -> String {
    format!("certificate:{id}")
}

fn sealing_failed(e: SealError) -> ApiError {
    ApiError::internal(format!("sealing a private key: {e}"))
}

/// CPU work (parsing, key derivation, key generation) off the async threads.
async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| ApiError::internal(format!("certificate work failed: {e}")))
}
