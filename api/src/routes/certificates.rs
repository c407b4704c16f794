//! TLS certificates of a hosting service: uploaded with their key, or made from a CSR
//! whose key the server generated and keeps sealed. Private keys never leave the
//! server: not in answers, logs or audit details; the provisioner gets them sealed.
//!
//! A row is `pending` (a CSR waiting for its signed certificate) or `issued`. Uploading
//! a certificate without a key completes the service's pending CSR with the same public
//! key; the CSR's row becomes the certificate.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::policy::Action;
use hostadmin_domain::provisioning::{ResourceAction, ResourceKind};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::certificates::{self as store, CertificateRow, Issued, NewCertificate};
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::DbConnection;

use crate::app::access;
use crate::app::hosting;
use crate::auth::Principal;
use crate::certificates::{self as x509, CertificateName, ParsedCertificate, MAX_CSR_NAMES};
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch};
use crate::http::idempotency;
use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// Whether a row is a CSR waiting for its certificate or a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateStatus {
    Pending,
    Issued,
}

/// A certificate or pending CSR; never its private key.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    pub id: String,
    pub service_id: String,
    pub status: CertificateStatus,
    /// The subject's common name (for a pending CSR: the one asked for).
    pub common_name: String,
    /// DNS names (and IP addresses) the certificate is for; for a CSR the names asked for.
    pub sans: Vec<String>,
    /// RFC 4514 subject; null while pending.
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub not_before: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
    /// Whether intermediate certificates were uploaded with it.
    pub has_chain: bool,
    /// The CSR (PEM) the server made, if it made one.
    pub csr_pem: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CertificateView {
    fn from_row(row: &CertificateRow) -> Self {
        Self {
            id: row.id.clone(),
            service_id: row.service_id.clone(),
            status: if row.certificate_pem.is_some() { CertificateStatus::Issued } else { CertificateStatus::Pending },
            common_name: row.common_name.clone(),
            sans: row.sans.split_whitespace().map(str::to_owned).collect(),
            subject: row.subject.clone(),
            issuer: row.issuer.clone(),
            not_before: row.not_before.map(time::to_utc),
            not_after: row.not_after.map(time::to_utc),
            has_chain: row.chain_pem.is_some(),
            csr_pem: row.csr_pem.clone(),
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
        }
    }
}

fn respond(mut builder: actix_web::HttpResponseBuilder, row: &CertificateRow) -> HttpResponse {
    builder.insert_header((header::ETAG, etag(row.version))).json(CertificateView::from_row(row))
}

/// The context a row's private key is sealed under: a sealed key copied to another row
/// does not open.
fn key_context(id: &str) -> String {
    format!("certificate:{id}")
}

/// CPU work (parsing, key derivation, key generation) off the actix threads.
async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    web::block(work).await.map_err(|e| ApiError::internal(format!("certificate work failed: {e}")))
}

fn record(
    conn: &mut DbConnection,
    context: &AuditContext,
    service: &ServiceRow,
    row_id: &str,
    action: &'static str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    let event = NewEvent {
        action,
        target_type: target::CERTIFICATE,
        target_id: row_id,
        account_id: Some(&service.owner_id),
        details,
    };
    Ok(audit::record(conn, context, event, time::now())?)
}

/// What the provisioner gets: the certificate, its chain and the key still sealed
/// (with the context that opens it).
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

fn sealing_failed(e: hostadmin_domain::sealing::SealError) -> ApiError {
    ApiError::internal(format!("sealing a private key: {e}"))
}

// ---------------------------------------------------------------------------------
// Read.
// ---------------------------------------------------------------------------------

