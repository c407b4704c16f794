//! A service's lifecycle and what hangs on it: suspend, unsuspend and terminate (by an
//! account above the owner), cancel and withdraw a cancellation (the owner or anyone
//! above), renew and change plan (sellers; anyone who reaches the service may ask for a
//! quote), the service's password, and its usage.
//!
//! Every change follows one order: authorize the kind of caller (403) → load the
//! service within reach (404) → may this caller act on this service (403) → parse the
//! body (422) → one transaction that reads the service again, checks `If-Match` (412)
//! and the lifecycle (409, from [`transition`] only), writes the change only if nobody
//! changed the service meanwhile, and records the audit event.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::accounts::AccountKind;
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::authorizations::Access;
use hostadmin_domain::catalog::{BillingCycle, QuotaKey, Quotas, ServiceKind};
use hostadmin_domain::credentials::random_bytes;
use hostadmin_domain::ids::parse_id;
use hostadmin_domain::money::Currency;
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::policy::Action;
use hostadmin_domain::proration::{self, Quote};
use hostadmin_domain::provisioning::{Operation, Provisioner};
use hostadmin_domain::services::{transition, Cancellation, CancellationType, ServiceAction, ServiceStatus};
use hostadmin_domain::time;
use hostadmin_domain::validation::{check_length, Invalid};
use hostadmin_persistence::accounts as account_store;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::holds;
use hostadmin_persistence::plans::{self as plan_store, PlanOwnership, PlanVisibility};
use hostadmin_persistence::services::{self as service_store, PlanChange, ServiceRow, ServiceState};
use hostadmin_persistence::{usage, DbConnection};

use crate::auth::Principal;
use crate::db::Db;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch};
use crate::http::idempotency;
use crate::http::problem::ApiError;
use crate::provisioning;
use crate::routes::plans::PlanView;
use crate::routes::services::{find_for, sale, service_response, Sale, ServiceView};
use crate::state::AppState;

/// The longest reason a suspension, termination or cancellation may give.
const MAX_REASON: usize = 1000;
/// The most cycles one renewal may add.
const MAX_RENEW_CYCLES: u32 = 10;
/// A generated password: 20 symbols of 56, about 116 bits.
const GENERATED_PASSWORD_LENGTH: usize = 20;
/// Letters and digits without the look-alikes `0 O o 1 l I`: 56 symbols, safe to read
/// out on the phone or copy from a screenshot.
const PASSWORD_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

// ---------------------------------------------------------------------------------
// Who may act on a service, and what state it is in.
// ---------------------------------------------------------------------------------

/// Who acts on a service: the caller of a route, or the requester of a bulk action
/// (whose job the worker may carry out later).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Who<'a> {
    pub(crate) id: &'a str,
    pub(crate) kind: AccountKind,
}

impl<'a> From<&'a Principal> for Who<'a> {
    fn from(principal: &'a Principal) -> Self {
        Self { id: principal.id(), kind: principal.kind() }
    }
}

/// Whether the caller is strictly above the service's owner. A service loaded within
/// the caller's own reach (its own, its subtree's, for operators every non-operator's)
/// has, unless the caller owns it, an owner below it; one reached through a grant does
/// not, whoever granted it.
fn is_above<'a>(who: impl Into<Who<'a>>, row: &ServiceRow, access: &Access) -> bool {
    *access == Access::Own && row.owner_id != who.into().id
}

fn require_above<'a>(who: impl Into<Who<'a>>, row: &ServiceRow, access: &Access, verb: &str) -> Result<(), ApiError> {
    if is_above(who, row, access) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("only an account above the service's owner may {verb} it")))
    }
}

/// Whether the caller sells to the service's owner, and so may renew it or change its
/// plan for free: an account above the owner or, as when services are created, an
/// operator for itself.
fn sells_to<'a>(who: impl Into<Who<'a>>, row: &ServiceRow, access: &Access) -> bool {
    let who = who.into();
    is_above(who, row, access) || (who.kind == AccountKind::Operator && *access == Access::Own)
}

/// May `who` suspend (or unsuspend) this service it reaches: only from above.
pub(crate) fn may_suspend(who: Who<'_>, row: &ServiceRow, access: &Access, verb: &str) -> Result<(), ApiError> {
    require_above(who, row, access, verb)
}

/// May `who` renew this service it reaches: only one who sells to the owner (a grantee
/// with `billing` too, once billing exists and renewing is paid for).
pub(crate) fn may_renew(who: Who<'_>, row: &ServiceRow, access: &Access) -> Result<(), ApiError> {
    if sells_to(who, row, access) {
        Ok(())
    } else {
        Err(ApiError::forbidden("only an account above the service's owner may renew it"))
    }
}

