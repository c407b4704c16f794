//! `/v1/plans`: the catalog of the provider and of each reseller (crate::app::catalog).

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::catalog::{Addon, Price, Quotas, ServiceKind};
use hostadmin_domain::policy::Action;
use hostadmin_persistence::plans::PlanFilter;

use crate::app::catalog::{self as use_case, NewPlan, PlanChange};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{IfMatch, IfMatchHeader};
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::merge_patch::Patch;
use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::ApiError;
use crate::state::AppState;
use crate::views::plans::{plan_response, PlanView};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Web S", "service_kind": "web_hosting", "quotas": {"disk_mb": 10240, "mailboxes": 10, "mailbox_default_mb": 1024, "databases": 2},
    "prices": [{"cycle": "monthly", "amount_minor": 499, "currency": "EUR"}, {"cycle": "annual", "amount_minor": 4990, "currency": "EUR"}],
    "addons": [{"code": "extra-disk", "name": "10 GB extra disk", "quota_delta": {"disk_mb": 10240}, "prices": [{"cycle": "monthly", "amount_minor": 200, "currency": "EUR"}]}],
    "public": true}))]
pub struct CreatePlan {
    #[schema(format = "line", max_length = 200)]
    pub name: String,
    pub service_kind: ServiceKind,
    #[serde(default)]
    pub quotas: Quotas,
    /// One price per billing cycle offered, all in one currency.
    #[schema(min_items = 1, max_items = 6)]
    pub prices: Vec<Price>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub addons: Vec<Addon>,
    #[serde(default)]
    pub public: bool,
}

/// Create a plan: the provider's (operators) or the caller's own (resellers).
///
/// A plan sells one `service_kind` with its `quotas` (absent or null: unlimited; 0:
/// none), one price per offered cycle, all in one currency, and optional add-ons.
/// `public` plans are offered to the accounts directly below the plan's owner. A
/// reseller's plan, add-ons included, may not allow more than its own `reseller_hosting`
/// package in any quota that applies to the kind (`422 exceeds_reseller_package` at
/// `/quotas/{key}`); other refused fields are `422` with their pointers. Customers get
/// `403 forbidden`. Takes `Idempotency-Key`. API keys need `catalog:write`.
#[utoipa::path(
    tag = "Catalog",
    request_body = CreatePlan,
    params(IdempotencyKeyHeader),
    responses(
        (status = 201, description = "Created", body = PlanView, headers(("Location" = String), ("ETag" = String))),
    ),
)]
#[post("/plans")]
pub async fn create_plan(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::CreatePlan)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreatePlan = body.parse()?;
        let new = NewPlan {
            name: input.name,
            service_kind: input.service_kind,
            quotas: input.quotas,
            prices: input.prices,
            addons: input.addons,
            public: input.public,
        };
        let row = use_case::create(&state, &principal.actor, authorized.clone(), new).await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/plans/{}", row.id)));
        Ok(plan_response(builder, &row))
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListPlansQuery {
    pub service_kind: Option<ServiceKind>,
    /// Archived plans instead of the ones on sale.
    #[serde(default)]
    pub archived: bool,
    /// Only this reseller's plans (operators).
    pub owner_id: Option<String>,
}

