//! Mailboxes and forwards of a hosting service: addresses on the service's own domains,
//! one register of addresses for both (`mail_addresses`), so one address is never a
//! mailbox and a forward at once; mailbox passwords stored only as the hash Dovecot
//! verifies; sizes within the plan and, together, within the service's disk.

use hostadmin_domain::audit as actions;
use hostadmin_domain::catalog::QuotaKey;
use hostadmin_domain::ids::new_id;
use hostadmin_domain::mailboxes::{
    fits_disk, Description, DovecotHash, ForwardDestinations, HostedAddress, MailboxQuota,
};
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::policy::Actor;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::domains::DomainRow;
use hostadmin_persistence::forwards::{self as forward_store, ForwardRow, NewForward};
use hostadmin_persistence::mail_addresses::{self, AddressKind};
use hostadmin_persistence::mailboxes::{self as mailbox_store, MailboxChanges, MailboxRow, NewMailbox};
use hostadmin_persistence::services::ServiceRow;

use crate::app::access::Reached;
use crate::app::hosting::{self, Search, Work};
use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// A mailbox, as asked for (validated by the route).
pub struct NewMailboxRequest {
    pub address: HostedAddress,
    pub password: NewPassword,
    pub quota: MailboxQuota,
    pub description: Description,
    pub panel_login: bool,
}

/// What a mailbox change sets; `None` leaves a field as it is.
pub struct MailboxUpdate {
    pub password: Option<NewPassword>,
    pub quota: Option<MailboxQuota>,
    pub description: Option<Description>,
}

/// Create a mailbox: `422 domain_not_on_service` at `/address` when its domain is not one
/// the service hosts; `409 quota_exceeded` when the plan's `mailboxes` (or a reseller
/// package above) is full or the sizes together would exceed the service's disk; `409
/// address_taken` when a mailbox or forward anywhere has the address.
pub async fn create_mailbox(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    request: NewMailboxRequest,
) -> Result<MailboxRow, ApiError> {
    // The cheap refusals before the slow hash.
    let (service_id, address) = (service.row.id.clone(), request.address.clone());
    state
        .db
        .run(move |conn| {
            let hosted = hostadmin_persistence::domains::find_by_name(conn, address.domain())?;
            hosted.filter(|d| d.hosting_service_id.as_deref() == Some(service_id.as_str())).ok_or_else(off_service)
        })
        .await?;
    hosting::require_active(&service.row)?;
    let hash = dovecot_hash(state, request.password).await?;
    let (address, quota) = (request.address, request.quota);
    let (description, panel_login) = (request.description, request.panel_login);
    let id = new_id();
    hosting::add(state, actor, &service, actions::MAILBOX_CREATE, move |work| {
        let domain = address_domain(work, &address, "/address")?;
        work.reserve(QuotaKey::Mailboxes)?;
        check_disk(work, quota, None)?;
        claim(work, address.as_str(), AddressKind::Mailbox, &id)?;
        let new = NewMailbox {
            id: id.clone(),
            service_id: work.service.id.clone(),
            domain_id: domain.id,
            address: address.as_str().to_owned(),
            password_hash: hash.as_str().to_owned(),
            quota_mb: quota.stored(),
            description: description.as_str().to_owned(),
            panel_login,
        };
        mailbox_store::insert(work.conn, &new, work.now)?;
        Ok(new.id)
    })
    .await
}

/// Change a mailbox's password, size or description. A larger size must still fit,
/// with the other mailboxes, the service's disk (`409 quota_exceeded`).
pub async fn update_mailbox(
    state: &AppState,
    actor: &Actor,
    mailbox: Reached<(ServiceRow, MailboxRow)>,
    update: MailboxUpdate,
    if_match: IfMatch,
) -> Result<MailboxRow, ApiError> {
    hosting::refuse_early(&mailbox, &if_match)?;
    let password_hash = match update.password {
        Some(password) => Some(dovecot_hash(state, password).await?.as_str().to_owned()),
        None => None,
    };
    let changes = MailboxChanges {
        password_hash,
        quota_mb: update.quota.map(MailboxQuota::stored),
        description: update.description.map(|d| d.as_str().to_owned()),
    };
    let quota = update.quota;
    hosting::update(state, actor, mailbox, actions::MAILBOX_UPDATE, if_match, move |work, before: &MailboxRow| {
        if let Some(quota) = quota {
            check_disk(work, quota, Some(&before.id))?;
        }
        hosting::applied(mailbox_store::update(work.conn, &before.id, before.version, &changes, work.now)?)?;
        Ok(Some(serde_json::json!({
            "password_changed": changes.password_hash.is_some(),
            "description_changed": changes.description.is_some(),
        })))
    })
    .await
}

/// Remove a mailbox: its address becomes free again.
pub async fn delete_mailbox(
    state: &AppState,
    actor: &Actor,
    mailbox: Reached<(ServiceRow, MailboxRow)>,
    if_match: IfMatch,
) -> Result<(), ApiError> {
    hosting::remove(state, actor, mailbox, if_match).await
}

/// The mailbox `id` of a service the actor reached (404 otherwise, also for a malformed
/// id and for another service's mailbox).
pub async fn mailbox(
    state: &AppState,
    service: Reached<ServiceRow>,
    id: &str,
) -> Result<Reached<(ServiceRow, MailboxRow)>, ApiError> {
    hosting::resource(state, service, id).await
}

