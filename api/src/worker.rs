//! Background work, safe to run from any number of instances at once:
//!
//! - upkeep (every minute): set-based deletes of expired idempotency records and old
//!   login failures (deleting expired rows twice deletes them once);
//! - recurring billing (every `worker_interval_ms`): renewal invoices, reminders,
//!   overdue suspension and expiry (crate::app::billing::renewals); one invoice per
//!   service and period is a unique index, so any number of workers issue it once;
//! - due services (every `worker_interval_ms`): an active service whose `next_due_at`
//!   has passed with an end-of-period cancellation is `cancelled`; an active or
//!   suspended one not renewed `expiry_grace_days` after `next_due_at` is `expired`.
//!   Each service is changed in its own short transaction with a conditional update on
//!   its version, so when two workers race for one, exactly one applies it (and writes
//!   its audit event);
//! - jobs (a task of their own, up to four at once, so that a job waiting on a slow
//!   server delays neither the rounds nor the other jobs): claimed with a lease (a
//!   conditional update on `claimed_by`/`lease_until`) whenever a slot is free and at
//!   least every `worker_interval_ms`, carried out, their progress saved step by step; a
//!   crashed worker's job is taken over when its lease runs out. `provision` jobs (a
//!   deferring provisioner's operations) are carried out through the provisioner and
//!   retried with a growing delay (crate::app::provisioning); `certificate.acme` jobs
//!   order certificates from the ACME CA (crate::app::acme_orders), whose renewals,
//!   30 days before expiry, are queued every round.
//!
//! - mail (every `worker_interval_ms`): the outbox, claimed per mail with a lease as jobs
//!   are, sent by SMTP or written as `.eml` files (crate::mail::delivery), retried with a
//!   growing delay; delivered and given-up mails are pruned with the upkeep.
//!
//! - webhooks (a task of their own, so that a slow receiver delays nothing else): the
//!   endpoints with a delivery due, each held with a lease while its deliveries go out in
//!   order (crate::app::webhook_delivery); delivery logs are pruned after 30 days and
//!   spent login links after a day, with the upkeep.
//!
//! Each worker instance has an id of its own (a new UUID at start) that its leases
//! carry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::{JoinError, JoinHandle, JoinSet};

use chrono::Duration as Span;

use hostadmin_domain::ids::new_id;
use hostadmin_domain::time;
use hostadmin_persistence::{idempotency, leases, login_failures, services as service_store};

use crate::app::{jobs, lifecycle, webhook_delivery};
use crate::config::Config;
use crate::db::Db;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// How often the upkeep runs.
const UPKEEP_EVERY: Duration = Duration::from_secs(60);
/// Due services looked at per query.
const DUE_BATCH: i64 = 100;
/// At most this many batches per round, so that one round ends.
const DUE_ROUNDS: usize = 50;

#[derive(Debug, Clone)]
pub struct Settings {
    /// How often jobs and due services are looked for.
    pub interval: Duration,
    /// How long after `next_due_at` an unrenewed service is kept before it expires.
    pub grace: Span,
    /// Delivers the outbox; `None` when the mail settings do not work (logged at start).
    pub mailer: Option<Arc<crate::mail::delivery::Mailer>>,
    /// Delivers webhooks; `None` when no HTTP client could be made (logged at start).
    pub webhooks: Option<Arc<webhook_delivery::Deliverer>>,
}

impl Settings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            interval: Duration::from_millis(config.worker_interval_ms),
            grace: Span::days(i64::from(config.expiry_grace_days)),
            mailer: crate::mail::delivery::Mailer::from_config(config)
                .map(Arc::new)
                .map_err(|error| tracing::error!(error = %error, "mail cannot be delivered"))
                .ok(),
            webhooks: webhook_delivery::Deliverer::from_config(config)
                .map(Arc::new)
                .map_err(|error| tracing::error!(error = %error, "webhooks cannot be delivered"))
                .ok(),
        }
    }
}

