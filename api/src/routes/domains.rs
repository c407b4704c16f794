//! Domains: names served by a hosting service (`hosted`), later also registered ones.
//!
//! A domain is reached through its service: whoever reaches the service (own reach or
//! a grant) reaches its domains, with the grant's permissions. One owner per name
//! across the installation, kept by the unique index on the canonical name.
//!
//! Decisions where the contract is silent:
//! - `lock_supported` is `true` for every domain: on a hosted domain the lock is a
//!   panel-side protection (a locked domain refuses delete and a move, `409
//!   domain_locked`); on a registered one it will also be the registry's transfer lock.
//! - A name below or above another owner's domain is `409 domain_taken` too: otherwise a
//!   stranger could serve `shop.example.com` next to the owner of `example.com`.
//! - Deleting a domain removes its child hosts and DNS records with it; while mailboxes
//!   or forwards use it, delete and move answer `409 domain_in_use`.
//! - A move takes the DNS records along: they count against the new service's quota.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::audit::{self as actions};
use hostadmin_domain::catalog::{fits, QuotaKey, ServiceKind};
use hostadmin_domain::domains::{DomainName, Nameservers, RedirectTarget, RedirectType};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::policy::Action;
use hostadmin_domain::provisioning::{ResourceAction, ResourceKind};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::domains::{self as domain_store, DomainChanges, DomainFilter, DomainRow, NewDomain};
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::{usage, DbConnection, StoreError};

use crate::app::access;
use crate::app::hosting;
use crate::app::hosting::domains::{changed_fields, list_error, record, spec};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, precondition_failed, IfMatch};
use crate::http::idempotency;
use crate::http::merge_patch::Patch;
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// A redirect of the whole domain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redirect {
    /// `301`, `302` or `masked` (a frame that keeps the domain in the address bar).
    #[serde(rename = "type")]
    #[schema(example = "301")]
    pub type_: String,
    /// An absolute http or https URL without credentials, at most 2000 characters.
    #[schema(example = "https://www.example.com/")]
    pub target: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DomainView {
    /// Lowercase punycode without the final dot.
    pub name: String,
    pub unicode_name: String,
    /// `hosted` or `registered`.
    pub kind: String,
    /// The `domain` service of a registered domain; null for a hosted one.
    pub service_id: Option<String>,
    /// The hosting service that serves the domain (and whose quota it counts against).
    pub hosting_service_id: Option<String>,
    /// The domain's own name servers; null: the provider's (`dns_managed`).
    pub nameservers: Option<Vec<String>>,
    /// Whether the zone is served by the provider (records can be changed here).
    pub dns_managed: bool,
    /// A locked domain refuses delete and a move to another service.
    pub locked: bool,
    pub lock_supported: bool,
    pub auto_renew: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub redirect: Option<Redirect>,
    pub created_at: DateTime<Utc>,
}

fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(at, Utc)
}

impl DomainView {
    pub fn from_row(row: &DomainRow) -> Self {
        let redirect = match (&row.redirect_type, &row.redirect_target) {
            (Some(type_), Some(target)) => Some(Redirect { type_: type_.clone(), target: target.clone() }),
            _ => None,
        };
        Self {
            name: row.name.clone(),
            unicode_name: row.unicode_name.clone(),
            kind: row.kind.clone(),
            service_id: row.service_id.clone(),
            hosting_service_id: row.hosting_service_id.clone(),
            nameservers: row.nameservers.as_deref().map(Nameservers::from_stored),
            dns_managed: row.nameservers.is_none(),
            locked: row.locked,
            lock_supported: true,
            auto_renew: row.auto_renew,
            expires_at: row.expires_at.map(utc),
            redirect,
            created_at: utc(row.created_at),
        }
    }
}

pub fn domain_response(mut builder: actix_web::HttpResponseBuilder, row: &DomainRow) -> HttpResponse {
    builder.insert_header((header::ETAG, etag(row.version))).json(DomainView::from_row(row))
}

fn taken(name: &str) -> ApiError {
    ApiError::conflict("domain_taken", format!("{name} (or a name above or below it) belongs to another owner"))
}

fn locked_error(row: &DomainRow) -> ApiError {
    ApiError::conflict("domain_locked", format!("{} is locked: unlock it first", row.name))
}

fn is_name_key(constraint: &str) -> bool {
    constraint == domain_store::NAME_KEY || constraint.contains("domains.name")
}

