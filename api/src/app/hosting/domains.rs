//! Domains on hosting services: adding one, its name servers, lock, auto-renewal and
//! redirect, its move to another service of the owner, its deletion, and the lock and
//! name-server changes the bulk actions apply.
//!
//! A domain is changed in a unit of work on it ([`hosting::write_domain`]): its services
//! locked, it read again, `If-Match` checked only when sent, the change written at the
//! version just read. A deletion or a move refuses while mail uses the domain (`409
//! domain_in_use`): mailboxes and forwards belong to its service, and whoever creates one
//! holds that service's lock and reads the domain again under it, so the two take turns.

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::{fits, QuotaKey, ServiceKind};
use hostadmin_domain::domains::{DomainName, Nameservers};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::policy::{Action, Actor, Authorized};
use hostadmin_domain::provisioning::{Provisioner, ResourceAction, ResourceChange, ResourceKind};
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::AuditContext;
use hostadmin_persistence::domains::{self as domain_store, DomainChanges, DomainFilter, DomainRow, NewDomain};
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::{usage, DbConnection, StoreError};

use crate::app::access::{self, HostedDomain, Reached};
use crate::app::hosting::{self, Resource, Work};
use crate::app::provisioning_states::{self, Target};
use crate::http::etag::IfMatch;
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// The service a domain belongs to: its `domain` service when registered, otherwise the
/// hosting service that serves it.
pub fn service_of(row: &DomainRow) -> Result<&str, ApiError> {
    row.service().ok_or_else(|| ApiError::internal(format!("domain {} has no service", row.id)))
}

/// Every service a domain belongs to (its `domain` service, its hosting service), by id:
/// a change of the domain locks them all.
pub fn services_of(row: &DomainRow) -> Vec<String> {
    let mut ids: Vec<String> = row.service_id.iter().chain(&row.hosting_service_id).cloned().collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Errors of a list item carry its index in the pointer.
pub fn list_error(pointer: &str, (index, invalid): (Option<usize>, Invalid)) -> ApiError {
    match index {
        Some(i) => ApiError::fields(vec![FieldError::new(format!("{pointer}/{i}"), invalid)]),
        None => ApiError::field(pointer, invalid),
    }
}

/// What the provisioner is told about a domain.
pub fn spec(row: &DomainRow) -> serde_json::Value {
    serde_json::json!({
        "name": row.name,
        "nameservers": row.nameservers.as_deref().map(Nameservers::from_stored),
        "redirect": match (&row.redirect_type, &row.redirect_target) {
            (Some(t), Some(u)) => serde_json::json!({"type": t, "target": u}),
            _ => serde_json::Value::Null,
        },
    })
}

/// The audit details of a change: the fields it set.
pub fn changed_fields(changes: &DomainChanges) -> serde_json::Value {
    let mut details = serde_json::Map::new();
    if let Some(ns) = &changes.nameservers {
        details.insert("nameservers".into(), ns.as_deref().map(Nameservers::from_stored).into());
    }
    if let Some(locked) = changes.locked {
        details.insert("locked".into(), locked.into());
    }
    if let Some(auto_renew) = changes.auto_renew {
        details.insert("auto_renew".into(), auto_renew.into());
    }
    if let Some(service) = &changes.hosting_service_id {
        details.insert("hosting_service_id".into(), service.clone().into());
    }
    serde_json::Value::Object(details)
}

fn is_hosting(service: &ServiceRow) -> bool {
    matches!(service.kind, ServiceKind::WebHosting | ServiceKind::MailHosting)
}

fn taken(name: &str) -> ApiError {
    ApiError::conflict("domain_taken", format!("{name} (or a name above or below it) belongs to another owner"))
}

fn locked_error(row: &DomainRow) -> ApiError {
    ApiError::conflict("domain_locked", format!("{} is locked: unlock it first", row.name))
}

/// Add `name` to a hosting service as a `hosted` domain: `422 wrong_service_kind` at
/// `/service_id` for another kind of service; `409 quota_exceeded` when the plan's
/// `domains` (or a reseller package) is full; `409 domain_taken` when another owner has
/// the name, or a name above or below it (otherwise a stranger could serve
/// `shop.example.com` next to the owner of `example.com`). With an ACME CA configured,
/// the domain's certificate is ordered with it (crate::app::hosting::acme).
pub async fn create(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    name: DomainName,
) -> Result<DomainRow, ApiError> {
    service.expect(Action::WriteDomains)?;
    if !is_hosting(&service.row) {
        return Err(ApiError::field(
            "/service_id",
            Invalid::new("wrong_service_kind", "domains are added to a web or mail hosting service"),
        ));
    }
    let acme = state.drivers.certificates.is_some();
    hosting::write(state, actor, &service.row.id, move |work| {
        work.reserve(QuotaKey::Domains)?;
        let owner_id = work.service.owner_id.clone();
        let ancestors: Vec<String> = name.ancestors().into_iter().map(DomainName::into_string).collect();
        let foreign_above =
            domain_store::owners_of(work.conn, &ancestors)?.into_iter().any(|(_, owner)| owner != owner_id);
        if foreign_above || domain_store::other_owner_below(work.conn, name.as_str(), &owner_id)? {
            return Err(taken(name.as_str()));
        }
        let new = NewDomain {
            id: new_id(),
            name: name.as_str().to_owned(),
            unicode_name: name.unicode(),
            kind: "hosted".to_owned(),
            owner_id,
            service_id: None,
            hosting_service_id: Some(work.service.id.clone()),
            now: work.now,
        };
        match domain_store::insert(work.conn, &new) {
            Err(StoreError::Unique(constraint)) if is_name_key(&constraint) => return Err(taken(name.as_str())),
            inserted => inserted?,
        }
        let row = written(work, &new.id)?;
        work.changed(&row, ResourceAction::Create, actions::DOMAIN_CREATE, row.summary())?;
        hosting::acme::order_for_new_domain(work, acme, &row)?;
        Ok(row)
    })
    .await
}

fn is_name_key(constraint: &str) -> bool {
    constraint == domain_store::NAME_KEY || constraint.contains("domains.name")
}

/// A page of the domains of the services the actor reaches (own, subtree, granted),
/// newest first; with a service filter, 404 unless the actor reaches that service.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    filter: DomainFilter,
    limit: i64,
) -> Result<Vec<DomainRow>, ApiError> {
    if let Some(service_id) = &filter.service_id {
        access::service(state, actor, authorized, service_id).await?;
    }
    let reach = actor.reach();
    state.db.run(move |conn| Ok(domain_store::list_in_scope(conn, &reach, &filter, limit)?)).await
}

