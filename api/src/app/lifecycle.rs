//! A service's lifecycle: suspend, unsuspend and terminate (from above the owner), cancel
//! and withdraw a cancellation (the owner, a seller, a grantee with `manage`), renew
//! (sellers until billing exists), and the passing of `next_due_at` (the worker).
//!
//! Every move is one transaction ([`apply`]): read the service again, check `If-Match`
//! (412, only when sent) and the lifecycle table (409, from [`transition`] only), write
//! the change only if nobody changed the service meanwhile (else the transaction is tried
//! again with a fresh read, so concurrent changes are serialised, never refused), record
//! the audit event, and hand what the servers must carry out to the provisioner.

use std::sync::Arc;

use chrono::NaiveDateTime;

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::policy::{Action, Actor};
use hostadmin_domain::provisioning::{Operation, Provisioner};
use hostadmin_domain::services::{transition, Cancellation, CancellationType, ServiceAction, ServiceStatus};
use hostadmin_domain::time;
use hostadmin_domain::validation::{Invalid, Reason};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::holds;
use hostadmin_persistence::invoices as invoice_store;
use hostadmin_persistence::services::{self as service_store, ServiceRow, ServiceState};
use hostadmin_persistence::DbConnection;

use crate::app::access::Reached;
use crate::app::provisioning;
use crate::db::Db;
use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// The most cycles one renewal may add.
pub const MAX_RENEW_CYCLES: u32 = 10;

/// A lifecycle move: from the service as it is inside the transaction, the state it
/// takes and the audit details, or why not (409, or 422 for a date out of range).
pub type Change =
    Box<dyn Fn(&ServiceRow, NaiveDateTime) -> Result<(ServiceState, serde_json::Value), ApiError> + Send + Sync>;

/// One lifecycle move of one service, all or nothing, for any caller: a route's (with its
/// `If-Match`), a bulk item's (against the version it was queued with).
///
/// A move the servers must carry out (suspend, unsuspend, terminate, cancel) is handed to
/// the provisioner in the same transaction; a deferring driver's operation is queued for
/// the worker, which carries it out (and retries it) afterwards.
pub async fn apply(
    db: &Db,
    provisioner: &Arc<dyn Provisioner>,
    context: AuditContext,
    id: String,
    if_match: IfMatch,
    action: &'static str,
    change: Change,
) -> Result<ServiceRow, ApiError> {
    let provisioner = provisioner.clone();
    db.write(move |conn| apply_in(conn, provisioner.as_ref(), &context, &id, &if_match, action, &change, time::now()))
        .await
}

/// [`apply`] in the caller's transaction (a paid order's renewal).
#[allow(clippy::too_many_arguments)]
pub fn apply_in(
    conn: &mut DbConnection,
    provisioner: &dyn Provisioner,
    context: &AuditContext,
    id: &str,
    if_match: &IfMatch,
    action: &'static str,
    change: &Change,
    now: NaiveDateTime,
) -> Result<ServiceRow, ApiError> {
    let row = current(conn, id, if_match)?;
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
    record(conn, context, &row, action, details, now)?;
    let changed = service_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)?;
    if changed.status != ServiceStatus::Suspended {
        // Terminated or cancelled while held: nothing for the owner's unhold to undo.
        holds::forget_service_hold(conn, &row.id)?;
    }
    if matches!(changed.status, ServiceStatus::Cancelled | ServiceStatus::Terminated)
        || changed.has_pending_cancellation()
    {
        void_renewals(conn, context, &changed, now)?;
    }
    if let Some(operation) = Operation::for_transition(row.status, changed.status, provisioning::spec_of(&changed)) {
        provisioning::request(conn, provisioner, operation, requester(context, &row), now)?;
    }
    Ok(changed)
}

/// A service that no longer renews owes no renewal: its unpaid renewal invoices are
/// voided with it (audited as the seller's void would be).
fn void_renewals(
    conn: &mut DbConnection,
    context: &AuditContext,
    service: &ServiceRow,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    for invoice in invoice_store::void_unpaid_renewals(conn, &service.id, now)? {
        let event = NewEvent {
            action: actions::INVOICE_VOID,
            target_type: target::INVOICE,
            target_id: &invoice.id,
            account_id: Some(&invoice.buyer_id),
            details: serde_json::json!({ "number": invoice.number, "reason": "the service no longer renews" }),
        };
        audit::record(conn, context, event, now)?;
    }
    Ok(())
}

/// A route's move of a service it reached for `action`.
async fn change(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    action: Action,
    if_match: IfMatch,
    audited: &'static str,
    change: Change,
) -> Result<ServiceRow, ApiError> {
    service.expect(action)?;
    apply(&state.db, &state.provisioner, AuditContext::of(actor), service.row.id, if_match, audited, change).await
}

