//! `/v1/domains` (crate::app::hosting::domains): names served by a hosting service
//! (`hosted`), later also registered ones.
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

use hostadmin_domain::domains::{DomainName, Nameservers, RedirectTarget, RedirectType};
use hostadmin_domain::policy::Action;
use hostadmin_persistence::domains::{DomainFilter, DomainRow};

use crate::app::access;
use crate::app::hosting::domains::{self, list_error, DomainUpdate};
use crate::app::provisioning_states::{self as states, Provisioning, Target};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch, IfMatchHeader};
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::merge_patch::Patch;
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;
use crate::views::provisioning::ProvisioningView;

/// A redirect of the whole domain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "301", "target": "https://www.example.com/"}))]
pub struct Redirect {
    /// `301`, `302` or `masked` (a frame that keeps the domain in the address bar).
    #[serde(rename = "type")]
    #[schema(example = "301")]
    pub type_: String,
    /// An absolute http or https URL without credentials, at most 2000 characters.
    #[schema(format = "redirect-url", max_length = 2000, example = "https://www.example.com/")]
    pub target: String,
}

/// A domain's redirect as stored: the target in the URL parser's (WHATWG) form, an
/// internationalised host in punycode (`https://bücher.example` as
/// `https://xn--bcher-kva.example/`), and a stray `%` kept as browsers keep it; that is
/// why the answer states neither the request's pattern nor RFC 3986's `uri` format.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"type": "301", "target": "https://www.example.com/"}))]
pub struct RedirectView {
    /// `301`, `302` or `masked`.
    #[serde(rename = "type")]
    #[schema(example = "301")]
    pub type_: String,
    /// An absolute http or https URL, at most 2000 characters.
    #[schema(max_length = 2000, example = "https://www.example.com/")]
    pub target: String,
}

/// Whether a domain was added to a hosting service or registered through a `domain`
/// service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DomainKind {
    Hosted,
    Registered,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = domain_example)]
pub struct DomainView {
    /// Lowercase punycode without the final dot.
    pub name: String,
    pub unicode_name: String,
    /// `hosted`: added to a hosting service; `registered`: registered through a `domain`
    /// service (and hosted by one).
    pub kind: DomainKind,
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
    pub redirect: Option<RedirectView>,
    pub created_at: DateTime<Utc>,
    /// Where the domain's zone stands on the DNS server (served while `dns_managed`,
    /// removed otherwise).
    pub provisioning: ProvisioningView,
}

fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(at, Utc)
}

impl DomainView {
    pub fn from_row(row: &DomainRow, provisioning: &Provisioning) -> Self {
        let redirect = match (&row.redirect_type, &row.redirect_target) {
            (Some(type_), Some(target)) => Some(RedirectView { type_: type_.clone(), target: target.clone() }),
            _ => None,
        };
        Self {
            name: row.name.clone(),
            unicode_name: row.unicode_name.clone(),
            kind: if row.kind == "registered" { DomainKind::Registered } else { DomainKind::Hosted },
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
            provisioning: ProvisioningView::of(provisioning),
        }
    }
}

async fn domain_response(
    state: &AppState,
    mut builder: actix_web::HttpResponseBuilder,
    row: &DomainRow,
) -> Result<HttpResponse, ApiError> {
    let provisioning = states::state_of(state, Target::DnsZone, &row.id, row.updated_at).await?;
    Ok(builder.insert_header((header::ETAG, etag(row.version))).json(DomainView::from_row(row, &provisioning)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "example.com", "service_id": "01938a6e-5b7c-7d2e-9f10-4a5b6c7d8e9f"}))]
pub struct CreateDomain {
    /// Any case, with or without the final dot; Unicode names are accepted too and
    /// stored in punycode (the pattern states the ASCII form, without `xn--` labels).
    #[schema(format = "domain-name", max_length = 253, example = "example.com")]
    pub name: String,
    /// A web or mail hosting service of the caller's.
    pub service_id: String,
}

