//! Domains on hosting services: what every domain change shares (its service, its audit
//! event, what the provisioner is told), and the lock and name-server change the bulk
//! actions apply.

use chrono::NaiveDateTime;

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::domains::Nameservers;
use hostadmin_domain::policy::Actor;
use hostadmin_domain::provisioning::{Operation, Provisioner, ResourceAction, ResourceChange, ResourceKind};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::domains::{self as domain_store, DomainChanges, DomainRow};
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::DbConnection;

use crate::app::access::{HostedDomain, Reached};
use crate::app::hosting;
use crate::app::lifecycle::changed_meanwhile;
use crate::app::provisioning::{self, spec_of};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// The service a domain belongs to: its `domain` service when registered, otherwise the
/// hosting service that serves it.
pub fn service_of(row: &DomainRow) -> Result<&str, ApiError> {
    row.service().ok_or_else(|| ApiError::internal(format!("domain {} has no service", row.id)))
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

pub fn record(
    conn: &mut DbConnection,
    context: &AuditContext,
    action: &str,
    row: &DomainRow,
    details: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    audit::record(
        conn,
        context,
        NewEvent { action, target_type: target::DOMAIN, target_id: &row.id, account_id: Some(&row.owner_id), details },
        now,
    )?;
    Ok(())
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

/// Lock, unlock or set the name servers of one domain reached by name (a bulk item).
pub async fn change(
    state: &AppState,
    actor: &Actor,
    domain: Reached<HostedDomain>,
    changes: DomainChanges,
) -> Result<(), ApiError> {
    hosting::require_active(&domain.row.service)?;
    let context = AuditContext::of(actor);
    let requested_by = actor.account_id.clone();
    let provisioner = state.provisioner.clone();
    let HostedDomain { domain, service } = domain.row;
    state
        .db
        .write(move |conn| {
            hosting::lock_active(conn, &service.id)?;
            apply_change(conn, provisioner.as_ref(), &context, &requested_by, &domain.id, &service, &changes)
        })
        .await
}

/// One domain's lock or name-server change, inside the caller's transaction (which holds
/// the service's lock): `domain.update` in the audit log and the change handed to the
/// provisioner for `service`, the domain's service. Both bulk routes (by domain name and
/// by service) change a domain through it.
pub fn apply_change(
    conn: &mut DbConnection,
    provisioner: &dyn Provisioner,
    context: &AuditContext,
    requested_by: &str,
    domain_id: &str,
    service: &ServiceRow,
    changes: &DomainChanges,
) -> Result<(), ApiError> {
    let now = time::now();
    hosting::require_active(service)?;
    let current = domain_store::find(conn, domain_id)?.ok_or_else(ApiError::not_found)?;
    if !domain_store::update(conn, &current.id, current.version, changes, now)? {
        return Err(changed_meanwhile());
    }
    let updated = domain_store::find(conn, &current.id)?.ok_or_else(ApiError::not_found)?;
    record(conn, context, actions::DOMAIN_UPDATE, &updated, changed_fields(changes), now)?;
    let operation = Operation::Resource {
        service: spec_of(service),
        change: ResourceChange {
            kind: ResourceKind::Domain,
            action: ResourceAction::Update,
            id: updated.id.clone(),
            spec: spec(&updated),
        },
    };
    provisioning::request(conn, provisioner, operation, requested_by, now)?;
    Ok(())
}
