//! Child hosts of a domain (`ns1.example.com` with its addresses): the glue a registry
//! needs when a domain's name servers lie below it. At most [`MAX_HOSTS`] per domain, so
//! the list is one page. A host is added or removed in a unit of work on its domain, so
//! that it cannot be added to a domain being deleted.

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::domains::{DomainName, HostAddresses, HostName};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::policy::{Action, Actor};
use hostadmin_domain::provisioning::{ResourceAction, ResourceKind};
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::domain_hosts::{self as host_store, HostRow};
use hostadmin_persistence::domains::DomainRow;
use hostadmin_persistence::StoreError;

use crate::app::access::HostedDomain;
use crate::app::access::Reached;
use crate::app::hosting::{self, Work};
use crate::http::problem::ApiError;
use crate::state::AppState;

/// Child hosts per domain; registries accept a handful, 50 is far above real use.
pub const MAX_HOSTS: i64 = 50;

/// The domain's child hosts, by name.
pub async fn hosts(state: &AppState, domain: Reached<HostedDomain>) -> Result<Vec<HostRow>, ApiError> {
    domain.expect(Action::ReadDomains)?;
    let domain_id = domain.row.domain.id;
    state.db.run(move |conn| Ok(host_store::list(conn, &domain_id)?)).await
}

/// Add a child host: `422 not_below_domain` at `/hostname` for a name that is not below
/// the domain; `409 quota_exceeded` beyond [`MAX_HOSTS`]; `409 hostname_taken` when the
/// name exists anywhere.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    domain: Reached<HostedDomain>,
    hostname: HostName,
    ips: HostAddresses,
) -> Result<HostRow, ApiError> {
    domain.expect(Action::WriteDomains)?;
    let name = &domain.row.domain.name;
    let parent = DomainName::parse(name).map_err(|e| ApiError::internal(format!("stored name {name}: {e}")))?;
    if !parent.is_parent_of(&hostname) {
        let invalid = Invalid::new("not_below_domain", format!("must be a name below {name}"));
        return Err(ApiError::field("/hostname", invalid));
    }
    hosting::write_domain(state, actor, &domain.row, None, move |work, domain| {
        if host_store::count(work.conn, &domain.id)? >= MAX_HOSTS {
            return Err(ApiError::conflict("quota_exceeded", format!("a domain has at most {MAX_HOSTS} child hosts")));
        }
        let row = HostRow {
            id: new_id(),
            domain_id: domain.id.clone(),
            hostname: hostname.as_str().to_owned(),
            ips: ips.to_stored(),
            created_at: work.now,
        };
        match host_store::insert(work.conn, &row) {
            Err(StoreError::Unique(_)) => {
                return Err(ApiError::conflict("hostname_taken", format!("{} exists already", row.hostname)))
            }
            other => other?,
        }
        let host = serde_json::json!({"hostname": row.hostname, "ips": HostAddresses::from_stored(&row.ips)});
        changed(work, &domain, actions::DOMAIN_HOST_CREATE, "host_added", host)?;
        Ok(row)
    })
    .await
}

/// Remove a child host (404 when the domain has none of that name).
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    domain: Reached<HostedDomain>,
    hostname: HostName,
) -> Result<(), ApiError> {
    domain.expect(Action::WriteDomains)?;
    hosting::write_domain(state, actor, &domain.row, None, move |work, domain| {
        if !host_store::delete(work.conn, &domain.id, hostname.as_str())? {
            return Err(ApiError::not_found());
        }
        let host = serde_json::Value::from(hostname.as_str());
        changed(work, &domain, actions::DOMAIN_HOST_DELETE, "host_removed", host)
    })
    .await
}

/// A host change is a change of its domain: audited on the domain, and the provisioner
/// gets the domain's name with the host added or removed (`what`).
fn changed(
    work: &mut Work<'_>,
    domain: &DomainRow,
    audited: &'static str,
    what: &str,
    host: serde_json::Value,
) -> Result<(), ApiError> {
    let details = match &host {
        serde_json::Value::Object(_) => host.clone(),
        _ => serde_json::json!({ "hostname": host }),
    };
    work.record(audited, target::DOMAIN, &domain.id, details)?;
    let mut spec = serde_json::json!({ "name": domain.name });
    spec[what] = host;
    work.provision(ResourceKind::Domain, ResourceAction::Update, &domain.id, spec)?;
    Ok(())
}
