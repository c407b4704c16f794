//! What a hosting resource is to the audit log and the provisioner ([`Resource`]), what a
//! resource of a service is besides ([`OfService`]: found by id within its service,
//! listed, deleted at a version), the use cases they all share (find, list, add, change,
//! remove), and what each kind is: the spec its servers get after a change (never a clear
//! password: hashes for mail and FTP, sealed text for database passwords and private
//! keys) and the summary its audit events carry, side by side.

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::ids::parse_id;
use hostadmin_domain::policy::{Action, Actor, Authorized};
use hostadmin_domain::provisioning::{ResourceAction, ResourceKind};
use hostadmin_domain::time;
use hostadmin_persistence::certificates::{self as certificate_store, CertificateRow};
use hostadmin_persistence::databases::{self as database_store, DatabaseFilter, DatabaseRow};
use hostadmin_persistence::domains::DomainRow;
use hostadmin_persistence::forwards::{self as forward_store, ForwardRow};
use hostadmin_persistence::ftp_users::{self as ftp_store, FtpUserFilter, FtpUserRow};
use hostadmin_persistence::mail_addresses;
use hostadmin_persistence::mailboxes::{self as mailbox_store, MailboxRow};
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::{DbConnection, StoreError};

use crate::app::access::{self, Reached};
use crate::app::hosting::{applied, certificates, domains, mail, require_active, write, Work};
use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// A hosting resource as the audit log and the provisioner see it.
pub trait Resource {
    /// What the provisioner is told it is.
    const KIND: ResourceKind;
    /// Its audit target type.
    const TARGET: &'static str;

    fn id(&self) -> &str;

    /// What the servers are told of it after `action`, never a clear password; `None`
    /// while they need nothing of it (a pending CSR).
    fn spec(&self, action: ResourceAction) -> Result<Option<serde_json::Value>, ApiError>;

    /// What the audit log says it is.
    fn summary(&self) -> serde_json::Value;
}

/// A resource that belongs to one service: a mailbox, a forward, an FTP user, a
/// database, a certificate.
pub trait OfService: Resource + Sized + Send + 'static {
    /// The actions that read and that change it.
    const READ: Action;
    const WRITE: Action;
    /// The audit action of its removal.
    const REMOVED: &'static str;
    /// What a page of them is asked for with, besides the service.
    type Filter: Send + 'static;

    fn find(conn: &mut DbConnection, service_id: &str, id: &str) -> Result<Option<Self>, StoreError>;

    /// A page of the service's, newest first.
    fn list(
        conn: &mut DbConnection,
        service_id: &str,
        filter: &Self::Filter,
        limit: i64,
    ) -> Result<Vec<Self>, StoreError>;

    fn version(&self) -> i64;

    /// Deletes it if it is still at its version; answers whether it was.
    fn delete(&self, conn: &mut DbConnection) -> Result<bool, StoreError>;

    /// Frees what it holds besides its row (the address of a mailbox or a forward).
    fn release(&self, _conn: &mut DbConnection) -> Result<(), StoreError> {
        Ok(())
    }
}

/// A search of mailboxes or forwards: a prefix of the address, a page before an id.
pub struct Search {
    pub q: Option<String>,
    pub before: Option<String>,
}

/// The resource `id` of a service the actor reached (404 otherwise, also for a malformed
/// id and for another service's resource).
pub async fn resource<R: OfService>(
    state: &AppState,
    service: Reached<ServiceRow>,
    id: &str,
) -> Result<Reached<(ServiceRow, R)>, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let service_id = service.row.id.clone();
    let row = state.db.run(move |conn| R::find(conn, &service_id, &id)?.ok_or_else(ApiError::not_found)).await?;
    let service_row = service.row.clone();
    Ok(service.with((service_row, row)))
}

/// The resource `id` of the service `service_id` as the actor reaches it for the
/// authorized action ([`access::service`], then [`resource`]).
pub async fn reach<R: OfService>(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    service_id: &str,
    id: &str,
) -> Result<Reached<(ServiceRow, R)>, ApiError> {
    let service = access::service(state, actor, authorized, service_id).await?;
    resource(state, service, id).await
}

/// A page of the service's resources of one kind, newest first.
pub async fn page<R: OfService>(
    state: &AppState,
    service: Reached<ServiceRow>,
    filter: R::Filter,
    limit: i64,
) -> Result<Vec<R>, ApiError> {
    service.expect(R::READ)?;
    let service_id = service.row.id;
    state.db.run(move |conn| Ok(R::list(conn, &service_id, &filter, limit)?)).await
}

