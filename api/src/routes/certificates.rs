//! `/v1/services/{id}/certificates` (crate::app::hosting::certificates,
//! crate::app::hosting::acme): TLS certificates of a hosting service, uploaded with their
//! key, made from a CSR whose key the server keeps sealed, or ordered from the ACME CA.
//! Private keys never leave the server.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::certificates::CertificateRow;

use crate::app::access;
use crate::app::hosting;
use crate::app::hosting::certificates::{self, Upload};
use crate::auth::Principal;
use crate::certificates::{CertificateName, MAX_CSR_NAMES};
use crate::drivers::acme;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch, IfMatchHeader};
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// `pending`: a CSR waiting for its signed certificate, or an ACME order the worker is
/// carrying out; `issued`: it has its certificate; `failed`: the ACME order failed (see
/// `error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateStatus {
    Pending,
    Issued,
    Failed,
}

impl From<hostadmin_domain::certificates::CertificateStatus> for CertificateStatus {
    fn from(status: hostadmin_domain::certificates::CertificateStatus) -> Self {
        use hostadmin_domain::certificates::CertificateStatus as S;
        match status {
            S::Pending => Self::Pending,
            S::Issued => Self::Issued,
            S::Failed => Self::Failed,
        }
    }
}

/// How the certificate came to be: `upload` (with its key), `csr` (a CSR made here, its
/// certificate uploaded), `acme` (ordered from the ACME CA, renewed automatically).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateSource {
    Upload,
    Csr,
    Acme,
}

impl From<hostadmin_domain::certificates::CertificateSource> for CertificateSource {
    fn from(source: hostadmin_domain::certificates::CertificateSource) -> Self {
        use hostadmin_domain::certificates::CertificateSource as S;
        match source {
            S::Upload => Self::Upload,
            S::Csr => Self::Csr,
            S::Acme => Self::Acme,
        }
    }
}

/// A certificate or pending CSR; never its private key.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = certificate_example)]
pub struct CertificateView {
    pub id: String,
    pub service_id: String,
    pub status: CertificateStatus,
    pub source: CertificateSource,
    /// Why the last ACME order failed: the CA's reason. On a `failed` certificate, why
    /// nothing was issued; on an `issued` one, why its renewal failed (it is tried again).
    pub error: Option<String>,
    /// When an ACME certificate is next renewed (30 days before it expires); null while
    /// an order for it runs, and for certificates that are not renewed automatically.
    pub renews_at: Option<DateTime<Utc>>,
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
            status: row.status().into(),
            source: row.source.into(),
            error: row.failure.clone(),
            renews_at: row.renew_at.map(time::to_utc),
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

/// The path of one certificate or pending CSR.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CertificatePath {
    /// The service's id
    id: String,
    /// The certificate's id
    certificate_id: String,
}

fn respond(mut builder: actix_web::HttpResponseBuilder, row: &CertificateRow) -> HttpResponse {
    builder.insert_header((header::ETAG, etag(row.version))).json(CertificateView::from_row(row))
}

/// The service's certificates and pending CSRs, newest first.
///
/// Readable by whoever reaches the service: the owner, the accounts above it, grantees
/// with `view`; anyone else gets `404`. Cursor-paginated (`limit`, `cursor`). Never a
/// private key. API keys need `hosting:read`.
#[utoipa::path(
    tag = "Certificates",
    params(("id" = String, Path, description = "The service's id"), PageQuery),
    responses((status = 200, description = "A page of certificates", body = Page<CertificateView>)),
)]
#[get("/services/{id}/certificates")]
pub async fn list_certificates(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadHosting)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    let page = paging.request(String::new())?;
    let rows = hosting::page::<CertificateRow>(&state, service, page.before_id.clone(), page.fetch()).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |row| &row.id, |row| CertificateView::from_row(&row))))
}

