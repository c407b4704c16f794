//! `/v1/services`: sell, list, read and rename services (crate::app::services).

use actix_web::http::header;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::accounts::DisplayName;
use hostadmin_domain::catalog::{BillingCycle, ServiceKind};
use hostadmin_domain::ids::parse_id;
use hostadmin_domain::policy::Action;
use hostadmin_domain::services::ServiceStatus;
use hostadmin_domain::time;
use hostadmin_persistence::services::{ServiceChanges, ServiceFilter};

use crate::app::access;
use crate::app::services::{self as use_case, NewSale};
use crate::auth::{Caller, Principal};
use crate::http::body::JsonBody;
use crate::http::etag::{IfMatch, IfMatchHeader};
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::merge_patch::Patch;
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::ApiError;
use crate::state::AppState;
use crate::views::services::{service_response, ServiceView};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"owner_id": "01938a6e-1a2b-7c3d-8e4f-5a6b7c8d9e0f", "plan_id": "01938a6e-2b3c-7d4e-9f5a-6b7c8d9e0f1a", "cycle": "monthly", "name": "Shop", "addons": ["extra-disk"]}))]
pub struct CreateService {
    /// The account that will own the service: one below the caller (or, for an
    /// operator, the operator itself).
    pub owner_id: String,
    /// A plan the caller sells: a reseller's own, for operators the provider's or any.
    pub plan_id: String,
    pub cycle: BillingCycle,
    #[schema(format = "line", max_length = 200)]
    pub name: String,
    /// Codes of the plan's add-ons.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub addons: Vec<String>,
}

