//! ACME orders in the worker: a `certificate.acme` job (queued by
//! crate::app::hosting::acme, or by the renewal scan here) asks the CA through the
//! certificate driver, which proves each name with a DNS-01 challenge written through the
//! DNS driver; the outcome lands on the certificate row.
//!
//! - issued: the certificate and its new key (sealed at once) are stored, the row is
//!   `issued` with its renewal time, and the servers get it through the provisioner;
//! - the CA is unreachable, busy or asks to slow down (`rateLimited`): the job is taken
//!   again after a growing delay, or after the CA's `Retry-After` (an hour when it gave
//!   none), as provision jobs are;
//! - refused (or out of attempts): a first order is `failed` with the CA's reason; an
//!   issued certificate keeps serving and its renewal is tried again a day later.
//!
//! The order runs outside any transaction (it takes seconds to minutes); what it brings is
//! stored only if the row is still at the version the order started from, so a row
//! deleted or changed meanwhile is left alone.

use std::time::SystemTime;

use chrono::{Duration, NaiveDateTime};

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::certificates::{renew_at, renews_for, CertificateSource, CertificateStatus, RENEWAL_RETRY_AFTER};
use hostadmin_domain::jobs::JobStatus;
use hostadmin_domain::provisioning::{Operation, ResourceAction, ResourceChange, ResourceKind};
use hostadmin_domain::time;
use hostadmin_persistence::acme_accounts;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::certificates::{self as store, CertificateRow, Issued, Ordered};
use hostadmin_persistence::jobs::{self as job_store, JobRow};
use hostadmin_persistence::provisioning_states as zone_states;
use hostadmin_persistence::services::{self as service_store, ServiceRow};
use hostadmin_persistence::DbConnection;

use crate::app::hosting::acme::{self as ordering, OrderParams};
use crate::app::hosting::certificates::{key_context, off_thread};
use crate::app::hosting::Resource as _;
use crate::app::provision_jobs::{retry_delay, MAX_ATTEMPTS};
use crate::app::provisioning::{self, spec_of};
use crate::app::provisioning_states::Target;
use crate::certificates as x509;
use crate::drivers::{acme, CertificateDriver, CertificateName, DriverError, IssuedCertificate, Password};
use crate::http::problem::ApiError;
use crate::state::AppState;

/// How long a worker holds an order: the CA may take minutes to validate and issue.
const ORDER_LEASE: Duration = Duration::minutes(10);
/// Renewals started per scan.
const RENEWAL_BATCH: i64 = 100;

/// Where an order stands before the CA is asked: what to order, or why not.
enum Order {
    /// The row at `version`, for these names in their zones.
    Due { row: Box<CertificateRow>, service: Box<ServiceRow>, names: Vec<CertificateName> },
    /// Nothing to order any more (the row is gone, issued meanwhile, or not ACME's).
    Settled,
    /// The order cannot be made (a name left its service's domains): fails for good.
    Impossible { row: Box<CertificateRow>, reason: String },
    /// A zone is not on the DNS server yet (its domain was just added): tried again soon.
    ZoneNotReady(String),
}

/// Carries out one claimed `certificate.acme` job; answers whether the job ended.
pub async fn work_on(state: &AppState, worker: &str, job: JobRow) -> Result<bool, ApiError> {
    let params = match serde_json::from_str::<OrderParams>(&job.params) {
        Ok(params) => params,
        Err(error) => {
            tracing::error!(job = %job.id, error = %error, "certificate order job cannot be read; failed");
            return end(state, &job, worker, JobStatus::Failed, |_| Ok(())).await;
        }
    };
    let Some(driver) = state.drivers.certificates.clone() else {
        tracing::error!(job = %job.id, "a certificate order is queued but no ACME CA is configured; failed");
        let reason = "automatic certificates are no longer configured on this installation".to_owned();
        return fail(state, &job, worker, &params, None, Failure::final_(reason)).await;
    };
    let (id, service_id) = (params.certificate_id.clone(), params.service_id.clone());
    let order = state.db.run(move |conn| read_order(conn, &service_id, &id)).await?;
    let (row, service, names) = match order {
        Order::Due { row, service, names } => (*row, *service, names),
        Order::Settled => return end(state, &job, worker, JobStatus::Done, |_| Ok(())).await,
        Order::Impossible { row, reason } => {
            return fail(state, &job, worker, &params, Some(*row), Failure::final_(reason)).await
        }
        Order::ZoneNotReady(why) => {
            let error = DriverError::Unavailable(why);
            return retry_or_fail(state, &job, worker, &params, None, error).await;
        }
    };
    if !hold_for_the_order(state, &job, worker).await? {
        return Ok(false);
    }
    tracing::info!(job = %job.id, certificate = %row.id, names = ?names, "ordering a certificate");
    let outcome = driver.issue(&names).await;
    keep_new_account(state, driver.as_ref()).await;
    match outcome {
        Ok(issued) => store_issued(state, &job, worker, row, service, issued).await,
        Err(error) => retry_or_fail(state, &job, worker, &params, Some(row), error).await,
    }
}

