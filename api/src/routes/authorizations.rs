//! `/v1/authorizations`: authorized users, grants of permissions on one's services to
//! another account (crate::app::authorizations). A grant is seen only by its two
//! parties; to anyone else it does not exist (404).

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::authorizations::{GrantStatus, Permission};
use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_persistence::authorizations::Side;

use crate::app::authorizations::{self as use_case, GrantChange, GrantRecord, NewGrant};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch, IfMatchHeader};
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::merge_patch::Patch;
use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::ApiError;
use crate::state::AppState;

/// A grant, as both its parties see it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-0000-7000-8000-000000000d11", "grantor_id": "0193a1b2-0000-7000-8000-0000000000c1",
    "grantee_id": "0193a1b2-0000-7000-8000-0000000000c2", "permissions": ["view", "manage"],
    "service_ids": ["0193a1b2-0000-7000-8000-0000000000b1"], "status": "active",
    "created_at": "2026-12-05T10:00:00Z", "updated_at": "2026-12-05T11:20:00Z", "accepted_at": "2026-12-05T11:20:00Z"
}))]
pub struct AuthorizationView {
    pub id: String,
    pub grantor_id: String,
    pub grantee_id: String,
    /// Sorted; `manage`, `billing` and `support` each include reading the services.
    pub permissions: Vec<Permission>,
    /// The services the grant is limited to; null: every service the grantor owns, now
    /// and later.
    pub service_ids: Option<Vec<String>>,
    /// `pending` until the grantee accepts; `active` from then on.
    pub status: GrantStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the grantee accepted; null while pending.
    pub accepted_at: Option<DateTime<Utc>>,
}

impl From<&GrantRecord> for AuthorizationView {
    fn from(grant: &GrantRecord) -> Self {
        let row = &grant.row;
        Self {
            id: row.id.clone(),
            grantor_id: row.grantor_id.clone(),
            grantee_id: row.grantee_id.clone(),
            permissions: row.permissions.iter().collect(),
            service_ids: grant.service_ids().map(<[String]>::to_vec),
            status: row.status,
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
            accepted_at: row.accepted_at.map(time::to_utc),
        }
    }
}

fn respond(mut builder: actix_web::HttpResponseBuilder, grant: &GrantRecord) -> HttpResponse {
    builder.insert_header((header::ETAG, etag(grant.row.version))).json(AuthorizationView::from(grant))
}

async fn list(
    state: &AppState,
    principal: &Principal,
    side: Side,
    paging: &PageQuery,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadAuthorizations)?;
    let page = paging.request(String::new())?;
    let grants =
        use_case::list(state, &principal.actor, authorized, side, page.before_id.clone(), page.fetch()).await?;
    let views = grants.iter().map(AuthorizationView::from).collect::<Vec<_>>();
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// The grants the caller gave, newest first.
///
/// The caller's pending and active grants to other accounts, each with its grantee,
/// permissions and the services it is limited to (`service_ids`, null for all).
/// Withdrawn and declined grants are gone. Cursor-paginated (`limit`, `cursor`). API
/// keys need `authorizations:read`.
#[utoipa::path(
    tag = "Authorized users",
    params(PageQuery),
    responses((status = 200, description = "A page of grants", body = Page<AuthorizationView>)),
)]
#[get("/authorizations")]
pub async fn list_given(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    list(&state, &principal, Side::Given, &paging).await
}

/// The grants given to the caller, pending and active, newest first.
///
/// A pending grant gives nothing until the caller accepts it (`POST
/// /v1/authorizations/{id}/accept`); the services of active ones appear in the caller's
/// `GET /v1/services` with their `owner_id`. Cursor-paginated (`limit`, `cursor`). API
/// keys need `authorizations:read`.
#[utoipa::path(
    tag = "Authorized users",
    params(PageQuery),
    responses((status = 200, description = "A page of grants", body = Page<AuthorizationView>)),
)]
#[get("/authorizations/received")]
pub async fn list_received(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    list(&state, &principal, Side::Received, &paging).await
}

/// Read one grant the caller gave or received.
///
/// A grant exists only for its two parties: to anyone else, and for a malformed id, it
/// is `404`. The `ETag` is what `If-Match` of PATCH, accept and DELETE compares with.
/// API keys need `authorizations:read`.
#[utoipa::path(
    tag = "Authorized users",
    params(("id" = String, Path, description = "The grant's id")),
    responses(
        (status = 200, description = "The grant", body = AuthorizationView, headers(("ETag" = String))),
    ),
)]
#[get("/authorizations/{id}")]
pub async fn get_authorization(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadAuthorizations)?;
    let grant = use_case::find(&state, &principal.actor, authorized, &id).await?;
    Ok(respond(HttpResponse::Ok(), &use_case::read(&state, grant).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"grantee": "jane@example.test", "permissions": ["view", "manage"]}))]
pub struct CreateAuthorization {
    /// The grantee's login or email address: any account of the installation but the
    /// caller.
    #[schema(min_length = 1, max_length = 254)]
    pub grantee: String,
    #[schema(min_items = 1, max_items = 4)]
    pub permissions: Vec<Permission>,
    /// Services the caller owns (1-1000). Left out: every service it owns, now and later.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 1000)]
    pub service_ids: Option<Vec<String>>,
}

