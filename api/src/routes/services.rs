//! Services: what an account bought. Resellers and operators sell them to the accounts
//! below them; everyone lists, reads and renames their own; resellers also see their
//! subtree's; grantees see and act on what active grants give them (authorizations).

use std::collections::HashSet;

use actix_web::http::header;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::accounts::{AccountKind, AccountStatus, DisplayName};
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::authorizations::{self, Access, GrantRefusal};
use hostadmin_domain::catalog::{BillingCycle, QuotaKey, Quotas, ServiceKind};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::money::Money;
use hostadmin_domain::policy::Action;
use hostadmin_domain::provisioning::{Operation, Outcome, ServiceSpec};
use hostadmin_domain::services::{Cancellation, ServiceStatus};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::accounts as account_store;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::holds;
use hostadmin_persistence::plans::{self as plan_store, PlanOwnership};
use hostadmin_persistence::services::{
    self as service_store, NewService, ServiceChanges, ServiceFilter, ServiceReach, ServiceRow, ServiceScope,
};
use hostadmin_persistence::DbConnection;

use crate::auth::Principal;
use crate::db::Db;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, precondition_failed, IfMatch};
use crate::http::idempotency;
use crate::http::merge_patch::Patch;
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::provisioning;
use crate::resellers;
use crate::routes::account_holds;
use crate::routes::plans::{Addon, PlanView, Price};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceView {
    pub id: String,
    /// The human service number, unique across the installation.
    pub number: i64,
    pub name: String,
    pub kind: ServiceKind,
    pub status: ServiceStatus,
    pub owner_id: String,
    pub plan_id: String,
    pub cycle: BillingCycle,
    /// Codes of the plan's add-ons the service has.
    pub addons: Vec<String>,
    pub registered_at: DateTime<Utc>,
    pub next_due_at: DateTime<Utc>,
    pub recurring_amount_minor: i64,
    pub currency: String,
    pub auto_renew: bool,
    pub cancellation: Option<Cancellation>,
    pub suspension_reason: Option<String>,
    /// `true` while the service is suspended only because its owner's account (or one
    /// above it) is suspended or blocked: it becomes `active` again when that hold is
    /// lifted, and `POST /v1/services/{id}/unsuspend` answers `409 invalid_transition`
    /// meanwhile. `false` for a service suspended for a reason of its own, which lifting
    /// the owner's hold leaves suspended. Without it a client cannot tell the two apart.
    pub held: bool,
    /// The plan's quotas and the add-ons', as sold.
    pub quotas: Quotas,
    /// Operators only may set it: a reseller package that may be oversold.
    pub allow_overselling: bool,
}

impl ServiceView {
    pub fn from_row(row: &ServiceRow) -> Result<Self, ApiError> {
        Ok(Self {
            id: row.id.clone(),
            number: row.number,
            name: row.name.clone(),
            kind: row.kind,
            status: row.status,
            owner_id: row.owner_id.clone(),
            plan_id: row.plan_id.clone(),
            cycle: row.cycle,
            addons: row.addons.clone(),
            registered_at: time::to_utc(row.registered_at),
            next_due_at: time::to_utc(row.next_due_at),
            recurring_amount_minor: row.recurring_amount_minor,
            currency: row.currency.as_str().to_owned(),
            auto_renew: row.auto_renew,
            cancellation: row.cancellation.clone(),
            suspension_reason: row.suspension_reason.clone(),
            held: row.held,
            quotas: row.quotas.clone(),
            allow_overselling: row.allow_overselling,
        })
    }
}

pub fn service_response(
    mut builder: actix_web::HttpResponseBuilder,
    row: &ServiceRow,
) -> Result<HttpResponse, ApiError> {
    Ok(builder.insert_header((header::ETAG, etag(row.version))).json(ServiceView::from_row(row)?))
}

/// Whose services the caller reaches: its own, a reseller's subtree's, and for
/// operators every non-operator's.
pub fn reach(principal: &Principal) -> ServiceReach {
    reach_of(principal.id(), principal.kind())
}

/// [`reach`] of an account by its id and kind (a bulk job's requester).
pub fn reach_of(id: &str, kind: AccountKind) -> ServiceReach {
    let own = id.to_owned();
    match kind {
        AccountKind::Operator => ServiceReach::OwnAndNonOperators { own },
        AccountKind::Reseller => ServiceReach::OwnAndBelow { own },
        AccountKind::Customer => ServiceReach::Own { own },
    }
}

/// [`reach`] and the services granted to the caller; under an impersonation token the
/// grants the customer received do not count (the impersonator was not trusted with
/// them).
pub fn scope(principal: &Principal) -> ServiceScope {
    scope_of(principal.id(), principal.kind(), principal.actor.impersonator_id.is_none())
}