/// Suspend a service of an account below: it is kept but switched off.
pub async fn suspend(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    reason: Reason,
    if_match: IfMatch,
) -> Result<ServiceRow, ApiError> {
    let action = Action::SuspendService;
    change(state, actor, service, action, if_match, actions::SERVICE_SUSPEND, suspension(reason)).await
}

/// Unsuspend a suspended service of an account below; its `suspension_reason` is cleared.
pub async fn unsuspend(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    reason: Option<Reason>,
    if_match: IfMatch,
) -> Result<ServiceRow, ApiError> {
    let action = Action::SuspendService;
    change(state, actor, service, action, if_match, actions::SERVICE_UNSUSPEND, unsuspension(reason)).await
}

/// Terminate a service of an account below: it ends for good. A pending end-of-period
/// cancellation and the suspension reason are cleared (the audit log keeps both).
pub async fn terminate(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    reason: Reason,
    if_match: IfMatch,
) -> Result<ServiceRow, ApiError> {
    let termination: Change = Box::new(move |row, _| {
        let status = moved(row, ServiceAction::Terminate)?;
        let next = ServiceState { status, suspension_reason: None, cancellation: None, next_due_at: row.next_due_at };
        Ok((next, serde_json::json!({ "reason": reason, "from": row.status })))
    });
    let action = Action::TerminateService;
    change(state, actor, service, action, if_match, actions::SERVICE_TERMINATE, termination).await
}

/// Cancel a service at once, or at the end of the paid period. An immediate cancellation
/// also replaces a pending end-of-period one.
pub async fn cancel(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    kind: CancellationType,
    reason: Reason,
    if_match: IfMatch,
) -> Result<ServiceRow, ApiError> {
    let cancellation: Change = Box::new(move |row, now| {
        let requested = Cancellation { kind, reason: reason.as_str().to_owned(), requested_at: time::to_utc(now) };
        let next = match kind {
            CancellationType::Immediate => ServiceState {
                status: moved(row, ServiceAction::CancelImmediately)?,
                suspension_reason: None,
                cancellation: Some(requested),
                next_due_at: row.next_due_at,
            },
            CancellationType::EndOfPeriod => ServiceState {
                status: moved(row, ServiceAction::CancelAtPeriodEnd)?,
                cancellation: Some(requested),
                ..ServiceState::of(row)
            },
        };
        Ok((next, serde_json::json!({ "type": kind.as_str(), "reason": reason })))
    });
    change(state, actor, service, Action::CancelService, if_match, actions::SERVICE_CANCEL, cancellation).await
}

/// Withdraw a pending end-of-period cancellation: the service simply goes on.
pub async fn withdraw_cancellation(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    if_match: IfMatch,
) -> Result<ServiceRow, ApiError> {
    let withdrawal: Change = Box::new(|row, _| {
        let status = moved(row, ServiceAction::WithdrawCancellation)?;
        let next = ServiceState { status, cancellation: None, ..ServiceState::of(row) };
        Ok((next, serde_json::json!({ "withdrawn": row.cancellation })))
    });
    let action = Action::CancelService;
    change(state, actor, service, action, if_match, actions::SERVICE_CANCEL_WITHDRAW, withdrawal).await
}

/// Renew a service by whole cycles from its current `next_due_at` (an expired service is
/// active again); `pointer` names the cycles in the request, for a date out of range.
pub async fn renew(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    cycles: Cycles,
    pointer: &'static str,
    if_match: IfMatch,
) -> Result<ServiceRow, ApiError> {
    let action = Action::RenewService;
    change(state, actor, service, action, if_match, actions::SERVICE_RENEW, renewal(cycles, pointer)).await
}

/// The number of cycles one renewal adds: 1 to [`MAX_RENEW_CYCLES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Cycles(u32);

impl Cycles {
    /// 1 when absent.
    pub fn parse(cycles: Option<u32>) -> Result<Self, Invalid> {
        Self::try_from(cycles.unwrap_or(1))
    }
}

impl TryFrom<u32> for Cycles {
    type Error = Invalid;

    fn try_from(cycles: u32) -> Result<Self, Invalid> {
        if (1..=MAX_RENEW_CYCLES).contains(&cycles) {
            Ok(Self(cycles))
        } else {
            Err(Invalid::new("out_of_range", format!("renew by 1 to {MAX_RENEW_CYCLES} cycles")))
        }
    }
}

impl From<Cycles> for u32 {
    fn from(cycles: Cycles) -> Self {
        cycles.0
    }
}

/// Suspends an active service with `reason`.
pub fn suspension(reason: Reason) -> Change {
    Box::new(move |row, _| {
        let status = moved(row, ServiceAction::Suspend)?;
        let next =
            ServiceState { status, suspension_reason: Some(reason.as_str().to_owned()), ..ServiceState::of(row) };
        Ok((next, serde_json::json!({ "reason": reason })))
    })
}

