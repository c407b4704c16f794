//! The actions on one service: suspend, unsuspend, terminate, cancel and its withdrawal,
//! renew, change plan, password, usage (crate::app::lifecycle, plan_changes, services).
//!
//! Each handler: authorize (403) → the service within reach, for that action (404, 403)
//! → the body (422) → the use case (409, 412) → the answer.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::money::Currency;
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::policy::Action;
use hostadmin_domain::services::CancellationType;
use hostadmin_domain::validation::{Invalid, Reason};

use crate::app::access;
use crate::app::lifecycle::{self, Cycles};
use crate::app::plan_changes::{self, NewPlan, PlanChangeOutcome};
use crate::app::services::{self, ServicePassword as NewServicePassword};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch, IfMatchHeader};
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::problem::ApiError;
use crate::state::AppState;
use crate::views::services::{service_response, ServiceView};

fn reason(text: &str, pointer: &'static str) -> Result<Reason, ApiError> {
    Reason::parse(text).map_err(|invalid| ApiError::field(pointer, invalid))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Sending spam from a compromised contact form"}))]
pub struct SuspendService {
    /// Why; shown as the service's `suspension_reason` until it is unsuspended.
    #[schema(format = "text", max_length = 1000)]
    pub reason: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Contact form fixed"}))]
pub struct UnsuspendService {
    /// Why, for the audit log.
    #[schema(format = "text", max_length = 1000)]
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Unpaid since March; the customer agreed"}))]
pub struct TerminateService {
    /// Why, for the audit log.
    #[schema(format = "text", max_length = 1000)]
    pub reason: String,
}

/// Suspend a service of an account below the caller: it is kept but switched off.
///
/// Only an account above the owner (a reseller or operator): the owner gets `403
/// forbidden`, a grantee `403 insufficient_grant`, a customer always `403 forbidden`.
/// `reason` becomes the service's `suspension_reason`. The provisioner is
/// told in the same transaction. `409 invalid_transition` unless the service is
/// `active`; a stale `If-Match` is `412`. API keys need `services:write`.
#[utoipa::path(
    tag = "Services",
    params(("id" = String, Path, description = "The service's id"), IfMatchHeader),
    request_body = SuspendService,
    responses(
        (status = 200, description = "The suspended service", body = ServiceView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: customers, and the owner itself (only an account above it may suspend)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: only an active service can be suspended", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/suspend")]
pub async fn suspend_service(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::SuspendService)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    let input: SuspendService = body.parse()?;
    let reason = reason(&input.reason, "/reason")?;
    let row = lifecycle::suspend(&state, &principal.actor, service, reason, IfMatch::from_request(&request)).await?;
    Ok(service_response(HttpResponse::Ok(), &row))
}

/// Unsuspend a suspended service of an account below the caller.
///
/// The service is `active` again and its `suspension_reason` cleared; `reason` is
/// optional, for the audit log. Only an account above the owner (`403 forbidden` for
/// the owner and customers, `insufficient_grant` for grantees). `409
/// invalid_transition` when the service is not suspended, or when it is suspended
/// because its owner's account is held (lift the account's hold instead); a stale
/// `If-Match` is `412`. API keys need `services:write`.
#[utoipa::path(
    tag = "Services",
    params(("id" = String, Path, description = "The service's id"), IfMatchHeader),
    request_body = UnsuspendService,
    responses(
        (status = 200, description = "The active service", body = ServiceView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: customers, and the owner itself", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the service is not suspended", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/unsuspend")]
pub async fn unsuspend_service(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::SuspendService)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    let input: UnsuspendService = body.parse()?;
    let reason = input.reason.as_deref().map(|text| reason(text, "/reason")).transpose()?;
    let row = lifecycle::unsuspend(&state, &principal.actor, service, reason, IfMatch::from_request(&request)).await?;
    Ok(service_response(HttpResponse::Ok(), &row))
}

/// Terminate a service of an account below the caller: it ends for good.
///
/// A pending end-of-period cancellation and the suspension reason are cleared: neither
/// means anything for a terminated service (the audit log keeps both).
///
/// Only an account above the owner (`403 forbidden` for the owner and customers,
/// `insufficient_grant` for grantees). Its unpaid renewal invoices are voided. `409
/// invalid_transition` unless the service is active or suspended; a stale `If-Match` is
/// `412`. API keys need `services:write`.
#[utoipa::path(
    tag = "Services",
    params(("id" = String, Path, description = "The service's id"), IfMatchHeader),
    request_body = TerminateService,
    responses(
        (status = 200, description = "The terminated service", body = ServiceView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: customers, and the owner itself", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: only an active or suspended service can be terminated", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/terminate")]
pub async fn terminate_service(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::TerminateService)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    let input: TerminateService = body.parse()?;
    let reason = reason(&input.reason, "/reason")?;
    let row = lifecycle::terminate(&state, &principal.actor, service, reason, IfMatch::from_request(&request)).await?;
    Ok(service_response(HttpResponse::Ok(), &row))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "end_of_period", "reason": "Moving the shop to a managed platform"}))]
pub struct CancelService {
    #[serde(rename = "type")]
    pub type_: CancellationType,
    #[schema(format = "text", max_length = 1000)]
    pub reason: String,
}

/// Cancel a service: at once, or at the end of the paid period.
///
/// `immediate` makes an active or suspended service `cancelled` now; `end_of_period`
/// keeps an active service running with `cancellation` set until `next_due_at`, then it
/// is cancelled. An immediate cancellation also replaces a pending end-of-period one.
/// Either way its unpaid renewal invoices are voided. The owner, an account above it, or
/// a grantee with `manage`; refused while `service.cancel` is disabled for the caller (or
/// for the owner a grantee acts for: `403 action_restricted`). `409 invalid_transition`
/// for a service that has ended, an end-of-period cancellation of a service that is not
/// active, or one already pending; a stale `If-Match` is `412`. API keys need
/// `services:write`.
#[utoipa::path(
    tag = "Services",
    params(("id" = String, Path, description = "The service's id"), IfMatchHeader),
    request_body = CancelService,
    responses(
        (status = 200, description = "The service, `cancelled` or with `cancellation` pending", body = ServiceView, headers(("ETag" = String))),
        (status = 409, description = "`invalid_transition`: the service has ended, is not active (end of period), or a cancellation is already pending", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/cancel")]
pub async fn cancel_service(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::CancelService)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    let input: CancelService = body.parse()?;
    let reason = reason(&input.reason, "/reason")?;
    let if_match = IfMatch::from_request(&request);
    let row = lifecycle::cancel(&state, &principal.actor, service, input.type_, reason, if_match).await?;
    Ok(service_response(HttpResponse::Ok(), &row))
}

/// Withdraw a pending end-of-period cancellation: the service simply goes on.
///
/// Answers `204` with the service's new `ETag`. Who may: as for cancelling (the owner,
/// an account above it, a grantee with `manage`; not while `service.cancel` is
/// disabled). `409 invalid_transition` when no cancellation is pending; a stale
/// `If-Match` is `412`. API keys need `services:write`.
#[utoipa::path(
    tag = "Services",
    params(("id" = String, Path, description = "The service's id"), IfMatchHeader),
    responses(
        (status = 204, description = "Withdrawn; `ETag` is the service's new one", headers(("ETag" = String))),
        (status = 409, description = "`invalid_transition`: no cancellation is pending", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[delete("/services/{id}/cancel")]
pub async fn withdraw_cancellation(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::CancelService)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    let if_match = IfMatch::from_request(&request);
    let row = lifecycle::withdraw_cancellation(&state, &principal.actor, service, if_match).await?;
    Ok(HttpResponse::NoContent().insert_header((header::ETAG, etag(row.version))).finish())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"cycles": 1}))]