/// A failed attempt: tried again later while that may help and attempts are left,
/// else the end of the order.
async fn retry_or_fail(
    state: &AppState,
    job: &JobRow,
    worker: &str,
    params: &OrderParams,
    row: Option<CertificateRow>,
    error: DriverError,
) -> Result<bool, ApiError> {
    if error.is_retryable() && job.attempts < MAX_ATTEMPTS {
        return retry_later(state, job, worker, &error).await;
    }
    let reason = error.to_string();
    tracing::warn!(job = %job.id, certificate = %params.certificate_id, reason = %reason, "certificate order failed");
    fail(state, job, worker, params, row, Failure::for_now(reason)).await
}

/// What the job is to order, read from the row and the service's domains as they are.
fn read_order(conn: &mut DbConnection, service_id: &str, id: &str) -> Result<Order, ApiError> {
    let Some(row) = store::find(conn, service_id, id)? else { return Ok(Order::Settled) };
    let renewing = row.status() == CertificateStatus::Issued && row.renew_at.is_none();
    let first_order = row.status() == CertificateStatus::Pending;
    if row.source != CertificateSource::Acme || !(first_order || renewing) {
        return Ok(Order::Settled);
    }
    let Some(service) = service_store::find(conn, service_id)? else { return Ok(Order::Settled) };
    let mut names = Vec::new();
    for name in row.sans.split_whitespace() {
        let domain = match ordering::zone_of(conn, service_id, name)? {
            Ok(domain) => domain,
            Err(invalid) => return Ok(Order::Impossible { row: Box::new(row), reason: invalid.detail }),
        };
        let zone = zone_states::find(conn, Target::DnsZone.as_str(), &domain.id)?;
        if let Some(zone) = zone.filter(|zone| zone.status != "ready") {
            let why = zone.error.unwrap_or_else(|| "its last change is being carried out".into());
            return Ok(Order::ZoneNotReady(format!("the zone {} is not on the DNS server yet: {why}", domain.name)));
        }
        names.push(CertificateName { name: name.to_owned(), zone: domain.name });
    }
    Ok(Order::Due { row: Box::new(row), service: Box::new(service), names })
}

/// Extends the job's lease over the time an order may take; false when it was lost.
async fn hold_for_the_order(state: &AppState, job: &JobRow, worker: &str) -> Result<bool, ApiError> {
    let (id, worker) = (job.id.clone(), worker.to_owned());
    state
        .db
        .write(move |conn| Ok(job_store::save_progress(conn, &id, &worker, "[]", 0, time::now() + ORDER_LEASE)?))
        .await
}

/// Seals and keeps an ACME account the driver made, so the next start uses it again.
async fn keep_new_account(state: &AppState, driver: &dyn CertificateDriver) {
    let Some((directory_url, credentials)) = driver.new_account() else { return };
    let sealed = match state.sealer.seal(&account_context(&directory_url), credentials.expose().as_bytes()) {
        Ok(sealed) => sealed,
        Err(error) => return tracing::error!(error = %error, "sealing the new ACME account failed; it is not kept"),
    };
    let kept = state.db.write(move |conn| Ok(acme_accounts::keep(conn, &directory_url, &sealed, time::now())?)).await;
    match kept {
        Ok(()) => tracing::info!("a new ACME account was made and kept"),
        Err(error) => tracing::error!(error = %error, "keeping the new ACME account failed"),
    }
}

/// The context an ACME account's credentials are sealed under.
fn account_context(directory_url: &str) -> String {
    format!("acme-account:{directory_url}")
}

/// The account kept for `directory_url`, opened; none when there is none or it does not
/// open (a new one is then made, and kept in its place only if none is kept).
pub fn stored_account(
    conn: &mut DbConnection,
    sealer: &hostadmin_domain::sealing::Sealer,
    directory_url: &str,
) -> Option<Password> {
    let sealed = acme_accounts::find(conn, directory_url)
        .map_err(|error| tracing::warn!(error = %error, "reading the kept ACME account failed"))
        .ok()??;
    let opened = sealer
        .open(&account_context(directory_url), &sealed)
        .map_err(|error| tracing::error!(error = %error, "the kept ACME account does not open with this key"))
        .ok()?;
    String::from_utf8(opened).ok().map(Password::new)
}