/// What a domain change sets; `None` leaves a field as it is.
pub struct DomainUpdate {
    /// `Some(None)`: back to the provider's name servers.
    pub nameservers: Option<Option<Nameservers>>,
    pub locked: Option<bool>,
    pub auto_renew: Option<bool>,
    /// Move it to this hosting service of the same owner.
    pub hosting_service_id: Option<String>,
}

/// Change a domain's name servers, lock, auto-renewal, or move it to another active web
/// or mail hosting service of its owner. A move needs an unlocked domain (`409
/// domain_locked`; unlocking in the same request does not lift it), no mail on it (`409
/// domain_in_use`) and room in the target for the domain and its DNS records (`409
/// quota_exceeded`); the records move with it.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    domain: Reached<HostedDomain>,
    update: DomainUpdate,
    if_match: IfMatch,
) -> Result<DomainRow, ApiError> {
    domain.expect(Action::WriteDomains)?;
    let target = match update.hosting_service_id {
        Some(id) if Some(id.as_str()) != domain.row.domain.hosting_service_id.as_deref() => {
            Some(move_target(state, actor, &domain, &id).await?)
        }
        _ => None,
    };
    let changes = DomainChanges {
        nameservers: update.nameservers.map(|ns| ns.as_ref().map(Nameservers::to_stored)),
        locked: update.locked,
        auto_renew: update.auto_renew,
        hosting_service_id: target.clone(),
        redirect: None,
    };
    hosting::write_domain(state, actor, &domain.row, target.as_deref(), move |work, current| {
        if_match.check(current.version)?;
        match &changes.hosting_service_id {
            Some(target) => move_to(work, current, target, &changes),
            None => apply(work, current, &changes, actions::DOMAIN_UPDATE, changed_fields(&changes)),
        }
    })
    .await
}

