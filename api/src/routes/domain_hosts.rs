//! `/v1/domains/{name}/hosts` (crate::app::hosting::domain_hosts): child hosts of a
//! domain (`ns1.example.com` with its addresses), the glue a registry needs when a
//! domain's name servers lie below it. At most 50 per domain, so the list is one page.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::domains::{HostAddresses, HostName};
use hostadmin_domain::policy::Action;
use hostadmin_persistence::domain_hosts::HostRow;

use crate::app::access;
use crate::app::hosting::domain_hosts;
use crate::app::hosting::domains::list_error;
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::pagination::Page;
use crate::http::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"hostname": "ns1.example.com", "ips": ["192.0.2.53", "2001:db8::53"], "created_at": "2026-11-05T09:30:00Z"}))]
pub struct HostView {
    pub hostname: String,
    pub ips: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl HostView {
    fn from_row(row: &HostRow) -> Self {
        Self {
            hostname: row.hostname.clone(),
            ips: HostAddresses::from_stored(&row.ips),
            created_at: DateTime::from_naive_utc_and_offset(row.created_at, Utc),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"hostname": "ns1.example.com", "ips": ["192.0.2.53", "2001:db8::53"]}))]
pub struct CreateHost {
    /// A host name below the domain.
    #[schema(format = "host-name", max_length = 254, example = "ns1.example.com")]
    pub hostname: String,
    /// 1-13 distinct IPv4 or IPv6 addresses.
    pub ips: Vec<String>,
}

/// The path of one child host.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct HostPath {
    /// The domain name
    name: String,
    /// The child host's name
    hostname: String,
}

/// The domain's child hosts, by name (one page).
///
/// Each host name below the domain with its addresses: the glue a registry needs when
/// the domain's name servers lie below it. At most 50 per domain, so the answer is one
/// page and `next_cursor` is always null. Whoever reaches the domain's service (grantees
/// with `view`). API keys need `domains:read`.
#[utoipa::path(
    tag = "Domains",
    params(("name" = String, Path, description = "The domain name")),
    responses((status = 200, description = "The child hosts", body = Page<HostView>)),
)]
#[get("/domains/{name}/hosts")]
pub async fn list_hosts(
    state: web::Data<AppState>,
    principal: Principal,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadDomains)?;
    let domain = access::domain(&state, &principal.actor, authorized, &name).await?;
    let rows = domain_hosts::hosts(&state, domain).await?;
    Ok(HttpResponse::Ok().json(Page { data: rows.iter().map(HostView::from_row).collect(), next_cursor: None }))
}

/// Add a child host below the domain.
///
/// `422 not_below_domain` at `/hostname` for a name that is not below the domain.
///
/// At most 50 per domain (`409 quota_exceeded`); `409 hostname_taken` when a child host
/// of that name exists anywhere. The owner, an account above it, or a grantee with
/// `manage`; refused while `domain.write` is disabled. Takes `Idempotency-Key`. API keys
/// need `domains:write`.
#[utoipa::path(
    tag = "Domains",
    params(("name" = String, Path, description = "The domain name"), IdempotencyKeyHeader),
    request_body = CreateHost,
    responses(
        (status = 201, description = "Created", body = HostView, headers(("Location" = String))),
        (status = 409, description = "`hostname_taken`, `quota_exceeded` (more than 50 hosts), `service_not_active` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/domains/{name}/hosts")]
pub async fn create_host(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    name: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteDomains)?;
    let domain = access::domain(&state, &principal.actor, authorized, &name).await?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateHost = body.parse()?;
        let hostname = HostName::parse(&input.hostname).map_err(|e| ApiError::field("/hostname", e))?;
        let ips = HostAddresses::parse(&input.ips).map_err(|e| list_error("/ips", e))?;
        let row = domain_hosts::create(&state, &principal.actor, domain.clone(), hostname, ips).await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/domains/{name}/hosts/{}", row.hostname)));
        Ok(builder.json(HostView::from_row(&row)))
    })
    .await
}

/// Remove a child host.
///
/// `404` when the domain has no child host of that name. `409 service_not_active` when
/// the service is not active. The owner, an account above it, or a grantee with
/// `manage`; refused while `domain.write` is disabled (`403 action_restricted`). API
/// keys need `domains:write`.
#[utoipa::path(
    tag = "Domains",
    params(HostPath),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[delete("/domains/{name}/hosts/{hostname}")]
pub async fn delete_host(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<HostPath>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteDomains)?;
    let domain = access::domain(&state, &principal.actor, authorized, &path.name).await?;
    let hostname = HostName::parse(&path.hostname).map_err(|_| ApiError::not_found())?;
    domain_hosts::delete(&state, &principal.actor, domain, hostname).await?;
    Ok(HttpResponse::NoContent().finish())
}