/// Adds a resource to a service in one unit of work: `insert` checks what it needs under
/// the lock, reserves its quota, writes the row and answers its id; the row is read back,
/// recorded as `audited` with its summary and handed to the provisioner.
pub async fn add<R, F>(
    state: &AppState,
    actor: &Actor,
    service: &Reached<ServiceRow>,
    audited: &'static str,
    insert: F,
) -> Result<R, ApiError>
where
    R: OfService,
    F: Fn(&mut Work<'_>) -> Result<String, ApiError> + Send + Sync + 'static,
{
    service.expect(R::WRITE)?;
    write(state, actor, &service.row.id, move |work| {
        let id = insert(work)?;
        let row: R = work.written(&id)?;
        work.changed(&row, ResourceAction::Create, audited, row.summary())?;
        Ok(row)
    })
    .await
}

/// Refuses a change that cannot succeed before its slow part (a password hashed or
/// sealed): a stale `If-Match` (412) or a stopped service (409). The unit of work checks
/// both again under the lock.
pub fn refuse_early<R: OfService>(resource: &Reached<(ServiceRow, R)>, if_match: &IfMatch) -> Result<(), ApiError> {
    let (service, row) = &resource.row;
    if_match.check(row.version())?;
    require_active(service)
}

/// Changes a resource of a service: `write` gets it as it is under the service's lock
/// ([`Work::current`]), writes the change at that version and answers what the audit log
/// adds to the resource's summary, or `None` when there is nothing to change (no new
/// version, no event, nothing for the servers). The changed row is recorded as `audited`
/// and handed to the provisioner.
pub async fn update<R, F>(
    state: &AppState,
    actor: &Actor,
    resource: Reached<(ServiceRow, R)>,
    audited: &'static str,
    if_match: IfMatch,
    write: F,
) -> Result<R, ApiError>
where
    R: OfService,
    F: Fn(&mut Work<'_>, &R) -> Result<Option<serde_json::Value>, ApiError> + Send + Sync + 'static,
{
    under_lock(state, actor, resource, if_match, move |work, current: R| {
        let Some(added) = write(work, &current)? else { return Ok(current) };
        let row: R = work.written(current.id())?;
        let mut details = row.summary();
        if let (serde_json::Value::Object(details), serde_json::Value::Object(added)) = (&mut details, added) {
            details.extend(added);
        }
        work.changed(&row, ResourceAction::Update, audited, details)?;
        Ok(row)
    })
    .await
}

/// Removes a resource of a service: read again under the service's lock, deleted at that
/// version with what it held, recorded and taken off the servers.
pub async fn remove<R: OfService>(
    state: &AppState,
    actor: &Actor,
    resource: Reached<(ServiceRow, R)>,
    if_match: IfMatch,
) -> Result<(), ApiError> {
    under_lock(state, actor, resource, if_match, move |work, row: R| {
        applied(row.delete(work.conn)?)?;
        row.release(work.conn)?;
        work.changed(&row, ResourceAction::Delete, R::REMOVED, row.summary())
    })
    .await
}

/// Runs `change` on one resource of a service in a unit of work, with the resource as it
/// is under the service's lock: 404 when it is gone, 412 when `If-Match` was sent and is
/// stale.
async fn under_lock<R, T, F>(
    state: &AppState,
    actor: &Actor,
    resource: Reached<(ServiceRow, R)>,
    if_match: IfMatch,
    change: F,
) -> Result<T, ApiError>
where
    R: OfService,
    F: Fn(&mut Work<'_>, R) -> Result<T, ApiError> + Send + Sync + 'static,
    T: Send + 'static,
{
    resource.expect(R::WRITE)?;
    let (service, found) = resource.row;
    let id = found.id().to_owned();
    write(state, actor, &service.id, move |work| {
        let row = work.current::<R>(&id, &if_match)?;
        change(work, row)
    })
    .await
}

impl Resource for DomainRow {
    const KIND: ResourceKind = ResourceKind::Domain;
    const TARGET: &'static str = target::DOMAIN;

    fn id(&self) -> &str {
        &self.id
    }

    fn spec(&self, _: ResourceAction) -> Result<Option<serde_json::Value>, ApiError> {
        Ok(Some(domains::spec(self)))
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({"name": self.name, "service_id": domains::service_of(self).ok()})
    }
}

impl Resource for MailboxRow {
    const KIND: ResourceKind = ResourceKind::Mailbox;
    const TARGET: &'static str = target::MAILBOX;

    fn id(&self) -> &str {
        &self.id
    }

    /// The mailbox as the mail server needs it, with the hash Dovecot verifies and never
    /// the password.
    fn spec(&self, _: ResourceAction) -> Result<Option<serde_json::Value>, ApiError> {
        Ok(Some(serde_json::json!({
            "address": self.address,
            "password_hash": self.password_hash,
            "quota_mb": self.quota_mb,
            "panel_login": self.panel_login,
        })))
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "service_id": self.service_id, "address": self.address, "quota_mb": self.quota_mb,
            "panel_login": self.panel_login,
        })
    }
}

impl OfService for MailboxRow {
    const READ: Action = Action::ReadMail;
    const WRITE: Action = Action::WriteMail;
    const REMOVED: &'static str = actions::MAILBOX_DELETE;
    type Filter = Search;

    fn find(conn: &mut DbConnection, service_id: &str, id: &str) -> Result<Option<Self>, StoreError> {
        mailbox_store::find(conn, service_id, id)
    }

    fn list(conn: &mut DbConnection, service_id: &str, filter: &Search, limit: i64) -> Result<Vec<Self>, StoreError> {
        mailbox_store::list(conn, service_id, filter.q.as_deref(), filter.before.as_deref(), limit)
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn delete(&self, conn: &mut DbConnection) -> Result<bool, StoreError> {
        mailbox_store::delete(conn, &self.id, self.version)
    }

    fn release(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        mail_addresses::release(conn, &self.address, &self.id)
    }
}

impl Resource for ForwardRow {
    const KIND: ResourceKind = ResourceKind::Forward;
    const TARGET: &'static str = target::FORWARD;

    fn id(&self) -> &str {
        &self.id
    }

    fn spec(&self, _: ResourceAction) -> Result<Option<serde_json::Value>, ApiError> {
        Ok(Some(serde_json::json!({ "source": self.source, "destinations": mail::destinations_of(self)? })))
    }

    fn summary(&self) -> serde_json::Value {
        let destinations = mail::destinations_of(self).unwrap_or_default();
        serde_json::json!({ "service_id": self.service_id, "source": self.source, "destinations": destinations })
    }
}

impl OfService for ForwardRow {
    const READ: Action = Action::ReadMail;
    const WRITE: Action = Action::WriteMail;
    const REMOVED: &'static str = actions::FORWARD_DELETE;
    type Filter = Search;

    fn find(conn: &mut DbConnection, service_id: &str, id: &str) -> Result<Option<Self>, StoreError> {
        forward_store::find(conn, service_id, id)
    }

    fn list(conn: &mut DbConnection, service_id: &str, filter: &Search, limit: i64) -> Result<Vec<Self>, StoreError> {
        forward_store::list(conn, service_id, filter.q.as_deref(), filter.before.as_deref(), limit)
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn delete(&self, conn: &mut DbConnection) -> Result<bool, StoreError> {
        forward_store::delete(conn, &self.id, self.version)
    }

    fn release(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        mail_addresses::release(conn, &self.source, &self.id)
    }
}

impl Resource for FtpUserRow {
    const KIND: ResourceKind = ResourceKind::FtpUser;
    const TARGET: &'static str = target::FTP_USER;

    fn id(&self) -> &str {
        &self.id
    }

    /// The user as it is, its password only as the hash, and only while the user stays.
    fn spec(&self, action: ResourceAction) -> Result<Option<serde_json::Value>, ApiError> {
        let mut spec = serde_json::json!({ "username": self.username, "directory": self.directory });
        if action != ResourceAction::Delete {
            spec["password_hash"] = self.password_hash.clone().into();
        }
        Ok(Some(spec))
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({ "service_id": self.service_id, "username": self.username, "directory": self.directory })
    }
}

impl OfService for FtpUserRow {
    const READ: Action = Action::ReadHosting;
    const WRITE: Action = Action::WriteHosting;
    const REMOVED: &'static str = actions::FTP_USER_DELETE;
    type Filter = FtpUserFilter;

    fn find(conn: &mut DbConnection, service_id: &str, id: &str) -> Result<Option<Self>, StoreError> {
        ftp_store::find_in_service(conn, service_id, id)
    }

    fn list(
        conn: &mut DbConnection,
        service_id: &str,
        filter: &Self::Filter,
        limit: i64,
    ) -> Result<Vec<Self>, StoreError> {
        ftp_store::list(conn, service_id, filter, limit)
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn delete(&self, conn: &mut DbConnection) -> Result<bool, StoreError> {
        ftp_store::delete(conn, &self.id, self.version)
    }
}

impl Resource for DatabaseRow {
    const KIND: ResourceKind = ResourceKind::Database;
    const TARGET: &'static str = target::DATABASE;

    fn id(&self) -> &str {
        &self.id
    }

    /// The database as it is; the password only sealed (the driver opens it with the
    /// context `database:<id>`), and only while the database stays.
    fn spec(&self, action: ResourceAction) -> Result<Option<serde_json::Value>, ApiError> {
        let mut spec = serde_json::json!({ "engine": self.engine, "name": self.name, "user": self.db_user });
        if action != ResourceAction::Delete {
            spec["password_sealed"] = self.password_sealed.clone().into();
        }
        Ok(Some(spec))
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "service_id": self.service_id, "engine": self.engine, "name": self.name, "user": self.db_user,
        })
    }
}

impl OfService for DatabaseRow {
    const READ: Action = Action::ReadHosting;
    const WRITE: Action = Action::WriteHosting;
    const REMOVED: &'static str = actions::DATABASE_DELETE;
    type Filter = DatabaseFilter;

    fn find(conn: &mut DbConnection, service_id: &str, id: &str) -> Result<Option<Self>, StoreError> {
        database_store::find_in_service(conn, service_id, id)
    }

    fn list(
        conn: &mut DbConnection,
        service_id: &str,
        filter: &Self::Filter,
        limit: i64,
    ) -> Result<Vec<Self>, StoreError> {
        database_store::list(conn, service_id, filter, limit)
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn delete(&self, conn: &mut DbConnection) -> Result<bool, StoreError> {
        database_store::delete(conn, &self.id, self.version)
    }
}

impl Resource for CertificateRow {
    const KIND: ResourceKind = ResourceKind::Certificate;
    const TARGET: &'static str = target::CERTIFICATE;

    fn id(&self) -> &str {
        &self.id
    }

    /// The certificate, its chain and the key still sealed (with the context that opens
    /// it); when it goes, its name. A pending CSR is nothing the servers need.
    fn spec(&self, action: ResourceAction) -> Result<Option<serde_json::Value>, ApiError> {
        if self.certificate_pem.is_none() {
            return Ok(None);
        }
        if action == ResourceAction::Delete {
            return Ok(Some(serde_json::json!({"common_name": self.common_name})));
        }
        Ok(Some(serde_json::json!({
            "common_name": self.common_name,
            "sans": self.sans.split_whitespace().collect::<Vec<_>>(),
            "certificate_pem": self.certificate_pem,
            "chain_pem": self.chain_pem,
            "private_key_sealed": self.private_key_sealed,
            "private_key_context": certificates::key_context(&self.id),
        })))
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "service_id": self.service_id, "common_name": self.common_name,
            "sans": self.sans.split_whitespace().collect::<Vec<_>>(), "issued": self.certificate_pem.is_some(),
            "csr": self.csr_pem.is_some(), "issuer": self.issuer, "not_after": self.not_after.map(time::to_utc),
        })
    }
}

impl OfService for CertificateRow {
    const READ: Action = Action::ReadHosting;
    const WRITE: Action = Action::WriteHosting;
    const REMOVED: &'static str = actions::CERTIFICATE_DELETE;
    /// The page before this id.
    type Filter = Option<String>;

    fn find(conn: &mut DbConnection, service_id: &str, id: &str) -> Result<Option<Self>, StoreError> {
        certificate_store::find(conn, service_id, id)
    }

    fn list(
        conn: &mut DbConnection,
        service_id: &str,
        before: &Option<String>,
        limit: i64,
    ) -> Result<Vec<Self>, StoreError> {
        certificate_store::list(conn, service_id, before.as_deref(), limit)
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn delete(&self, conn: &mut DbConnection) -> Result<bool, StoreError> {
        certificate_store::delete(conn, &self.id, self.version)
    }
}
