//! `hostadmin reconcile`: compares what each configured driver's server holds with
//! hostadmin's rows, repairs the drift and reports every repair. hostadmin's rows are
//! the truth: a zone edited on the DNS server behind hostadmin's back is put back, a
//! database or user that went missing is made again with its stored password. What a
//! server holds beyond hostadmin's rows (a database of hostadmin's naming without a row)
//! is reported, never dropped: it may hold a customer's data.

use std::collections::BTreeSet;

use hostadmin_domain::provisioning::ProvisioningError;
use hostadmin_persistence::{databases as database_store, domains as domain_store};

use crate::app::driven;
use crate::drivers::{DatabaseDriver, DnsDriver, RrsetChange};
use crate::state::AppState;

/// Repairs the drift of every configured driver; answers one line per repair or finding.
pub async fn reconcile(state: &AppState) -> anyhow::Result<Vec<String>> {
    let mut report = Vec::new();
    if let Some(dns) = state.drivers.dns.clone() {
        report.extend(zones(state, dns.as_ref()).await?);
    }
    if let Some(databases) = state.drivers.databases.clone() {
        report.extend(databases_on_servers(state, databases.as_ref()).await?);
    }
    Ok(report)
}

/// Every zone hostadmin serves, made exactly hostadmin's on the DNS server.
async fn zones(state: &AppState, dns: &dyn DnsDriver) -> anyhow::Result<Vec<String>> {
    let names = state.db.run(|conn| Ok(domain_store::managed_names(conn)?)).await.map_err(anyhow::Error::msg)?;
    let mut report = Vec::new();
    for name in names {
        let Some(zone) = driven::zone_of(state, &name).await.map_err(anyhow::Error::msg)? else { continue };
        let changes = dns.ensure_zone(&zone).await.map_err(|error| anyhow::anyhow!("dns {name}: {error}"))?;
        if !changes.is_empty() {
            let sets: Vec<String> = changes.iter().map(describe).collect();
            report.push(format!("dns {name}: repaired {}", sets.join(", ")));
        }
    }
    Ok(report)
}

fn describe(change: &RrsetChange) -> String {
    match change {
        RrsetChange::Replace(set) => format!("{} {} restored", set.name, set.rtype),
        RrsetChange::Delete { name, rtype } => format!("{name} {rtype} removed"),
    }
}

/// Every database row present on its engine's server with its user and grant; the
/// server's databases of hostadmin's naming without a row are reported.
async fn databases_on_servers(state: &AppState, driver: &dyn DatabaseDriver) -> anyhow::Result<Vec<String>> {
    let rows = state.db.run(|conn| Ok(database_store::all(conn)?)).await.map_err(anyhow::Error::msg)?;
    let mut report = Vec::new();
    for engine in driver.engines() {
        let held = driver.inventory(engine).await.map_err(|error| anyhow::anyhow!("databases:{engine}: {error}"))?;
        let mut known = BTreeSet::new();
        for row in rows.iter().filter(|row| row.engine == engine.as_str()) {
            known.insert(row.name.clone());
            let has_database = held.databases.contains(&row.name);
            let has_grant =
                held.users.iter().any(|(user, granted)| user == &row.db_user && granted.contains(&row.name));
            if has_database && has_grant {
                continue;
            }
            let (spec, password) = driven::database_of(state, row).map_err(refused)?;
            driver.create(&spec, &password).await.map_err(|error| anyhow::anyhow!("database {}: {error}", row.name))?;
            let missing = if has_database { "its user or grant" } else { "the database" };
            report.push(format!("database {} ({engine}): made again ({missing} was missing)", row.name));
        }
        for name in held.databases.iter().filter(|name| !known.contains(*name)) {
            report.push(format!("database {name} ({engine}): on the server but not in hostadmin; left alone"));
        }
    }
    Ok(report)
}

fn refused(error: ProvisioningError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}