pub struct RenewService {
    /// Whole billing cycles to add to `next_due_at`; 1 when absent.
    #[schema(minimum = 1, maximum = 10)]
    #[serde(default)]
    pub cycles: Option<u32>,
}

/// Renew a service by whole cycles: `next_due_at` moves on, and an expired service is
/// active again.
///
/// Until billing exists this is free, so only an account above the owner (or an
/// operator for its own service) applies it. The due date keeps its anchor: it moves
/// from the current `next_due_at`, not from today, even for an expired service. A
/// pending end-of-period cancellation stays pending and takes effect at the new date.
///
/// Refused while `service.renew` is disabled (`403 action_restricted`). Takes
/// `Idempotency-Key`: a retried renewal extends once. A stale `If-Match` is `412`. API
/// keys need `services:write`.
#[utoipa::path(
    tag = "Services",
    params(("id" = String, Path, description = "The service's id"), IfMatchHeader, IdempotencyKeyHeader),
    request_body = RenewService,
    responses(
        (status = 200, description = "The renewed service", body = ServiceView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: customers, and a reseller for its own service", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` (cancelled, terminated or pending services are not renewed) or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/renew")]
pub async fn renew_service(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::RenewService)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let service = access::service(&state, &principal.actor, authorized.clone(), &id).await?;
        let input: RenewService = body.parse()?;
        let cycles = Cycles::parse(input.cycles).map_err(|invalid| ApiError::field("/cycles", invalid))?;
        let if_match = IfMatch::from_request(&request);
        let row = lifecycle::renew(&state, &principal.actor, service, cycles, "/cycles", if_match).await?;
        Ok(service_response(HttpResponse::Ok(), &row))
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"plan_id": "01938a6e-3c4d-7e5f-8a6b-7c8d9e0f1a2b", "addons": ["extra-disk"], "quote_only": true}))]
pub struct ChangePlan {
    /// A plan of the service's kind, sold in the service's cycle: for an account above
    /// the owner one it sells (a reseller's own, for operators any); for the owner,
    /// asking for a quote, a public plan of the account above it.
    pub plan_id: String,
    /// Codes of the new plan's add-ons. Absent keeps the service's current add-ons,
    /// which the new plan must then sell too; `[]` drops them.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub addons: Option<Vec<String>>,
    /// Only say what the change would cost; change nothing.
    #[serde(default)]
    pub quote_only: bool,
}

