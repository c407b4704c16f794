//! The catalog: plans with their quotas, prices per billing cycle and add-ons. The
//! provider's plans are made by operators; each reseller sells plans of its own.
//! Plans are archived, never deleted.

use std::collections::HashSet;

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::accounts::{AccountKind, DisplayName};
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::{Addon, BillingCycle, Price, QuotaKey, Quotas, ServiceKind};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::money::Currency;
use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{self, NewEvent};
use hostadmin_persistence::plans::{
    self as plan_store, PlanFilter, PlanOwnership, PlanRow, PlanValues, PlanVisibility,
};
use hostadmin_persistence::services as service_store;
use hostadmin_persistence::DbConnection;

use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{precondition_failed, IfMatch};
use crate::http::idempotency;
use crate::http::merge_patch::Patch;
use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;
use crate::views::plans::{plan_response, PlanView};

/// The most an amount may be: ten billion in major units.
const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;
const MAX_ADDONS: usize = 20;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Web S", "service_kind": "web_hosting", "quotas": {"disk_mb": 10240, "mailboxes": 10, "mailbox_default_mb": 1024, "databases": 2},
    "prices": [{"cycle": "monthly", "amount_minor": 499, "currency": "EUR"}, {"cycle": "annual", "amount_minor": 4990, "currency": "EUR"}],
    "addons": [{"code": "extra-disk", "name": "10 GB extra disk", "quota_delta": {"disk_mb": 10240}, "prices": [{"cycle": "monthly", "amount_minor": 200, "currency": "EUR"}]}],
    "public": true}))]
