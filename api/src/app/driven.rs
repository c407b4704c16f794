//! Hosting resources carried out by the configured drivers (docs/drivers.md): a domain's
//! DNS zone on the DNS server, a database on its engine's server.
//!
//! A change of such a resource is deferred to the worker ([`Driven`]) and its
//! provisioning state set `pending` in the change's own transaction
//! (crate::app::provisioning::request); the worker ([`apply`]) then makes the server hold
//! what hostadmin's rows say *now*, so every call is idempotent and a later job repairs
//! whatever an earlier one left: a job retried after a crash, or run after newer changes,
//! applies the newest state. Its outcome is the resource's state
//! (crate::app::provisioning_states).

use std::sync::Arc;

use hostadmin_domain::databases::{password_context, DatabaseEngine};
use hostadmin_domain::provisioning::{Operation, Outcome, Provisioner, ProvisioningError, ResourceChange};
use hostadmin_persistence::databases::DatabaseRow;
use hostadmin_persistence::{databases as database_store, domains as domain_store};

use crate::app::hosting::dns;
use crate::app::provisioning_states::{followed, Target};
use crate::drivers::{Configured, DatabaseDriver, DatabaseSpec, DnsDriver, Password, ZoneSpec};
use crate::http::problem::ApiError;
use crate::state::AppState;

/// The provisioner as the configuration makes it: changes of resources a configured
/// driver carries out go to the worker, everything else to `inner`.
pub struct Driven {
    inner: Arc<dyn Provisioner>,
    drivers: Configured,
}

impl Driven {
    pub fn wrap(inner: Arc<dyn Provisioner>, drivers: &Configured) -> Arc<dyn Provisioner> {
        if drivers.dns.is_none() && drivers.databases.is_none() {
            return inner;
        }
        Arc::new(Self { inner, drivers: drivers.clone() })
    }
}

/// Whether a configured driver carries `operation` out: then the job applies the newest
/// state, not the operation itself.
pub fn drives(drivers: &Configured, operation: &Operation) -> bool {
    match followed(operation) {
        Some((Target::DnsZone, _)) => drivers.dns.is_some(),
        Some((Target::Database, _)) => drivers.databases.is_some(),
        None => false,
    }
}

impl Provisioner for Driven {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn request(&self, operation: &Operation) -> Result<Outcome, ProvisioningError> {
        if drives(&self.drivers, operation) {
            return Ok(Outcome::Deferred);
        }
        self.inner.request(operation)
    }

    /// Driven operations never come here: the worker hands them to [`apply`].
    fn carry_out(&self, operation: &Operation) -> Result<(), ProvisioningError> {
        self.inner.carry_out(operation)
    }
}

/// Carries out `operation` through the configured driver of its resource; `None` when no
/// driver is configured for it (the provisioner carries it out).
pub async fn apply(state: &AppState, operation: &Operation) -> Option<Result<(), ProvisioningError>> {
    let (target, change) = followed(operation)?;
    match target {
        Target::DnsZone => {
            let driver = state.drivers.dns.clone()?;
            let name = change.spec.get("name").and_then(|name| name.as_str())?.to_owned();
            Some(apply_zone(state, driver.as_ref(), &name).await)
        }
        Target::Database => {
            let driver = state.drivers.databases.clone()?;
            Some(apply_database(state, driver.as_ref(), change).await)
        }
    }
}

fn temporary(error: ApiError) -> ProvisioningError {
    ProvisioningError::Retry(format!("reading hostadmin's state: {error}"))
}

/// Makes the DNS server hold the zone `name` as hostadmin has it now: the domain's zone
/// while the domain exists and uses the provider's name servers, no zone otherwise.
/// Going by the name, not the domain's id, keeps a removed domain's late job from
/// removing the zone of a domain of the same name added since.
pub async fn apply_zone(state: &AppState, driver: &dyn DnsDriver, name: &str) -> Result<(), ProvisioningError> {
    let wanted = zone_of(state, name).await.map_err(temporary)?;
    match wanted {
        Some(zone) => {
            driver.ensure_zone(&zone).await?;
        }
        None => {
            driver.remove_zone(name).await?;
        }
    }
    Ok(())
}

/// The zone `name` as hostadmin says it, or `None` when hostadmin serves no such zone.
pub async fn zone_of(state: &AppState, name: &str) -> Result<Option<ZoneSpec>, ApiError> {
    let settings = dns::settings_of(&state.config);
    let lookup = name.to_owned();
    let stored = state
        .db
        .run(move |conn| {
            let Some(domain) = domain_store::find_by_name(conn, &lookup)? else { return Ok(None) };
            if domain.nameservers.is_some() {
                return Ok(None);
            }
            dns::stored_zone(conn, &domain).map(Some)
        })
        .await?;
    let Some((serial, records)) = stored else { return Ok(None) };
    ZoneSpec::new(name, serial, &settings, &records).map(Some).map_err(ApiError::internal)
}

/// Makes the database's server hold it as hostadmin has it now: created with its user
/// and password (set again, so a password change is the same call) while the row
/// exists, dropped with its user once it is gone.
async fn apply_database(
    state: &AppState,
    driver: &dyn DatabaseDriver,
    change: &ResourceChange,
) -> Result<(), ProvisioningError> {
    let id = change.id.clone();
    let row = state.db.run(move |conn| Ok(database_store::find(conn, &id)?)).await.map_err(temporary)?;
    match row {
        Some(row) => {
            let (spec, password) = database_of(state, &row)?;
            driver.create(&spec, &password).await?;
        }
        None => {
            let text = |key: &str| change.spec.get(key).and_then(|value| value.as_str()).unwrap_or_default();
            let spec = database_spec(text("engine"), text("name"), text("user"))?;
            driver.drop_database(&spec).await?;
        }
    }
    Ok(())
}

/// What the driver is told of a stored database: its names and its password, opened.
pub fn database_of(state: &AppState, row: &DatabaseRow) -> Result<(DatabaseSpec, Password), ProvisioningError> {
    let spec = database_spec(&row.engine, &row.name, &row.db_user)?;
    let opened = state
        .sealer
        .open(&password_context(&row.id), &row.password_sealed)
        .map_err(|_| ProvisioningError::Refused("the database's password cannot be opened".into()))?;
    let password = String::from_utf8(opened)
        .map_err(|_| ProvisioningError::Refused("the database's password is not text".into()))?;
    Ok((spec, Password::new(password)))
}

fn database_spec(engine: &str, name: &str, user: &str) -> Result<DatabaseSpec, ProvisioningError> {
    let engine = DatabaseEngine::parse(engine)
        .ok_or_else(|| ProvisioningError::Refused(format!("unknown database engine {engine:?}")))?;
    Ok(DatabaseSpec { engine, name: name.to_owned(), user: user.to_owned() })
}

/// The configured drivers whose servers do not answer within `limit` (`dns:powerdns`,
/// `databases:mysql`, ...), each logged with its error: for `/readyz` (which names
/// them only: the errors hold internal addresses) and the start-up log. A server that is
/// down delays the changes it carries, never the start.
pub async fn unreachable(drivers: &Configured, limit: std::time::Duration) -> Vec<String> {
    let report = match tokio::time::timeout(limit, drivers.check()).await {
        Ok(report) => report,
        Err(_) => return vec![format!("the driver servers did not answer within {} ms", limit.as_millis())],
    };
    report
        .into_iter()
        .filter_map(|(driver, result)| {
            let error = result.err()?;
            tracing::warn!(driver = %driver, error = %error, "a configured driver's server does not answer");
            Some(driver)
        })
        .collect()
}
