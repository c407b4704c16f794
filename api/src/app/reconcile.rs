//! `hostadmin reconcile`: compares what each configured driver's server holds with
//! hostadmin's rows, repairs the drift and reports every repair. hostadmin's rows are
//! the truth: a zone edited on the DNS server behind hostadmin's back is put back, a
//! database or user that went missing is made again with its stored password. What a
//! server holds beyond hostadmin's rows (a database of hostadmin's naming without a row)
//! is reported, never dropped: it may hold a customer's data.
//!
//! Each repair holds its resource as a job does while it applies one, so that a job
//! running beside `reconcile` and the repair never interleave their reads and writes.

use std::collections::BTreeSet;
use std::future::Future;

use hostadmin_domain::ids;
use hostadmin_domain::provisioning::ProvisioningError;
use hostadmin_domain::time;
use hostadmin_persistence::{databases as database_store, domains as domain_store};

use crate::app::driven;
use crate::app::provisioning_states::{self, Repair, Target};
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
    let zones = state.db.run(|conn| Ok(domain_store::managed_zones(conn)?)).await.map_err(anyhow::Error::msg)?;
    let mut report = Vec::new();
    for (id, name) in zones {
        let repaired = holding(state, Target::DnsZone, &id, || async {
            let Some(zone) = driven::zone_of(state, &name).await.map_err(anyhow::Error::msg)? else { return Ok(None) };
            dns.ensure_zone(&zone).await.map(Some).map_err(|error| anyhow::anyhow!("dns {name}: {error}"))
        })
        .await?;
        match repaired {
            Repaired::LeftToAJob => report.push(format!("dns {name}: a job applies it now; left to it")),
            Repaired::Done(changes) if !changes.is_empty() => {
                let sets: Vec<String> = changes.iter().map(describe).collect();
                report.push(format!("dns {name}: repaired {}", sets.join(", ")));
            }
            Repaired::Done(_) | Repaired::Gone => {}
        }
    }
    Ok(report)
}

/// What came of a repair.
enum Repaired<T> {
    /// A job holds the resource now; it applies hostadmin's newest state, so nothing is
    /// left to repair after it.
    LeftToAJob,
    /// The resource went meanwhile: its removal is its own job's.
    Gone,
    Done(T),
}

/// Runs `repair` while holding the resource `id`. `repair` answers `None` when the
/// resource is gone by the time it reads it. A repair done counts as applying every
/// change queued before it began (their jobs end without calling the server); a gone
/// resource's pending removal does not.
async fn holding<T, F, R>(state: &AppState, target: Target, id: &str, repair: F) -> anyhow::Result<Repaired<T>>
where
    F: FnOnce() -> R,
    R: Future<Output = anyhow::Result<Option<T>>>,
{
    let holder = format!("reconcile-{}", ids::new_id());
    let (key, taker) = (id.to_owned(), holder.clone());
    let taken = state
        .db
        .write(move |conn| provisioning_states::take_for_repair(conn, target, &key, &taker, time::now()))
        .await
        .map_err(anyhow::Error::msg)?;
    let Repair::Taken { seen } = taken else { return Ok(Repaired::LeftToAJob) };
    let outcome = repair().await;
    let (key, applied) = (id.to_owned(), matches!(outcome, Ok(Some(_))).then_some(seen));
    state
        .db
        .write(move |conn| provisioning_states::end_repair(conn, target, &key, &holder, applied, time::now()))
        .await
        .map_err(anyhow::Error::msg)?;
    Ok(outcome?.map_or(Repaired::Gone, Repaired::Done))
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
            let made = holding(state, Target::Database, &row.id, || async {
                // Read again under the hold: a job may have changed its password since.
                let id = row.id.clone();
                let current = state.db.run(move |conn| Ok(database_store::find(conn, &id)?)).await;
                let Some(current) = current.map_err(anyhow::Error::msg)? else { return Ok(None) };
                let (spec, password) = driven::database_of(state, &current).map_err(refused)?;
                driver
                    .create(&spec, &password)
                    .await
                    .map(Some)
                    .map_err(|error| anyhow::anyhow!("database {}: {error}", row.name))
            })
            .await?;
            let missing = if has_database { "its user or grant" } else { "the database" };
            match made {
                Repaired::LeftToAJob => {
                    report.push(format!("database {} ({engine}): a job applies it now; left to it", row.name))
                }
                Repaired::Done(()) => {
                    report.push(format!("database {} ({engine}): made again ({missing} was missing)", row.name))
                }
                Repaired::Gone => {}
            }
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
