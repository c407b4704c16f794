//! Where each followed hosting resource stands on the server behind it (a domain's DNS
//! zone, a database): `pending` from the transaction that queued its change, then what
//! the worker's attempt came to (crate::app::driven), `ready` once a job that saw every
//! queued change succeeded. Kept apart from the drivers so that the use cases that set
//! and read it import no driver.

use chrono::NaiveDateTime;

use hostadmin_domain::provisioning::{Operation, ProvisioningError, ResourceAction, ResourceChange, ResourceKind};
use hostadmin_persistence::provisioning_states::{self as states, Hold};
use hostadmin_persistence::DbConnection;

use crate::http::problem::ApiError;
use crate::state::AppState;

/// A resource whose state on a server hostadmin follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A domain's zone; its id is the domain's.
    DnsZone,
    Database,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DnsZone => "dns_zone",
            Self::Database => "database",
        }
    }

    /// The followed resource a change is about, if any: a domain's changes decide its
    /// zone (added, removed, name servers moved away or back), as record changes do.
    pub fn of(change: &ResourceChange) -> Option<Self> {
        match change.kind {
            ResourceKind::Domain | ResourceKind::DnsZone => Some(Self::DnsZone),
            ResourceKind::Database => Some(Self::Database),
            _ => None,
        }
    }
}

/// The resource change inside `operation`, with the followed resource it is about.
pub fn followed(operation: &Operation) -> Option<(Target, &ResourceChange)> {
    match operation {
        Operation::Resource { change, .. } => Target::of(change).map(|target| (target, change)),
        _ => None,
    }
}

/// A deferred change of a followed resource was queued: it is `pending` until a job
/// that saw it carried it out.
pub fn queued(conn: &mut DbConnection, operation: &Operation, now: NaiveDateTime) -> Result<(), ApiError> {
    if let Some((target, change)) = followed(operation) {
        states::queue(conn, target.as_str(), &change.id, now)?;
    }
    Ok(())
}

/// How long a job may hold a resource it applies: longer than any driver takes to give
/// up (PowerDNS 5 s to connect and 30 s a request, a database server 10 s and 60 s).
const HOLD_SECONDS: i64 = 120;

/// Where an operation's resource stands when a job is about to carry it out, read once
/// the job holds it and before it reads what to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Not a followed resource.
    Unfollowed,
    /// Every change queued so far is on the server (or the resource is gone and its
    /// state forgotten): a driver, which applies the newest state, has nothing to do.
    Current,
    /// This many changes were queued so far; what the job applies holds them all.
    Behind(i64),
    /// Another job applies it now: this one waits its turn.
    Busy,
}

/// Takes the operation's resource for `job` (one job applies a resource at a time) and
/// answers where it stands.
pub fn take(
    conn: &mut DbConnection,
    operation: &Operation,
    job: &str,
    now: NaiveDateTime,
) -> Result<Standing, ApiError> {
    let Some((target, change)) = followed(operation) else { return Ok(Standing::Unfollowed) };
    Ok(match hold(conn, target, &change.id, job, now)? {
        Hold::Taken(row) if row.is_current() => Standing::Current,
        Hold::Taken(row) => Standing::Behind(row.changes),
        Hold::Busy => Standing::Busy,
        Hold::Missing => Standing::Current,
    })
}

/// Takes the resource for `holder` for at most [`HOLD_SECONDS`].
fn hold(conn: &mut DbConnection, target: Target, id: &str, holder: &str, now: NaiveDateTime) -> Result<Hold, ApiError> {
    let until = now + chrono::Duration::seconds(HOLD_SECONDS);
    Ok(states::hold(conn, target.as_str(), id, holder, now, until)?)
}

/// Whether a repair outside the jobs (`hostadmin reconcile`) could take a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    /// A job applies it now (hostadmin's newest state, which is what a repair would do).
    Busy,
    /// Held for the repair; this many changes had been queued (none when it has no state).
    Taken { seen: i64 },
}