/// Where `action` takes the service, or `409 invalid_transition`.
fn moved(row: &ServiceRow, action: ServiceAction) -> Result<ServiceStatus, ApiError> {
    transition(row.status, action, row.has_pending_cancellation())
        .map_err(|refused| ApiError::conflict(refused.code(), refused.detail()))
}

pub(crate) fn require_active(row: &ServiceRow, what: &str) -> Result<(), ApiError> {
    let status = row.status;
    if status == ServiceStatus::Active {
        Ok(())
    } else {
        Err(ApiError::conflict("service_not_active", format!("{what} needs an active service; this one is {status}")))
    }
}

/// A reason: 1-1000 characters once trimmed; line breaks and tabs allowed, no other
/// control characters.
pub(crate) fn reason(text: &str, pointer: &str) -> Result<String, ApiError> {
    let trimmed = text.trim();
    check_length(trimmed, 1, MAX_REASON).map_err(|invalid| ApiError::field(pointer, invalid))?;
    if trimmed.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(ApiError::field(
            pointer,
            Invalid::new("invalid_characters", "must not contain control characters other than line breaks and tabs"),
        ));
    }
    Ok(trimmed.to_owned())
}

// ---------------------------------------------------------------------------------
// The one transaction of every change.
// ---------------------------------------------------------------------------------

/// The service as it is now, inside the transaction, if `If-Match` still holds.
fn current(conn: &mut DbConnection, id: &str, if_match: &IfMatch) -> Result<ServiceRow, ApiError> {
    let row = service_store::find(conn, id)?.ok_or_else(ApiError::not_found)?;
    if_match.check(row.version)?;
    Ok(row)
}

/// Another transaction changed the service between this one's read and its write
/// (PostgreSQL; SQLite writers take turns). `Db::write` retries it with a fresh read.
fn changed_meanwhile() -> ApiError {
    ApiError::Busy("the service changed during the request".into())
}

/// The account a queued provisioning job is requested by: the one acting (as), or the
/// service's owner for a change without an actor.
fn requester<'a>(context: &'a AuditContext, row: &'a ServiceRow) -> &'a str {
    context.on_behalf_of.as_deref().or(context.actor_id.as_deref()).unwrap_or(&row.owner_id)
}

fn record(
    conn: &mut DbConnection,
    context: &AuditContext,
    row: &ServiceRow,
    action: &'static str,
    details: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let event =
        NewEvent { action, target_type: target::SERVICE, target_id: &row.id, account_id: Some(&row.owner_id), details };
    Ok(audit::record(conn, context, event, now)?)
}

/// One lifecycle change, all or nothing: reads the service again, checks `If-Match`
/// (412), lets `change` decide the new state and the audit details (its 409 and 422),
/// writes them if nobody changed the service meanwhile, and records `action`.
async fn change_state<F>(
    state: &AppState,
    request: &HttpRequest,
    principal: &Principal,
    id: String,
    action: &'static str,
    change: F,
) -> Result<ServiceRow, ApiError>
where
    F: Fn(&ServiceRow, NaiveDateTime) -> Result<(ServiceState, serde_json::Value), ApiError> + Send + Sync + 'static,
{
    apply(&state.db, &state.provisioner, principal.audit.clone(), id, IfMatch::from_request(request), action, change)
        .await
}

/// [`change_state`] for any caller: a route's, or a bulk item's (no `If-Match`).
///
/// A move the servers must carry out (suspend, unsuspend, terminate) is handed to the
/// provisioner in the same transaction. The local state changes at once whatever the
/// driver answers: a deferring driver's operation is queued for the worker, which
/// carries it out (and retries it) afterwards.
pub(crate) async fn apply<F>(
    db: &Db,
    provisioner: &Arc<dyn Provisioner>,
    context: AuditContext,
    id: String,
    if_match: IfMatch,
    action: &'static str,
    change: F,
) -> Result<ServiceRow, ApiError>
where
    F: Fn(&ServiceRow, NaiveDateTime) -> Result<(ServiceState, serde_json::Value), ApiError> + Send + Sync + 'static,
{
    let provisioner = provisioner.clone();
    db.write(move |conn| {
        let now = time::now();
        let row = current(conn, &id, &if_match)?;
        if action == actions::SERVICE_UNSUSPEND && holds::service_is_held(conn, &row.id)? {
            return Err(ApiError::conflict(
                "invalid_transition",
                "the service is suspended with its owner's account; lift the account's hold instead",
            ));
        }
        let (next, details) = change(&row, now)?;
        if !service_store::set_state(conn, &row.id, row.version, &next, now)? {
            return Err(changed_meanwhile());
        }
        record(conn, &context, &row, action, details, now)?;
        let changed = service_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)?;
        let to = changed.status;
        if to != ServiceStatus::Suspended {
            // Terminated or cancelled while held: nothing for the owner's unhold to undo.
            holds::forget_service_hold(conn, &row.id)?;
        }
        if let Some(operation) = Operation::for_transition(row.status, to, provisioning::spec_of(&changed)?) {
            provisioning::request(conn, provisioner.as_ref(), operation, requester(&context, &row), now)?;
        }
        Ok(changed)
    })
    .await
}