/// Add a domain to a hosting service (a `hosted` domain).
///
/// `404` when the service is not one the caller reaches; `422 wrong_service_kind` at
/// `/service_id` for a service that is not web or mail hosting.
///
/// The owner, an account above it, or a grantee with `manage`; refused while
/// `domain.write` is disabled (`403 action_restricted`). `409 domain_taken` when another
/// account has the name (or a name above or below it), `409 quota_exceeded` when the
/// plan's `domains` or a reseller package is full, `409 service_not_active` unless the
/// service is active. Takes `Idempotency-Key`. API keys need `domains:write`.
#[utoipa::path(
    tag = "Domains",
    request_body = CreateDomain,
    params(IdempotencyKeyHeader),
    responses(
        (status = 201, description = "Created", body = DomainView, headers(("Location" = String), ("ETag" = String))),
        (status = 404, description = "`not_found`: the service is not one the caller reaches", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`domain_taken`, `quota_exceeded`, `service_not_active` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/domains")]
pub async fn create_domain(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteDomains)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateDomain = body.parse()?;
        let service = access::service(&state, &principal.actor, authorized.clone(), &input.service_id).await?;
        let name = DomainName::parse(&input.name).map_err(|invalid| ApiError::field("/name", invalid))?;
        let row = domains::create(&state, &principal.actor, service, name).await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/domains/{}", row.name)));
        domain_response(&state, builder, &row).await
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
///
/// `404` when the `service_id` filter names no service the caller reaches.
///
/// Filters `q` (a case-insensitive prefix of the name) and `service_id`. Cursor-paginated
/// (`limit`, `cursor`; a cursor is bound to its filters). Grantees see the domains of
/// services granted with any permission. API keys need `domains:read`.
#[utoipa::path(
    tag = "Domains",
    params(ListDomainsQuery, PageQuery),
    responses(
        (status = 200, description = "A page of domains", body = Page<DomainView>),
        (status = 404, description = "`not_found`: the `service_id` filter names no service the caller reaches", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/domains")]
pub async fn list_domains(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListDomainsQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadDomains)?;
    let query = query.into_inner();
    let q = search_prefix(query.q.as_deref())?;
    let filters =
        format!("q={}&service={}", q.as_deref().unwrap_or_default(), query.service_id.as_deref().unwrap_or_default());
    let page = paging.request(filters)?;
    let filter = DomainFilter { q, service_id: query.service_id, before_id: page.before_id.clone() };
    let rows = domains::list(&state, &principal.actor, authorized, filter, page.fetch()).await?;
    let resources = rows.iter().map(|row| (row.id.clone(), row.updated_at)).collect();
    let states = states::states_of(&state, Target::DnsZone, resources).await?;
    let paired: Vec<(DomainRow, Provisioning)> = rows.into_iter().zip(states).collect();
    Ok(HttpResponse::Ok().json(page.page(paired, |(r, _)| &r.id, |(r, p)| DomainView::from_row(&r, &p))))
}

/// Read one domain.
///
/// `{name}` may be Unicode or punycode, any case, with or without the final dot. Whoever
/// reaches the domain's service reads it: the owner, the accounts above it, grantees
/// with `view`; anyone else gets `404`. `provisioning` tells where its zone stands on
/// the DNS server. API keys need `domains:read`.
#[utoipa::path(
    tag = "Domains",
    params(("name" = String, Path, description = "The domain name: Unicode or punycode, any case, final dot optional")),
    responses((status = 200, description = "The domain", body = DomainView, headers(("ETag" = String)))),
)]
#[get("/domains/{name}")]
pub async fn get_domain(
    state: web::Data<AppState>,
    principal: Principal,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadDomains)?;
    let domain = access::domain(&state, &principal.actor, authorized, &name).await?;
    domain_response(&state, HttpResponse::Ok(), &domain.row.domain).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"auto_renew": true}))]