/// What a plan change costs now, and whether it was made.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"amount_minor": 135, "currency": "EUR", "effective_at": "2026-12-05", "applied": false, "service": null}))]
pub struct PlanChangeQuote {
    /// The prorated difference for the rest of the paid period, in minor units:
    /// positive is a charge, negative a credit.
    pub amount_minor: i64,
    pub currency: Currency,
    /// The day (UTC) the new plan takes effect.
    pub effective_at: NaiveDate,
    /// False for a quote, true when the service was moved to the plan.
    pub applied: bool,
    /// The service after the change; null for a quote.
    pub service: Option<ServiceView>,
}

impl PlanChangeQuote {
    fn of(outcome: PlanChangeOutcome) -> Self {
        Self {
            amount_minor: outcome.quote.amount_minor,
            currency: outcome.quote.currency,
            effective_at: outcome.quote.effective_at,
            applied: outcome.service.is_some(),
            service: outcome.service.as_ref().map(ServiceView::from_row),
        }
    }
}

/// Whether the body asks for a quote only. Read before anything is looked up, since it
/// decides who may call (a customer may ask for quotes, never apply); a body that does
/// not say so plainly is an application, and its errors come later, in order.
fn asks_for_quote(body: &JsonBody) -> bool {
    serde_json::from_slice::<serde_json::Value>(body.bytes())
        .ok()
        .and_then(|value| value.get("quote_only")?.as_bool())
        .unwrap_or(false)
}

/// Quote or apply a plan change.
///
/// The quote is the contract's proration: (days left in the cycle / days in the cycle)
/// × (new recurring price − current one), rounded half up to the minor unit, where the
/// cycle is the one ending at `next_due_at` (it starts one cycle earlier, never before
/// the service was registered; whole cycles renewed ahead cost the full difference
/// each). Anyone who reaches the service may ask for a quote (`quote_only: true`).
/// Applying it is free until billing exists, so it needs an account above the owner
/// (or an operator for its own service) and an active service; it replaces the plan,
/// add-ons, quotas and recurring price, and is refused (`409 quota_exceeded`) when a
/// reseller package would allow fewer customers or services than are in use.
///
/// A grantee needs `billing` for a quote too. Takes `Idempotency-Key` (a retried change
/// is applied once); a stale `If-Match` is `412`. API keys need `services:read` for a
/// quote and `services:write` to apply; applying is refused while `service.change_plan`
/// is disabled (`403 action_restricted`).
#[utoipa::path(
    tag = "Services",
    params(("id" = String, Path, description = "The service's id"), IfMatchHeader, IdempotencyKeyHeader),
    request_body = ChangePlan,
    responses(
        (status = 200, description = "The quote, applied or not", body = PlanChangeQuote),
        (status = 403, description = "`forbidden`: applying by a customer, or by a reseller for its own service", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service for the caller, or the plan is not one it may choose", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active`, `quota_exceeded` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/change-plan")]
