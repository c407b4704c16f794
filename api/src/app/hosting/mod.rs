//! The hosting resources of a service (domains, DNS records, mailboxes, forwards, FTP
//! users, databases, certificates), and the one unit of work every change to them runs
//! in ([`Work`]).
//!
//! A change locks what it depends on in one order (the service, then the domain), reads
//! it again under the lock, refuses what no longer holds (the service stopped: `409
//! service_not_active`; the domain deleted or moved: 404 or 422), reserves quota, writes,
//! audits and hands the change to the provisioner, all in one transaction. Every writer of
//! a service's resources takes the service's lock first, so a change and a deletion or a
//! move of what it hangs on take turns instead of racing, on both backends.

use chrono::NaiveDateTime;

use hostadmin_domain::catalog::{fits, QuotaKey};
use hostadmin_domain::policy::Actor;
use hostadmin_domain::provisioning::{Operation, Outcome, Provisioner, ResourceAction, ResourceChange, ResourceKind};
use hostadmin_domain::time;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::domains::{self as domain_store, DomainRow};
use hostadmin_persistence::services::{self as service_store, ServiceRow};
use hostadmin_persistence::{usage, DbConnection};

use crate::app::provisioning::{self, spec_of};
use crate::app::resellers;
use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;
use crate::state::AppState;

pub mod domains;
pub mod mail;

/// `409 service_not_active` unless the service is active: resources are created,
/// changed and removed only on a running service.
pub fn require_active(service: &ServiceRow) -> Result<(), ApiError> {
    crate::app::lifecycle::require_active(service, "a hosting resource")
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

/// One change to the hosting resources of one service, inside its transaction: the
/// service is locked, read again and active.
pub struct Work<'a> {
    pub conn: &'a mut DbConnection,
    pub now: NaiveDateTime,
    /// The service as it is under its lock.
    pub service: ServiceRow,
    context: &'a AuditContext,
    /// The account queued provisioning is requested by.
    requested_by: &'a str,
    provisioner: &'a dyn Provisioner,
}

/// What a change of one resource is, for the audit log and the provisioner.
pub struct Changed<'a> {
    pub kind: ResourceKind,
    pub action: ResourceAction,
    /// The resource's id.
    pub id: &'a str,
    /// What the servers are told; never a clear password.
    pub spec: serde_json::Value,
    /// The audit action (`mailbox.create`, ...) and target type.
    pub audited: &'static str,
    pub target_type: &'static str,
    pub details: serde_json::Value,
}

/// Runs `work` on the resources of `service_id` as one unit of work for `actor`: a
/// writing transaction (retried with a fresh read when it lost a race) that starts by
/// locking the service.
pub async fn write<T, F>(state: &AppState, actor: &Actor, service_id: &str, work: F) -> Result<T, ApiError>
where
    F: Fn(&mut Work<'_>) -> Result<T, ApiError> + Send + Sync + 'static,
    T: Send + 'static,
{
    let context = AuditContext::of(actor);
    let requested_by = actor.account_id.clone();
    let provisioner = state.provisioner.clone();
    let service_id = service_id.to_owned();
    state
        .db
        .write(move |conn| {
            let service = lock_active(conn, &service_id)?;
            let mut unit = Work {
                conn,
                now: time::now(),
                service,
                context: &context,
                requested_by: &requested_by,
                provisioner: provisioner.as_ref(),
            };
            work(&mut unit)
        })
        .await
}

impl Work<'_> {
    /// The domain `domain_id` as it is under the service's lock: it must still be one
    /// the service holds (hosts, or is registered as); gone or moved away, it is 404.
    pub fn domain(&mut self, domain_id: &str) -> Result<DomainRow, ApiError> {
        domain_store::find(self.conn, domain_id)?.filter(|domain| self.holds(domain)).ok_or_else(ApiError::not_found)
    }

    /// The domain named `name` if the service hosts it, under the service's lock.
    pub fn hosted_domain(&mut self, name: &str) -> Result<Option<DomainRow>, ApiError> {
        let service_id = self.service.id.clone();
        Ok(domain_store::find_by_name(self.conn, name)?
            .filter(|domain| domain.hosting_service_id.as_deref() == Some(service_id.as_str())))
    }

    fn holds(&self, domain: &DomainRow) -> bool {
        let id = Some(self.service.id.as_str());
        domain.hosting_service_id.as_deref() == id || domain.service_id.as_deref() == id
    }

    /// Makes room for one more `key`: refuses with `409 wrong_service_kind` when a service
    /// of this kind does not hold such resources (a mail hosting plan cannot limit FTP
    /// users, so it must not get any), then with `409 quota_exceeded` when the service's
    /// quota or a reseller package above its owner is full. Call it before inserting.
    pub fn reserve(&mut self, key: QuotaKey) -> Result<(), ApiError> {
        reserve(self.conn, &self.service, key)
    }

    /// Records the change of one resource in the audit log and hands it to the
    /// provisioner (a deferring driver's operation is queued in this transaction).
    pub fn changed(&mut self, change: Changed<'_>) -> Result<Outcome, ApiError> {
        audit::record(
            self.conn,
            self.context,
            NewEvent {
                action: change.audited,
                target_type: change.target_type,
                target_id: change.id,
                account_id: Some(&self.service.owner_id),
                details: change.details,
            },
            self.now,
        )?;
        let operation = Operation::Resource {
            service: spec_of(&self.service),
            change: ResourceChange {
                kind: change.kind,
                action: change.action,
                id: change.id.to_owned(),
                spec: change.spec,
            },
        };
        provisioning::request(self.conn, self.provisioner, operation, self.requested_by, self.now)
    }
}

/// A resource as it is now, under the service's lock: 404 when it is gone, 412 when an
/// `If-Match` was sent and is stale. Without `If-Match`, the change applies to whatever
/// version is current: concurrent changes take turns and none is refused.
pub fn current<R>(found: Option<R>, version: impl Fn(&R) -> i64, if_match: &IfMatch) -> Result<R, ApiError> {
    let row = found.ok_or_else(ApiError::not_found)?;
    if_match.check(version(&row))?;
    Ok(row)
}

/// A resource changed between its read and its write although the service's lock was
/// held: only a writer that skipped the lock can cause it. The transaction is tried again.
pub fn raced() -> ApiError {
    ApiError::Busy("a resource changed during the request".into())
}

/// [`Work::reserve`] for a transaction that holds the service's lock.
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
        service: spec_of(service),
        change: ResourceChange { kind, action, id: id.to_owned(), spec },
    };
    provisioning::request(conn, state.provisioner.as_ref(), operation, requested_by, now)
}