/// The service a domain may move to: another web or mail hosting service of the same
/// owner that the actor reaches for the same action (404 otherwise).
async fn move_target(
    state: &AppState,
    actor: &Actor,
    domain: &Reached<HostedDomain>,
    service_id: &str,
) -> Result<String, ApiError> {
    let row = &domain.row.domain;
    if row.kind != "hosted" && row.hosting_service_id.is_none() {
        return Err(ApiError::field(
            "/hosting_service_id",
            Invalid::new("not_supported", "this domain is not served by a hosting service"),
        ));
    }
    let target = domain.another_service(state, actor, service_id).await?.row;
    if target.owner_id != row.owner_id {
        return Err(ApiError::not_found());
    }
    if !is_hosting(&target) {
        return Err(ApiError::field(
            "/hosting_service_id",
            Invalid::new("wrong_service_kind", "domains are served by a web or mail hosting service"),
        ));
    }
    Ok(target.id)
}

/// The move of `current` to `target_id`, under the locks of both services: the servers
/// of the old service drop the domain, those of the new one take it.
fn move_to(
    work: &mut Work<'_>,
    current: DomainRow,
    target_id: &str,
    changes: &DomainChanges,
) -> Result<DomainRow, ApiError> {
    let target = work.locked(target_id).cloned().ok_or_else(|| ApiError::internal("the target is not locked"))?;
    hosting::require_active(&target)?;
    if current.locked {
        return Err(locked_error(&current));
    }
    refuse_while_mail(work, &current)?;
    make_room(work, &current, &target)?;
    hosting::applied(domain_store::update(work.conn, &current.id, current.version, changes, work.now)?)?;
    domain_store::move_records(work.conn, &current.id, &target.id)?;
    let moved = written(work, &current.id)?;
    work.record(actions::DOMAIN_UPDATE, target::DOMAIN, &moved.id, changed_fields(changes))?;
    let old = current.hosting_service_id.as_deref().and_then(|id| work.locked(id)).cloned();
    if let Some(old) = old {
        work.provision_on(&old, domain_change(&moved, ResourceAction::Delete))?;
    }
    work.provision_on(&target, domain_change(&moved, ResourceAction::Create))?;
    Ok(moved)
}

/// `409 domain_in_use` while mailboxes or forwards use the domain: they belong to its
/// current service and keep it there.
fn refuse_while_mail(work: &mut Work<'_>, domain: &DomainRow) -> Result<(), ApiError> {
    if domain_store::mail_in_use(work.conn, &domain.id)? == 0 {
        return Ok(());
    }
    Err(ApiError::conflict("domain_in_use", format!("mailboxes or forwards use {}: remove them first", domain.name)))
}

/// A move needs room in the target service for the domain and its DNS records. The
/// owner stays the same, so reseller packages count the same before and after.
fn make_room(work: &mut Work<'_>, domain: &DomainRow, target: &ServiceRow) -> Result<(), ApiError> {
    let records = u64::try_from(domain_store::record_count(work.conn, &domain.id)?).unwrap_or(u64::MAX);
    for (key, needed) in [(QuotaKey::Domains, 1), (QuotaKey::DnsRecords, records)] {
        if needed == 0 {
            continue;
        }
        let used = usage::count_in_service(work.conn, &target.id, key)?.unwrap_or(0);
        if !fits(u64::try_from(used).unwrap_or(u64::MAX), target.quotas.get(key), needed) {
            return Err(ApiError::conflict(
                "quota_exceeded",
                format!("the target service has no room for {needed} more {}", key.as_str()),
            ));
        }
    }
    Ok(())
}

/// Remove a domain with its child hosts and DNS records; a registered one stops renewing
/// and stays manageable until it expires. `409 domain_locked` while locked, `409
/// domain_in_use` while mail uses it.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    domain: Reached<HostedDomain>,
    if_match: IfMatch,
) -> Result<(), ApiError> {
    domain.expect(Action::DeleteDomain)?;
    hosting::write_domain(state, actor, &domain.row, None, move |work, current| {
        if_match.check(current.version)?;
        if current.locked {
            return Err(locked_error(&current));
        }
        refuse_while_mail(work, &current)?;
        let found = if current.kind == "registered" {
            let changes = DomainChanges { auto_renew: Some(false), ..DomainChanges::default() };
            domain_store::update(work.conn, &current.id, current.version, &changes, work.now)?
        } else {
            domain_store::delete(work.conn, &current.id, current.version)?
        };
        hosting::applied(found)?;
        work.changed(&current, ResourceAction::Delete, actions::DOMAIN_DELETE, current.summary())
    })
    .await
}