pub struct UpdateDomain {
    /// 2-13 distinct host names; null returns the domain to the provider's name servers.
    #[schema(value_type = Option<Vec<String>>)]
    #[serde(default)]
    pub nameservers: Patch<Vec<String>>,
    #[schema(value_type = bool)]
    #[serde(default)]
    pub locked: Patch<bool>,
    #[schema(value_type = bool)]
    #[serde(default)]
    pub auto_renew: Patch<bool>,
    /// Another active web or mail hosting service of the same owner.
    #[schema(value_type = String)]
    #[serde(default)]
    pub hosting_service_id: Patch<String>,
}

/// The actions a PATCH body asks for besides `domains:write`, by the fields present: read
/// before the body is validated, so that scope and restriction checks (403) come before
/// reach and input.
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
///
/// A move (`hosting_service_id`) needs an unlocked domain without mailboxes or forwards
/// and room in the target service for the domain and its DNS records, which move with it;
/// `404` when the target is not a service of the same owner that the caller reaches.
///
/// The owner, an account above it, or a grantee with `manage`; any change is refused
/// while `domain.write` is disabled, `nameservers` also while `domain.nameservers` is,
/// `locked` while `domain.lock` is (`403 action_restricted`). A stale `If-Match` is
/// `412`. API keys need `domains:write`.
#[utoipa::path(
    tag = "Domains",
    params(("name" = String, Path, description = "The domain name"), IfMatchHeader),
    request_body(content = UpdateDomain, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed domain", body = DomainView, headers(("ETag" = String))),
        (status = 409, description = "`domain_locked`, `domain_in_use`, `quota_exceeded` or `service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[patch("/domains/{name}")]
pub async fn update_domain(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    name: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteDomains)?;
    let needed = patch_actions(&body);
    for action in &needed {
        principal.authorize(*action)?;
    }
    let domain = access::domain(&state, &principal.actor, authorized, &name).await?;
    for action in &needed {
        domain.also(&principal.actor, *action)?;
    }
    let input: UpdateDomain = body.parse()?;
    let nameservers = match input.nameservers {
        Patch::Absent => None,
        Patch::Null => Some(None),
        Patch::Value(list) => Some(Some(Nameservers::parse(&list).map_err(|e| list_error("/nameservers", e))?)),
    };
    let update = DomainUpdate {
        nameservers,
        locked: input.locked.required("/locked")?,
        auto_renew: input.auto_renew.required("/auto_renew")?,
        hosting_service_id: input.hosting_service_id.required("/hosting_service_id")?,
    };
    let row = domains::update(&state, &principal.actor, domain, update, IfMatch::from_request(&request)).await?;
    domain_response(&state, HttpResponse::Ok(), &row).await
}

/// Try a failed change of the domain's zone on the DNS server again.
///
/// `202`: the worker makes the DNS server hold the zone as it is now (`provisioning`
/// is `pending` until then); `409 not_failed` unless the zone's provisioning failed.
///
/// The owner, an account above it, or a grantee with `manage`; refused while
/// `domain.write` is disabled. API keys need `domains:write`.
#[utoipa::path(
    tag = "Domains",
    params(("name" = String, Path, description = "The domain name")),
    responses(
        (status = 202, description = "Queued", body = DomainView, headers(("ETag" = String))),
        (status = 409, description = "`not_failed` or `service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/domains/{name}/retry-provisioning")]
pub async fn retry_domain_provisioning(
    state: web::Data<AppState>,
    principal: Principal,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteDomains)?;
    let domain = access::domain(&state, &principal.actor, authorized, &name).await?;
    let row = domains::retry_provisioning(&state, &principal.actor, domain).await?;
    domain_response(&state, HttpResponse::Accepted(), &row).await
}