/// The service's certificates and pending CSRs, newest first.
#[utoipa::path(
    tag = "Certificates",
    params(("id" = String, Path, description = "The service's id"), PageQuery),
    responses(
        (status = 200, description = "A page of certificates", body = Page<CertificateView>),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/services/{id}/certificates")]
pub async fn list_certificates(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadHosting)?;
    let service = access::service(&state, &principal.actor, principal.authorize(Action::ReadHosting)?, &id).await?.row;
    let page = paging.request(String::new())?;
    let before = page.before_id.clone();
    let fetch = page.fetch();
    let rows = state.db.run(move |conn| Ok(store::list(conn, &service.id, before.as_deref(), fetch)?)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |row| &row.id, |row| CertificateView::from_row(&row))))
}

/// Loads a row of a service the caller reaches with `action`, or answers 404.
async fn find_row(
    state: &AppState,
    principal: &Principal,
    service_id: &str,
    id: &str,
    action: Action,
) -> Result<(ServiceRow, CertificateRow), ApiError> {
    let service = access::service(state, &principal.actor, principal.authorize(action)?, service_id).await?.row;
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let service_id = service.id.clone();
    let row = state.db.run(move |conn| store::find(conn, &service_id, &id)?.ok_or_else(ApiError::not_found)).await?;
    Ok((service, row))
}

/// Read one certificate or pending CSR.
#[utoipa::path(
    tag = "Certificates",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("certificate_id" = String, Path, description = "The certificate's id"),
    ),
    responses(
        (status = 200, description = "The certificate", body = CertificateView, headers(("ETag" = String))),
        (status = 404, description = "No such certificate for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/services/{id}/certificates/{certificate_id}")]
pub async fn get_certificate(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadHosting)?;
    let (service_id, id) = path.into_inner();
    let (_, row) = find_row(&state, &principal, &service_id, &id, Action::ReadHosting).await?;
    Ok(respond(HttpResponse::Ok(), &row))
}

// ---------------------------------------------------------------------------------
// Upload.
// ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadCertificate {
    /// One PEM `CERTIFICATE` block, at most 16 KiB.
    #[schema(max_length = 16384)]
    pub certificate_pem: String,
    /// The certificate's key (unencrypted PKCS#8, PKCS#1 or SEC1 PEM; ECDSA P-256/P-384,
    /// Ed25519, RSA 2048-8192). Leave it out when the certificate was signed from a CSR
    /// made by this service: the server has its key.
    #[serde(default)]
    #[schema(max_length = 16384)]
    pub private_key_pem: Option<String>,
    /// The intermediate certificates, 1-10 PEM blocks, the certificate's issuer first.
    #[serde(default)]
    #[schema(max_length = 49152)]
    pub chain_pem: Option<String>,
}

/// An upload, read and checked (all of it CPU work): the certificate, its chain and,
/// when given, its matching key sealed for the new row.
struct CheckedUpload {
    certificate: ParsedCertificate,
    chain_pem: Option<String>,
    /// The new row's id and its sealed key; none: the key must come from a pending CSR.
    sealed: Option<(String, String)>,
}

fn check_upload(state: &AppState, input: &UploadCertificate) -> Result<CheckedUpload, ApiError> {
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
            let sealed = state.sealer.seal(&key_context(&id), key.pkcs8_pem().as_bytes()).map_err(sealing_failed)?;
            Some((id, sealed))
        }
        None => None,
    };
    let chain_pem = chain.map(|chain| chain.iter().map(|c| c.pem.as_str()).collect::<String>());
    Ok(CheckedUpload { certificate, chain_pem, sealed })
}