// ---------------------------------------------------------------------------------
// The changes routes and bulk actions share: each decides the new state and the audit
// details from the service as it is inside the transaction.
// ---------------------------------------------------------------------------------

/// What [`apply`] asks of an action.
pub(crate) type Change =
    Box<dyn Fn(&ServiceRow, NaiveDateTime) -> Result<(ServiceState, serde_json::Value), ApiError> + Send + Sync>;

/// Suspends an active service with `reason` (already checked by [`reason`]).
pub(crate) fn suspension(reason: String) -> Change {
    Box::new(move |row, _| {
        let status = moved(row, ServiceAction::Suspend)?;
        let next = ServiceState { status, suspension_reason: Some(reason.clone()), ..ServiceState::of(row) };
        Ok((next, serde_json::json!({ "reason": reason })))
    })
}

/// Unsuspends a suspended service; the reason (if any) is for the audit log.
pub(crate) fn unsuspension(reason: Option<String>) -> Change {
    Box::new(move |row, _| {
        let status = moved(row, ServiceAction::Unsuspend)?;
        let next = ServiceState { status, suspension_reason: None, ..ServiceState::of(row) };
        Ok((next, serde_json::json!({ "reason": reason, "suspension_reason": row.suspension_reason })))
    })
}

/// The number of cycles a renewal asks for: 1 when absent, at most
/// [`MAX_RENEW_CYCLES`].
pub(crate) fn renew_cycles(cycles: Option<u32>, pointer: &str) -> Result<u32, ApiError> {
    let cycles = cycles.unwrap_or(1);
    if (1..=MAX_RENEW_CYCLES).contains(&cycles) {
        Ok(cycles)
    } else {
        Err(ApiError::field(pointer, Invalid::new("out_of_range", format!("renew by 1 to {MAX_RENEW_CYCLES} cycles"))))
    }
}

/// Renews by whole cycles from the current `next_due_at`; an expired service is active
/// again. `pointer` names the cycles in the request, for a date out of range.
pub(crate) fn renewal(cycles: u32, pointer: &'static str) -> Change {
    Box::new(move |row, _| {
        let status = moved(row, ServiceAction::Renew)?;
        let next_due_at = row.cycle.advance(row.next_due_at, cycles).ok_or_else(|| {
            ApiError::field(pointer, Invalid::new("out_of_range", "the due date would be out of range"))
        })?;
        let next = ServiceState { status, next_due_at, ..ServiceState::of(row) };
        let details = serde_json::json!({
            "cycles": cycles,
            "from": time::to_utc(row.next_due_at),
            "to": time::to_utc(next_due_at),
            "status": status.as_str(),
        });
        Ok((next, details))
    })
}

// ---------------------------------------------------------------------------------
// The passing of `next_due_at` (the worker).
// ---------------------------------------------------------------------------------