/// Remove a domain: a hosted one is removed with its child hosts and DNS records.
///
/// A registered domain instead stops renewing and stays manageable until it expires.
/// `409 domain_locked` while it is locked (unlock it first), `409 domain_in_use` while
/// mailboxes or forwards use it, `409 service_not_active` when its service is not
/// active; a stale `If-Match` is `412`. The owner, an account above it, or a grantee
/// with `manage`; refused while `domain.delete` is disabled (`403 action_restricted`).
/// API keys need `domains:write`.
#[utoipa::path(
    tag = "Domains",
    params(("name" = String, Path, description = "The domain name"), IfMatchHeader),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "`domain_locked`, `domain_in_use` or `service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[delete("/domains/{name}")]
pub async fn delete_domain(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::DeleteDomain)?;
    let domain = access::domain(&state, &principal.actor, authorized, &name).await?;
    domains::delete(&state, &principal.actor, domain, IfMatch::from_request(&request)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Set the domain's redirect.
///
/// Replaces any redirect: `type` `301`, `302` or `masked` (a frame that keeps the
/// domain in the address bar), `target` an absolute http or https URL without
/// credentials, at most 2000 characters (`422` at `/type` or `/target`). Answers the
/// domain with its `redirect`. `409 service_not_active` when the service is not active;
/// a stale `If-Match` is `412`. The owner, an account above it, or a grantee with
/// `manage`; refused while `domain.write` is disabled. API keys need `domains:write`.
#[utoipa::path(
    tag = "Domains",
    params(("name" = String, Path, description = "The domain name"), IfMatchHeader),
    request_body = Redirect,
    responses(
        (status = 200, description = "The domain with its redirect", body = DomainView, headers(("ETag" = String))),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[put("/domains/{name}/redirect")]
pub async fn set_redirect(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    name: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteDomains)?;
    let domain = access::domain(&state, &principal.actor, authorized, &name).await?;
    let input: Redirect = body.parse()?;
    let mut errors = Vec::new();
    let kind = RedirectType::parse(&input.type_).map_err(|e| errors.push(FieldError::new("/type", e))).ok();
    let url = RedirectTarget::parse(&input.target).map_err(|e| errors.push(FieldError::new("/target", e))).ok();
    let (Some(kind), Some(url)) = (kind, url) else { return Err(ApiError::fields(errors)) };
    let redirect = Some((kind.as_str().to_owned(), url.as_str().to_owned()));
    let if_match = IfMatch::from_request(&request);
    let row = domains::redirect(&state, &principal.actor, domain, redirect, if_match).await?;
    domain_response(&state, HttpResponse::Ok(), &row).await
}

/// Remove the domain's redirect.
///
/// Answers `204` also when there was none. `409 service_not_active` when the service
/// is not active; a stale `If-Match` is `412`. The owner, an account above it, or a
/// grantee with `manage`; refused while `domain.write` is disabled. API keys need
/// `domains:write`.
#[utoipa::path(
    tag = "Domains",
    params(("name" = String, Path, description = "The domain name"), IfMatchHeader),
    responses(
        (status = 204, description = "No redirect any more"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[delete("/domains/{name}/redirect")]
pub async fn delete_redirect(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteDomains)?;
    let domain = access::domain(&state, &principal.actor, authorized, &name).await?;
    domains::redirect(&state, &principal.actor, domain, None, IfMatch::from_request(&request)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What the reference shows as an answer.
fn domain_example() -> serde_json::Value {
    serde_json::json!({"name": "example.com", "unicode_name": "example.com", "kind": "hosted", "service_id": "01938a6e-5b7c-7d2e-9f10-4a5b6c7d8e9f", "hosting_service_id": "01938a6e-5b7c-7d2e-9f10-4a5b6c7d8e9f", "nameservers": null, "dns_managed": true, "locked": false, "lock_supported": false, "auto_renew": false, "expires_at": null, "redirect": null, "created_at": "2026-11-05T09:30:00Z", "provisioning": {"status": "ready", "error": null, "updated_at": "2026-12-05T10:00:00Z"}})
}