/// What the CA issued, checked and sealed for the row.
fn ordered(
    id: &str,
    sealer: &hostadmin_domain::sealing::Sealer,
    issued: &IssuedCertificate,
) -> Result<Ordered, String> {
    let mut blocks = issued.chain_pem.split_inclusive("-----END CERTIFICATE-----");
    let leaf = x509::parse_certificate(blocks.next().unwrap_or_default()).map_err(|e| e.detail)?;
    let rest: String = blocks.filter(|block| block.contains("-----BEGIN")).collect();
    let chain = if rest.trim().is_empty() {
        None
    } else {
        let parsed = x509::parse_chain(&rest, &leaf).map_err(|e| e.detail)?;
        Some(parsed.iter().map(|c| c.pem.as_str()).collect::<String>())
    };
    let key = x509::parse_private_key(issued.private_key_pem.expose()).map_err(|e| e.detail)?;
    if !x509::key_matches(&leaf, &key) {
        return Err("the CA's certificate is not for the key that was sent".into());
    }
    let sealed = sealer.seal(&key_context(id), key.pkcs8_pem().as_bytes()).map_err(|e| e.to_string())?;
    Ok(Ordered {
        renew_at: renew_at(leaf.not_before, leaf.not_after),
        public_key_sha256: leaf.public_key_sha256.clone(),
        private_key_sealed: sealed,
        issued: Issued {
            common_name: leaf.common_name.clone(),
            sans: leaf.sans.join(" "),
            subject: leaf.subject.clone(),
            issuer: leaf.issuer.clone(),
            not_before: leaf.not_before,
            not_after: leaf.not_after,
            certificate_pem: leaf.pem.clone(),
            chain_pem: chain,
        },
    })
}

/// Stores an issued certificate on its row (if it is still at the version the order
/// started from), audits it and hands it to the servers; the job is done either way.
async fn store_issued(
    state: &AppState,
    job: &JobRow,
    worker: &str,
    row: CertificateRow,
    service: ServiceRow,
    issued: IssuedCertificate,
) -> Result<bool, ApiError> {
    let (id, sealer) = (row.id.clone(), state.sealer.clone());
    let checked = off_thread(move || ordered(&id, &sealer, &issued)).await?;
    let ordered = match checked {
        Ok(ordered) => ordered,
        Err(reason) => {
            let params = OrderParams { service_id: row.service_id.clone(), certificate_id: row.id.clone() };
            let reason = format!("the CA's answer is unusable: {reason}");
            return fail(state, job, worker, &params, Some(row), Failure::for_now(reason)).await;
        }
    };
    let provisioner = state.provisioner.clone();
    let requested_by = job.requested_by.clone();
    end(state, job, worker, JobStatus::Done, move |conn| {
        let now = time::now();
        if !store::store_ordered(conn, &row.id, row.version, &ordered, now)? {
            tracing::info!(certificate = %row.id, "the certificate changed while it was ordered; the order is dropped");
            return Ok(());
        }
        let stored = store::find(conn, &row.service_id, &row.id)?.ok_or_else(ApiError::not_found)?;
        record(conn, &stored, actions::CERTIFICATE_ISSUED, stored.summary(), now)?;
        let action = if row.certificate_pem.is_some() { ResourceAction::Update } else { ResourceAction::Create };
        if let Some(spec) = stored.spec(action)? {
            let change = ResourceChange { kind: ResourceKind::Certificate, action, id: stored.id.clone(), spec };
            let operation = Operation::Resource { service: spec_of(&service), change };
            provisioning::request(conn, provisioner.as_ref(), operation, &requested_by, now)?;
        }
        tracing::info!(certificate = %stored.id, not_after = %stored.not_after.unwrap_or_default(), "certificate issued");
        Ok(())
    })
    .await
}

/// A failure worth another attempt: the job is taken again once its lease runs out,
/// after the CA's `Retry-After` for `rateLimited`, else after a growing delay.
async fn retry_later(state: &AppState, job: &JobRow, worker: &str, error: &DriverError) -> Result<bool, ApiError> {
    let now = time::now();
    let retry = acme::retry_at(error, SystemTime::now())
        .and_then(|at| at.duration_since(SystemTime::now()).ok())
        .and_then(|wait| Duration::from_std(wait).ok())
        .unwrap_or_else(|| retry_delay(job.attempts));
    tracing::warn!(job = %job.id, attempt = job.attempts, error = %error, retry_in_seconds = retry.num_seconds(),
        "certificate order failed; will retry");
    let (id, worker) = (job.id.clone(), worker.to_owned());
    state.db.write(move |conn| Ok(job_store::save_progress(conn, &id, &worker, "[]", 0, now + retry)?)).await?;
    Ok(false)
}