/// [`scope`] of an account by its id and kind (a bulk job's requester).
pub fn scope_of(id: &str, kind: AccountKind, grants_count: bool) -> ServiceScope {
    ServiceScope { reach: reach_of(id, kind), grantee: grants_count.then(|| id.to_owned()) }
}

/// Loads a service in the caller's own reach (grants do not count), or answers 404 as if
/// it did not exist. Routes that act for grantees use [`find_for`].
pub async fn find_reachable(state: &AppState, principal: &Principal, id: &str) -> Result<ServiceRow, ApiError> {
    Ok(find_in_scope(&state.db, ServiceScope::own(reach(principal)), id).await?.0)
}

/// Loads a service the caller reaches, its own or through grants (404 otherwise), and
/// checks that a grant allows `action` on it (`403 insufficient_grant`). Answers how it
/// was reached, for the checks that depend on being the owner or its seller.
pub async fn find_for(
    state: &AppState,
    principal: &Principal,
    id: &str,
    action: Action,
) -> Result<(ServiceRow, Access), ApiError> {
    let (row, access) = find_in_scope(&state.db, scope(principal), id).await?;
    require(&access, action)?;
    Ok((row, access))
}

/// Loads a service within `scope`, or answers 404 (also for a malformed id).
pub async fn find_in_scope(db: &Db, scope: ServiceScope, id: &str) -> Result<(ServiceRow, Access), ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    db.run(move |conn| service_store::find_in_reach(conn, &scope, &id)?.ok_or_else(ApiError::not_found)).await
}

/// `403 insufficient_grant` when the service was reached through grants that do not
/// allow `action`.
pub fn require(access: &Access, action: Action) -> Result<(), ApiError> {
    authorizations::require(access, action)
        .map_err(|refused| ApiError::new(actix_web::http::StatusCode::FORBIDDEN, GrantRefusal::CODE, refused.detail()))
}