/// Read one certificate or pending CSR.
///
/// `404` for one of another service. Poll it after an ACME order until `status` leaves
/// `pending`. The `ETag` is what `If-Match` of DELETE compares with. Same readers as the
/// list. API keys need `hosting:read`.
#[utoipa::path(
    tag = "Certificates",
    params(CertificatePath),
    responses((status = 200, description = "The certificate", body = CertificateView, headers(("ETag" = String)))),
)]
#[get("/services/{id}/certificates/{certificate_id}")]
pub async fn get_certificate(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<CertificatePath>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadHosting)?;
    let certificate = hosting::reach(&state, &principal.actor, authorized, &path.id, &path.certificate_id).await?;
    Ok(respond(HttpResponse::Ok(), &certificate.row.1))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"certificate_pem": "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU...\n-----END CERTIFICATE-----\n", "chain_pem": null, "private_key_pem": "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49...\n-----END PRIVATE KEY-----\n"}))]
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

/// Upload a certificate, with its key or for a pending CSR of this service.
///
/// The certificate must not have expired (`422 certificate_expired`); a key that is not
/// the certificate's is `422 certificate_mismatch`; without a key, the certificate's
/// public key must be that of a pending CSR of this service (`422
/// private_key_required` otherwise), and that CSR's row becomes the certificate.
/// Replays its answer for a repeated `Idempotency-Key`. API keys need `hosting:write`.
#[utoipa::path(
    tag = "Certificates",
    params(("id" = String, Path, description = "The service's id"), IdempotencyKeyHeader),
    request_body = UploadCertificate,
    responses(
        (status = 201, description = "Uploaded", body = CertificateView, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "`insufficient_scope`, `action_restricted`, `insufficient_grant`, ...", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed PEM, `certificate_expired`, `certificate_mismatch`, `private_key_required`, `unsupported_key`, `chain_mismatch`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/certificates")]
pub async fn upload_certificate(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteHosting)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: UploadCertificate = body.parse()?;
        let upload = Upload {
            certificate_pem: input.certificate_pem,
            private_key_pem: input.private_key_pem,
            chain_pem: input.chain_pem,
        };
        let row = certificates::upload(&state, &principal.actor, service.clone(), upload).await?;
        located(HttpResponse::Created(), &row)
    })
    .await
}

/// An answer about a certificate that now exists (201) or is being ordered (202), with
/// its `Location`.
fn located(mut builder: actix_web::HttpResponseBuilder, row: &CertificateRow) -> Result<HttpResponse, ApiError> {
    builder.insert_header((header::LOCATION, format!("/v1/services/{}/certificates/{}", row.service_id, row.id)));
    Ok(respond(builder, row))
}

/// Each of `names` read as a certificate name; the refused ones are errors at
/// `{pointer}/{index}`.
fn parse_names(names: &[String], pointer: &str, errors: &mut Vec<FieldError>) -> Vec<CertificateName> {
    names
        .iter()
        .enumerate()
        .filter_map(|(index, name)| {
            CertificateName::parse(name).map_err(|e| errors.push(FieldError::new(format!("{pointer}/{index}"), e))).ok()
        })
        .collect()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"common_name": "www.example.test", "sans": ["example.test"]}))]
pub struct CreateCsr {
    /// A host name or `*.` and a host name (punycode for Unicode names).
    #[schema(format = "certificate-name", min_length = 1, max_length = 253)]
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
    let sans = parse_names(&input.sans, "/sans", &mut errors);
    match common_name {
        Some(common_name) if errors.is_empty() => Ok((common_name, sans)),
        _ => Err(ApiError::fields(errors)),
    }
}

/// Make a key pair (ECDSA P-256) and a certificate signing request for it.
///
/// The key stays on the server, sealed; have a CA sign the CSR and upload the
/// certificate without a key. The row is `pending` until then. Replays its answer for a
/// repeated `Idempotency-Key`. API keys need `hosting:write`.
#[utoipa::path(
    tag = "Certificates",
    params(("id" = String, Path, description = "The service's id"), IdempotencyKeyHeader),
    request_body = CreateCsr,
    responses(
        (status = 201, description = "The pending CSR", body = CertificateView, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "`service_not_active` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A name is not a host name or `*.` wildcard", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/certificates/csr")]
pub async fn create_csr(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteHosting)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateCsr = body.parse()?;
        let (common_name, sans) = check_csr(&input)?;
        let row = certificates::create_csr(&state, &principal.actor, service.clone(), common_name, sans).await?;
        located(HttpResponse::Created(), &row)
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"names": ["shop.example.test", "www.shop.example.test"]}))]
pub struct OrderCertificate {
    /// The names the certificate covers, the first as its common name: host names or
    /// `*.` and a host name (punycode for Unicode names), each in a domain of this
    /// service whose DNS hostadmin serves. Repeated names count once.
    #[schema(min_items = 1, max_items = 100)]
    pub names: Vec<String>,
}