/// The plans the caller may see, newest first.
///
/// Operators see every plan; a reseller its own and the public plans of the account
/// above it (the provider's when there is none); a customer the public plans of the
/// account above it. Plans on sale by default, archived ones with `archived=true`;
/// filters `service_kind` and (operators) `owner_id`. Cursor-paginated (`limit`,
/// `cursor`; a cursor is bound to its filters). API keys need `catalog:read`.
#[utoipa::path(
    tag = "Catalog",
    params(ListPlansQuery, PageQuery),
    responses((status = 200, description = "A page of plans", body = Page<PlanView>)),
)]
#[get("/plans")]
pub async fn list_plans(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListPlansQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ListPlans)?;
    let query = query.into_inner();
    let filters = format!(
        "kind={}&archived={}&owner={}",
        query.service_kind.map(ServiceKind::as_str).unwrap_or_default(),
        query.archived,
        query.owner_id.as_deref().unwrap_or_default()
    );
    let page = paging.request(filters)?;
    let filter = PlanFilter {
        service_kind: query.service_kind,
        archived: query.archived,
        owner_id: query.owner_id,
        before_id: page.before_id.clone(),
    };
    let (actor, own) = (&principal.actor, &principal.account);
    let rows = use_case::list(&state, actor, own, authorized, filter, page.fetch()).await?;
    let views = rows.iter().map(PlanView::from_row).collect::<Vec<_>>();
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Read one plan the caller may see.
///
/// Who sees which plan is as for the list; any other plan, and a malformed id, is `404`.
/// API keys need `catalog:read`.
#[utoipa::path(
    tag = "Catalog",
    params(("id" = String, Path, description = "The plan's id")),
    responses(
        (status = 200, description = "The plan", body = PlanView, headers(("ETag" = String))),
    ),
)]
#[get("/plans/{id}")]
pub async fn get_plan(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadPlan)?;
    let row = use_case::read(&state, &principal.actor, &principal.account, authorized, &id).await?;
    Ok(plan_response(HttpResponse::Ok(), &row))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Web S (2027)", "prices": [{"cycle": "monthly", "amount_minor": 599, "currency": "EUR"}], "public": false}))]
pub struct UpdatePlan {
    #[schema(format = "line", value_type = String, max_length = 200)]
    #[serde(default)]
    pub name: Patch<String>,
    /// Replaces the quotas (existing services keep the quotas they were sold with).
    #[schema(value_type = Option<Quotas>)]
    #[serde(default)]
    pub quotas: Patch<Quotas>,
    #[schema(value_type = Vec<Price>)]
    #[serde(default)]
    pub prices: Patch<Vec<Price>>,
    #[schema(value_type = Option<Vec<Addon>>)]
    #[serde(default)]
    pub addons: Patch<Vec<Addon>>,
    #[schema(value_type = bool)]
    #[serde(default)]
    pub public: Patch<bool>,
}

/// Change a plan (JSON merge patch). The kind cannot change.
///
/// Operators change any plan, a reseller only its own (`404` for others; customers get
/// `403 forbidden`); archived plans too. Services already sold keep the quotas and
/// prices they were sold with. The result is checked as a whole, like a new plan (`422`
/// with pointers, `exceeds_reseller_package` for a reseller's plan); a stale `If-Match`
/// is `412`. API keys need `catalog:write`.
#[utoipa::path(
    tag = "Catalog",
    params(("id" = String, Path, description = "The plan's id"), IfMatchHeader),
    request_body(content = UpdatePlan, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed plan", body = PlanView, headers(("ETag" = String))),
    ),
)]
#[patch("/plans/{id}")]
pub async fn update_plan(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::UpdatePlan)?;
    let plan = use_case::find_owned(&state, &principal.actor, authorized, &id).await?;
    let input: UpdatePlan = body.parse()?;
    let change = PlanChange {
        name: input.name,
        quotas: input.quotas,
        prices: input.prices,
        addons: input.addons,
        public: input.public,
    };
    let row = use_case::update(&state, &principal.actor, plan, change, IfMatch::from_request(&request)).await?;
    Ok(plan_response(HttpResponse::Ok(), &row))
}

/// Archive a plan: it is no longer sold; services on it keep it.
///
/// Plans are never deleted: an archived plan is no longer offered nor sold, is listed
/// with `archived=true`, and may still be changed. Archiving an archived plan answers
/// `204` and changes nothing. Operators archive any plan, a reseller only its own (`404`
/// for others; customers get `403 forbidden`). API keys need `catalog:write`.
#[utoipa::path(
    tag = "Catalog",
    params(("id" = String, Path, description = "The plan's id")),
    responses(
        (status = 204, description = "Archived (or already archived)"),
    ),
)]
#[delete("/plans/{id}")]
pub async fn archive_plan(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ArchivePlan)?;
    let plan = use_case::find_owned(&state, &principal.actor, authorized, &id).await?;
    use_case::archive(&state, &principal.actor, plan).await?;
    Ok(HttpResponse::NoContent().finish())
}