/// Ends the period of one service if something is due for it at `now`: active with an
/// end-of-period cancellation and `next_due_at` passed → `cancelled`
/// (`service.cancel_at_period_end`); active without one or suspended, `next_due_at`
/// more than `grace` ago → `expired` (`service.expire`, the suspension reason cleared so
/// that a renewal brings back a clean active service). One short transaction with a
/// conditional update on the version, and an audit event without an actor: when two
/// workers race for the service, exactly one applies it and the other finds nothing due.
/// Answers the audit action applied, if any.
pub(crate) fn end_period(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
    grace: chrono::Duration,
) -> Result<Option<&'static str>, ApiError> {
    let Some(row) = service_store::find(conn, id)? else { return Ok(None) };
    let pending = row.has_pending_cancellation();
    let status = row.status;
    let (action, audited) = if status == ServiceStatus::Active && pending && row.next_due_at <= now {
        (ServiceAction::PeriodEndedWithCancellation, actions::SERVICE_CANCEL_AT_PERIOD_END)
    } else if row.next_due_at < now - grace {
        (ServiceAction::PeriodEndedUnrenewed, actions::SERVICE_EXPIRE)
    } else {
        return Ok(None);
    };
    let Ok(to) = transition(status, action, pending) else { return Ok(None) };
    let next = ServiceState {
        status: to,
        suspension_reason: if to == ServiceStatus::Expired { None } else { row.suspension_reason.clone() },
        ..ServiceState::of(&row)
    };
    if !service_store::set_state(conn, &row.id, row.version, &next, now)? {
        return Ok(None);
    }
    holds::forget_service_hold(conn, &row.id)?;
    let details = serde_json::json!({
        "from": status.as_str(),
        "to": to.as_str(),
        "next_due_at": time::to_utc(row.next_due_at),
        "grace_days": grace.num_days(),
    });
    record(conn, &AuditContext::default(), &row, audited, details, now)?;
    Ok(Some(audited))
}

// ---------------------------------------------------------------------------------
// Suspend, unsuspend, terminate.
// ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendService {
    /// Why; shown as the service's `suspension_reason` until it is unsuspended.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnsuspendService {
    /// Why, for the audit log.
    #[schema(min_length = 1, max_length = 1000)]
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminateService {
    /// Why, for the audit log.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// Suspend a service of an account below the caller: it is kept but switched off.
#[utoipa::path(
    tag = "Services",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body = SuspendService,
    responses(
        (status = 200, description = "The suspended service", body = ServiceView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: customers, and the owner itself (only an account above it may suspend)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: only an active service can be suspended", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/services/{id}/suspend")]
pub async fn suspend_service(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::SuspendService)?;
    let (row, access) = find_for(&state, &principal, &id, Action::SuspendService).await?;
    may_suspend((&principal).into(), &row, &access, "suspend")?;
    let input: SuspendService = body.parse()?;
    let reason = reason(&input.reason, "/reason")?;
    let row = change_state(&state, &request, &principal, row.id, actions::SERVICE_SUSPEND, suspension(reason)).await?;
    service_response(HttpResponse::Ok(), &row)
}

/// Unsuspend a suspended service of an account below the caller; its
/// `suspension_reason` is cleared.
#[utoipa::path(
    tag = "Services",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body = UnsuspendService,
    responses(
        (status = 200, description = "The active service", body = ServiceView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: customers, and the owner itself", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the service is not suspended", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/services/{id}/unsuspend")]
pub async fn unsuspend_service(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::SuspendService)?;
    let (row, access) = find_for(&state, &principal, &id, Action::SuspendService).await?;
    may_suspend((&principal).into(), &row, &access, "unsuspend")?;
    let input: UnsuspendService = body.parse()?;
    let reason = input.reason.as_deref().map(|text| reason(text, "/reason")).transpose()?;
    let row =
        change_state(&state, &request, &principal, row.id, actions::SERVICE_UNSUSPEND, unsuspension(reason)).await?;
    service_response(HttpResponse::Ok(), &row)
}

/// Terminate a service of an account below the caller: it ends for good.
///
/// A pending end-of-period cancellation and the suspension reason are cleared: neither
/// means anything for a terminated service (the audit log keeps both).
#[utoipa::path(
    tag = "Services",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body = TerminateService,
    responses(
        (status = 200, description = "The terminated service", body = ServiceView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: customers, and the owner itself", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: only an active or suspended service can be terminated", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/services/{id}/terminate")]
pub async fn terminate_service(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::TerminateService)?;
    let (row, access) = find_for(&state, &principal, &id, Action::TerminateService).await?;
    require_above(&principal, &row, &access, "terminate")?;
    let input: TerminateService = body.parse()?;
    let reason = reason(&input.reason, "/reason")?;
    let row = change_state(&state, &request, &principal, row.id, actions::SERVICE_TERMINATE, move |row, _| {
        let status = moved(row, ServiceAction::Terminate)?;
        let next = ServiceState { status, suspension_reason: None, cancellation: None, next_due_at: row.next_due_at };
        Ok((next, serde_json::json!({ "reason": reason, "from": row.status })))
    })
    .await?;
    service_response(HttpResponse::Ok(), &row)
}

// ---------------------------------------------------------------------------------
// Cancel and withdraw.
// ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelService {
    #[serde(rename = "type")]
    pub type_: CancellationType,
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// Cancel a service, by its owner or an account above: at once, or at the end of the
/// paid period.
///
/// An immediate cancellation also replaces a pending end-of-period one.
#[utoipa::path(
    tag = "Services",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body = CancelService,
    responses(
        (status = 200, description = "The service, `cancelled` or with `cancellation` pending", body = ServiceView, headers(("ETag" = String))),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the service has ended, is not active (end of period), or a cancellation is already pending", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/services/{id}/cancel")]
pub async fn cancel_service(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::CancelService)?;
    let (row, _) = find_for(&state, &principal, &id, Action::CancelService).await?;
    let input: CancelService = body.parse()?;
    let reason = reason(&input.reason, "/reason")?;
    let type_ = input.type_;
    let row = change_state(&state, &request, &principal, row.id, actions::SERVICE_CANCEL, move |row, now| {
        let stored = Some(Cancellation { kind: type_, reason: reason.clone(), requested_at: time::to_utc(now) });
        let next = match type_ {
            CancellationType::Immediate => ServiceState {
                status: moved(row, ServiceAction::CancelImmediately)?,
                suspension_reason: None,
                cancellation: stored,
                next_due_at: row.next_due_at,
            },
            CancellationType::EndOfPeriod => ServiceState {
                status: moved(row, ServiceAction::CancelAtPeriodEnd)?,
                cancellation: stored,
                ..ServiceState::of(row)
            },
        };
        Ok((next, serde_json::json!({ "type": type_.as_str(), "reason": reason })))
    })
    .await?;
    service_response(HttpResponse::Ok(), &row)
}