/// Takes a resource for a repair as a job takes it, so that a job's older read of it
/// cannot reach the server after the repair's newer one, nor the repair's after a job's.
pub fn take_for_repair(
    conn: &mut DbConnection,
    target: Target,
    id: &str,
    holder: &str,
    now: NaiveDateTime,
) -> Result<Repair, ApiError> {
    Ok(match hold(conn, target, id, holder, now)? {
        Hold::Taken(row) => Repair::Taken { seen: row.changes },
        Hold::Busy => Repair::Busy,
        Hold::Missing => Repair::Taken { seen: 0 },
    })
}

/// A repair is over: when it succeeded, the changes it had seen are on the server (the
/// resource is `ready` unless another came since, and their jobs end without calling it).
pub fn end_repair(
    conn: &mut DbConnection,
    target: Target,
    id: &str,
    holder: &str,
    applied: Option<i64>,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    if let Some(seen) = applied {
        states::applied(conn, target.as_str(), id, seen, now)?;
    }
    states::release(conn, target.as_str(), id, holder)?;
    Ok(())
}

/// `job` is done with the operation's resource, whatever came of it.
pub fn release(conn: &mut DbConnection, operation: &Operation, job: &str) -> Result<(), ApiError> {
    if let Some((target, change)) = followed(operation) {
        states::release(conn, target.as_str(), &change.id, job)?;
    }
    Ok(())
}

/// How a carried-out job ended, as its resource's state: `ready` once every change queued
/// is on the server (a removed resource's state is forgotten), `pending` with the error
/// while it is retried, `failed` with it. The job no longer holds the resource.
pub fn settle(
    conn: &mut DbConnection,
    operation: &Operation,
    job: &str,
    outcome: Result<Standing, (&ProvisioningError, bool)>,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let Some((target, change)) = followed(operation) else { return Ok(()) };
    let kind = target.as_str();
    match outcome {
        Ok(_) if change.action == ResourceAction::Delete => states::forget(conn, kind, &change.id)?,
        Ok(Standing::Behind(seen)) => {
            states::applied(conn, kind, &change.id, seen, now)?;
        }
        Ok(Standing::Current | Standing::Unfollowed | Standing::Busy) => {}
        Err((error, retried)) => {
            let status = if retried { "pending" } else { "failed" };
            states::set_failure(conn, kind, &change.id, status, &error.to_string(), now)?
        }
    }
    release(conn, operation, job)
}

/// A retry is for a resource whose last change failed: `409 not_failed` otherwise (a
/// pending one is retried by the worker already, a ready one needs nothing).
pub fn require_failed(conn: &mut DbConnection, target: Target, id: &str) -> Result<(), ApiError> {
    match states::find(conn, target.as_str(), id)? {
        Some(row) if row.status == "failed" => Ok(()),
        _ => Err(ApiError::conflict("not_failed", "only a resource whose provisioning failed can be retried")),
    }
}

/// A followed resource's provisioning state as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioning {
    pub status: String,
    pub error: Option<String>,
    pub updated_at: NaiveDateTime,
}

/// The states of `resources` (ids with their last change), in their order; a resource
/// without one is ready since its last change.
pub async fn states_of(
    state: &AppState,
    target: Target,
    resources: Vec<(String, NaiveDateTime)>,
) -> Result<Vec<Provisioning>, ApiError> {
    let ids: Vec<String> = resources.iter().map(|(id, _)| id.clone()).collect();
    let mut found = state.db.run(move |conn| Ok(states::of(conn, target.as_str(), &ids)?)).await?;
    Ok(resources
        .into_iter()
        .map(|(id, since)| match found.iter().position(|row| row.resource_id == id) {
            Some(at) => {
                let row = found.swap_remove(at);
                Provisioning { status: row.status, error: row.error, updated_at: row.updated_at }
            }
            None => Provisioning { status: "ready".into(), error: None, updated_at: since },
        })
        .collect())
}

/// The state of one resource (see [`states_of`]).
pub async fn state_of(
    state: &AppState,
    target: Target,
    id: &str,
    since: NaiveDateTime,
) -> Result<Provisioning, ApiError> {
    let mut states = states_of(state, target, vec![(id.to_owned(), since)]).await?;
    states.pop().ok_or_else(|| ApiError::internal("a provisioning state went missing"))
}
