//! Holds on accounts: suspend, unsuspend, block and unblock an account below the actor.
//!
//! A hold covers the account, everything below it and all their services. A suspended
//! account logs in and reads, every change answers `403 account_suspended` (the policy
//! reads the effective `accounts.status`); a blocked one cannot log in, and its tokens,
//! sessions and API keys end in the same transaction. Lifting a hold undoes exactly that
//! hold: accounts and services held for other reasons (their own suspension, a hold
//! further up) stay as they are. Revoked API keys stay revoked after an unblock: a key
//! is a secret that may have leaked while the account was blocked, and a new one is one
//! request away.

use std::sync::Arc;

use chrono::NaiveDateTime;

use hostadmin_domain::accounts::{AccountKind, AccountStatus};
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::holds::HoldKind;
use hostadmin_domain::ids::new_id;
use hostadmin_domain::policy::Actor;
use hostadmin_domain::provisioning::{Operation, Provisioner};
use hostadmin_domain::services::ServiceStatus;
use hostadmin_domain::time;
use hostadmin_domain::validation::Reason;
use hostadmin_persistence::accounts::{self as account_store, AccountRow};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::holds::{self, NewHold};
use hostadmin_persistence::services::{self as service_store, ServiceRow};
use hostadmin_persistence::{DbConnection, StoreError};

use crate::app::access::Reached;
use crate::app::provisioning;
use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// The suspension reason a service gets while its owner's account is held. The hold's
/// own reason stays in the audit log: it may be internal (a fraud report) and the
/// service's owner reads its services.
pub const HELD_REASON: &str = "the owner's account is suspended or blocked";

/// What a request does to the holds of one account.
#[derive(Debug, Clone)]
pub enum HoldChange {
    Place { kind: HoldKind, reason: Reason, fraud: bool },
    Lift { kind: HoldKind, reason: Option<Reason> },
}

impl HoldChange {
    /// The policy's action for it.
    fn action(&self) -> hostadmin_domain::policy::Action {
        match self.kind() {
            HoldKind::Suspension => hostadmin_domain::policy::Action::SuspendCustomer,
            HoldKind::Block => hostadmin_domain::policy::Action::BlockCustomer,
        }
    }

    fn kind(&self) -> HoldKind {
        match self {
            Self::Place { kind, .. } | Self::Lift { kind, .. } => *kind,
        }
    }

    fn audit_action(&self) -> &'static str {
        match (self, self.kind()) {
            (Self::Place { .. }, HoldKind::Suspension) => actions::CUSTOMER_SUSPEND,
            (Self::Lift { .. }, HoldKind::Suspension) => actions::CUSTOMER_UNSUSPEND,
            (Self::Place { .. }, HoldKind::Block) => actions::CUSTOMER_BLOCK,
            (Self::Lift { .. }, HoldKind::Block) => actions::CUSTOMER_UNBLOCK,
        }
    }
}

fn noun(kind: HoldKind) -> &'static str {
    match kind {
        HoldKind::Suspension => "suspended",
        HoldKind::Block => "blocked",
    }
}

fn already_held(kind: HoldKind) -> ApiError {
    ApiError::conflict("invalid_transition", format!("the account is already {} by a hold of its own", noun(kind)))
}

fn not_held(kind: HoldKind) -> ApiError {
    ApiError::conflict("invalid_transition", format!("the account is not {} by a hold of its own", noun(kind)))
}

/// Place or lift a hold on an account below the actor, in one transaction with the
/// cascade over the subtree and its services; answers the account as it is afterwards.
pub async fn change(
    state: &AppState,
    actor: &Actor,
    account: Reached<AccountRow>,
    change: HoldChange,
    if_match: IfMatch,
) -> Result<AccountRow, ApiError> {
    account.expect(change.action())?;
    let acting = actor.clone();
    let context = AuditContext::of(actor);
    let id = account.row.id;
    let provisioner = state.provisioner.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let account = account_store::find_for_update(conn, &id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(account.version)?;
            let hold_id = apply_hold(conn, &acting, &id, &change, now)?;
            holds::touch(conn, &id, now)?;
            let accounts_changed = holds::settle(conn, &id, now)?;
            let (sessions_ended, api_keys_revoked) = match change {
                HoldChange::Place { kind: HoldKind::Block, .. } => holds::end_access(conn, &id, now)?,
                _ => (0, 0),
            };
            let services_changed = settle_services(conn, &provisioner, &context, &id, change.kind(), now)?;
            let details = match &change {
                HoldChange::Place { reason, fraud, .. } => serde_json::json!({
                    "reason": reason,
                    "fraud": fraud,
                    "hold_id": hold_id,
                    "accounts_changed": accounts_changed.len(),
                    "services_changed": services_changed,
                    "sessions_ended": sessions_ended,
                    "api_keys_revoked": api_keys_revoked,
                }),
                HoldChange::Lift { reason, .. } => serde_json::json!({
                    "reason": reason,
                    "hold_id": hold_id,
                    "accounts_changed": accounts_changed.len(),
                    "services_changed": services_changed,
                }),
            };
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: change.audit_action(),
                    target_type: target::ACCOUNT,
                    target_id: &id,
                    account_id: Some(&id),
                    details,
                },
                now,
            )?;
            account_store::find(conn, &id)?.ok_or_else(ApiError::not_found)
        })
        .await
}

