//! Forwards of a hosting service: mail to a source address on one of the service's
//! domains is delivered on to 1-50 destinations. A source is an address like a mailbox's
//! and shares its register (`mail_addresses`), so one address is never both.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::QuotaKey;
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::mailboxes::{ForwardDestinations, HostedAddress, ItemRefusal};
use hostadmin_domain::policy::Action;
use hostadmin_domain::provisioning::{ResourceAction, ResourceKind};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{self, NewEvent};
use hostadmin_persistence::forwards::{self as forward_store, ForwardRow, NewForward};
use hostadmin_persistence::mail_addresses::{self, AddressKind};

use crate::auth::Principal;
use crate::hosting;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, precondition_failed, IfMatch};
use crate::http::idempotency;
use crate::http::merge_patch::Patch;
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::routes::mailboxes::{address_taken, service_domain};
use crate::routes::services::find_for;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ForwardView {
    pub id: String,
    pub service_id: String,
    /// Lowercase, the domain in punycode.
    pub source: String,
    /// As given, with each domain lowercased in punycode.
    pub destinations: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn destinations_of(row: &ForwardRow) -> Result<Vec<String>, ApiError> {
    serde_json::from_str(&row.destinations)
        .map_err(|e| ApiError::internal(format!("stored destinations of forward {}: {e}", row.id)))
}

impl ForwardView {
    fn from_row(row: &ForwardRow) -> Result<Self, ApiError> {
        Ok(Self {
            id: row.id.clone(),
            service_id: row.service_id.clone(),
            source: row.source.clone(),
            destinations: destinations_of(row)?,
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
        })
    }
}

fn forward_response(mut builder: actix_web::HttpResponseBuilder, row: &ForwardRow) -> Result<HttpResponse, ApiError> {
    Ok(builder.insert_header((header::ETAG, etag(row.version))).json(ForwardView::from_row(row)?))
}

fn spec(row: &ForwardRow) -> Result<serde_json::Value, ApiError> {
    Ok(serde_json::json!({ "source": row.source, "destinations": destinations_of(row)? }))
}

/// The destinations' refusals as field errors under `/destinations`.
fn destination_errors(refusals: Vec<ItemRefusal>, errors: &mut Vec<FieldError>) {
    for (index, invalid) in refusals {
        let pointer = match index {
            Some(index) => format!("/destinations/{index}"),
            None => "/destinations".to_owned(),
        };
        errors.push(FieldError::new(pointer, invalid));
    }
}

fn stored(destinations: &ForwardDestinations) -> Result<String, ApiError> {
    serde_json::to_string(&destinations.to_strings()).map_err(ApiError::internal)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"source": "sales@example.com", "destinations": ["alice@example.org", "bob@example.net"]}))]
pub struct CreateForward {
    /// On one of the service's domains; the same rules as a mailbox address.
    #[schema(max_length = 254)]
    pub source: String,
    /// 1-50 valid addresses, each once, not the source.
    #[schema(min_items = 1, max_items = 50)]
    pub destinations: Vec<String>,
}