pub async fn change_service_plan(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let quote_only = asks_for_quote(&body);
    let action = if quote_only { Action::QuoteServicePlan } else { Action::ChangeServicePlan };
    let authorized = principal.authorize(action)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let service = access::service(&state, &principal.actor, authorized.clone(), &id).await?;
        let input: ChangePlan = body.parse()?;
        let plan = NewPlan { plan_id: input.plan_id, addons: input.addons };
        let outcome = if quote_only {
            plan_changes::quote(&state, &principal.actor, service, plan).await?
        } else {
            let if_match = IfMatch::from_request(&request);
            plan_changes::change(&state, &principal.actor, service, plan, if_match).await?
        };
        Ok(HttpResponse::Ok().json(PlanChangeQuote::of(outcome)))
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"generate": true}))]
pub struct SetServicePassword {
    /// The new password: 8-128 characters, not a commonly used one. Or send `generate`.
    #[schema(min_length = 8, max_length = 128)]
    #[serde(default)]
    pub password: Option<String>,
    /// `true`: the server generates a password (20 characters, shown once).
    #[serde(default)]
    pub generate: bool,
}

/// The password now in force; shown once, never stored in the clear.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"password": "Xk4pR7mWq2Tz9LbN3vHc"}))]
pub struct ServicePassword {
    pub password: String,
}

/// Set the service's password (FTP, control panel), or have one generated.
///
/// The owner or an account above; the service must be active. Only an argon2id hash is
/// stored. The answer holds the password, so it is never cached and the route takes no
/// `Idempotency-Key` (`400 idempotency_not_supported`).
///
/// Grantees with `manage` may too; refused while `service.password` is disabled (`403
/// action_restricted`). API keys need `services:write`.
#[utoipa::path(
    tag = "Services",
    params(("id" = String, Path, description = "The service's id"), IfMatchHeader),
    request_body = SetServicePassword,
    responses(
        (status = 200, description = "The password, shown once", body = ServicePassword, headers(("Cache-Control" = String, description = "no-store"))),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/password")]
pub async fn set_service_password(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::SetServicePassword)?;
    idempotency::refuse(&request)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    let input: SetServicePassword = body.parse()?;
    let password = match (input.password, input.generate) {
        (Some(_), true) => {
            return Err(ApiError::field(
                "/generate",
                Invalid::new("mutually_exclusive", "send either password or generate: true, not both"),
            ))
        }
        (None, false) => {
            return Err(ApiError::field("/password", Invalid::new("required", "send password, or generate: true")))
        }
        (Some(given), false) => NewServicePassword::Chosen(
            NewPassword::parse(&given).map_err(|invalid| ApiError::field("/password", invalid))?,
        ),
        (None, true) => NewServicePassword::Generated,
    };
    let if_match = IfMatch::from_request(&request);
    let password = services::set_password(&state, &principal.actor, service, password, if_match).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(ServicePassword { password }))
}

/// One resource of a service: how much is used, and the limit (null: unlimited).
#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    pub used: u64,
    pub limit: Option<u64>,
}

/// Every quota that applies to the service's kind, by its key (`disk_mb`, `mailboxes`,
/// ...; for a reseller package also `customers` and `services`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"mailboxes": {"used": 3, "limit": 10}, "databases": {"used": 0, "limit": null}}))]
pub struct ServiceUsage(pub BTreeMap<String, Usage>);

/// What a service uses of each of its quotas.
///
/// One entry per quota that applies to the service's kind, with what is `used` and the
/// `limit` (null: unlimited). For a reseller package, `used` counts everything the
/// accounts below the reseller own, `customers` and `services` included. Whoever may read
/// the service: its owner, the accounts above it, grantees with `view`. API keys need
/// `services:read`.
#[utoipa::path(
    tag = "Services",
    params(("id" = String, Path, description = "The service's id")),
    responses((status = 200, description = "Use and limit per quota", body = ServiceUsage)),
)]
#[get("/services/{id}/usage")]
pub async fn service_usage(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadServiceUsage)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    let usage = services::usage(&state, service).await?;
    let usage = usage.into_iter().map(|(key, used, limit)| (key.as_str().to_owned(), Usage { used, limit })).collect();
    Ok(HttpResponse::Ok().json(ServiceUsage(usage)))
}