/// Withdraw a pending end-of-period cancellation: the service simply goes on.
#[utoipa::path(
    tag = "Services",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    responses(
        (status = 204, description = "Withdrawn; `ETag` is the service's new one", headers(("ETag" = String))),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: no cancellation is pending", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[delete("/services/{id}/cancel")]
pub async fn withdraw_cancellation(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::CancelService)?;
    let (row, _) = find_for(&state, &principal, &id, Action::CancelService).await?;
    let row = change_state(&state, &request, &principal, row.id, actions::SERVICE_CANCEL_WITHDRAW, move |row, _| {
        let status = moved(row, ServiceAction::WithdrawCancellation)?;
        let withdrawn = row.cancellation.clone();
        let next = ServiceState { status, cancellation: None, ..ServiceState::of(row) };
        Ok((next, serde_json::json!({ "withdrawn": withdrawn })))
    })
    .await?;
    Ok(HttpResponse::NoContent().insert_header((header::ETAG, etag(row.version))).finish())
}

// ---------------------------------------------------------------------------------
// Renew.
// ---------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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
#[utoipa::path(
    tag = "Services",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours."),
    ),
    request_body = RenewService,
    responses(
        (status = 200, description = "The renewed service", body = ServiceView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: customers, and a reseller for its own service", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` (cancelled, terminated or pending services are not renewed) or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/services/{id}/renew")]
pub async fn renew_service(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::RenewService)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let (row, access) = find_for(&state, &principal, &id, Action::RenewService).await?;
        may_renew((&principal).into(), &row, &access)?;
        let input: RenewService = body.parse()?;
        let cycles = renew_cycles(input.cycles, "/cycles")?;
        let row =
            change_state(&state, &request, &principal, row.id, actions::SERVICE_RENEW, renewal(cycles, "/cycles"))
                .await?;
        service_response(HttpResponse::Ok(), &row)
    })
    .await
}

// ---------------------------------------------------------------------------------
// Change plan.
// ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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

/// Whether the body asks for a quote only. Read before anything is looked up, since it
/// decides who may call (a customer may ask for quotes, never apply); a body that does
/// not say so plainly is an application, and its errors come later, in order.
fn asks_for_quote(body: &JsonBody) -> bool {
    serde_json::from_slice::<serde_json::Value>(body.bytes())
        .ok()
        .and_then(|value| value.get("quote_only")?.as_bool())
        .unwrap_or(false)
}

/// The plans the caller may move this service to.
enum PlanChoice {
    /// A seller: the plans it sells, as when it creates a service.
    Sells(PlanOwnership),
    /// The owner, for a quote: the public plans of the account above it.
    Offered(PlanVisibility),
    /// A grantee, for a quote: what the owner would be offered (the public plans of the
    /// account above the owner, looked up with the plan).
    OfferedToOwner(String),
}

