//! The provisioner drivers, and how a change reaches them (docs/provisioning.md).
//!
//! A change asks the configured driver inside the service's transaction
//! ([`request`]); a driver that defers gets a `provision` job queued in that same
//! transaction, which the worker carries out (crate::app::provision_jobs).
//!
//! A new driver: implement [`Provisioner`], add its name to
//! [`crate::config::ProvisionerKind`] and one arm to [`driver`].

use std::sync::Arc;

use chrono::NaiveDateTime;

use hostadmin_domain::ids::new_id;
use hostadmin_domain::jobs::JobKind;
use hostadmin_domain::provisioning::{Operation, Outcome, Provisioner, ProvisioningError, ServiceSpec};
use hostadmin_persistence::jobs::{self as job_store, NewJob};
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::DbConnection;

use crate::config::ProvisionerKind;
use crate::http::problem::ApiError;

/// The configured driver. A new driver is one more arm here.
pub fn driver(kind: ProvisionerKind) -> Arc<dyn Provisioner> {
    match kind {
        ProvisionerKind::Local => Arc::new(Local),
        ProvisionerKind::Deferred => Arc::new(Deferred),
    }
}

/// The built-in driver: hostadmin itself is the server, and the service's own row is
/// the record of every change, so everything is done at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct Local;

impl Provisioner for Local {
    fn name(&self) -> &'static str {
        "local"
    }

    fn request(&self, _: &Operation) -> Result<Outcome, ProvisioningError> {
        Ok(Outcome::Done)
    }

    fn carry_out(&self, _: &Operation) -> Result<(), ProvisioningError> {
        Ok(())
    }
}

/// A driver that defers everything and succeeds when the worker carries it out: it
/// exercises the deferred path end to end, and is the skeleton a real driver copies
/// (its `carry_out` is where a Plesk, cPanel or PowerDNS call goes).
#[derive(Debug, Clone, Copy, Default)]
pub struct Deferred;

impl Provisioner for Deferred {
    fn name(&self) -> &'static str {
        "deferred"
    }

    fn request(&self, _: &Operation) -> Result<Outcome, ProvisioningError> {
        Ok(Outcome::Deferred)
    }

    fn carry_out(&self, operation: &Operation) -> Result<(), ProvisioningError> {
        tracing::info!(operation = operation.name(), service = %operation.service().service_id, "carried out");
        Ok(())
    }
}

/// What a driver is told about a stored service.
pub fn spec_of(row: &ServiceRow) -> ServiceSpec {
    ServiceSpec {
        service_id: row.id.clone(),
        number: row.number,
        kind: row.kind,
        owner_id: row.owner_id.clone(),
        plan_id: row.plan_id.clone(),
        quotas: row.quotas.clone(),
    }
}

/// Hands `operation` to the driver inside the caller's transaction; a deferred one is
/// queued as a `provision` job (requested by `requested_by`, an account) in the same
/// transaction. A driver's refusal is `503`, and the transaction is rolled back.
pub fn request(
    conn: &mut DbConnection,
    provisioner: &dyn Provisioner,
    operation: Operation,
    requested_by: &str,
    now: NaiveDateTime,
) -> Result<Outcome, ApiError> {
    let outcome = provisioner.request(&operation).map_err(|error| {
        ApiError::Unavailable(format!("the {} provisioner refused {}: {error}", provisioner.name(), operation.name()))
    })?;
    if outcome == Outcome::Deferred {
        let params = serde_json::to_string(&operation).map_err(ApiError::internal)?;
        let id = new_id();
        job_store::insert(
            conn,
            &NewJob { id: &id, kind: JobKind::Provision, params: &params, total: 1, requested_by, now },
        )?;
        crate::app::provisioning_states::queued(conn, &operation, now)?;
    }
    Ok(outcome)
}