fn check_order(input: &OrderCertificate) -> Result<Vec<CertificateName>, ApiError> {
    if input.names.is_empty() || input.names.len() > acme::MAX_NAMES {
        let detail = format!("a certificate has 1 to {} names", acme::MAX_NAMES);
        return Err(ApiError::field("/names", Invalid::new("invalid_length", detail)));
    }
    let mut errors = Vec::new();
    let names = parse_names(&input.names, "/names", &mut errors);
    if errors.is_empty() {
        Ok(names)
    } else {
        Err(ApiError::fields(errors))
    }
}

/// Order a certificate from the installation's ACME CA (Let's Encrypt or another).
///
/// Answers `202` with the certificate `pending`; the worker proves each name to the CA
/// with a DNS-01 challenge written into the domain's zone, then the certificate is
/// `issued` (its key made and kept on the server, sealed), or `failed` with the CA's
/// reason in `error`. Poll the `Location` or listen for the `certificate.issued` /
/// `certificate.failed` webhooks. An issued certificate is renewed by itself 30 days
/// before it expires. Each name must lie in a domain of this service whose DNS
/// hostadmin serves (`422 not_hosted` / `dns_not_managed` at `/names/{i}`); without an
/// ACME CA configured the answer is `409 acme_not_configured`. Replays its answer for a
/// repeated `Idempotency-Key`. API keys need `hosting:write`.
#[utoipa::path(
    tag = "Certificates",
    params(("id" = String, Path, description = "The service's id"), IdempotencyKeyHeader),
    request_body = OrderCertificate,
    responses(
        (status = 202, description = "Ordered: the certificate, pending", body = CertificateView, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "`acme_not_configured`, `service_not_active` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A name is not a host name or `*.` wildcard, is in no domain of the service (`not_hosted`), or in one whose DNS is served elsewhere (`dns_not_managed`)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/certificates/acme")]
pub async fn order_certificate(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteHosting)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: OrderCertificate = body.parse()?;
        let names = check_order(&input)?;
        let row = hosting::acme::order(&state, &principal.actor, service.clone(), names).await?;
        located(HttpResponse::Accepted(), &row)
    })
    .await
}

/// Remove a certificate (from the servers too) or a pending CSR and its key.
///
/// `409 service_not_active` unless the service is active; a stale `If-Match` is `412`.
/// The owner, an account above it, or a grantee with `manage`; refused while
/// `hosting.write` is disabled (`403 action_restricted`). A pending ACME order removed
/// meanwhile is dropped when the CA answers. API keys need `hosting:write`.
#[utoipa::path(
    tag = "Certificates",
    params(CertificatePath, IfMatchHeader),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[delete("/services/{id}/certificates/{certificate_id}")]
pub async fn delete_certificate(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<CertificatePath>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteHosting)?;
    let certificate =
        hosting::reach::<CertificateRow>(&state, &principal.actor, authorized, &path.id, &path.certificate_id).await?;
    hosting::remove(&state, &principal.actor, certificate, IfMatch::from_request(&request)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What the reference shows as an answer.
fn certificate_example() -> serde_json::Value {
    serde_json::json!({"id": "01938a70-4d5e-7f6a-8b7c-9d0e1f2a3b4c", "service_id": "01938a6e-5b7c-7d2e-9f10-4a5b6c7d8e9f", "status": "issued", "source": "acme", "common_name": "example.com", "sans": ["example.com", "www.example.com"], "subject": "CN=example.com", "issuer": "C=US, O=Let's Encrypt, CN=R11", "not_before": "2026-11-05T09:30:00Z", "not_after": "2027-02-03T09:30:00Z", "renews_at": "2027-01-04T09:30:00Z", "has_chain": true, "csr_pem": null, "error": null, "created_at": "2026-11-05T09:30:00Z", "updated_at": "2026-11-05T09:30:00Z"})
}