fn plan_choice(principal: &Principal, row: &ServiceRow, access: &Access) -> PlanChoice {
    match principal.kind() {
        AccountKind::Operator => PlanChoice::Sells(PlanOwnership::Any),
        _ if is_above(principal, row, access) => PlanChoice::Sells(PlanOwnership::OwnedBy(principal.id().to_owned())),
        _ if *access != Access::Own => PlanChoice::OfferedToOwner(row.owner_id.clone()),
        _ => PlanChoice::Offered(PlanVisibility::OwnAndPublicOf {
            owner: None,
            seller: principal.account.parent_id.clone(),
        }),
    }
}

/// The sale the change amounts to, with pointers into this request: the service's cycle
/// is not a field here, so "not sold in this cycle" points at the plan, and add-ons the
/// service keeps (none sent) at `/addons`.
fn plan_sale(plan: &PlanView, cycle: BillingCycle, addons: &[String], addons_sent: bool) -> Result<Sale, ApiError> {
    sale(plan, cycle, addons).map_err(|error| match error {
        ApiError::Validation { code, errors } => ApiError::Validation {
            code,
            errors: errors
                .into_iter()
                .map(|mut refused| {
                    if refused.pointer == "/cycle" {
                        refused.pointer = "/plan_id".into();
                        refused.detail = format!("the plan is not sold in the service's cycle ({})", cycle.as_str());
                    } else if !addons_sent && refused.pointer.starts_with("/addons/") {
                        let code = refused
                            .pointer
                            .trim_start_matches("/addons/")
                            .parse::<usize>()
                            .ok()
                            .and_then(|index| addons.get(index))
                            .map_or("", String::as_str);
                        refused.pointer = "/addons".into();
                        refused.detail =
                            format!("the service's add-on {code} cannot be kept ({}); send addons", refused.detail);
                    }
                    refused
                })
                .collect(),
        },
        other => other,
    })
}

/// The prorated difference between the service's price and the sale's, today.
fn price_quote(row: &ServiceRow, sale: &Sale, today: NaiveDate) -> Result<Quote, ApiError> {
    proration::quote_for_service(
        &row.recurring_price(),
        &sale.price,
        row.cycle,
        row.registered_at,
        row.next_due_at,
        today,
    )
    .map_err(|refused| ApiError::field("/plan_id", Invalid::new(refused.code(), refused.to_string())))
}

