//! Child hosts of a domain (`ns1.example.com` with its addresses): the glue a registry
//! needs when a domain's name servers lie below it. At most [`MAX_HOSTS`] per domain,
//! so the list is one page.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::domains::{HostAddresses, HostName};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::policy::Action;
use hostadmin_domain::provisioning::{ResourceAction, ResourceKind};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{self, NewEvent};
use hostadmin_persistence::domain_hosts::{self as host_store, HostRow};
use hostadmin_persistence::StoreError;

use crate::app::access;
use crate::app::hosting;
use crate::app::hosting::domains::list_error;
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::idempotency;
use crate::http::pagination::Page;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// Child hosts per domain; registries accept a handful, 50 is far above real use.
pub const MAX_HOSTS: i64 = 50;

#[derive(Debug, Serialize, ToSchema)]
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
pub struct CreateHost {
    /// A host name below the domain.
    #[schema(example = "ns1.example.com")]
    pub hostname: String,
    /// 1-13 distinct IPv4 or IPv6 addresses.
    pub ips: Vec<String>,
}

/// The domain's child hosts, by name (one page).
#[utoipa::path(
    tag = "Domains",
    params(("name" = String, Path, description = "The domain name")),
    responses(
        (status = 200, description = "The child hosts", body = Page<HostView>),
        (status = 404, description = "No such domain for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/domains/{name}/hosts")]
pub async fn list_hosts(
    state: web::Data<AppState>,
    principal: Principal,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadDomains)?;
    let reached = access::domain(&state, &principal.actor, principal.authorize(Action::ReadDomains)?, &name).await?;
    let domain = reached.row.domain;
    let rows = state.db.run(move |conn| Ok(host_store::list(conn, &domain.id)?)).await?;
    Ok(HttpResponse::Ok().json(Page { data: rows.iter().map(HostView::from_row).collect(), next_cursor: None }))
}

/// Add a child host below the domain.
#[utoipa::path(
    tag = "Domains",
    params(
        ("name" = String, Path, description = "The domain name"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours."),
    ),
    request_body = CreateHost,
    responses(
        (status = 201, description = "Created", body = HostView, headers(("Location" = String))),
        (status = 404, description = "No such domain for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`hostname_taken`, `quota_exceeded` (more than 50 hosts) or `service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/domains/{name}/hosts")]
pub async fn create_host(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    name: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteDomains)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let reached = access::domain(&state, &principal.actor, principal.authorize(Action::WriteDomains)?, &name).await?;
    let domain = reached.row.domain;
    let service = reached.row.service;
        let input: CreateHost = body.parse()?;
        let hostname = HostName::parse(&input.hostname).map_err(|e| ApiError::field("/hostname", e))?;
        let parent = hostadmin_domain::domains::DomainName::parse(&domain.name)
            .map_err(|e| ApiError::internal(format!("stored name {}: {e}", domain.name)))?;
        if !parent.is_parent_of(&hostname) {
            return Err(ApiError::field(
                "/hostname",
                Invalid::new("not_below_domain", format!("must be a name below {}", domain.name)),
            ));
        }
        let ips = HostAddresses::parse(&input.ips).map_err(|e| list_error("/ips", e))?;
        hosting::require_active(&service)?;
        let context = principal.audit();
        let requested_by = principal.id().to_owned();
        let app = state.clone();
        let row = state
            .db
            .write(move |conn| {
                let now = time::now();
                // Serializes concurrent additions to one domain's hosts (the count).
                crate::app::hosting::lock_active(conn, &service.id)?;
                if host_store::count(conn, &domain.id)? >= MAX_HOSTS {
                    return Err(ApiError::conflict(
                        "quota_exceeded",
                        format!("a domain has at most {MAX_HOSTS} child hosts"),
                    ));
                }
                let row = HostRow {
                    id: new_id(),
                    domain_id: domain.id.clone(),
                    hostname: hostname.as_str().to_owned(),
                    ips: ips.to_stored(),
                    created_at: now,
                };
                match host_store::insert(conn, &row) {
                    Ok(()) => {}
                    Err(StoreError::Unique(_)) => {
                        return Err(ApiError::conflict("hostname_taken", format!("{} exists already", row.hostname)))
                    }
                    Err(other) => return Err(other.into()),
                }
                audit::record(
                    conn,
                    &context,
                    NewEvent {
                        action: actions::DOMAIN_HOST_CREATE,
                        target_type: target::DOMAIN,
                        target_id: &domain.id,
                        account_id: Some(&domain.owner_id),
                        details: serde_json::json!({"hostname": row.hostname, "ips": HostAddresses::from_stored(&row.ips)}),
                    },
                    now,
                )?;
                hosting::provision(
                    conn,
                    &app,
                    &service,
                    (ResourceKind::Domain, ResourceAction::Update, &domain.id),
                    serde_json::json!({"name": domain.name, "host_added": {"hostname": row.hostname, "ips": HostAddresses::from_stored(&row.ips)}}),
                    &requested_by,
                    now,
                )?;
                Ok(row)
            })
            .await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/domains/{name}/hosts/{}", row.hostname)));
        Ok(builder.json(HostView::from_row(&row)))
    })
    .await
}

/// Remove a child host.
#[utoipa::path(
    tag = "Domains",
    params(
        ("name" = String, Path, description = "The domain name"),
        ("hostname" = String, Path, description = "The child host's name"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such domain or host for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[delete("/domains/{name}/hosts/{hostname}")]
pub async fn delete_host(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteDomains)?;
    let (name, hostname) = path.into_inner();
    let reached = access::domain(&state, &principal.actor, principal.authorize(Action::WriteDomains)?, &name).await?;
    let domain = reached.row.domain;
    let service = reached.row.service;
    let hostname = HostName::parse(&hostname).map_err(|_| ApiError::not_found())?;
    hosting::require_active(&service)?;
    let context = principal.audit();
    let requested_by = principal.id().to_owned();
    let app = state.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            if !host_store::delete(conn, &domain.id, hostname.as_str())? {
                return Err(ApiError::not_found());
            }
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::DOMAIN_HOST_DELETE,
                    target_type: target::DOMAIN,
                    target_id: &domain.id,
                    account_id: Some(&domain.owner_id),
                    details: serde_json::json!({"hostname": hostname.as_str()}),
                },
                now,
            )?;
            hosting::provision(
                conn,
                &app,
                &service,
                (ResourceKind::Domain, ResourceAction::Update, &domain.id),
                serde_json::json!({"name": domain.name, "host_removed": hostname.as_str()}),
                &requested_by,
                now,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
