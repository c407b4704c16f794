//! The hosting resources of a service (domains, DNS records, mailboxes, forwards, FTP
//! users, databases, certificates), and the one unit of work every change to them runs
//! in ([`Work`]).
//!
//! The lock order: a change locks the services it depends on, by id, before it reads
//! anything it decides on; a domain is then read again under its services' locks (no
//! domain row is locked: every writer of a domain or of what hangs on it holds the lock
//! of the domain's service). Under the lock the change refuses what no longer holds (the
//! service stopped: `409 service_not_active`; the domain deleted or moved: 404 or 422; a
//! stale `If-Match`, when one was sent: 412), reserves quota, writes at the version it
//! just read, audits and hands the change to the provisioner, all in one transaction. So
//! a creation under a domain and the domain's deletion or move take turns instead of
//! racing, on both backends.

use chrono::NaiveDateTime;

use hostadmin_domain::catalog::{fits, QuotaKey};
use hostadmin_domain::policy::Actor;
use hostadmin_domain::provisioning::{Operation, Outcome, Provisioner, ResourceAction, ResourceChange, ResourceKind};
use hostadmin_domain::time;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::domains::{self as domain_store, DomainRow};
use hostadmin_persistence::services::{self as service_store, ServiceRow};
use hostadmin_persistence::{usage, DbConnection};

use crate::app::access::HostedDomain;
use crate::app::provisioning::{self, spec_of};
use crate::app::resellers;
use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;
use crate::state::AppState;

pub mod acme;
pub mod certificates;
pub mod databases;
pub mod dns;
pub mod domain_hosts;
pub mod domains;
pub mod ftp;
pub mod mail;
pub mod resources;

pub use resources::{add, page, reach, refuse_early, remove, resource, update, OfService, Resource, Search};

/// `409 service_not_active` unless the service is active: resources are created,
/// changed and removed only on a running service.
pub fn require_active(service: &ServiceRow) -> Result<(), ApiError> {
    crate::app::lifecycle::require_active(service, "a hosting resource")
}

/// One change to the hosting resources of a service, inside its transaction: the service
/// (and any other the change depends on) is locked, read again and active.
pub struct Work<'a> {
    pub conn: &'a mut DbConnection,
    pub now: NaiveDateTime,
    /// The service the change is made on, as it is under its lock.
    pub service: ServiceRow,
    /// The other services locked with it (the one a domain moves to, the other service
    /// of a registered domain).
    others: Vec<ServiceRow>,
    context: &'a AuditContext,
    /// The account queued provisioning is requested by.
    requested_by: &'a str,
    provisioner: &'a dyn Provisioner,
}

/// What a unit of work holds once its locks are taken: the service it works on, the other
/// services it locked, and what it read under them.
pub(crate) struct Locked<D> {
    service: ServiceRow,
    others: Vec<ServiceRow>,
    held: D,
}