/// How much of each resource limiting a service of `kind` is in use, in the contract's
/// order, counted as the quota checks count it: a reseller package counts what every
/// account below its owner holds, any other service its own resources. Sizes (disk,
/// bandwidth) are the servers' to measure; until a provisioner reports them they read 0.
fn in_use(conn: &mut DbConnection, row: &ServiceRow, kind: ServiceKind) -> Result<Vec<(QuotaKey, u64)>, ApiError> {
    QuotaKey::applying_to(kind)
        .map(|key| {
            let used = match (kind, key) {
                (ServiceKind::ResellerHosting, QuotaKey::Customers) => {
                    service_store::count_accounts_below(conn, &row.owner_id)?
                }
                (ServiceKind::ResellerHosting, QuotaKey::Services) => service_store::count_below(conn, &row.owner_id)?,
                (ServiceKind::ResellerHosting, resource) => {
                    usage::count_below(conn, &row.owner_id, resource)?.unwrap_or(0)
                }
                (_, resource) => usage::count_in_service(conn, &row.id, resource)?.unwrap_or(0),
            };
            Ok((key, u64::try_from(used).unwrap_or(0)))
        })
        .collect()
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
#[utoipa::path(
    tag = "Services",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412 (applying only)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours."),
    ),
    request_body = ChangePlan,
    responses(
        (status = 200, description = "The quote, applied or not", body = PlanChangeQuote),
        (status = 403, description = "`forbidden`: applying by a customer, or by a reseller for its own service", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service for the caller, or the plan is not one it may choose", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active`, `quota_exceeded` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
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
    let policy_action = if quote_only { Action::QuoteServicePlan } else { Action::ChangeServicePlan };
    principal.authorize(policy_action)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let (row, access) = find_for(&state, &principal, &id, policy_action).await?;
        if !quote_only && !sells_to(&principal, &row, &access) {
            return Err(ApiError::forbidden("only an account above the service's owner may change its plan"));
        }
        let input: ChangePlan = body.parse()?;
        let plan_id = parse_id(&input.plan_id).ok_or_else(ApiError::not_found)?;
        let choice = plan_choice(&principal, &row, &access);
        let plan = state
            .db
            .run(move |conn| {
                let plan = match &choice {
                    PlanChoice::Sells(ownership) => plan_store::find_owned(conn, ownership, &plan_id)?,
                    PlanChoice::Offered(visibility) => plan_store::find_visible(conn, visibility, &plan_id)?,
                    PlanChoice::OfferedToOwner(owner_id) => {
                        let owner = account_store::find(conn, owner_id)?.ok_or_else(ApiError::not_found)?;
                        let visibility = PlanVisibility::OwnAndPublicOf { owner: None, seller: owner.parent_id };
                        plan_store::find_visible(conn, &visibility, &plan_id)?
                    }
                };
                plan.ok_or_else(ApiError::not_found)
            })
            .await?;
        let plan = PlanView::from_row(&plan)?;
        let kind = row.kind;
        if plan.service_kind != kind {
            return Err(ApiError::field(
                "/plan_id",
                Invalid::new(
                    "kind_mismatch",
                    format!("the plan sells {}, the service is {}", plan.service_kind.as_str(), kind.as_str()),
                ),
            ));
        }
        let addons_sent = input.addons.is_some();
        let addons = match input.addons {
            Some(addons) => addons,
            None => row.addons.clone(),
        };
        let sale = plan_sale(&plan, row.cycle, &addons, addons_sent)?;
        // Also the last input check (a plan priced in another currency cannot be
        // prorated); an application quotes again inside its transaction.
        let quote = price_quote(&row, &sale, time::now().date())?;

        if quote_only {
            return Ok(HttpResponse::Ok().json(PlanChangeQuote {
                amount_minor: quote.amount_minor,
                currency: quote.currency,
                effective_at: quote.effective_at,
                applied: false,
                service: None,
            }));
        }

        let change = PlanChange {
            plan_id: plan.id.clone(),
            addons: addons.clone(),
            quotas: sale.quotas.clone(),
            price: sale.price.clone(),
        };
        let if_match = IfMatch::from_request(&request);
        let context = principal.audit.clone();
        let id = row.id.clone();
        let provisioner = state.provisioner.clone();
        let (row, quote) = state
            .db
            .write(move |conn| {
                let now = time::now();
                let row = current(conn, &id, &if_match)?;
                require_active(&row, "a plan change")?;
                let quote = price_quote(&row, &sale, now.date())?;
                refuse_overuse(conn, &row, kind, &sale.quotas)?;
                if !service_store::set_plan(conn, &row.id, row.version, &change, now)? {
                    return Err(changed_meanwhile());
                }
                let details = serde_json::json!({
                    "from_plan_id": row.plan_id,
                    "plan_id": change.plan_id,
                    "from_addons": row.addons,
                    "addons": change.addons,
                    "from_recurring_amount_minor": row.recurring_amount_minor,
                    "recurring_amount_minor": change.price.amount_minor,
                    "amount_minor": quote.amount_minor,
                    "currency": quote.currency,
                    "effective_at": quote.effective_at,
                });
                record(conn, &context, &row, actions::SERVICE_CHANGE_PLAN, details, now)?;
                let changed = service_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)?;
                let operation = Operation::ChangePlan {
                    service: provisioning::spec_of(&changed)?,
                    from_plan_id: row.plan_id.clone(),
                };
                provisioning::request(conn, provisioner.as_ref(), operation, requester(&context, &row), now)?;
                Ok((changed, quote))
            })
            .await?;
        Ok(HttpResponse::Ok().json(PlanChangeQuote {
            amount_minor: quote.amount_minor,
            currency: quote.currency,
            effective_at: quote.effective_at,
            applied: true,
            service: Some(ServiceView::from_row(&row)?),
        }))
    })
    .await
}