/// Give another account permissions on services the caller owns.
///
/// The grant is `pending`, and gives nothing, until the grantee accepts it. A reseller's
/// grant covers its own services, never its customers'.
///
/// Any account, for services it owns; refused under an impersonation token (`403
/// impersonation_forbidden`), while the caller is suspended, or with
/// `authorizations.write` disabled (`403 action_restricted`). Takes `Idempotency-Key`.
/// API keys need `authorizations:write`.
#[utoipa::path(
    tag = "Authorized users",
    params(IdempotencyKeyHeader),
    request_body = CreateAuthorization,
    responses(
        (status = 201, description = "Given, pending", body = AuthorizationView, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "`impersonation_forbidden`, `account_suspended`, `action_restricted` or `insufficient_scope`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: a service id is not one the caller owns", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`grantee_not_found` (pointer `/grantee`), a grant to oneself, or invalid permissions or services", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/authorizations")]
pub async fn create_authorization(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::GiveAuthorization)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateAuthorization = body.parse()?;
        let new = NewGrant { grantee: input.grantee, permissions: input.permissions, service_ids: input.service_ids };
        let grant = use_case::give(&state, &principal.actor, authorized.clone(), new).await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/authorizations/{}", grant.row.id)));
        Ok(respond(builder, &grant))
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"permissions": ["view", "manage", "billing"], "service_ids": null}))]
pub struct UpdateAuthorization {
    /// Replaces the permissions; cannot be cleared (withdraw the grant instead).
    #[schema(value_type = Vec<Permission>, min_items = 1, max_items = 4)]
    #[serde(default)]
    pub permissions: Patch<Vec<Permission>>,
    /// Replaces the selected services; `null` grants every service the grantor owns.
    #[schema(value_type = Option<Vec<String>>, min_items = 1, max_items = 1000)]
    #[serde(default)]
    pub service_ids: Patch<Vec<String>>,
}

/// Change a grant's permissions or services (the grantor; JSON merge patch).
///
/// An active grant stays active: the grantee may give it back whenever it likes. The
/// change takes effect on the grantee's next request.
///
/// Only the grantor (`403 forbidden` for the grantee); refused under an impersonation
/// token. A stale `If-Match` is `412`. API keys need `authorizations:write`.
#[utoipa::path(
    tag = "Authorized users",
    params(("id" = String, Path, description = "The grant's id"), IfMatchHeader),
    request_body(content = UpdateAuthorization, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed grant", body = AuthorizationView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: the grantee (only the grantor changes a grant)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant for the caller, or a service id it does not own", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[patch("/authorizations/{id}")]
pub async fn update_authorization(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::GiveAuthorization)?;
    let grant = use_case::find(&state, &principal.actor, authorized, &id).await?.as_grantor()?;
    let input: UpdateAuthorization = body.parse()?;
    let change = GrantChange { permissions: input.permissions, service_ids: input.service_ids };
    let if_match = IfMatch::from_request(&request);
    let grant = use_case::change(&state, &principal.actor, grant, change, if_match).await?;
    Ok(respond(HttpResponse::Ok(), &grant))
}

/// Accept a grant given to the caller: it is in force from the next request on.
///
/// Only the grantee accepts (`403 forbidden` for the grantor); `409 invalid_transition`
/// when the grant is already active; a stale `If-Match` is `412`. Refused under an
/// impersonation token (`403 impersonation_forbidden`), while the caller is suspended,
/// or with `authorizations.write` disabled for it (`403 action_restricted`). API keys
/// need `authorizations:write`.
#[utoipa::path(
    tag = "Authorized users",
    params(("id" = String, Path, description = "The grant's id"), IfMatchHeader),
    responses(
        (status = 200, description = "The active grant", body = AuthorizationView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: the grantor (only the grantee accepts)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the grant is already active", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/authorizations/{id}/accept")]
pub async fn accept_authorization(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::AnswerAuthorization)?;
    let grant = use_case::find(&state, &principal.actor, authorized, &id).await?.as_grantee()?;
    let grant = use_case::accept(&state, &principal.actor, grant, IfMatch::from_request(&request)).await?;
    Ok(respond(HttpResponse::Ok(), &grant))
}

/// End a grant: the grantor withdraws it, or the grantee declines or gives it back.
///
/// Either party may end a grant, pending or active; it is gone at once and gives
/// nothing from the next request on. A stale `If-Match` is `412`. Refused under an
/// impersonation token (`403 impersonation_forbidden`), while the caller is suspended,
/// or with `authorizations.write` disabled for it (`403 action_restricted`). API keys
/// need `authorizations:write`.
#[utoipa::path(
    tag = "Authorized users",
    params(("id" = String, Path, description = "The grant's id"), IfMatchHeader),
    responses(
        (status = 204, description = "Ended"),
    ),
)]
#[delete("/authorizations/{id}")]
pub async fn delete_authorization(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // Giving and answering follow the same rules until the grant says which one this is.
    let authorized = principal.authorize(Action::GiveAuthorization)?;
    let grant = use_case::find(&state, &principal.actor, authorized, &id).await?;
    use_case::end(&state, &principal.actor, grant, IfMatch::from_request(&request)).await?;
    Ok(HttpResponse::NoContent().finish())
}