/// Sell a service to an account below the caller.
///
/// The service is handed to the provisioner: the built-in one completes at once, so
/// the answer shows the service `active`; a provisioner that works in the background
/// leaves it `pending` (it refuses lifecycle actions) until the worker has set it up.
/// Counts against every reseller package above the owner.
///
/// An owner whose account is suspended (by a hold on it or above it) gets the service
/// `suspended` with `held: true`, as the suspension would have left it: it becomes
/// `active` when the hold is lifted. A blocked owner can no longer order:
/// `409 account_blocked`, and nothing is created.
///
/// Resellers and operators (`403 forbidden` for customers); refused while
/// `service.create` is disabled (`403 action_restricted`). Takes `Idempotency-Key`: a
/// retried sale creates one service. API keys need `services:write`.
#[utoipa::path(
    tag = "Services",
    request_body = CreateService,
    params(IdempotencyKeyHeader),
    responses(
        (status = 201, description = "Created", body = ServiceView, headers(("Location" = String), ("ETag" = String))),
        (status = 404, description = "`not_found`: the owner or the plan is not one the caller may use", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`account_blocked` (the owner is blocked), `quota_exceeded` (a reseller package is full) or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services")]
pub async fn create_service(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::CreateService)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateService = body.parse()?;
        let name = DisplayName::parse(&input.name).map_err(|invalid| ApiError::field("/name", invalid))?;
        let sale = NewSale {
            owner_id: input.owner_id,
            plan_id: input.plan_id,
            cycle: input.cycle,
            name,
            addons: input.addons,
        };
        let row = use_case::sell(&state, &principal.actor, authorized.clone(), sale).await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/services/{}", row.id)));
        Ok(service_response(builder, &row))
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListServicesQuery {
    pub kind: Option<ServiceKind>,
    pub status: Option<ServiceStatus>,
    pub owner_id: Option<String>,
    /// A case-insensitive prefix of the name; all digits also match the number exactly.
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
    /// Only services due before this time.
    pub due_before: Option<DateTime<Utc>>,
}

/// The services the caller owns, sells or was granted, newest first.
///
/// The caller's own services; for resellers every service of its subtree, for operators
/// every non-operator's; and the services other accounts granted the caller (active
/// grants, not under an impersonation token; `owner_id` tells them apart). Filters
/// `kind`, `status`, `owner_id`, `due_before` and `q` (a case-insensitive prefix of the
/// name; all digits also match `number` exactly). Cursor-paginated (`limit`, `cursor`; a
/// cursor is bound to its filters). API keys need `services:read`.
#[utoipa::path(
    tag = "Services",
    params(ListServicesQuery, PageQuery),
    responses((status = 200, description = "A page of services", body = Page<ServiceView>)),
)]
#[get("/services")]
pub async fn list_services(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListServicesQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ListServices)?;
    let query = query.into_inner();
    let q = search_prefix(query.q.as_deref())?;
    let filters = format!(
        "kind={}&status={}&owner={}&q={}&due={:?}",
        query.kind.map(ServiceKind::as_str).unwrap_or_default(),
        query.status.map(ServiceStatus::as_str).unwrap_or_default(),
        query.owner_id.as_deref().unwrap_or_default(),
        q.as_deref().unwrap_or_default(),
        query.due_before
    );
    let page = paging.request(filters)?;
    let due_before = query
        .due_before
        .map(|at| time::checked(at.naive_utc()))
        .transpose()
        .map_err(|invalid| ApiError::field("/query/due_before", invalid))?;
    let filter = ServiceFilter {
        kind: query.kind,
        status: query.status,
        owner_id: query.owner_id,
        q,
        due_before,
        before_id: page.before_id.clone(),
    };
    let rows = use_case::list(&state, &principal.actor, authorized, filter, page.fetch()).await?;
    let views = rows.iter().map(ServiceView::from_row).collect::<Vec<_>>();
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Read one service.
///
/// Its owner, every account above the owner, and grantees with any permission on it
/// (`view` and up); anyone else, and a malformed id, gets `404`. The `ETag` is what
/// `If-Match` of PATCH and the lifecycle actions compares with. API keys need
/// `services:read`.
#[utoipa::path(
    tag = "Services",
    params(("id" = String, Path, description = "The service's id")),
    responses((status = 200, description = "The service", body = ServiceView, headers(("ETag" = String)))),
)]
#[get("/services/{id}")]
pub async fn get_service(caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let service = caller
        .read(move |conn, principal| {
            let authorized = principal.authorize(Action::ReadService)?;
            let id = parse_id(&id).ok_or_else(ApiError::not_found)?;
            access::service_in(conn, &principal.reach(), authorized, &id)
        })
        .await?;
    Ok(service_response(HttpResponse::Ok(), &service.row))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Shop (new)", "auto_renew": false}))]
pub struct UpdateService {
    #[schema(format = "line", value_type = String, max_length = 200)]
    #[serde(default)]
    pub name: Patch<String>,
    #[schema(value_type = bool)]
    #[serde(default)]
    pub auto_renew: Patch<bool>,
    /// Operators only.
    #[schema(value_type = bool)]
    #[serde(default)]
    pub allow_overselling: Patch<bool>,
    /// The service's seller only (an account above the owner, or an operator for its
    /// own service): corrects the due date, within the years 0001-9999. Audited with the
    /// date it replaced.
    #[schema(value_type = DateTime<Utc>)]
    #[serde(default)]
    pub next_due_at: Patch<DateTime<Utc>>,
}

/// Change a service's name, auto-renewal, (operators) overselling or (its seller) due
/// date (JSON merge patch).
///
/// Sending `next_due_at` makes the change a correction of the due date, which only the
/// service's seller may make (`403 forbidden` for the owner and for grantees); the
/// worker's expiry and, with billing, renewal invoices follow the corrected date.
///
/// Any other change: the owner, an account above it, or a grantee with `manage`
/// (`allow_overselling` is for operators only, `403 forbidden` for anyone else). A stale
/// `If-Match` is `412`. API keys need `services:write`.
#[utoipa::path(
    tag = "Services",
    params(("id" = String, Path, description = "The service's id"), IfMatchHeader),
    request_body(content = UpdateService, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The changed service", body = ServiceView, headers(("ETag" = String)))),
)]
#[patch("/services/{id}")]
pub async fn update_service(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let input: UpdateService = body.parse()?;
    let corrects_due_date = !matches!(input.next_due_at, Patch::Absent);
    let action = if corrects_due_date { Action::CorrectServiceDueDate } else { Action::UpdateService };
    let authorized = principal.authorize(action)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    let next_due_at = input
        .next_due_at
        .required("/next_due_at")?
        .map(|at| time::checked(at.naive_utc()))
        .transpose()
        .map_err(|invalid| ApiError::field("/next_due_at", invalid))?;
    let changes = ServiceChanges {
        next_due_at,
        name: input
            .name
            .required("/name")?
            .map(|name| DisplayName::parse(&name).map(|n| n.as_str().to_owned()))
            .transpose()
            .map_err(|invalid| ApiError::field("/name", invalid))?,
        auto_renew: input.auto_renew.required("/auto_renew")?,
        allow_overselling: input.allow_overselling.required("/allow_overselling")?,
    };
    let row = use_case::update(&state, &principal.actor, service, changes, IfMatch::from_request(&request)).await?;
    Ok(service_response(HttpResponse::Ok(), &row))
}