/// A worker running in this process: its id (which its leases carry) and its tasks.
pub struct Running {
    id: String,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts the worker's tasks: the rounds, and webhook deliveries beside them.
/// `serves_requests`: this process also serves the API, whose per-instance rate limiter
/// the upkeep trims.
pub fn start(state: Arc<AppState>, serves_requests: bool, settings: Settings) -> Running {
    let id = new_id();
    tracing::info!(worker = %id, "worker started");
    let (stop, stopping) = watch::channel(false);
    let mut tasks = Vec::new();
    if let Some(deliverer) = settings.webhooks.clone() {
        let webhooks = deliver_webhooks(state.clone(), deliverer, id.clone(), settings.interval, stopping.clone());
        tasks.push(tokio::spawn(webhooks));
    }
    tasks.push(tokio::spawn(run_jobs(state.clone(), id.clone(), settings.interval, stopping.clone())));
    tasks.push(tokio::spawn(rounds(state, serves_requests, settings, id.clone(), stopping)));
    Running { id, stop, tasks }
}

impl Running {
    /// Stops the worker after the step it is on, waiting at most `timeout` before it
    /// abandons that step, and gives back the leases it holds so that another worker
    /// takes its work over at once.
    pub async fn stop(self, db: &Db, timeout: Duration) {
        let _ = self.stop.send(true);
        let aborts: Vec<_> = self.tasks.iter().map(JoinHandle::abort_handle).collect();
        if tokio::time::timeout(timeout, futures_util::future::join_all(self.tasks)).await.is_err() {
            tracing::warn!(worker = %self.id, "the worker's step did not end in time; abandoning it");
            aborts.iter().for_each(tokio::task::AbortHandle::abort);
        }
        let worker = self.id.clone();
        match db.write(move |conn| Ok(leases::release_all(conn, &worker)?)).await {
            Ok(released) => tracing::info!(
                worker = %self.id,
                jobs = released.jobs,
                mails = released.mails,
                webhook_endpoints = released.endpoints,
                "worker stopped; leases given back"
            ),
            Err(error) => {
                tracing::warn!(worker = %self.id, error = %error, "giving back leases failed; they run out by themselves")
            }
        }
    }
}

/// Waits for the `interval` or for the stop, whichever comes first; false when stopping.
async fn wait_or_stop(wait: impl std::future::Future<Output = ()>, stopping: &mut watch::Receiver<bool>) -> bool {
    if *stopping.borrow() {
        return false;
    }
    tokio::select! {
        () = wait => true,
        _ = stopping.changed() => false,
    }
}

/// The rounds, every `worker_interval_ms`, until stopped.
async fn rounds(
    state: Arc<AppState>,
    serves_requests: bool,
    settings: Settings,
    worker: String,
    mut stopping: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(settings.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut upkept: Option<Instant> = None;
    while wait_or_stop(
        async {
            ticker.tick().await;
        },
        &mut stopping,
    )
    .await
    {
        if upkept.is_none_or(|at| at.elapsed() >= UPKEEP_EVERY) {
            upkeep(&state, serves_requests).await;
            upkept = Some(Instant::now());
        }
        due_work(&state, &settings, &worker).await;
    }
}

/// Webhook deliveries, in a task of their own so that a slow receiver delays nothing
/// else: a round as soon as the last one sent something, else after `interval`.
async fn deliver_webhooks(
    state: Arc<AppState>,
    deliverer: Arc<webhook_delivery::Deliverer>,
    worker: String,
    interval: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        let idle = match webhook_delivery::deliver_due(&state, &deliverer, &worker).await {
            Ok(0) => true,
            Ok(sent) => {
                tracing::debug!(deliveries = sent, "webhook deliveries made");
                false
            }
            Err(error) => {
                tracing::warn!(error = %error, "delivering webhooks failed; trying again next round");
                true
            }
        };
        let pause = if idle { interval } else { Duration::ZERO };
        if !wait_or_stop(tokio::time::sleep(pause), &mut stopping).await {
            return;
        }
    }
}

/// Jobs, in a task of their own and up to [`jobs::AT_ONCE`] at a time, so that a job
/// waiting on a slow server delays neither the rounds nor the other jobs: open jobs are
/// claimed whenever a slot is free, looked for again when one ends and every `interval`.
/// On the stop, no job is claimed any more and those running end their step.
async fn run_jobs(state: Arc<AppState>, worker: String, interval: Duration, mut stopping: watch::Receiver<bool>) {
    let mut running = JoinSet::new();
    while !*stopping.borrow() {
        while running.len() < jobs::AT_ONCE {
            match jobs::claim(&state, &worker).await {
                Ok(Some(job)) => {
                    running.spawn(jobs::carry_out(state.clone(), worker.clone(), job));
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(error = %error, "claiming a job failed; trying again next round");
                    break;
                }
            }
        }
        tokio::select! {
            Some(joined) = running.join_next(), if !running.is_empty() => log_ended(joined),
            going_on = wait_or_stop(tokio::time::sleep(interval), &mut stopping) => if !going_on { break },
        }
    }
    while let Some(joined) = running.join_next().await {
        log_ended(joined);
    }
}

/// A job's own failure was logged with it ([`jobs::carry_out`]); a task that panicked
/// was not.
fn log_ended(joined: Result<Result<bool, ApiError>, JoinError>) {
    if let Err(error) = joined {
        tracing::error!(error = %error, "a job's task failed");
    }
}

/// `hostadmin worker --once`: every kind of work that is due, once, for a cron-style
/// deployment (docs/operations.md). Answers which kinds failed (each is tried anyway,
/// and the failure logged), so that the command can exit non-zero.
pub async fn run_once(state: Arc<AppState>, settings: Settings) -> Vec<&'static str> {
    let worker = new_id();
    tracing::info!(worker = %worker, "worker running once");
    let mut failed = upkeep(&state, false).await;
    failed.extend(due_work(&state, &settings, &worker).await);
    match jobs::work_on_jobs(&state, &worker).await {
        Ok(finished) => tracing::info!(jobs = finished, "jobs finished"),
        Err(error) => {
            tracing::warn!(error = %error, "jobs failed");
            failed.push("jobs");
        }
    }
    if let Some(deliverer) = &settings.webhooks {
        if let Err(error) = webhook_delivery::deliver_due(&state, deliverer, &worker).await {
            tracing::warn!(error = %error, "delivering webhooks failed");
            failed.push("webhooks");
        }
    }
    failed
}