/// Unsuspends a suspended service; the reason (if any) is for the audit log.
pub fn unsuspension(reason: Option<Reason>) -> Change {
    Box::new(move |row, _| {
        let status = moved(row, ServiceAction::Unsuspend)?;
        let next = ServiceState { status, suspension_reason: None, ..ServiceState::of(row) };
        Ok((next, serde_json::json!({ "reason": reason, "suspension_reason": row.suspension_reason })))
    })
}

/// Renews by whole cycles from the current `next_due_at`; an expired service is active
/// again.
pub fn renewal(cycles: Cycles, pointer: &'static str) -> Change {
    Box::new(move |row, _| {
        let status = moved(row, ServiceAction::Renew)?;
        let next_due_at = row.cycle.advance(row.next_due_at, cycles.0).ok_or_else(|| {
            ApiError::field(pointer, Invalid::new("out_of_range", "the due date would be out of range"))
        })?;
        let next = ServiceState { status, next_due_at, ..ServiceState::of(row) };
        let details = serde_json::json!({
            "cycles": cycles.0,
            "from": time::to_utc(row.next_due_at),
            "to": time::to_utc(next_due_at),
            "status": status.as_str(),
        });
        Ok((next, details))
    })
}

/// Where `action` takes the service, or `409 invalid_transition`.
fn moved(row: &ServiceRow, action: ServiceAction) -> Result<ServiceStatus, ApiError> {
    transition(row.status, action, row.has_pending_cancellation())
        .map_err(|refused| ApiError::conflict(refused.code(), refused.detail()))
}

/// The service as it is now, inside the transaction, if `If-Match` (when sent) still
/// holds: without it, a change applies to whatever version is current.
pub fn current(conn: &mut DbConnection, id: &str, if_match: &IfMatch) -> Result<ServiceRow, ApiError> {
    let row = service_store::find(conn, id)?.ok_or_else(ApiError::not_found)?;
    if_match.check(row.version)?;
    Ok(row)
}

/// Another transaction changed the service between this one's read and its write
/// (PostgreSQL; SQLite writers take turns). `Db::write` retries it with a fresh read.
pub fn changed_meanwhile() -> ApiError {
    ApiError::Busy("the service changed during the request".into())
}

/// `409 service_not_active` unless the service is active: `what` says what needs it.
pub fn require_active(row: &ServiceRow, what: &str) -> Result<(), ApiError> {
    if row.status == ServiceStatus::Active {
        Ok(())
    } else {
        Err(ApiError::conflict(
            "service_not_active",
            format!("{what} needs an active service; this one is {}", row.status),
        ))
    }
}

/// The account a queued provisioning job is requested by: the one acting (as), or the
/// service's owner for a change without an actor.
pub fn requester<'a>(context: &'a AuditContext, row: &'a ServiceRow) -> &'a str {
    context.on_behalf_of.as_deref().or(context.actor_id.as_deref()).unwrap_or(&row.owner_id)
}

pub fn record(
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

/// Ends the period of one service if something is due for it at `now`: active with an
/// end-of-period cancellation and `next_due_at` passed → `cancelled`
/// (`service.cancel_at_period_end`); active without one or suspended, `next_due_at`
/// more than `grace` ago → `expired` (`service.expire`, the suspension reason cleared so
/// that a renewal brings back a clean active service). One short transaction with a
/// conditional update on the version, and an audit event without an actor: when two
/// workers race for the service, exactly one applies it and the other finds nothing due.
/// Answers the audit action applied, if any.
pub fn end_period(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
    grace: chrono::Duration,
) -> Result<Option<&'static str>, ApiError> {
    let Some(row) = service_store::find(conn, id)? else { return Ok(None) };
    let pending = row.has_pending_cancellation();
    let (action, audited) = if row.status == ServiceStatus::Active && pending && row.next_due_at <= now {
        (ServiceAction::PeriodEndedWithCancellation, actions::SERVICE_CANCEL_AT_PERIOD_END)
    } else if row.next_due_at < now - grace && !invoice_store::has_unpaid_renewal(conn, &row.id)? {
        // A service with an unpaid renewal invoice expires by its seller's
        // `overdue_expire_days` instead (crate::app::billing::renewals).
        (ServiceAction::PeriodEndedUnrenewed, actions::SERVICE_EXPIRE)
    } else {
        return Ok(None);
    };
    let Ok(to) = transition(row.status, action, pending) else { return Ok(None) };
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
        "from": row.status.as_str(),
        "to": to.as_str(),
        "next_due_at": time::to_utc(row.next_due_at),
        "grace_days": grace.num_days(),
    });
    record(conn, &AuditContext::default(), &row, audited, details, now)?;
    Ok(Some(audited))
}
