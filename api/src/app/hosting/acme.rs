//! Certificates ordered from the ACME CA (docs/drivers.md "Automatic certificates"): by
//! a client for names of its service, or for every hosting domain when it is added. The
//! order is a `pending` certificate row and a `certificate.acme` job, in the transaction
//! that asked for it; the worker carries it out (crate::app::acme_orders), so an answer
//! never waits on the CA.
//!
//! Every name must lie in a domain of the service whose DNS hostadmin serves: the CA's
//! DNS-01 challenge is written into that zone through the DNS driver.

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::certificates::CertificateSource;
use hostadmin_domain::ids::new_id;
use hostadmin_domain::jobs::JobKind;
use hostadmin_domain::policy::{Action, Actor};
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::certificates::{self as store, CertificateRow, NewCertificate};
use hostadmin_persistence::domains::{self as domain_store, DomainRow};
use hostadmin_persistence::jobs::{self as job_store, NewJob};
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::DbConnection;
use serde::{Deserialize, Serialize};

use crate::app::access::Reached;
use crate::app::hosting::{self, Resource as _, Work};
use crate::certificates::CertificateName;
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// What a `certificate.acme` job carries out: the order of one certificate row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderParams {
    pub service_id: String,
    pub certificate_id: String,
}

/// `409 acme_not_configured` unless the installation orders certificates automatically.
pub fn require_configured(state: &AppState) -> Result<(), ApiError> {
    if state.drivers.certificates.is_some() {
        return Ok(());
    }
    Err(ApiError::conflict(
        "acme_not_configured",
        "this installation has no ACME CA configured (HOSTADMIN_ACME_DIRECTORY_URL): upload a certificate or make a CSR instead",
    ))
}

/// Order a certificate for `names` (the first is its common name) on the service: `202`
/// with the row `pending`; `422` at `/names/{i}` for a name in no domain of the service
/// (`not_hosted`) or in one whose DNS hostadmin does not serve (`dns_not_managed`).
pub async fn order(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    names: Vec<CertificateName>,
) -> Result<CertificateRow, ApiError> {
    service.expect(Action::WriteHosting)?;
    require_configured(state)?;
    let names: Vec<String> = distinct(names.iter().map(CertificateName::as_str));
    hosting::write(state, actor, &service.row.id, move |work| {
        let mut errors = Vec::new();
        for (index, name) in names.iter().enumerate() {
            if let Err(invalid) = zone_of(work.conn, &work.service.id, name)? {
                errors.push(FieldError::new(format!("/names/{index}"), invalid));
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::fields(errors));
        }
        order_in(work, &names)
    })
    .await
}

/// Orders the automatic certificate of a hosting domain just added, inside the unit of
/// work that added it, when the installation orders certificates and the domain's DNS is
/// served here.
pub fn order_for_new_domain(work: &mut Work<'_>, acme: bool, domain: &DomainRow) -> Result<(), ApiError> {
    if !acme || domain.nameservers.is_some() {
        return Ok(());
    }
    let names = hostadmin_domain::certificates::automatic_names(&domain.name, work.service.kind);
    order_in(work, &names).map(drop)
}

/// Inserts the pending row for `names` (checked), audits the order and queues its job.
fn order_in(work: &mut Work<'_>, names: &[String]) -> Result<CertificateRow, ApiError> {
    let new = NewCertificate {
        id: new_id(),
        source: CertificateSource::Acme,
        service_id: work.service.id.clone(),
        common_name: names.first().cloned().unwrap_or_default(),
        sans: names.join(" "),
        issued: None,
        csr_pem: None,
        // Both come with the certificate: the worker makes the key when it orders.
        public_key_sha256: String::new(),
        private_key_sealed: String::new(),
        now: work.now,
    };
    store::insert(work.conn, &new)?;
    let row: CertificateRow = work.written(&new.id)?;
    work.record(actions::CERTIFICATE_ACME_ORDER, target::CERTIFICATE, &row.id, row.summary())?;
    let params = OrderParams { service_id: row.service_id.clone(), certificate_id: row.id.clone() };
    let requested_by = work.requested_by().to_owned();
    queue(work.conn, &params, &requested_by, work.now)?;
    Ok(row)
}

/// Queues the `certificate.acme` job that carries the order out.
pub fn queue(
    conn: &mut DbConnection,
    params: &OrderParams,
    requested_by: &str,
    now: chrono::NaiveDateTime,
) -> Result<(), ApiError> {
    let params = serde_json::to_string(params).map_err(ApiError::internal)?;
    let id = new_id();
    let job = NewJob { id: &id, kind: JobKind::CertificateOrder, params: &params, total: 1, requested_by, now };
    job_store::insert(conn, &job)?;
    Ok(())
}

/// The domain whose zone `name`'s challenge is written to: the longest domain of the
/// service that holds it (`shop.test` for `*.www.shop.test`), if hostadmin serves its DNS.
pub fn zone_of(conn: &mut DbConnection, service_id: &str, name: &str) -> Result<Result<DomainRow, Invalid>, ApiError> {
    let base = name.strip_prefix("*.").unwrap_or(name);
    let labels: Vec<&str> = base.split('.').collect();
    for start in 0..labels.len().saturating_sub(1) {
        let candidate = labels[start..].join(".");
        let Some(domain) = domain_store::find_by_name(conn, &candidate)? else { continue };
        if domain.hosting_service_id.as_deref() != Some(service_id) {
            continue;
        }
        if domain.nameservers.is_some() {
            return Ok(Err(Invalid::new(
                "dns_not_managed",
                format!("{} uses other name servers, so its DNS-01 challenge cannot be written", domain.name),
            )));
        }
        return Ok(Ok(domain));
    }
    Ok(Err(Invalid::new("not_hosted", format!("{name} is in no domain of this service"))))
}

/// The names in their first order, each once.
fn distinct<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for name in names {
        if !seen.iter().any(|known| known == name) {
            seen.push(name.to_owned());
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_once_in_their_first_order() {
        assert_eq!(distinct(["b.test", "a.test", "b.test"].into_iter()), ["b.test", "a.test"]);
    }
}