/// Refuses a plan whose limits are below what the service already uses.
fn refuse_overuse(
    conn: &mut DbConnection,
    row: &ServiceRow,
    kind: ServiceKind,
    quotas: &Quotas,
) -> Result<(), ApiError> {
    for (key, used) in in_use(conn, row, kind)? {
        if let Some(limit) = quotas.get(key).filter(|limit| used > *limit) {
            return Err(ApiError::conflict(
                "quota_exceeded",
                format!("the new plan allows {limit} {}, but {used} are in use", key.as_str()),
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Password.
// ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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
pub struct ServicePassword {
    pub password: String,
}

/// A password of [`GENERATED_PASSWORD_LENGTH`] symbols of [`PASSWORD_ALPHABET`] from
/// the operating system's CSPRNG. Bytes at or above the largest multiple of the
/// alphabet's size are dropped (rejection sampling), so every symbol is equally likely.
fn generate_password() -> Result<String, ApiError> {
    let size = PASSWORD_ALPHABET.len();
    let accepted_below = 256 - 256 % size;
    let mut password = String::with_capacity(GENERATED_PASSWORD_LENGTH);
    while password.len() < GENERATED_PASSWORD_LENGTH {
        let bytes = random_bytes::<32>().map_err(ApiError::internal)?;
        let symbols = bytes
            .iter()
            .map(|byte| usize::from(*byte))
            .filter(|byte| *byte < accepted_below)
            .filter_map(|byte| PASSWORD_ALPHABET.get(byte % size))
            .map(|symbol| char::from(*symbol));
        password.extend(symbols.take(GENERATED_PASSWORD_LENGTH - password.len()));
    }
    Ok(password)
}

/// Set the service's password (FTP, control panel), or have one generated.
///
/// The owner or an account above; the service must be active. Only an argon2id hash is
/// stored. The answer holds the password, so it is never cached and the route takes no
/// `Idempotency-Key` (`400 idempotency_not_supported`).
#[utoipa::path(
    tag = "Services",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body = SetServicePassword,
    responses(
        (status = 200, description = "The password, shown once", body = ServicePassword, headers(("Cache-Control" = String, description = "no-store"))),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/services/{id}/password")]
pub async fn set_service_password(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::SetServicePassword)?;
    idempotency::refuse(&request)?;
    let (row, _) = find_for(&state, &principal, &id, Action::SetServicePassword).await?;
    let input: SetServicePassword = body.parse()?;
    let is_generated = input.generate;
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
        (Some(given), false) => {
            NewPassword::parse(&given).map_err(|invalid| ApiError::field("/password", invalid))?;
            given
        }
        (None, true) => generate_password()?,
    };
    let if_match = IfMatch::from_request(&request);
    // Checked now as well as in the transaction: hashing is slow, and a request that
    // cannot succeed should not wait for a slot.
    if_match.check(row.version)?;
    require_active(&row, "setting a password")?;
    let hash = state.hasher.hash(NewPassword::parse(&password).map_err(ApiError::internal)?).await?;
    let context = principal.audit.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = current(conn, &row.id, &if_match)?;
            require_active(&row, "setting a password")?;
            if !service_store::set_password_hash(conn, &row.id, row.version, &hash, now)? {
                return Err(changed_meanwhile());
            }
            record(
                conn,
                &context,
                &row,
                actions::SERVICE_PASSWORD,
                serde_json::json!({ "generated": is_generated }),
                now,
            )
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(ServicePassword { password }))
}

// ---------------------------------------------------------------------------------
// Usage.
// ---------------------------------------------------------------------------------

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
#[utoipa::path(
    tag = "Services",
    params(("id" = String, Path, description = "The service's id")),
    responses(
        (status = 200, description = "Use and limit per quota", body = ServiceUsage),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/services/{id}/usage")]
pub async fn service_usage(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadServiceUsage)?;
    let (row, _) = find_for(&state, &principal, &id, Action::ReadServiceUsage).await?;
    let kind = row.kind;
    let quotas = row.quotas.clone();
    let used = state.db.run(move |conn| in_use(conn, &row, kind)).await?;
    let usage =
        used.into_iter().map(|(key, used)| (key.as_str().to_owned(), Usage { used, limit: quotas.get(key) })).collect();
    Ok(HttpResponse::Ok().json(ServiceUsage(usage)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_unambiguous_and_different() {
        let first = generate_password().unwrap_or_default();
        assert_eq!(first.chars().count(), GENERATED_PASSWORD_LENGTH);
        assert!(first.bytes().all(|b| PASSWORD_ALPHABET.contains(&b)), "{first}");
        assert!(NewPassword::parse(&first).is_ok(), "meets the password policy");
        assert_ne!(first, generate_password().unwrap_or_default());
        for ambiguous in "0Oo1lI".chars() {
            assert!(!PASSWORD_ALPHABET.contains(&(ambiguous as u8)), "{ambiguous}");
        }
        assert_eq!(PASSWORD_ALPHABET.len(), 56);
    }

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(reason("  abuse report #12  ", "/reason").ok(), Some("abuse report #12".to_owned()));
        assert!(reason("line one\nline two", "/reason").is_ok());
        for bad in ["", "   ", "nul\u{0}byte"] {
            assert!(reason(bad, "/reason").is_err(), "{bad:?}");
        }
        assert!(reason(&"x".repeat(MAX_REASON), "/reason").is_ok());
        assert!(reason(&"x".repeat(MAX_REASON + 1), "/reason").is_err());
    }
}