/// A page of the service's mailboxes, newest first.
pub async fn mailboxes(
    state: &AppState,
    service: Reached<ServiceRow>,
    q: Option<String>,
    before: Option<String>,
    limit: i64,
) -> Result<Vec<MailboxRow>, ApiError> {
    hosting::page::<MailboxRow>(state, service, Search { q, before }, limit).await
}

/// A forward, as asked for (validated by the route).
pub struct NewForwardRequest {
    pub source: HostedAddress,
    pub destinations: ForwardDestinations,
}

/// Create a forward: `422 domain_not_on_service` at `/source`; `409 quota_exceeded` when
/// the plan's `forwards` (or a reseller package) is full; `409 address_taken` when a
/// mailbox or forward anywhere has the address.
pub async fn create_forward(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    request: NewForwardRequest,
) -> Result<ForwardRow, ApiError> {
    let id = new_id();
    hosting::add(state, actor, &service, actions::FORWARD_CREATE, move |work| {
        let domain = address_domain(work, &request.source, "/source")?;
        work.reserve(QuotaKey::Forwards)?;
        claim(work, request.source.as_str(), AddressKind::Forward, &id)?;
        let new = NewForward {
            id: id.clone(),
            service_id: work.service.id.clone(),
            domain_id: domain.id,
            source: request.source.as_str().to_owned(),
            destinations: stored(&request.destinations)?,
        };
        forward_store::insert(work.conn, &new, work.now)?;
        Ok(new.id)
    })
    .await
}

/// Replace a forward's destinations.
pub async fn update_forward(
    state: &AppState,
    actor: &Actor,
    forward: Reached<(ServiceRow, ForwardRow)>,
    destinations: Option<ForwardDestinations>,
    if_match: IfMatch,
) -> Result<ForwardRow, ApiError> {
    let destinations = destinations.as_ref().map(stored).transpose()?;
    hosting::update(state, actor, forward, actions::FORWARD_UPDATE, if_match, move |work, before: &ForwardRow| {
        let Some(destinations) = &destinations else { return Ok(None) };
        hosting::applied(forward_store::update(work.conn, &before.id, before.version, destinations, work.now)?)?;
        Ok(Some(serde_json::json!({})))
    })
    .await
}

/// Remove a forward: its address becomes free again.
pub async fn delete_forward(
    state: &AppState,
    actor: &Actor,
    forward: Reached<(ServiceRow, ForwardRow)>,
    if_match: IfMatch,
) -> Result<(), ApiError> {
    hosting::remove(state, actor, forward, if_match).await
}

/// The forward `id` of a service the actor reached (404 otherwise).
pub async fn forward(
    state: &AppState,
    service: Reached<ServiceRow>,
    id: &str,
) -> Result<Reached<(ServiceRow, ForwardRow)>, ApiError> {
    hosting::resource(state, service, id).await
}

/// A page of the service's forwards, newest first.
pub async fn forwards(
    state: &AppState,
    service: Reached<ServiceRow>,
    q: Option<String>,
    before: Option<String>,
    limit: i64,
) -> Result<Vec<ForwardRow>, ApiError> {
    hosting::page::<ForwardRow>(state, service, Search { q, before }, limit).await
}

/// The stored destinations of a forward.
pub fn destinations_of(row: &ForwardRow) -> Result<Vec<String>, ApiError> {
    serde_json::from_str(&row.destinations)
        .map_err(|e| ApiError::internal(format!("stored destinations of forward {}: {e}", row.id)))
}

/// The domain of a hosted address, under the service's lock: one the service hosts, or
/// `422 domain_not_on_service` at `pointer` (another tenant's domain answers alike).
fn address_domain(work: &mut Work<'_>, address: &HostedAddress, pointer: &str) -> Result<DomainRow, ApiError> {
    work.hosted_domain(address.domain())?.ok_or_else(|| ApiError::field(pointer, not_on_service()))
}

fn not_on_service() -> Invalid {
    Invalid::new("domain_not_on_service", "the address's domain is not one of this service's domains")
}

fn off_service() -> ApiError {
    ApiError::field("/address", not_on_service())
}

/// Takes `address` in the register both kinds share: `409 address_taken` when a mailbox
/// or a forward anywhere has it.
fn claim(work: &mut Work<'_>, address: &str, kind: AddressKind, id: &str) -> Result<(), ApiError> {
    mail_addresses::claim(work.conn, address, kind, id)?
        .map_err(|_| ApiError::conflict("address_taken", format!("{address} is already a mailbox or a forward")))
}

/// `409 quota_exceeded` when the mailbox sizes would exceed the service's disk.
fn check_disk(work: &mut Work<'_>, quota: MailboxQuota, except: Option<&str>) -> Result<(), ApiError> {
    let disk = work.service.quotas.disk_mb;
    let others = mailbox_store::quota_sum(work.conn, &work.service.id, except)?;
    if fits_disk(others, quota, disk) {
        return Ok(());
    }
    Err(ApiError::conflict(
        "quota_exceeded",
        format!(
            "the service's mailboxes would be promised {} MB of its {} MB disk",
            others.saturating_add(quota.stored()),
            disk.unwrap_or(0)
        ),
    ))
}

async fn dovecot_hash(state: &AppState, password: NewPassword) -> Result<DovecotHash, ApiError> {
    let phc = state.hasher.hash(password).await?;
    DovecotHash::from_phc(&phc).ok_or_else(|| ApiError::internal("the password hash is not argon2id"))
}

fn stored(destinations: &ForwardDestinations) -> Result<String, ApiError> {
    serde_json::to_string(&destinations.to_strings()).map_err(ApiError::internal)
}
