//! What every hosting resource of a service (domains, DNS records, mailboxes, forwards,
//! FTP users, databases, certificates) shares: it needs an active service, it counts
//! against the service's quota and every reseller package above the owner, exactly, also
//! when many requests arrive at once, and every change goes through the provisioner.

use chrono::NaiveDateTime;
use hostadmin_domain::catalog::{fits, QuotaKey};
use hostadmin_domain::provisioning::{Operation, Outcome, ResourceAction, ResourceChange, ResourceKind};
use hostadmin_persistence::services::{self as service_store, ServiceRow};
use hostadmin_persistence::{usage, DbConnection};

use crate::http::problem::ApiError;
use crate::provisioning::{self, spec_of};
use crate::resellers;
use crate::routes::service_lifecycle;
use crate::state::AppState;

/// `409 service_not_active` unless the service is active: resources are created,
/// changed and removed only on a running service.
pub fn require_active(service: &ServiceRow) -> Result<(), ApiError> {
    service_lifecycle::require_active(service, "a hosting resource")
}

/// Locks the service for the rest of the transaction and reads it again, so that the
/// status (and the quotas) checked are the ones in force while the change commits: a
/// suspension committed meanwhile answers `409 service_not_active`.
pub fn lock_active(conn: &mut DbConnection, service_id: &str) -> Result<ServiceRow, ApiError> {
    usage::lock_service(conn, service_id)?;
    let service = service_store::find(conn, service_id)?.ok_or_else(ApiError::not_found)?;
    require_active(&service)?;
    Ok(service)
}

/// Makes room for one more `key` in `service`, inside the creating transaction: refuses
/// with `409 wrong_service_kind` when a service of this kind does not hold such
/// resources (a mail hosting plan cannot limit FTP users, so it must not get any), locks
/// the service (concurrent creations for it wait for each other), then refuses with
/// `409 quota_exceeded` when the service's quota or a reseller package above its owner
/// is full. Call it before inserting.
pub fn reserve(conn: &mut DbConnection, service: &ServiceRow, key: QuotaKey) -> Result<(), ApiError> {
    let kind = service.kind;
    if !key.applies_to(kind) {
        return Err(ApiError::conflict(
            "wrong_service_kind",
            format!("a {} service holds no {}", kind.as_str(), key.as_str()),
        ));
    }
    usage::lock_service(conn, &service.id)?;
    let limit = service.quotas.get(key);
    let used = usage::count_in_service(conn, &service.id, key)?
        .ok_or_else(|| ApiError::internal(format!("{} is not counted one by one", key.as_str())))?;
    if !fits(u64::try_from(used).unwrap_or(u64::MAX), limit, 1) {
        return Err(ApiError::conflict(
            "quota_exceeded",
            format!("the service's plan allows {} {}; all of them are in use", limit.unwrap_or(0), key.as_str()),
        ));
    }
    resellers::enforce(conn, &service.owner_id, false, key)
}

/// Hands one resource change of `service` to the provisioner, in the changing
/// transaction (a deferred one is queued in it). `spec` never holds a clear password.
pub fn provision(
    conn: &mut DbConnection,
    state: &AppState,
    service: &ServiceRow,
    change: (ResourceKind, ResourceAction, &str),
    spec: serde_json::Value,
    requested_by: &str,
    now: NaiveDateTime,
) -> Result<Outcome, ApiError> {
    let (kind, action, id) = change;
    let operation = Operation::Resource {
        service: spec_of(service)?,
        change: ResourceChange { kind, action, id: id.to_owned(), spec },
    };
    provisioning::request(conn, state.provisioner.as_ref(), operation, requested_by, now)
}