/// One round of what runs every `worker_interval_ms`: renewals, periods that ended, the
/// outbox. Answers which of them failed (logged; the next round tries again).
async fn due_work(state: &Arc<AppState>, settings: &Settings, worker: &str) -> Vec<&'static str> {
    let mut failed = Vec::new();
    // Before the periods end: a renewal paid from credit here never expires there.
    match crate::app::billing::renewals::run(state).await {
        Ok(round) if round.invoiced + round.handled > 0 => {
            tracing::info!(invoiced = round.invoiced, handled = round.handled, "recurring billing")
        }
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(error = %error, "recurring billing failed; trying again next round");
            failed.push("recurring billing");
        }
    }
    match crate::app::acme_orders::renew_due(state).await {
        Ok(0) => {}
        Ok(started) => tracing::info!(certificates = started, "certificate renewals started"),
        Err(error) => {
            tracing::warn!(error = %error, "starting certificate renewals failed; trying again next round");
            failed.push("certificate renewals");
        }
    }
    if !end_due_periods(&state.db, settings.grace).await {
        failed.push("due services");
    }
    if let Some(mailer) = &settings.mailer {
        match crate::mail::delivery::deliver_due(&state.db, mailer, worker).await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(mails = sent, "mails sent"),
            Err(error) => {
                tracing::warn!(error = %error, "sending mail failed; trying again next round");
                failed.push("mail");
            }
        }
    }
    failed
}

/// The housekeeping: expired idempotency records, old login failures, the outbox's sent
/// mails, old webhook deliveries, attachments never sent. Answers which parts failed.
async fn upkeep(state: &AppState, serves_requests: bool) -> Vec<&'static str> {
    let mut failed = Vec::new();
    if !prune_records(&state.db).await {
        failed.push("upkeep");
    }
    if let Err(error) = crate::mail::delivery::prune(&state.db).await {
        tracing::warn!(error = %error, "pruning the outbox failed; trying again next round");
        failed.push("outbox pruning");
    }
    if let Err(error) = webhook_delivery::prune(state).await {
        tracing::warn!(error = %error, "pruning webhook deliveries failed; trying again next round");
        failed.push("webhook pruning");
    }
    if let Err(error) = crate::app::support::attachments::prune(&state.db).await {
        tracing::warn!(error = %error, "pruning unsent attachments failed; trying again next round");
        failed.push("attachment pruning");
    }
    if serves_requests {
        state.limiter.shrink();
    }
    failed
}

/// Prunes expired idempotency records and login failures older than their window.
async fn prune_records(db: &Db) -> bool {
    let result = db
        .write(|conn| {
            let now = time::now();
            let keys = idempotency::prune(conn, now)?;
            let failures = login_failures::prune(conn, now - Span::hours(1))?;
            Ok((keys, failures))
        })
        .await;
    match result {
        Ok((keys, failures)) if keys + failures > 0 => {
            tracing::info!(idempotency_records = keys, login_failures = failures, "pruned")
        }
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(error = %error, "upkeep failed; trying again next round");
            return false;
        }
    }
    true
}

/// Ends the periods that are due, one service per transaction. False when looking for
/// them failed.
async fn end_due_periods(db: &Db, grace: Span) -> bool {
    for _ in 0..DUE_ROUNDS {
        let found = db
            .run(move |conn| {
                let now = time::now();
                Ok(service_store::due(conn, now, now - grace, DUE_BATCH)?)
            })
            .await;
        let due = match found {
            Ok(due) if due.is_empty() => return true,
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(error = %error, "looking for due services failed; trying again next round");
                return false;
            }
        };
        let mut applied = 0;
        for (id, _) in due {
            let service = id.clone();
            match db.write(move |conn| lifecycle::end_period(conn, &service, time::now(), grace)).await {
                Ok(Some(action)) => {
                    applied += 1;
                    tracing::info!(service = %id, action, "period ended");
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(service = %id, error = %error, "ending a period failed"),
            }
        }
        if applied == 0 {
            return true;
        }
    }
    true
}