/// Applies `changes` if the service is still at `version` and records `service.update`
/// in the same transaction; answers whether it did. PATCH and the bulk
/// `set_auto_renew` share it.
pub(crate) fn write_update(
    conn: &mut DbConnection,
    context: &AuditContext,
    row: &ServiceRow,
    changes: &ServiceChanges,
    now: chrono::NaiveDateTime,
) -> Result<bool, ApiError> {
    if !service_store::update(conn, &row.id, row.version, changes, now)? {
        return Ok(false);
    }
    audit::record(
        conn,
        context,
        NewEvent {
            action: actions::SERVICE_UPDATE,
            target_type: target::SERVICE,
            target_id: &row.id,
            account_id: Some(&row.owner_id),
            details: serde_json::json!({
                "name": changes.name, "auto_renew": changes.auto_renew, "allow_overselling": changes.allow_overselling,
            }),
        },
        now,
    )?;
    Ok(true)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateService {
    /// The account that will own the service: one below the caller (or, for an
    /// operator, the operator itself).
    pub owner_id: String,
    /// A plan the caller sells: a reseller's own, for operators the provider's or any.
    pub plan_id: String,
    pub cycle: BillingCycle,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Codes of the plan's add-ons.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub addons: Vec<String>,
}

/// What a sale comes to: the quotas and the recurring price of the plan with add-ons.
#[derive(Clone)]
pub(crate) struct Sale {
    pub(crate) quotas: Quotas,
    pub(crate) price: Money,
}

fn price_in(prices: &[Price], cycle: BillingCycle) -> Option<&Price> {
    prices.iter().find(|price| price.cycle == cycle)
}

/// Checks the plan, cycle and add-ons of a sale; every refusal with its pointer.
pub(crate) fn sale(plan: &PlanView, cycle: BillingCycle, addon_codes: &[String]) -> Result<Sale, ApiError> {
    let mut errors = Vec::new();
    if plan.archived_at.is_some() {
        errors.push(FieldError::new(
            "/plan_id",
            Invalid::new("plan_archived", "the plan is archived and no longer sold"),
        ));
    }
    let base = price_in(&plan.prices, cycle);
    if base.is_none() {
        errors.push(FieldError::new("/cycle", Invalid::new("not_offered", "the plan is not sold in this cycle")));
    }
    let mut chosen: Vec<&Addon> = Vec::new();
    let mut seen = HashSet::new();
    for (index, code) in addon_codes.iter().enumerate() {
        let pointer = format!("/addons/{index}");
        match plan.addons.iter().find(|addon| &addon.code == code) {
            _ if !seen.insert(code.as_str()) => {
                errors.push(FieldError::new(pointer, Invalid::new("duplicate", "each add-on once")))
            }
            None => errors.push(FieldError::new(pointer, Invalid::new("unknown_addon", "the plan has no such add-on"))),
            Some(addon) if base.is_some() && price_in(&addon.prices, cycle).is_none() => errors
                .push(FieldError::new(pointer, Invalid::new("not_offered", "the add-on is not sold in this cycle"))),
            Some(addon) => chosen.push(addon),
        }
    }
    let Some(base) = base.filter(|_| errors.is_empty()) else { return Err(ApiError::fields(errors)) };
    let amount_minor = chosen
        .iter()
        .filter_map(|addon| price_in(&addon.prices, cycle))
        .try_fold(base.amount_minor, |sum, price| sum.checked_add(price.amount_minor))
        .ok_or_else(|| ApiError::field("/addons", Invalid::new("out_of_range", "the total price is too large")))?;
    Ok(Sale {
        quotas: plan.quotas.with_addons(chosen.iter().map(|addon| &addon.quota_delta)),
        price: Money::new(amount_minor, base.currency.clone()),
    })
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
#[utoipa::path(
    tag = "Services",
    request_body = CreateService,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours.")),
    responses(
        (status = 201, description = "Created", body = ServiceView, headers(("Location" = String), ("ETag" = String))),
        (status = 404, description = "`not_found`: the owner or the plan is not one the caller may use", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`account_blocked` (the owner is blocked), `quota_exceeded` (a reseller package is full) or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/services")]
pub async fn create_service(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::CreateService)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateService = body.parse()?;
        let owner_id = parse_id(&input.owner_id).ok_or_else(ApiError::not_found)?;
        let plan_id = parse_id(&input.plan_id).ok_or_else(ApiError::not_found)?;
        let caller = principal.id().to_owned();
        let account_reach = principal.reach();
        let plans = match principal.kind() {
            AccountKind::Operator => PlanOwnership::Any,
            _ => PlanOwnership::OwnedBy(caller.clone()),
        };
        let may_own_itself = principal.kind() == AccountKind::Operator;
        let (owner, plan) = state
            .db
            .run(move |conn| {
                let owner = if may_own_itself && owner_id == caller {
                    account_store::find(conn, &owner_id)?
                } else {
                    account_store::find_in_reach(conn, &account_reach, &owner_id)?
                };
                let plan = plan_store::find_owned(conn, &plans, &plan_id)?;
                Ok((owner.ok_or_else(ApiError::not_found)?, plan.ok_or_else(ApiError::not_found)?))
            })
            .await?;
        let plan = PlanView::from_row(&plan)?;
        let name = DisplayName::parse(&input.name).map_err(|invalid| ApiError::field("/name", invalid))?;
        let sale = sale(&plan, input.cycle, &input.addons)?;
        let now = time::now();
        let next_due_at = input
            .cycle
            .advance(now, 1)
            .ok_or_else(|| ApiError::field("/cycle", Invalid::new("out_of_range", "the due date is out of range")))?;
        let new = NewService {
            id: new_id(),
            number: 0,
            owner_id: owner.id,
            plan_id: plan.id.clone(),
            name: name.as_str().to_owned(),
            kind: plan.service_kind,
            status: ServiceStatus::Pending,
            cycle: input.cycle,
            addons: input.addons.clone(),
            quotas: sale.quotas.clone(),
            next_due_at,
            price: sale.price.clone(),
            now,
        };
        let context = principal.audit.clone();
        let provisioner = state.provisioner.clone();
        let requested_by = principal.id().to_owned();
        let quotas = sale.quotas.clone();
        let kind = plan.service_kind;
        let owner_login = owner.login.clone();
        let row = state
            .db
            .write(move |conn| {
                let mut new = new.clone();
                let owner_status = holds::status_for_update(conn, &new.owner_id)?.ok_or_else(ApiError::not_found)?;
                if owner_status == AccountStatus::Blocked {
                    return Err(ApiError::conflict(
                        "account_blocked",
                        format!("the account {owner_login} ({}) is blocked and can no longer order", new.owner_id),
                    ));
                }
                new.number = service_store::next_number(conn)?;
                resellers::enforce(conn, &new.owner_id, false, QuotaKey::Services)?;
                let operation = Operation::Create {
                    service: ServiceSpec {
                        service_id: new.id.clone(),
                        number: new.number,
                        kind,
                        owner_id: new.owner_id.clone(),
                        plan_id: new.plan_id.clone(),
                        quotas: quotas.clone(),
                    },
                };
                // Queued (when deferred) before the service exists: the job row does not
                // refer to it, and both commit or neither.
                let status = match provisioning::request(conn, provisioner.as_ref(), operation, &requested_by, new.now)?
                {
                    Outcome::Done => ServiceStatus::Active,
                    Outcome::Deferred => ServiceStatus::Pending,
                };
                new.status = status;
                service_store::insert(conn, &new)?;
                audit::record(
                    conn,
                    &context,
                    NewEvent {
                        action: actions::SERVICE_CREATE,
                        target_type: target::SERVICE,
                        target_id: &new.id,
                        account_id: Some(&new.owner_id),
                        details: serde_json::json!({
                            "number": new.number, "plan_id": new.plan_id, "kind": new.kind, "status": new.status,
                        }),
                    },
                    new.now,
                )?;
                let row = service_store::find(conn, &new.id)?
                    .ok_or_else(|| ApiError::internal("the new service vanished"))?;
                account_holds::hold_with_owner(conn, provisioner.as_ref(), &context, row, owner_status, new.now)
            })
            .await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/services/{}", row.id)));
        service_response(builder, &row)
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

/// The caller's services, for resellers its subtree's, and the services other accounts
/// granted it (active grants; `owner_id` tells them apart); newest first.
#[utoipa::path(
    tag = "Services",
    params(ListServicesQuery, PageQuery),
    responses((status = 200, description = "A page of services", body = Page<ServiceView>)),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/services")]
pub async fn list_services(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListServicesQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ListServices)?;
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
    let filter = ServiceFilter {
        kind: query.kind,
        status: query.status,
        owner_id: query.owner_id,
        q,
        due_before: query.due_before.map(|at| at.naive_utc()),
        before_id: page.before_id.clone(),
    };
    let scope = scope(&principal);
    let fetch = page.fetch();
    let rows = state.db.run(move |conn| Ok(service_store::list_in_reach(conn, &scope, &filter, fetch)?)).await?;
    let views = rows.iter().map(ServiceView::from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Read one service.
#[utoipa::path(
    tag = "Services",
    params(("id" = String, Path, description = "The service's id")),
    responses(
        (status = 200, description = "The service", body = ServiceView, headers(("ETag" = String))),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/services/{id}")]
pub async fn get_service(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadService)?;
    let (row, _) = find_for(&state, &principal, &id, Action::ReadService).await?;
    service_response(HttpResponse::Ok(), &row)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateService {
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    #[serde(default)]
    pub name: Patch<String>,
    #[schema(value_type = Option<bool>)]
    #[serde(default)]
    pub auto_renew: Patch<bool>,
    /// Operators only.
    #[schema(value_type = Option<bool>)]
    #[serde(default)]
    pub allow_overselling: Patch<bool>,
}

fn not_null<T: Clone>(patch: &Patch<T>, pointer: &str) -> Result<Option<T>, ApiError> {
    match patch {
        Patch::Absent => Ok(None),
        Patch::Value(value) => Ok(Some(value.clone())),
        Patch::Null => Err(ApiError::field(pointer, Invalid::new("required", "cannot be cleared"))),
    }
}

/// Change a service's name, auto-renewal or (operators) overselling (JSON merge patch).
#[utoipa::path(
    tag = "Services",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body(content = UpdateService, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed service", body = ServiceView, headers(("ETag" = String))),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[patch("/services/{id}")]
pub async fn update_service(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::UpdateService)?;
    let (row, access) = find_for(&state, &principal, &id, Action::UpdateService).await?;
    let input: UpdateService = body.parse()?;
    let changes = ServiceChanges {
        name: not_null(&input.name, "/name")?
            .map(|name| DisplayName::parse(&name).map(|n| n.as_str().to_owned()))
            .transpose()
            .map_err(|invalid| ApiError::field("/name", invalid))?,
        auto_renew: not_null(&input.auto_renew, "/auto_renew")?,
        allow_overselling: not_null(&input.allow_overselling, "/allow_overselling")?,
    };
    if changes.allow_overselling.is_some() && (principal.kind() != AccountKind::Operator || access != Access::Own) {
        return Err(ApiError::forbidden("only operators allow overselling"));
    }
    let if_match = IfMatch::from_request(&request);
    if_match.check(row.version)?;
    let context = principal.audit.clone();
    let row = state
        .db
        .write(move |conn| {
            let now = time::now();
            if !write_update(conn, &context, &row, &changes, now)? {
                return Err(precondition_failed());
            }
            service_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)
        })
        .await?;
    service_response(HttpResponse::Ok(), &row)
}