fn is_hosting(service: &ServiceRow) -> bool {
    matches!(service.kind, ServiceKind::WebHosting | ServiceKind::MailHosting)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDomain {
    /// Unicode or punycode, any case, with or without the final dot.
    #[schema(example = "bücher.example")]
    pub name: String,
    /// A web or mail hosting service of the caller's.
    pub service_id: String,
}

/// Add a domain to a hosting service (a `hosted` domain).
#[utoipa::path(
    tag = "Domains",
    request_body = CreateDomain,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours.")),
    responses(
        (status = 201, description = "Created", body = DomainView, headers(("Location" = String), ("ETag" = String))),
        (status = 404, description = "`not_found`: the service is not one the caller reaches", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`domain_taken`, `quota_exceeded`, `service_not_active` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/domains")]
pub async fn create_domain(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteDomains)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateDomain = body.parse()?;
        let service =
            access::service(&state, &principal.actor, principal.authorize(Action::WriteDomains)?, &input.service_id)
                .await?
                .row;
        let name = DomainName::parse(&input.name).map_err(|invalid| ApiError::field("/name", invalid))?;
        if !is_hosting(&service) {
            return Err(ApiError::field(
                "/service_id",
                Invalid::new("wrong_service_kind", "domains are added to a web or mail hosting service"),
            ));
        }
        hosting::require_active(&service)?;
        let context = principal.audit();
        let requested_by = principal.id().to_owned();
        let app = state.clone();
        let row = state
            .db
            .write(move |conn| {
                let now = time::now();
                hosting::reserve(conn, &service, QuotaKey::Domains)?;
                let ancestors: Vec<String> = name.ancestors().into_iter().map(DomainName::into_string).collect();
                let foreign_above =
                    domain_store::owners_of(conn, &ancestors)?.into_iter().any(|(_, owner)| owner != service.owner_id);
                if foreign_above || domain_store::other_owner_below(conn, name.as_str(), &service.owner_id)? {
                    return Err(taken(name.as_str()));
                }
                let new = NewDomain {
                    id: new_id(),
                    name: name.as_str().to_owned(),
                    unicode_name: name.unicode(),
                    kind: "hosted".to_owned(),
                    owner_id: service.owner_id.clone(),
                    service_id: None,
                    hosting_service_id: Some(service.id.clone()),
                    now,
                };
                match domain_store::insert(conn, &new) {
                    Ok(()) => {}
                    Err(StoreError::Unique(constraint)) if is_name_key(&constraint) => {
                        return Err(taken(name.as_str()))
                    }
                    Err(other) => return Err(other.into()),
                }
                let row =
                    domain_store::find(conn, &new.id)?.ok_or_else(|| ApiError::internal("the new domain vanished"))?;
                record(
                    conn,
                    &context,
                    actions::DOMAIN_CREATE,
                    &row,
                    serde_json::json!({"name": row.name, "service_id": service.id}),
                    now,
                )?;
                hosting::provision(
                    conn,
                    &app,
                    &service,
                    (ResourceKind::Domain, ResourceAction::Create, &row.id),
                    spec(&row),
                    &requested_by,
                    now,
                )?;
                Ok(row)
            })
            .await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/domains/{}", row.name)));
        Ok(domain_response(builder, &row))
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListDomainsQuery {
    /// A case-insensitive prefix of the name (punycode or Unicode).
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
    /// Only the domains of this service.
    pub service_id: Option<String>,
}

/// The domains of the services the caller reaches (own, subtree, granted); newest first.
#[utoipa::path(
    tag = "Domains",
    params(ListDomainsQuery, PageQuery),
    responses(
        (status = 200, description = "A page of domains", body = Page<DomainView>),
        (status = 404, description = "`not_found`: the `service_id` filter names no service the caller reaches", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/domains")]
pub async fn list_domains(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListDomainsQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadDomains)?;
    let query = query.into_inner();
    let q = search_prefix(query.q.as_deref())?;
    if let Some(service_id) = &query.service_id {
        access::service(&state, &principal.actor, principal.authorize(Action::ReadDomains)?, service_id).await?;
    }
    let filters =
        format!("q={}&service={}", q.as_deref().unwrap_or_default(), query.service_id.as_deref().unwrap_or_default());
    let page = paging.request(filters)?;
    let filter = DomainFilter { q, service_id: query.service_id, before_id: page.before_id.clone() };
    let reach = principal.reach();
    let fetch = page.fetch();
    let rows = state.db.run(move |conn| Ok(domain_store::list_in_scope(conn, &reach, &filter, fetch)?)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| &r.id, |r| DomainView::from_row(&r))))
}

/// Read one domain.
#[utoipa::path(
    tag = "Domains",
    params(("name" = String, Path, description = "The domain name: Unicode or punycode, any case, final dot optional")),
    responses(
        (status = 200, description = "The domain", body = DomainView, headers(("ETag" = String))),
        (status = 404, description = "No such domain for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/domains/{name}")]
pub async fn get_domain(
    state: web::Data<AppState>,
    principal: Principal,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadDomains)?;
    let reached = access::domain(&state, &principal.actor, principal.authorize(Action::ReadDomains)?, &name).await?;
    let row = reached.row.domain;
    Ok(domain_response(HttpResponse::Ok(), &row))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDomain {
    /// 2-13 distinct host names; null returns the domain to the provider's name servers.
    #[schema(value_type = Option<Vec<String>>)]
    #[serde(default)]
    pub nameservers: Patch<Vec<String>>,
    #[schema(value_type = Option<bool>)]
    #[serde(default)]
    pub locked: Patch<bool>,
    #[schema(value_type = Option<bool>)]
    #[serde(default)]
    pub auto_renew: Patch<bool>,
    /// Another active web or mail hosting service of the same owner.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub hosting_service_id: Patch<String>,
}

fn not_null<T: Clone>(patch: &Patch<T>, pointer: &str) -> Result<Option<T>, ApiError> {
    match patch {
        Patch::Absent => Ok(None),
        Patch::Value(value) => Ok(Some(value.clone())),
        Patch::Null => Err(ApiError::field(pointer, Invalid::new("required", "cannot be cleared"))),
    }
}

/// The actions a PATCH body asks for, by the fields present: read before the body is
/// validated, so that scope and restriction checks (403) come before reach and input.
fn patch_actions(body: &JsonBody) -> Vec<Action> {
    let fields = serde_json::from_slice::<serde_json::Value>(body.bytes()).ok();
    let has = |field: &str| fields.as_ref().and_then(|v| v.get(field)).is_some();
    let mut needed = Vec::new();
    if has("nameservers") {
        needed.push(Action::SetDomainNameservers);
    }
    if has("locked") {
        needed.push(Action::LockDomain);
    }
    needed
}

/// Change a domain's name servers, lock, auto-renewal or hosting service (JSON merge
/// patch). `nameservers` needs the `domain.nameservers` action, `locked` `domain.lock`.
#[utoipa::path(
    tag = "Domains",
    params(
        ("name" = String, Path, description = "The domain name"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body(content = UpdateDomain, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed domain", body = DomainView, headers(("ETag" = String))),
        (status = 404, description = "No such domain (or target service) for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`domain_locked`, `domain_in_use`, `quota_exceeded` or `service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[patch("/domains/{name}")]
pub async fn update_domain(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    name: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let needed = patch_actions(&body);
    let authorized = principal.authorize(Action::WriteDomains)?;
    for action in &needed {
        principal.authorize(*action)?;
    }
    let reached = access::domain(&state, &principal.actor, authorized, &name).await?;
    for action in &needed {
        reached.also(&principal.actor, *action)?;
    }
    let row = reached.row.domain;
    let service = reached.row.service;
    let input: UpdateDomain = body.parse()?;
    let nameservers = match &input.nameservers {
        Patch::Absent => None,
        Patch::Null => Some(None),
        Patch::Value(list) => {
            Some(Some(Nameservers::parse(list).map_err(|e| list_error("/nameservers", e))?.to_stored()))
        }
    };
    let locked = not_null(&input.locked, "/locked")?;
    let auto_renew = not_null(&input.auto_renew, "/auto_renew")?;
    let move_to = not_null(&input.hosting_service_id, "/hosting_service_id")?;
    let target = match move_to {
        Some(id) if Some(id.as_str()) != row.hosting_service_id.as_deref() => {
            if row.kind != "hosted" && row.hosting_service_id.is_none() {
                return Err(ApiError::field(
                    "/hosting_service_id",
                    Invalid::new("not_supported", "this domain is not served by a hosting service"),
                ));
            }
            let target =
                access::service(&state, &principal.actor, principal.authorize(Action::WriteDomains)?, &id).await?.row;
            if target.owner_id != row.owner_id {
                return Err(ApiError::not_found());
            }
            if !is_hosting(&target) {
                return Err(ApiError::field(
                    "/hosting_service_id",
                    Invalid::new("wrong_service_kind", "domains are served by a web or mail hosting service"),
                ));
            }
            Some(target)
        }
        _ => None,
    };
    IfMatch::from_request(&request).check(row.version)?;
    hosting::require_active(&service)?;
    if let Some(target) = &target {
        hosting::require_active(target)?;
    }
    let changes = DomainChanges {
        nameservers,
        locked,
        auto_renew,
        hosting_service_id: target.as_ref().map(|t| t.id.clone()),
        redirect: None,
    };
    let context = principal.audit();
    let requested_by = principal.id().to_owned();
    let app = state.clone();
    let row = state
        .db
        .write(move |conn| {
            let now = time::now();
            let current = domain_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)?;
            if current.version != row.version {
                return Err(precondition_failed());
            }
            // The lock protects against a move; unlocking in the same request does not
            // lift it (unlock first, then move).
            if let Some(target) = &target {
                if current.locked {
                    return Err(locked_error(&current));
                }
                move_checks(conn, &current, target)?;
            }
            if !domain_store::update(conn, &current.id, current.version, &changes, now)? {
                return Err(precondition_failed());
            }
            if let Some(target) = &target {
                domain_store::move_records(conn, &current.id, &target.id)?;
            }
            let updated = domain_store::find(conn, &current.id)?.ok_or_else(ApiError::not_found)?;
            record(conn, &context, actions::DOMAIN_UPDATE, &updated, changed_fields(&changes), now)?;
            match &target {
                Some(target) => {
                    hosting::provision(
                        conn,
                        &app,
                        &service,
                        (ResourceKind::Domain, ResourceAction::Delete, &updated.id),
                        spec(&updated),
                        &requested_by,
                        now,
                    )?;
                    hosting::provision(
                        conn,
                        &app,
                        target,
                        (ResourceKind::Domain, ResourceAction::Create, &updated.id),
                        spec(&updated),
                        &requested_by,
                        now,
                    )?;
                }
                None => {
                    hosting::provision(
                        conn,
                        &app,
                        &service,
                        (ResourceKind::Domain, ResourceAction::Update, &updated.id),
                        spec(&updated),
                        &requested_by,
                        now,
                    )?;
                }
            }
            Ok(updated)
        })
        .await?;
    Ok(domain_response(HttpResponse::Ok(), &row))
}

/// A move needs room in the target service for the domain and its DNS records; mail on
/// the domain belongs to the current service and keeps it there. The owner stays the
/// same, so reseller packages count the same before and after.
fn move_checks(conn: &mut DbConnection, domain: &DomainRow, target: &ServiceRow) -> Result<(), ApiError> {
    if domain_store::mail_in_use(conn, &domain.id)? > 0 {
        return Err(ApiError::conflict(
            "domain_in_use",
            format!("mailboxes or forwards use {}: remove them first", domain.name),
        ));
    }
    usage::lock_service(conn, &target.id)?;
    let quotas = &target.quotas;
    let records = u64::try_from(domain_store::record_count(conn, &domain.id)?).unwrap_or(u64::MAX);
    for (key, needed) in [(QuotaKey::Domains, 1), (QuotaKey::DnsRecords, records)] {
        if needed == 0 {
            continue;
        }
        let used = usage::count_in_service(conn, &target.id, key)?.unwrap_or(0);
        let limit = quotas.get(key);
        if !fits(u64::try_from(used).unwrap_or(u64::MAX), limit, needed) {
            return Err(ApiError::conflict(
                "quota_exceeded",
                format!("the target service has no room for {needed} more {}", key.as_str()),
            ));
        }
    }
    Ok(())
}

/// Remove a domain: a hosted one is removed with its child hosts and DNS records.
#[utoipa::path(
    tag = "Domains",
    params(
        ("name" = String, Path, description = "The domain name"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such domain for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`domain_locked`, `domain_in_use` or `service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[delete("/domains/{name}")]
pub async fn delete_domain(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::DeleteDomain)?;
    let reached = access::domain(&state, &principal.actor, principal.authorize(Action::DeleteDomain)?, &name).await?;
    let row = reached.row.domain;
    let service = reached.row.service;
    IfMatch::from_request(&request).check(row.version)?;
    hosting::require_active(&service)?;
    let context = principal.audit();
    let requested_by = principal.id().to_owned();
    let app = state.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let current = domain_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)?;
            if current.version != row.version {
                return Err(precondition_failed());
            }
            if current.locked {
                return Err(locked_error(&current));
            }
            if domain_store::mail_in_use(conn, &current.id)? > 0 {
                return Err(ApiError::conflict(
                    "domain_in_use",
                    format!("mailboxes or forwards use {}: remove them first", current.name),
                ));
            }
            if current.kind == "registered" {
                // A registered domain stays manageable until it expires; it stops renewing.
                let changes = DomainChanges { auto_renew: Some(false), ..DomainChanges::default() };
                if !domain_store::update(conn, &current.id, current.version, &changes, now)? {
                    return Err(precondition_failed());
                }
            } else if !domain_store::delete(conn, &current.id, current.version)? {
                return Err(precondition_failed());
            }
            record(conn, &context, actions::DOMAIN_DELETE, &current, serde_json::json!({"name": current.name}), now)?;
            hosting::provision(
                conn,
                &app,
                &service,
                (ResourceKind::Domain, ResourceAction::Delete, &current.id),
                spec(&current),
                &requested_by,
                now,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Set the domain's redirect.
#[utoipa::path(
    tag = "Domains",
    params(
        ("name" = String, Path, description = "The domain name"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body = Redirect,
    responses(
        (status = 200, description = "The domain with its redirect", body = DomainView, headers(("ETag" = String))),
        (status = 404, description = "No such domain for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[put("/domains/{name}/redirect")]
pub async fn set_redirect(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    name: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteDomains)?;
    let reached = access::domain(&state, &principal.actor, principal.authorize(Action::WriteDomains)?, &name).await?;
    let row = reached.row.domain;
    let service = reached.row.service;
    let input: Redirect = body.parse()?;
    let mut errors = Vec::new();
    let kind = RedirectType::parse(&input.type_).map_err(|e| errors.push(FieldError::new("/type", e))).ok();
    let url = RedirectTarget::parse(&input.target).map_err(|e| errors.push(FieldError::new("/target", e))).ok();
    let (Some(kind), Some(url)) = (kind, url) else { return Err(ApiError::fields(errors)) };
    let redirect = Some((kind.as_str().to_owned(), url.as_str().to_owned()));
    change_redirect(&state, &principal, &request, row, service, redirect)
        .await
        .map(|row| domain_response(HttpResponse::Ok(), &row))
}

/// Remove the domain's redirect.
#[utoipa::path(
    tag = "Domains",
    params(
        ("name" = String, Path, description = "The domain name"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    responses(
        (status = 204, description = "No redirect any more"),
        (status = 404, description = "No such domain for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[delete("/domains/{name}/redirect")]
pub async fn delete_redirect(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteDomains)?;
    let reached = access::domain(&state, &principal.actor, principal.authorize(Action::WriteDomains)?, &name).await?;
    let row = reached.row.domain;
    let service = reached.row.service;
    change_redirect(&state, &principal, &request, row, service, None).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn change_redirect(
    state: &web::Data<AppState>,
    principal: &Principal,
    request: &HttpRequest,
    row: DomainRow,
    service: ServiceRow,
    redirect: Option<(String, String)>,
) -> Result<DomainRow, ApiError> {
    IfMatch::from_request(request).check(row.version)?;
    hosting::require_active(&service)?;
    let context = principal.audit();
    let requested_by = principal.id().to_owned();
    let app = state.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let changes = DomainChanges { redirect: Some(redirect.clone()), ..DomainChanges::default() };
            if !domain_store::update(conn, &row.id, row.version, &changes, now)? {
                return Err(precondition_failed());
            }
            let updated = domain_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)?;
            let details = match &redirect {
                Some((kind, target)) => serde_json::json!({"type": kind, "target": target}),
                None => serde_json::json!({"redirect": null}),
            };
            record(conn, &context, actions::DOMAIN_REDIRECT, &updated, details, now)?;
            hosting::provision(
                conn,
                &app,
                &service,
                (ResourceKind::Domain, ResourceAction::Update, &updated.id),
                spec(&updated),
                &requested_by,
                now,
            )?;
            Ok(updated)
        })
        .await
}