/// Create a forward.
///
/// `422` at `/source` (`domain_not_on_service`) when the source's domain is not one of
/// the service's, at `/destinations` or `/destinations/{i}` for a bad list or address.
/// `409 quota_exceeded` when the plan's `forwards` (or a reseller package) is full;
/// `409 address_taken` when a mailbox or forward anywhere has the address.
#[utoipa::path(
    tag = "Mail",
    request_body = CreateForward,
    params(
        ("id" = String, Path, description = "The service's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours."),
    ),
    responses(
        (status = 201, description = "Created", body = ForwardView, headers(("Location" = String), ("ETag" = String))),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active`, `quota_exceeded`, `address_taken` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/services/{id}/forwards")]
pub async fn create_forward(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteMail)?;
    let (service, _) = find_for(&state, &principal, &id, Action::WriteMail).await?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateForward = body.parse()?;
        let mut errors = Vec::new();
        let source = HostedAddress::parse(&input.source)
            .map_err(|invalid| errors.push(FieldError::new("/source", invalid)))
            .ok();
        let destinations = ForwardDestinations::parse(&input.destinations, source.as_ref())
            .map_err(|refusals| destination_errors(refusals, &mut errors))
            .ok();
        let (Some(source), Some(destinations)) = (source, destinations) else {
            return Err(ApiError::fields(errors));
        };
        let (service_id, lookup) = (service.id.clone(), source.clone());
        state.db.run(move |conn| service_domain(conn, &service_id, &lookup, "/source").map(|_| ())).await?;
        hosting::require_active(&service)?;
        let new = NewForward {
            id: new_id(),
            service_id: service.id.clone(),
            domain_id: String::new(),
            source: source.as_str().to_owned(),
            destinations: stored(&destinations)?,
        };
        let context = principal.audit.clone();
        let requested_by = principal.id().to_owned();
        let shared = state.clone();
        let row = state
            .db
            .write(move |conn| {
                let now = time::now();
                let service = hosting::lock_active(conn, &new.service_id)?;
                let domain = service_domain(conn, &service.id, &source, "/source")?;
                hosting::reserve(conn, &service, QuotaKey::Forwards)?;
                if mail_addresses::claim(conn, &new.source, AddressKind::Forward, &new.id)?.is_err() {
                    return Err(address_taken(&new.source));
                }
                let new = NewForward { domain_id: domain.id.clone(), ..new.clone() };
                forward_store::insert(conn, &new, now)?;
                let row = forward_store::find(conn, &service.id, &new.id)?
                    .ok_or_else(|| ApiError::internal("the new forward vanished"))?;
                hosting::provision(
                    conn,
                    &shared,
                    &service,
                    (ResourceKind::Forward, ResourceAction::Create, &row.id),
                    spec(&row)?,
                    &requested_by,
                    now,
                )?;
                audit::record(
                    conn,
                    &context,
                    NewEvent {
                        action: actions::FORWARD_CREATE,
                        target_type: target::FORWARD,
                        target_id: &row.id,
                        account_id: Some(&service.owner_id),
                        details: serde_json::json!({
                            "service_id": service.id, "source": row.source,
                            "destinations": destinations.to_strings(),
                        }),
                    },
                    now,
                )?;
                Ok(row)
            })
            .await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/services/{}/forwards/{}", row.service_id, row.id)));
        forward_response(builder, &row)
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListForwardsQuery {
    /// A case-insensitive prefix of the source address.
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
}

/// The service's forwards, newest first.
#[utoipa::path(
    tag = "Mail",
    params(("id" = String, Path, description = "The service's id"), ListForwardsQuery, PageQuery),
    responses(
        (status = 200, description = "A page of forwards", body = Page<ForwardView>),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/services/{id}/forwards")]
pub async fn list_forwards(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    query: web::Query<ListForwardsQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadMail)?;
    let (service, _) = find_for(&state, &principal, &id, Action::ReadMail).await?;
    let q = search_prefix(query.q.as_deref())?;
    let page = paging.request(format!("q={}", q.as_deref().unwrap_or_default()))?;
    let (before, fetch) = (page.before_id.clone(), page.fetch());
    let rows = state
        .db
        .run(move |conn| Ok(forward_store::list(conn, &service.id, q.as_deref(), before.as_deref(), fetch)?))
        .await?;
    let views = rows.iter().map(ForwardView::from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// The forward `forward_id` of the service, or 404 (also for a malformed id and for
/// another service's forward).
async fn find_forward(state: &AppState, service_id: &str, forward_id: &str) -> Result<ForwardRow, ApiError> {
    let forward_id = parse_id(forward_id).ok_or_else(ApiError::not_found)?;
    let service_id = service_id.to_owned();
    state.db.run(move |conn| forward_store::find(conn, &service_id, &forward_id)?.ok_or_else(ApiError::not_found)).await
}

/// Read one forward.
#[utoipa::path(
    tag = "Mail",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("forward_id" = String, Path, description = "The forward's id"),
    ),
    responses(
        (status = 200, description = "The forward", body = ForwardView, headers(("ETag" = String))),
        (status = 404, description = "No such service or forward for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/services/{id}/forwards/{forward_id}")]
pub async fn get_forward(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadMail)?;
    let (service_id, forward_id) = path.into_inner();
    let (service, _) = find_for(&state, &principal, &service_id, Action::ReadMail).await?;
    let row = find_forward(&state, &service.id, &forward_id).await?;
    forward_response(HttpResponse::Ok(), &row)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateForward {
    /// Replaces the destinations: 1-50 valid addresses, each once, not the source;
    /// `null` is refused (remove the forward instead). The source cannot change.
    #[schema(value_type = Option<Vec<String>>, min_items = 1, max_items = 50)]
    #[serde(default)]
    pub destinations: Patch<Vec<String>>,
}

/// Give a forward new destinations (JSON merge patch).
#[utoipa::path(
    tag = "Mail",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("forward_id" = String, Path, description = "The forward's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body(content = UpdateForward, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed forward", body = ForwardView, headers(("ETag" = String))),
        (status = 404, description = "No such service or forward for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[patch("/services/{id}/forwards/{forward_id}")]
pub async fn update_forward(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteMail)?;
    let (service_id, forward_id) = path.into_inner();
    let (service, _) = find_for(&state, &principal, &service_id, Action::WriteMail).await?;
    let current = find_forward(&state, &service.id, &forward_id).await?;
    let input: UpdateForward = body.parse()?;
    let source = HostedAddress::parse(&current.source)
        .map_err(|_| ApiError::internal(format!("stored source of forward {}", current.id)))?;
    let destinations = match &input.destinations {
        Patch::Absent => None,
        Patch::Null => {
            return Err(ApiError::field("/destinations", Invalid::new("required", "cannot be cleared")));
        }
        Patch::Value(items) => {
            let mut errors = Vec::new();
            match ForwardDestinations::parse(items, Some(&source)) {
                Ok(destinations) => Some(stored(&destinations)?),
                Err(refusals) => {
                    destination_errors(refusals, &mut errors);
                    return Err(ApiError::fields(errors));
                }
            }
        }
    };
    let if_match = IfMatch::from_request(&request);
    if_match.check(current.version)?;
    hosting::require_active(&service)?;
    let context = principal.audit.clone();
    let requested_by = principal.id().to_owned();
    let shared = state.clone();
    let row = state
        .db
        .write(move |conn| {
            let now = time::now();
            let service = hosting::lock_active(conn, &current.service_id)?;
            let before = forward_store::find(conn, &service.id, &current.id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(before.version)?;
            let Some(destinations) = &destinations else { return Ok(before) };
            if !forward_store::update(conn, &before.id, before.version, destinations, now)? {
                return Err(precondition_failed());
            }
            let row = forward_store::find(conn, &service.id, &before.id)?.ok_or_else(ApiError::not_found)?;
            hosting::provision(
                conn,
                &shared,
                &service,
                (ResourceKind::Forward, ResourceAction::Update, &row.id),
                spec(&row)?,
                &requested_by,
                now,
            )?;
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::FORWARD_UPDATE,
                    target_type: target::FORWARD,
                    target_id: &row.id,
                    account_id: Some(&service.owner_id),
                    details: serde_json::json!({
                        "service_id": service.id, "source": row.source, "destinations": destinations_of(&row)?,
                    }),
                },
                now,
            )?;
            Ok(row)
        })
        .await?;
    forward_response(HttpResponse::Ok(), &row)
}

/// Remove a forward: its source address becomes free again.
#[utoipa::path(
    tag = "Mail",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("forward_id" = String, Path, description = "The forward's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such service or forward for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[delete("/services/{id}/forwards/{forward_id}")]
pub async fn delete_forward(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteMail)?;
    let (service_id, forward_id) = path.into_inner();
    let (service, _) = find_for(&state, &principal, &service_id, Action::WriteMail).await?;
    let current = find_forward(&state, &service.id, &forward_id).await?;
    let if_match = IfMatch::from_request(&request);
    if_match.check(current.version)?;
    let context = principal.audit.clone();
    let requested_by = principal.id().to_owned();
    let shared = state.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let service = hosting::lock_active(conn, &current.service_id)?;
            let row = forward_store::find(conn, &service.id, &current.id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(row.version)?;
            if !forward_store::delete(conn, &row.id, row.version)? {
                return Err(precondition_failed());
            }
            mail_addresses::release(conn, &row.source, &row.id)?;
            hosting::provision(
                conn,
                &shared,
                &service,
                (ResourceKind::Forward, ResourceAction::Delete, &row.id),
                spec(&row)?,
                &requested_by,
                now,
            )?;
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::FORWARD_DELETE,
                    target_type: target::FORWARD,
                    target_id: &row.id,
                    account_id: Some(&service.owner_id),
                    details: serde_json::json!({ "service_id": service.id, "source": row.source }),
                },
                now,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