/// Why an order ended without a certificate, and whether a renewal is worth trying later.
struct Failure {
    reason: String,
    /// The CA refused this time (a renewal is tried again after [`RENEWAL_RETRY_AFTER`]);
    /// false when no order can succeed as things stand (a name left the service).
    renew_again: bool,
}

impl Failure {
    fn for_now(reason: String) -> Self {
        Self { reason, renew_again: true }
    }

    fn final_(reason: String) -> Self {
        Self { reason, renew_again: false }
    }
}

/// Ends the order for good: a first order is `failed` with the reason; an issued
/// certificate keeps serving and records it, and its renewal is tried again later when
/// that is worth it.
async fn fail(
    state: &AppState,
    job: &JobRow,
    worker: &str,
    params: &OrderParams,
    row: Option<CertificateRow>,
    failure: Failure,
) -> Result<bool, ApiError> {
    let (service_id, id) = (params.service_id.clone(), params.certificate_id.clone());
    end(state, job, worker, JobStatus::Failed, move |conn| {
        let now = time::now();
        let Some(current) = store::find(conn, &service_id, &id)? else { return Ok(()) };
        if row.as_ref().is_some_and(|seen| seen.version != current.version) {
            return Ok(());
        }
        let retry = (current.certificate_pem.is_some() && failure.renew_again).then(|| now + RENEWAL_RETRY_AFTER);
        if store::store_failure(conn, &current.id, current.version, &failure.reason, retry, now)? {
            let details = serde_json::json!({ "reason": failure.reason });
            record(conn, &current, actions::CERTIFICATE_FAILED, details, now)?;
        }
        Ok(())
    })
    .await
}

/// Ends the job `worker` holds with `status`, doing `also` in the same transaction;
/// answers whether it ended (false: the lease was lost, another worker has it).
async fn end<F>(state: &AppState, job: &JobRow, worker: &str, status: JobStatus, also: F) -> Result<bool, ApiError>
where
    F: Fn(&mut DbConnection) -> Result<(), ApiError> + Send + Sync + 'static,
{
    let (id, worker) = (job.id.clone(), worker.to_owned());
    state
        .db
        .write(move |conn| {
            if !job_store::finish(conn, &id, &worker, status, "[]", 1, time::now())? {
                return Ok(false);
            }
            also(conn)?;
            Ok(true)
        })
        .await
}

/// An outcome of an order in the audit log, on the service owner's account, without an
/// actor (the worker did it).
fn record(
    conn: &mut DbConnection,
    row: &CertificateRow,
    action: &str,
    details: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let owner = service_store::find(conn, &row.service_id)?.map(|service| service.owner_id);
    let event = NewEvent {
        action,
        target_type: target::CERTIFICATE,
        target_id: &row.id,
        account_id: owner.as_deref(),
        details,
    };
    audit::record(conn, &AuditContext::default(), event, now)?;
    Ok(())
}

/// Starts the renewals that are due: each certificate's renewal is taken by one worker
/// (its `renew_at` cleared) and queued as an order, in one transaction. Answers how
/// many were started.
pub async fn renew_due(state: &AppState) -> Result<usize, ApiError> {
    if state.drivers.certificates.is_none() {
        return Ok(0);
    }
    let due = state.db.run(|conn| Ok(store::due_for_renewal(conn, time::now(), RENEWAL_BATCH)?)).await?;
    let mut started = 0;
    for (id, service_id, at) in due {
        let taken = state.db.write(move |conn| start_renewal(conn, &service_id, &id, at)).await?;
        started += usize::from(taken);
    }
    Ok(started)
}

/// Takes one due renewal and queues its order, in the caller's transaction; a certificate
/// whose service ended is not renewed (it keeps no renewal time).
fn start_renewal(conn: &mut DbConnection, service_id: &str, id: &str, due: NaiveDateTime) -> Result<bool, ApiError> {
    if !store::take_renewal(conn, id, due)? {
        return Ok(false);
    }
    let (Some(row), Some(service)) = (store::find(conn, service_id, id)?, service_store::find(conn, service_id)?)
    else {
        return Ok(false);
    };
    if !renews_for(service.status) {
        // Left without a renewal time: the service ended; ordering anew is its owner's.
        tracing::info!(certificate = %id, status = %service.status, "not renewed: its service ended");
        return Ok(false);
    }
    let sans: Vec<&str> = row.sans.split_whitespace().collect();
    let details = serde_json::json!({ "sans": sans, "not_after": row.not_after.map(time::to_utc) });
    record(conn, &row, actions::CERTIFICATE_RENEWAL, details, time::now())?;
    let params = OrderParams { service_id: service_id.to_owned(), certificate_id: id.to_owned() };
    ordering::queue(conn, &params, &service.owner_id, time::now())?;
    Ok(true)
}