/// Runs `work` on the resources of `service_id` as one unit of work for `actor`: a
/// writing transaction (retried with a fresh read when it lost a race) that starts by
/// locking the service.
pub async fn write<T, F>(state: &AppState, actor: &Actor, service_id: &str, work: F) -> Result<T, ApiError>
where
    F: Fn(&mut Work<'_>) -> Result<T, ApiError> + Send + Sync + 'static,
    T: Send + 'static,
{
    let service_id = service_id.to_owned();
    unit(state, actor, move |conn| lock_service(conn, &service_id), move |unit, ()| work(unit)).await
}

/// Runs `work` on `domain` as one unit of work for `actor`: every service the domain
/// belongs to (and `also`, a service a move takes it to) is locked, the domain read again
/// under those locks and handed to `work` as it is now; it is 404 when it is gone or no
/// longer belongs to the service it was reached through, which is the unit's service.
pub async fn write_domain<T, F>(
    state: &AppState,
    actor: &Actor,
    domain: &HostedDomain,
    also: Option<&str>,
    work: F,
) -> Result<T, ApiError>
where
    F: Fn(&mut Work<'_>, DomainRow) -> Result<T, ApiError> + Send + Sync + 'static,
    T: Send + 'static,
{
    let (service_id, domain_id) = (domain.service.id.clone(), domain.domain.id.clone());
    let also = also.map(str::to_owned);
    let lock = move |conn: &mut DbConnection| lock_domain(conn, &service_id, &domain_id, also.as_deref());
    unit(state, actor, lock, work).await
}

async fn unit<T, D, L, F>(state: &AppState, actor: &Actor, lock: L, work: F) -> Result<T, ApiError>
where
    L: Fn(&mut DbConnection) -> Result<Locked<D>, ApiError> + Send + Sync + 'static,
    F: Fn(&mut Work<'_>, D) -> Result<T, ApiError> + Send + Sync + 'static,
    T: Send + 'static,
{
    let context = AuditContext::of(actor);
    let requested_by = actor.account_id.clone();
    let provisioner = state.provisioner.clone();
    state
        .db
        .write(move |conn| {
            let locked = lock(conn)?;
            let mut unit = Work::begin(conn, &context, &requested_by, provisioner.as_ref(), locked.service);
            unit.others = locked.others;
            work(&mut unit, locked.held)
        })
        .await
}

/// Locks the services `ids` for the rest of the transaction, in the one order every
/// writer takes them (by id, so that two changes needing the same two services queue
/// instead of each holding one and waiting for the other), and reads each again.
fn lock_in_order(conn: &mut DbConnection, mut ids: Vec<String>) -> Result<Vec<ServiceRow>, ApiError> {
    ids.sort();
    ids.dedup();
    ids.iter()
        .map(|id| {
            usage::lock_service(conn, id)?;
            service_store::find(conn, id)?.ok_or_else(ApiError::not_found)
        })
        .collect()
}

/// Locks the service and reads it again, so that the status (and the quotas) checked
/// are the ones in force while the change commits: a suspension committed meanwhile
/// answers `409 service_not_active`.
fn lock_service(conn: &mut DbConnection, service_id: &str) -> Result<Locked<()>, ApiError> {
    let service =
        lock_in_order(conn, vec![service_id.to_owned()])?.into_iter().next().ok_or_else(ApiError::not_found)?;
    require_active(&service)?;
    Ok(Locked { service, others: Vec::new(), held: () })
}

/// Locks the services of the domain `domain_id` reached through `service_id` (and
/// `also`), then reads the domain again: 404 when it is gone or no longer the service's.
/// The services are read before they are locked; when they changed meanwhile the
/// transaction is tried again with what is current then.
pub(crate) fn lock_domain(
    conn: &mut DbConnection,
    service_id: &str,
    domain_id: &str,
    also: Option<&str>,
) -> Result<Locked<DomainRow>, ApiError> {
    let seen = domain_store::find(conn, domain_id)?.ok_or_else(ApiError::not_found)?;
    let services = domains::services_of(&seen);
    if !services.iter().any(|id| id == service_id) {
        return Err(ApiError::not_found());
    }
    let mut others = lock_in_order(conn, services.iter().cloned().chain(also.map(str::to_owned)).collect())?;
    let domain = domain_store::find(conn, domain_id)?.ok_or_else(ApiError::not_found)?;
    if domains::services_of(&domain) != services {
        return Err(raced());
    }
    let at = others.iter().position(|service| service.id == service_id).ok_or_else(raced)?;
    let service = others.remove(at);
    require_active(&service)?;
    Ok(Locked { service, others, held: domain })
}

impl<'a> Work<'a> {
    /// A unit of work inside a transaction the caller holds, on `service` as the caller
    /// locked it (a bulk item).
    pub fn begin(
        conn: &'a mut DbConnection,
        context: &'a AuditContext,
        requested_by: &'a str,
        provisioner: &'a dyn Provisioner,
        service: ServiceRow,
    ) -> Self {
        Work { conn, now: time::now(), service, others: Vec::new(), context, requested_by, provisioner }
    }
}

impl Work<'_> {
    /// A service this unit locked: its own or one of the others.
    pub fn locked(&self, service_id: &str) -> Option<&ServiceRow> {
        std::iter::once(&self.service).chain(&self.others).find(|service| service.id == service_id)
    }

    /// The account this unit's queued work is requested by.
    pub fn requested_by(&self) -> &str {
        self.requested_by
    }

    /// The domain named `name` if the service hosts it, under the service's lock.
    pub fn hosted_domain(&mut self, name: &str) -> Result<Option<DomainRow>, ApiError> {
        let service_id = self.service.id.clone();
        Ok(domain_store::find_by_name(self.conn, name)?
            .filter(|domain| domain.hosting_service_id.as_deref() == Some(service_id.as_str())))
    }

    /// The resource `id` of this service as it is now, under the service's lock: 404 when
    /// it is gone, 412 when an `If-Match` was sent and is stale. Without `If-Match`, the
    /// change applies to whatever version is current: concurrent changes take turns and
    /// none is refused.
    pub fn current<R: OfService>(&mut self, id: &str, if_match: &IfMatch) -> Result<R, ApiError> {
        let row = R::find(self.conn, &self.service.id, id)?.ok_or_else(ApiError::not_found)?;
        if_match.check(row.version())?;
        Ok(row)
    }

    /// The resource `id` of this service after the unit wrote it.
    pub fn written<R: OfService>(&mut self, id: &str) -> Result<R, ApiError> {
        R::find(self.conn, &self.service.id, id)?
            .ok_or_else(|| ApiError::internal(format!("{id} vanished inside its own transaction")))
    }

    /// Makes room for one more `key`: refuses with `409 wrong_service_kind` when a service
    /// of this kind does not hold such resources (a mail hosting plan cannot limit FTP
    /// users, so it must not get any), then with `409 quota_exceeded` when the service's
    /// quota or a reseller package above its owner is full. Call it before inserting.
    pub fn reserve(&mut self, key: QuotaKey) -> Result<(), ApiError> {
        let service = &self.service;
        if !key.applies_to(service.kind) {
            return Err(ApiError::conflict(
                "wrong_service_kind",
                format!("a {} service holds no {}", service.kind.as_str(), key.as_str()),
            ));
        }
        let limit = service.quotas.get(key);
        let used = usage::count_in_service(self.conn, &service.id, key)?
            .ok_or_else(|| ApiError::internal(format!("{} is not counted one by one", key.as_str())))?;
        if !fits(u64::try_from(used).unwrap_or(u64::MAX), limit, 1) {
            return Err(ApiError::conflict(
                "quota_exceeded",
                format!("the service's plan allows {} {}; all of them are in use", limit.unwrap_or(0), key.as_str()),
            ));
        }
        resellers::enforce(self.conn, &service.owner_id, false, key)
    }

    /// Records `audited` on `resource` in the audit log and tells the provisioner what
    /// the servers need of it after `action` (a deferring driver's operation is queued in
    /// this transaction).
    pub fn changed<R: Resource>(
        &mut self,
        resource: &R,
        action: ResourceAction,
        audited: &str,
        details: serde_json::Value,
    ) -> Result<(), ApiError> {
        self.record(audited, R::TARGET, resource.id(), details)?;
        if let Some(spec) = resource.spec(action)? {
            self.provision(R::KIND, action, resource.id(), spec)?;
        }
        Ok(())
    }

    /// Records `action` on `target_id` in the audit log, on the service owner's account.
    pub fn record(
        &mut self,
        action: &str,
        target_type: &str,
        target_id: &str,
        details: serde_json::Value,
    ) -> Result<(), ApiError> {
        let event = NewEvent { action, target_type, target_id, account_id: Some(&self.service.owner_id), details };
        audit::record(self.conn, self.context, event, self.now)?;
        Ok(())
    }

    /// Hands a change of the resource `id` of this service to the provisioner.
    pub fn provision(
        &mut self,
        kind: ResourceKind,
        action: ResourceAction,
        id: &str,
        spec: serde_json::Value,
    ) -> Result<Outcome, ApiError> {
        let service = self.service.clone();
        self.provision_on(&service, ResourceChange { kind, action, id: id.to_owned(), spec })
    }

    /// Hands a change to the provisioner for `service` (this unit's or another it locked).
    pub fn provision_on(&mut self, service: &ServiceRow, change: ResourceChange) -> Result<Outcome, ApiError> {
        let operation = Operation::Resource { service: spec_of(service), change };
        provisioning::request(self.conn, self.provisioner, operation, self.requested_by, self.now)
    }
}

/// Whether a write at the version read under the lock found its row: when it did not,
/// only a writer that skipped the lock can have changed it, and the transaction is tried
/// again.
pub fn applied(found: bool) -> Result<(), ApiError> {
    if found {
        Ok(())
    } else {
        Err(raced())
    }
}

/// A resource changed between its read and its write although the service's lock was
/// held: only a writer that skipped the lock can cause it. The transaction is tried again.
pub fn raced() -> ApiError {
    ApiError::Busy("a resource changed during the request".into())
}