/// Try a failed change of the domain's zone again: `409 not_failed` unless it failed;
/// the worker then makes the DNS server hold the zone as it is now.
pub async fn retry_provisioning(
    state: &AppState,
    actor: &Actor,
    domain: Reached<HostedDomain>,
) -> Result<DomainRow, ApiError> {
    domain.expect(Action::WriteDomains)?;
    hosting::write_domain(state, actor, &domain.row, None, move |work, current| {
        provisioning_states::require_failed(work.conn, Target::DnsZone, &current.id)?;
        let details = serde_json::json!({ "name": current.name });
        work.record(actions::DOMAIN_RETRY_PROVISIONING, target::DOMAIN, &current.id, details)?;
        work.provision(ResourceKind::DnsZone, ResourceAction::Update, &current.id, spec(&current))?;
        Ok(current)
    })
    .await
}

/// Set (`Some((type, target))`) or remove the domain's redirect.
pub async fn redirect(
    state: &AppState,
    actor: &Actor,
    domain: Reached<HostedDomain>,
    redirect: Option<(String, String)>,
    if_match: IfMatch,
) -> Result<DomainRow, ApiError> {
    domain.expect(Action::WriteDomains)?;
    let details = match &redirect {
        Some((kind, target)) => serde_json::json!({"type": kind, "target": target}),
        None => serde_json::json!({"redirect": null}),
    };
    let changes = DomainChanges { redirect: Some(redirect), ..DomainChanges::default() };
    hosting::write_domain(state, actor, &domain.row, None, move |work, current| {
        if_match.check(current.version)?;
        apply(work, current, &changes, actions::DOMAIN_REDIRECT, details.clone())
    })
    .await
}

/// Lock, unlock or set the name servers of one domain reached by name (a bulk item).
pub async fn change(
    state: &AppState,
    actor: &Actor,
    domain: Reached<HostedDomain>,
    changes: DomainChanges,
) -> Result<(), ApiError> {
    hosting::write_domain(state, actor, &domain.row, None, move |work, current| {
        apply(work, current, &changes, actions::DOMAIN_UPDATE, changed_fields(&changes)).map(drop)
    })
    .await
}

/// One domain's lock or name-server change, inside the caller's transaction: the
/// domain's services are locked and the domain read again as the single-domain routes
/// do, then `domain.update` is recorded and the change handed to the provisioner for
/// `service`, the domain's service. Both bulk routes (by domain name and by service)
/// change a domain through it.
pub fn apply_change(
    conn: &mut DbConnection,
    provisioner: &dyn Provisioner,
    context: &AuditContext,
    requested_by: &str,
    domain_id: &str,
    service: &ServiceRow,
    changes: &DomainChanges,
) -> Result<(), ApiError> {
    let locked = hosting::lock_domain(conn, &service.id, domain_id, None)?;
    let mut work = Work::begin(conn, context, requested_by, provisioner, locked.service);
    apply(&mut work, locked.held, changes, actions::DOMAIN_UPDATE, changed_fields(changes)).map(drop)
}

/// Writes `changes` at the version of `current` read under the lock, records `audited`
/// and tells the provisioner of the unit's service.
fn apply(
    work: &mut Work<'_>,
    current: DomainRow,
    changes: &DomainChanges,
    audited: &'static str,
    details: serde_json::Value,
) -> Result<DomainRow, ApiError> {
    hosting::applied(domain_store::update(work.conn, &current.id, current.version, changes, work.now)?)?;
    let updated = written(work, &current.id)?;
    work.changed(&updated, ResourceAction::Update, audited, details)?;
    Ok(updated)
}

fn domain_change(row: &DomainRow, action: ResourceAction) -> ResourceChange {
    ResourceChange { kind: ResourceKind::Domain, action, id: row.id.clone(), spec: spec(row) }
}

/// The domain `id` after the unit wrote it (by id: after a move it is no longer the
/// unit's service's).
fn written(work: &mut Work<'_>, id: &str) -> Result<DomainRow, ApiError> {
    domain_store::find(work.conn, id)?.ok_or_else(|| ApiError::internal("a domain vanished inside its own transaction"))
}