/// Upload a certificate, with its key or for a pending CSR of this service.
///
/// The certificate must not have expired (`422 certificate_expired`); a key that is not
/// the certificate's is `422 certificate_mismatch`; without a key, the certificate's
/// public key must be that of a pending CSR of this service (`422
/// private_key_required` otherwise), and that CSR's row becomes the certificate.
#[utoipa::path(
    tag = "Certificates",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours."),
    ),
    request_body = UploadCertificate,
    responses(
        (status = 201, description = "Uploaded", body = CertificateView, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "`insufficient_scope`, `action_restricted`, `insufficient_grant`, ...", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed PEM, `certificate_expired`, `certificate_mismatch`, `private_key_required`, `unsupported_key`, `chain_mismatch`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/services/{id}/certificates")]
pub async fn upload_certificate(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteHosting)?;
    let service = access::service(&state, &principal.actor, principal.authorize(Action::WriteHosting)?, &id).await?.row;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: UploadCertificate = body.parse()?;
        let checker = state.clone();
        let checked = off_thread(move || check_upload(&checker, &input)).await??;
        let context = principal.audit();
        let requested_by = principal.id().to_owned();
        let writer = state.clone();
        let row = state
            .db
            .write(move |conn| {
                // Uploads to one service wait for each other, so one pending CSR becomes
                // one certificate, not two.
                hosting::lock_active(conn, &service.id)?;
                let now = time::now();
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
                            service_id: service.id.clone(),
                            common_name: String::new(),
                            sans: String::new(),
                            issued: Some(issued),
                            csr_pem: None,
                            public_key_sha256: parsed.public_key_sha256.clone(),
                            private_key_sealed: sealed.clone(),
                            now,
                        };
                        store::insert(conn, &new)?;
                        (id.clone(), false)
                    }
                    None => {
                        let pending = store::find_pending_by_key(conn, &service.id, &parsed.public_key_sha256)?
                            .ok_or_else(|| {
                                ApiError::invalid(
                                    "private_key_required",
                                    "/private_key_pem",
                                    "send the private key: this certificate's key was not made by a pending CSR of this service",
                                )
                            })?;
                        if !store::complete(conn, &pending.id, pending.version, &issued, now)? {
                            return Err(ApiError::Busy("the CSR changed during the request".into()));
                        }
                        (pending.id, true)
                    }
                };
                let row = store::find(conn, &service.id, &id)?
                    .ok_or_else(|| ApiError::internal("the new certificate vanished"))?;
                hosting::provision(
                    conn,
                    &writer,
                    &service,
                    (ResourceKind::Certificate, ResourceAction::Create, &row.id),
                    spec(&row),
                    &requested_by,
                    now,
                )?;
                record(
                    conn,
                    &context,
                    &service,
                    &row.id,
                    actions::CERTIFICATE_UPLOAD,
                    serde_json::json!({
                        "service_id": service.id, "common_name": row.common_name, "sans": parsed.sans,
                        "issuer": row.issuer, "not_after": row.not_after.map(time::to_utc), "from_csr": from_csr,
                    }),
                )?;
                Ok(row)
            })
            .await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/services/{}/certificates/{}", row.service_id, row.id)));
        Ok(respond(builder, &row))
    })
    .await
}

// ---------------------------------------------------------------------------------
// CSR.
// ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"common_name": "www.example.test", "sans": ["example.test"]}))]
pub struct CreateCsr {
    /// A host name or `*.` and a host name (punycode for Unicode names).
    #[schema(min_length = 1, max_length = 253)]
    pub common_name: String,
    /// More names the certificate should cover; the common name is always one of them.
    #[serde(default)]
    #[schema(max_items = 99)]
    pub sans: Vec<String>,
}

fn check_csr(input: &CreateCsr) -> Result<(CertificateName, Vec<CertificateName>), ApiError> {
    let mut errors = Vec::new();
    let common_name =
        CertificateName::parse(&input.common_name).map_err(|e| errors.push(FieldError::new("/common_name", e))).ok();
    if input.sans.len() >= MAX_CSR_NAMES {
        let detail = format!("at most {} names besides the common name", MAX_CSR_NAMES - 1);
        return Err(ApiError::field("/sans", Invalid::new("too_long", detail)));
    }
    let sans: Vec<CertificateName> = input
        .sans
        .iter()
        .enumerate()
        .filter_map(|(index, name)| {
            CertificateName::parse(name).map_err(|e| errors.push(FieldError::new(format!("/sans/{index}"), e))).ok()
        })
        .collect();
    match common_name {
        Some(common_name) if errors.is_empty() => Ok((common_name, sans)),
        _ => Err(ApiError::fields(errors)),
    }
}