/// Places or lifts the hold (409 when there is one already, or none to lift); answers
/// its id.
fn apply_hold(
    conn: &mut DbConnection,
    acting: &Actor,
    account_id: &str,
    change: &HoldChange,
    now: NaiveDateTime,
) -> Result<String, ApiError> {
    match change {
        HoldChange::Place { kind, reason, fraud } => {
            if holds::active(conn, account_id, *kind)?.is_some() {
                return Err(already_held(*kind));
            }
            let id = new_id();
            let hold = NewHold {
                id: &id,
                account_id,
                kind: *kind,
                reason: reason.as_str(),
                fraud: *fraud && *kind == HoldKind::Block,
                placed_by: Some(&acting.account_id),
                now,
            };
            // A parallel request placed the same hold between our check and our insert
            // (PostgreSQL; SQLite writers take turns): the unique index refuses it.
            holds::place(conn, &hold).map_err(|error| match &error {
                StoreError::Unique(name) if holds::is_active_hold_violation(name) => already_held(*kind),
                _ => error.into(),
            })?;
            Ok(id)
        }
        HoldChange::Lift { kind, reason } => {
            let hold = holds::active(conn, account_id, *kind)?.ok_or_else(|| not_held(*kind))?;
            may_lift(conn, acting, hold.placed_by.as_deref(), *kind)?;
            if !holds::lift(conn, &hold.id, Some(&acting.account_id), reason.as_ref().map(Reason::as_str), now)? {
                return Err(not_held(*kind));
            }
            Ok(hold.id)
        }
    }
}

/// A hold placed by an account above the caller is not the caller's to lift: a
/// reseller cannot undo what the provider decided about its customer. Operators lift
/// any hold.
fn may_lift(conn: &mut DbConnection, acting: &Actor, placed_by: Option<&str>, kind: HoldKind) -> Result<(), ApiError> {
    let Some(placed_by) = placed_by else { return Ok(()) };
    if acting.kind == AccountKind::Operator
        || placed_by == acting.account_id
        || account_store::is_below(conn, &acting.account_id, placed_by)?
    {
        return Ok(());
    }
    Err(ApiError::forbidden(format!("the account was {} by an account above you; only it can lift that", noun(kind))))
}

/// Suspends the active services of every held owner in `root`'s subtree and releases
/// the held services of owners active again; each through [`move_service_hold`].
/// Answers how many services changed.
fn settle_services(
    conn: &mut DbConnection,
    provisioner: &Arc<dyn Provisioner>,
    context: &AuditContext,
    root: &str,
    kind: HoldKind,
    now: NaiveDateTime,
) -> Result<usize, ApiError> {
    let to_hold = holds::services_to_hold(conn, root)?;
    let to_release = holds::services_to_release(conn, root)?;
    let moves = to_hold.iter().map(|id| (id, true)).chain(to_release.iter().map(|id| (id, false)));
    let mut changed = 0;
    for (id, hold) in moves {
        let row = service_store::find(conn, id)?.ok_or_else(ApiError::not_found)?;
        let details = serde_json::json!({ "account_hold": kind.as_str(), "held_account_id": root });
        move_service_hold(conn, provisioner.as_ref(), context, &row, hold, details, now)?;
        changed += 1;
    }
    Ok(changed)
}

/// Moves one service into its owner's hold (`suspended` with [`HELD_REASON`] and the
/// marker) or out of it (`active`), provided nobody changed it meanwhile; hands the move
/// to the provisioner and records `service.suspend` or `service.unsuspend` with
/// `details`. Answers the service as it is afterwards.
pub fn move_service_hold(
    conn: &mut DbConnection,
    provisioner: &dyn Provisioner,
    context: &AuditContext,
    row: &ServiceRow,
    hold: bool,
    details: serde_json::Value,
    now: NaiveDateTime,
) -> Result<ServiceRow, ApiError> {
    let (to, reason, action) = if hold {
        (ServiceStatus::Suspended, Some(HELD_REASON), actions::SERVICE_SUSPEND)
    } else {
        (ServiceStatus::Active, None, actions::SERVICE_UNSUSPEND)
    };
    if !holds::set_service_hold(conn, &row.id, row.version, hold, to.as_str(), reason, now)? {
        return Err(ApiError::Busy("a service changed during the hold".into()));
    }
    let from = row.status;
    let changed = service_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)?;
    if let Some(operation) = Operation::for_transition(from, to, provisioning::spec_of(&changed)) {
        let requester = context.on_behalf_of.as_deref().or(context.actor_id.as_deref()).unwrap_or(&row.owner_id);
        provisioning::request(conn, provisioner, operation, requester, now)?;
    }
    audit::record(
        conn,
        context,
        NewEvent { action, target_type: target::SERVICE, target_id: &row.id, account_id: Some(&row.owner_id), details },
        now,
    )?;
    Ok(changed)
}

/// A service that has just become active (sold, or its deferred creation carried out)
/// while its owner is `owner_status`: a held owner's service goes into the hold at once,
/// as the cascade would have put it there, and comes back with the owner. Read
/// `owner_status` with [`holds::status_for_update`] in the same transaction.
pub fn hold_with_owner(
    conn: &mut DbConnection,
    provisioner: &dyn Provisioner,
    context: &AuditContext,
    row: ServiceRow,
    owner_status: AccountStatus,
    now: NaiveDateTime,
) -> Result<ServiceRow, ApiError> {
    if owner_status == AccountStatus::Active || row.status != ServiceStatus::Active {
        return Ok(row);
    }
    let kind = if owner_status == AccountStatus::Blocked { HoldKind::Block } else { HoldKind::Suspension };
    let details = serde_json::json!({ "account_hold": kind.as_str(), "owner_status": owner_status.as_str() });
    move_service_hold(conn, provisioner, context, &row, true, details, now)
}
