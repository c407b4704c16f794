//! `/v1/services/{id}/forwards` (crate::app::hosting::mail).

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::mailboxes::{ForwardDestinations, HostedAddress, ItemRefusal};
use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_persistence::forwards::ForwardRow;

use crate::app::access;
use crate::app::hosting::mail::{self, destinations_of, NewForwardRequest};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch, IfMatchHeader};
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::merge_patch::Patch;
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "01938a74-8b9c-7d0e-9f1a-2b3c4d5e6f7a", "service_id": "01938a6e-5b7c-7d2e-9f10-4a5b6c7d8e9f", "source": "sales@example.com", "destinations": ["jane@example.org"], "created_at": "2026-11-05T09:30:00Z", "updated_at": "2026-12-05T10:00:00Z"}))]
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"source": "sales@example.com", "destinations": ["alice@example.org", "bob@example.net"]}))]
pub struct CreateForward {
    /// On one of the service's domains; the same rules as a mailbox address.
    #[schema(format = "hosted-address", max_length = 254)]
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
///
/// The owner, an account above it, or a grantee with `manage`; refused while `mail.write`
/// is disabled (`403 action_restricted`). `409 service_not_active` unless the service is
/// active. Takes `Idempotency-Key`. API keys need `mail:write`.
#[utoipa::path(
    tag = "Mail",
    request_body = CreateForward,
    params(
        ("id" = String, Path, description = "The service's id"),
        IdempotencyKeyHeader,
    ),
    responses(
        (status = 201, description = "Created", body = ForwardView, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "`service_not_active`, `quota_exceeded`, `address_taken` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/forwards")]
pub async fn create_forward(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteMail)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
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
        let new = NewForwardRequest { source, destinations };
        let row = mail::create_forward(&state, &principal.actor, service.clone(), new).await?;
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
///
/// Filter `q`: a case-insensitive prefix of the source address. Cursor-paginated
/// (`limit`, `cursor`; a cursor is bound to its filter).
/// Readable by whoever reaches the service: the owner, the accounts above it, grantees with
/// `view`; anyone else gets `404`. API keys need `mail:read`.
#[utoipa::path(
    tag = "Mail",
    params(("id" = String, Path, description = "The service's id"), ListForwardsQuery, PageQuery),
    responses(
        (status = 200, description = "A page of forwards", body = Page<ForwardView>),
    ),
)]
#[get("/services/{id}/forwards")]
pub async fn list_forwards(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    query: web::Query<ListForwardsQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadMail)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    let q = search_prefix(query.q.as_deref())?;
    let page = paging.request(format!("q={}", q.as_deref().unwrap_or_default()))?;
    let rows = mail::forwards(&state, service, q, page.before_id.clone(), page.fetch()).await?;
    let views = rows.iter().map(ForwardView::from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Read one forward.
///
/// `404` for a forward of another service. The `ETag` is what `If-Match` of PATCH and
/// DELETE compares with.
/// Readable by whoever reaches the service: the owner, the accounts above it, grantees with
/// `view`; anyone else gets `404`. API keys need `mail:read`.
#[utoipa::path(
    tag = "Mail",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("forward_id" = String, Path, description = "The forward's id"),
    ),
    responses(
        (status = 200, description = "The forward", body = ForwardView, headers(("ETag" = String))),
    ),
)]
#[get("/services/{id}/forwards/{forward_id}")]
pub async fn get_forward(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (service_id, forward_id) = path.into_inner();
    let authorized = principal.authorize(Action::ReadMail)?;
    let service = access::service(&state, &principal.actor, authorized, &service_id).await?;
    let forward = mail::forward(&state, service, &forward_id).await?;
    forward_response(HttpResponse::Ok(), &forward.row.1)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"destinations": ["jane@example.org", "orders@example.net"]}))]
pub struct UpdateForward {
    /// Replaces the destinations: 1-50 valid addresses, each once, not the source;
    /// `null` is refused (remove the forward instead). The source cannot change.
    #[schema(value_type = Vec<String>, min_items = 1, max_items = 50)]
    #[serde(default)]
    pub destinations: Patch<Vec<String>>,
}

/// Give a forward new destinations (JSON merge patch).
///
/// `destinations` replaces the list: 1-50 valid addresses, each once, not the source
/// (`422` at `/destinations` or `/destinations/{index}`); the source cannot change.
/// `409 service_not_active` when the service is not active; a stale `If-Match` is
/// `412`.
/// The owner, an account above it, or a grantee with `manage`; refused while
/// `mail.write` is disabled (`403 action_restricted`). API keys need `mail:write`.
#[utoipa::path(
    tag = "Mail",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("forward_id" = String, Path, description = "The forward's id"),
        IfMatchHeader,
    ),
    request_body(content = UpdateForward, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed forward", body = ForwardView, headers(("ETag" = String))),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[patch("/services/{id}/forwards/{forward_id}")]
pub async fn update_forward(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let (service_id, forward_id) = path.into_inner();
    let authorized = principal.authorize(Action::WriteMail)?;
    let service = access::service(&state, &principal.actor, authorized, &service_id).await?;
    let forward = mail::forward(&state, service, &forward_id).await?;
    let input: UpdateForward = body.parse()?;
    let source = HostedAddress::parse(&forward.row.1.source)
        .map_err(|_| ApiError::internal(format!("stored source of forward {}", forward.row.1.id)))?;
    let destinations = match input.destinations.required("/destinations")? {
        None => None,
        Some(items) => match ForwardDestinations::parse(&items, Some(&source)) {
            Ok(destinations) => Some(destinations),
            Err(refusals) => {
                let mut errors = Vec::new();
                destination_errors(refusals, &mut errors);
                return Err(ApiError::fields(errors));
            }
        },
    };
    let if_match = IfMatch::from_request(&request);
    let row = mail::update_forward(&state, &principal.actor, forward, destinations, if_match).await?;
    forward_response(HttpResponse::Ok(), &row)
}

/// Remove a forward: its source address becomes free again.
///
/// `409 service_not_active` when the service is not active; a stale `If-Match` is
/// `412`.
/// The owner, an account above it, or a grantee with `manage`; refused while
/// `mail.write` is disabled (`403 action_restricted`). API keys need `mail:write`.
#[utoipa::path(
    tag = "Mail",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("forward_id" = String, Path, description = "The forward's id"),
        IfMatchHeader,
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[delete("/services/{id}/forwards/{forward_id}")]
pub async fn delete_forward(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (service_id, forward_id) = path.into_inner();
    let authorized = principal.authorize(Action::WriteMail)?;
    let service = access::service(&state, &principal.actor, authorized, &service_id).await?;
    let forward = mail::forward(&state, service, &forward_id).await?;
    mail::delete_forward(&state, &principal.actor, forward, IfMatch::from_request(&request)).await?;
    Ok(HttpResponse::NoContent().finish())
}