/// Make a key pair (ECDSA P-256) and a certificate signing request for it.
///
/// The key stays on the server, sealed; have a CA sign the CSR and upload the
/// certificate without a key. The row is `pending` until then.
#[utoipa::path(
    tag = "Certificates",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours."),
    ),
    request_body = CreateCsr,
    responses(
        (status = 201, description = "The pending CSR", body = CertificateView, headers(("Location" = String), ("ETag" = String))),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A name is not a host name or `*.` wildcard", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/services/{id}/certificates/csr")]
pub async fn create_csr(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteHosting)?;
    let service = access::service(&state, &principal.actor, principal.authorize(Action::WriteHosting)?, &id).await?.row;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateCsr = body.parse()?;
        let (common_name, sans) = check_csr(&input)?;
        let sealer = state.sealer.clone();
        let new = off_thread(move || -> Result<NewCertificate, ApiError> {
            let generated = x509::generate_csr(&common_name, &sans).map_err(ApiError::internal)?;
            let id = new_id();
            let sealed =
                sealer.seal(&key_context(&id), generated.key.pkcs8_pem().as_bytes()).map_err(sealing_failed)?;
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
        let context = principal.audit();
        let row = state
            .db
            .write(move |conn| {
                hosting::require_active(&service)?;
                let new = NewCertificate { service_id: service.id.clone(), now: time::now(), ..new.clone() };
                store::insert(conn, &new)?;
                let row = store::find(conn, &service.id, &new.id)?
                    .ok_or_else(|| ApiError::internal("the new CSR vanished"))?;
                // Nothing reaches the servers yet: the provisioner hears of the
                // certificate when it is uploaded.
                record(
                    conn,
                    &context,
                    &service,
                    &row.id,
                    actions::CERTIFICATE_CSR,
                    serde_json::json!({"service_id": service.id, "common_name": row.common_name, "sans": new.sans}),
                )?;
                Ok(row)
            })
            .await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/services/{}/certificates/{}", row.service_id, row.id)));
        Ok(respond(builder, &row))
    })
    .await
}

// ---------------------------------------------------------------------------------
// Delete.
// ---------------------------------------------------------------------------------

/// Remove a certificate (from the servers too) or a pending CSR and its key.
#[utoipa::path(
    tag = "Certificates",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("certificate_id" = String, Path, description = "The certificate's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such certificate for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[delete("/services/{id}/certificates/{certificate_id}")]
pub async fn delete_certificate(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteHosting)?;
    let (service_id, id) = path.into_inner();
    let (service, row) = find_row(&state, &principal, &service_id, &id, Action::WriteHosting).await?;
    let if_match = IfMatch::from_request(&request);
    let context = principal.audit();
    let requested_by = principal.id().to_owned();
    let writer = state.clone();
    state
        .db
        .write(move |conn| {
            hosting::require_active(&service)?;
            let row = store::find(conn, &service.id, &row.id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(row.version)?;
            if !store::delete(conn, &row.id, row.version)? {
                return Err(ApiError::Busy("the certificate changed during the request".into()));
            }
            let issued = row.certificate_pem.is_some();
            if issued {
                hosting::provision(
                    conn,
                    &writer,
                    &service,
                    (ResourceKind::Certificate, ResourceAction::Delete, &row.id),
                    serde_json::json!({"common_name": row.common_name}),
                    &requested_by,
                    time::now(),
                )?;
            }
            record(
                conn,
                &context,
                &service,
                &row.id,
                actions::CERTIFICATE_DELETE,
                serde_json::json!({"service_id": service.id, "common_name": row.common_name, "issued": issued}),
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