pub struct CreatePlan {
    #[schema(min_length = 1, max_length = 200)]
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

/// What a plan is, checked as a whole: every rule that refuses it, with its pointer.
fn check_plan(
    name: &str,
    kind: ServiceKind,
    quotas: &Quotas,
    prices: &[Price],
    addons: &[Addon],
) -> Result<String, ApiError> {
    let mut errors = Vec::new();
    let name = match DisplayName::parse(name) {
        Ok(name) => name.as_str().to_owned(),
        Err(invalid) => {
            errors.push(FieldError::new("/name", invalid));
            String::new()
        }
    };
    for key in quotas.set_but_not_applying_to(kind) {
        errors.push(FieldError::new(
            format!("/quotas/{key}"),
            Invalid::new("not_applicable", format!("{key} does not apply to {} plans", kind.as_str())),
        ));
    }
    if prices.is_empty() || prices.len() > BillingCycle::ALL.len() {
        errors.push(FieldError::new(
            "/prices",
            Invalid::new("invalid_length", "give one price per billing cycle offered"),
        ));
    }
    let currency = prices.first().map(|p| p.currency.clone());
    check_prices("/prices", prices, currency.as_ref(), None, &mut errors);
    let cycles: HashSet<BillingCycle> = prices.iter().map(|p| p.cycle).collect();
    if addons.len() > MAX_ADDONS {
        errors
            .push(FieldError::new("/addons", Invalid::new("invalid_length", format!("at most {MAX_ADDONS} add-ons"))));
    }
    let mut codes = HashSet::new();
    for (index, addon) in addons.iter().enumerate() {
        let at = format!("/addons/{index}");
        if !valid_code(&addon.code) {
            errors.push(FieldError::new(format!("{at}/code"), Invalid::new("invalid_code", "1-40 of a-z 0-9 _ -")));
        } else if !codes.insert(addon.code.as_str()) {
            errors.push(FieldError::new(format!("{at}/code"), Invalid::new("duplicate", "each add-on code once")));
        }
        if let Err(invalid) = DisplayName::parse(&addon.name) {
            errors.push(FieldError::new(format!("{at}/name"), invalid));
        }
        for key in QuotaKey::ALL {
            if addon.quota_delta.get(key) > 0 && !key.applies_to(kind) {
                errors.push(FieldError::new(
                    format!("{at}/quota_delta/{}", key.as_str()),
                    Invalid::new(
                        "not_applicable",
                        format!("{} does not apply to {} plans", key.as_str(), kind.as_str()),
                    ),
                ));
            }
        }
        if addon.prices.is_empty() {
            errors
                .push(FieldError::new(format!("{at}/prices"), Invalid::new("invalid_length", "an add-on has a price")));
        }
        // Without plan prices there is nothing to compare with: that refusal is enough.
        let offered = (!cycles.is_empty()).then_some(&cycles);
        check_prices(&format!("{at}/prices"), &addon.prices, currency.as_ref(), offered, &mut errors);
    }
    if errors.is_empty() {
        Ok(name)
    } else {
        Err(ApiError::fields(errors))
    }
}

/// A reseller's plan never allows more than the reseller's own package, add-ons
/// included: `422 exceeds_reseller_package`, pointing at each quota that does. The
/// provider's plans and resellers without a package have no ceiling.
fn check_package(
    conn: &mut DbConnection,
    owner: Option<&str>,
    kind: ServiceKind,
    quotas: &Quotas,
    addons: &[Addon],
) -> Result<(), ApiError> {
    let Some(owner) = owner else { return Ok(()) };
    let most = quotas.with_addons(addons.iter().map(|addon| &addon.quota_delta));
    for package in service_store::lock_packages(conn, &[owner.to_owned()])? {
        let ceiling = package.quotas.clone();
        let errors: Vec<FieldError> = most
            .exceeding(&ceiling, kind)
            .into_iter()
            .map(|key| {
                let limit = QuotaKey::parse(key).and_then(|k| ceiling.get(k));
                FieldError::new(
                    format!("/quotas/{key}"),
                    Invalid::new(
                        "exceeds_reseller_package",
                        format!(
                            "the reseller package allows {} {key}; this plan (with its add-ons) allows more",
                            limit.unwrap_or(0)
                        ),
                    ),
                )
            })
            .collect();
        if !errors.is_empty() {
            return Err(ApiError::Validation { code: "exceeds_reseller_package", errors });
        }
    }
    Ok(())
}

fn valid_code(code: &str) -> bool {
    let mut chars = code.chars();
    (1..=40).contains(&code.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Each price: a bounded amount, the plan's one currency, each cycle once, and (for
/// add-ons) only cycles the plan is sold in.
fn check_prices(
    at: &str,
    prices: &[Price],
    currency: Option<&Currency>,
    plan_cycles: Option<&HashSet<BillingCycle>>,
    errors: &mut Vec<FieldError>,
) {
    let mut seen = HashSet::new();
    for (index, price) in prices.iter().enumerate() {
        let here = format!("{at}/{index}");
        if !(0..=MAX_AMOUNT_MINOR).contains(&price.amount_minor) {
            errors.push(FieldError::new(
                format!("{here}/amount_minor"),
                Invalid::new("out_of_range", format!("0 to {MAX_AMOUNT_MINOR}")),
            ));
        }
        if currency.is_some_and(|c| *c != price.currency) {
            errors.push(FieldError::new(
                format!("{here}/currency"),
                Invalid::new("currency_mismatch", "a plan is priced in one currency"),
            ));
        }
        if !seen.insert(price.cycle) {
            errors.push(FieldError::new(format!("{here}/cycle"), Invalid::new("duplicate", "one price per cycle")));
        }
        if plan_cycles.is_some_and(|cycles| !cycles.contains(&price.cycle)) {
            errors.push(FieldError::new(
                format!("{here}/cycle"),
                Invalid::new("not_offered", "the plan is not sold in this cycle"),
            ));
        }
    }
}

fn to_values(
    name: String,
    kind: ServiceKind,
    quotas: &Quotas,
    prices: &[Price],
    addons: &[Addon],
    public: bool,
) -> Result<PlanValues, ApiError> {
    Ok(PlanValues {
        name,
        service_kind: kind,
        quotas: quotas.clone(),
        prices: prices.to_vec(),
        addons: addons.to_vec(),
        public,
    })
}

/// Who sees which plans: operators all of them; a reseller its own and the public plans
/// of the account above it (the provider's when none); a customer the public plans of
/// the account above it.
fn visibility(principal: &Principal) -> PlanVisibility {
    let seller = principal.account.parent_id.clone();
    match principal.kind() {
        AccountKind::Operator => PlanVisibility::All,
        AccountKind::Reseller => {
            PlanVisibility::OwnAndPublicOf { owner: Some(Some(principal.id().to_owned())), seller }
        }
        AccountKind::Customer => PlanVisibility::OwnAndPublicOf { owner: None, seller },
    }
}

/// Whose plans the caller may change: operators any (the provider's and, as the
/// provider's staff, every reseller's), a reseller only its own.
fn ownership(principal: &Principal) -> PlanOwnership {
    match principal.kind() {
        AccountKind::Operator => PlanOwnership::Any,
        _ => PlanOwnership::OwnedBy(principal.id().to_owned()),
    }
}

/// Create a plan: the provider's (operators) or the caller's own (resellers).
#[utoipa::path(
    tag = "Catalog",
    request_body = CreatePlan,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours.")),
    responses(
        (status = 201, description = "Created", body = PlanView, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "`idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/plans")]
pub async fn create_plan(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::CreatePlan)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreatePlan = body.parse()?;
        let name = check_plan(&input.name, input.service_kind, &input.quotas, &input.prices, &input.addons)?;
        let values = to_values(name, input.service_kind, &input.quotas, &input.prices, &input.addons, input.public)?;
        let (kind, quotas, addons) = (input.service_kind, input.quotas, input.addons);
        let owner = match principal.kind() {
            AccountKind::Operator => None,
            _ => Some(principal.id().to_owned()),
        };
        let context = principal.audit();
        let id = new_id();
        let row = state
            .db
            .write(move |conn| {
                let now = time::now();
                check_package(conn, owner.as_deref(), kind, &quotas, &addons)?;
                plan_store::insert(conn, &id, owner.as_deref(), &values, now)?;
                audit::record(
                    conn,
                    &context,
                    NewEvent {
                        action: actions::PLAN_CREATE,
                        target_type: target::PLAN,
                        target_id: &id,
                        account_id: owner.as_deref(),
                        details: serde_json::json!({ "name": values.name, "service_kind": values.service_kind }),
                    },
                    now,
                )?;
                plan_store::find_owned(conn, &PlanOwnership::Any, &id)?
                    .ok_or_else(|| ApiError::internal("the new plan vanished"))
            })
            .await?;
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
#[utoipa::path(
    tag = "Catalog",
    params(ListPlansQuery, PageQuery),
    responses((status = 200, description = "A page of plans", body = Page<PlanView>)),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/plans")]
pub async fn list_plans(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListPlansQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ListPlans)?;
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
    let visibility = visibility(&principal);
    let fetch = page.fetch();
    let rows = state.db.run(move |conn| Ok(plan_store::list_visible(conn, &visibility, &filter, fetch)?)).await?;
    let views = rows.iter().map(PlanView::from_row).collect::<Vec<_>>();
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Read one plan the caller may see.
#[utoipa::path(
    tag = "Catalog",
    params(("id" = String, Path, description = "The plan's id")),
    responses(
        (status = 200, description = "The plan", body = PlanView, headers(("ETag" = String))),
        (status = 404, description = "No such plan for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/plans/{id}")]
pub async fn get_plan(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadPlan)?;
    let id = parse_id(&id).ok_or_else(ApiError::not_found)?;
    let visibility = visibility(&principal);
    let row = state
        .db
        .run(move |conn| plan_store::find_visible(conn, &visibility, &id)?.ok_or_else(ApiError::not_found))
        .await?;
    Ok(plan_response(HttpResponse::Ok(), &row))
}

async fn owned_plan(state: &AppState, principal: &Principal, id: &str) -> Result<PlanRow, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let ownership = ownership(principal);
    state.db.run(move |conn| plan_store::find_owned(conn, &ownership, &id)?.ok_or_else(ApiError::not_found)).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePlan {
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    #[serde(default)]
    pub name: Patch<String>,
    /// Replaces the quotas (existing services keep the quotas they were sold with).
    #[schema(value_type = Option<Quotas>)]
    #[serde(default)]
    pub quotas: Patch<Quotas>,
    #[schema(value_type = Option<Vec<Price>>)]
    #[serde(default)]
    pub prices: Patch<Vec<Price>>,
    #[schema(value_type = Option<Vec<Addon>>)]
    #[serde(default)]
    pub addons: Patch<Vec<Addon>>,
    #[schema(value_type = Option<bool>)]
    #[serde(default)]
    pub public: Patch<bool>,
}

/// Takes a patch field that may not be cleared: `null` is refused with its pointer.
fn required<T: Clone>(patch: &Patch<T>, current: T, pointer: &str) -> Result<T, ApiError> {
    match patch {
        Patch::Absent => Ok(current),
        Patch::Value(value) => Ok(value.clone()),
        Patch::Null => Err(ApiError::field(pointer, Invalid::new("required", "cannot be cleared"))),
    }
}

/// Change a plan (JSON merge patch). The kind cannot change.
#[utoipa::path(
    tag = "Catalog",
    params(
        ("id" = String, Path, description = "The plan's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body(content = UpdatePlan, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed plan", body = PlanView, headers(("ETag" = String))),
        (status = 404, description = "No such plan of the caller's", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[patch("/plans/{id}")]
pub async fn update_plan(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::UpdatePlan)?;
    let row = owned_plan(&state, &principal, &id).await?;
    let input: UpdatePlan = body.parse()?;
    let current = PlanView::from_row(&row);
    let name = required(&input.name, current.name.clone(), "/name")?;
    let quotas = match &input.quotas {
        Patch::Absent => current.quotas.clone(),
        Patch::Null => Quotas::default(),
        Patch::Value(quotas) => quotas.clone(),
    };
    let prices = required(&input.prices, current.prices.clone(), "/prices")?;
    let addons = match &input.addons {
        Patch::Absent => current.addons.clone(),
        Patch::Null => Vec::new(),
        Patch::Value(addons) => addons.clone(),
    };
    let public = required(&input.public, current.public, "/public")?;
    let name = check_plan(&name, current.service_kind, &quotas, &prices, &addons)?;
    let values = to_values(name, current.service_kind, &quotas, &prices, &addons, public)?;
    let kind = current.service_kind;
    let if_match = IfMatch::from_request(&request);
    if_match.check(row.version)?;
    let context = principal.audit();
    let row = state
        .db
        .write(move |conn| {
            let now = time::now();
            check_package(conn, row.owner_id.as_deref(), kind, &quotas, &addons)?;
            if !plan_store::update(conn, &row.id, row.version, &values, now)? {
                return Err(precondition_failed());
            }
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::PLAN_UPDATE,
                    target_type: target::PLAN,
                    target_id: &row.id,
                    account_id: row.owner_id.as_deref(),
                    details: serde_json::json!({ "name": values.name }),
                },
                now,
            )?;
            plan_store::find_owned(conn, &PlanOwnership::Any, &row.id)?.ok_or_else(ApiError::not_found)
        })
        .await?;
    Ok(plan_response(HttpResponse::Ok(), &row))
}

/// Archive a plan: it is no longer sold; services on it keep it.
#[utoipa::path(
    tag = "Catalog",
    params(("id" = String, Path, description = "The plan's id")),
    responses(
        (status = 204, description = "Archived (or already archived)"),
        (status = 404, description = "No such plan of the caller's", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[delete("/plans/{id}")]
pub async fn archive_plan(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ArchivePlan)?;
    let row = owned_plan(&state, &principal, &id).await?;
    let context = principal.audit();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            if plan_store::archive(conn, &row.id, now)? {
                audit::record(
                    conn,
                    &context,
                    NewEvent {
                        action: actions::PLAN_ARCHIVE,
                        target_type: target::PLAN,
                        target_id: &row.id,
                        account_id: row.owner_id.as_deref(),
                        details: serde_json::json!({}),
                    },
                    now,
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
