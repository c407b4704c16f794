//! Background jobs: bulk actions above the synchronous limit, deferred provisioning and
//! ACME certificate orders.
//!
//! A job is claimed with a lease (a conditional update on `claimed_by`/`lease_until`), so
//! two workers never take the same job and a dead worker's job comes back when its lease
//! runs out. A bulk job's items run as the actor who asked, with that account's standing
//! as it is when the job runs (a suspension or restriction placed meanwhile applies), and
//! against the service versions recorded when the job was queued.
//!
//! The results tell the truth after any crash: an item's change and its audit entry are
//! one transaction, and the entry carries the job's id as its request id. Progress is
//! saved every [`STEP`] items, so a worker that dies between an item's commit and the
//! next save leaves items that were done but not listed; the worker that takes the job
//! over finds their entries and lists them as done (`ok: true`) instead of running them
//! again against a version they changed themselves.

use std::sync::Arc;

use chrono::Duration;
use tokio::task::{JoinError, JoinSet};

use hostadmin_domain::accounts::AccountStatus;
use hostadmin_domain::audit::target;
use hostadmin_domain::ids::parse_id;
use hostadmin_domain::jobs::{JobKind, JobStatus};
use hostadmin_domain::policy::{Actor, Authorized};
use hostadmin_domain::time;
use hostadmin_persistence::audit;
use hostadmin_persistence::jobs::{self as job_store, JobRow};
use hostadmin_persistence::restrictions as restriction_store;

use crate::app::bulk::{self, BulkItemResult, JobParams};
use crate::app::{acme_orders, provision_jobs};
use crate::http::problem::ApiError;
use crate::state::AppState;

/// How long a worker holds a job between two saved steps.
pub const LEASE_SECONDS: i64 = 60;
/// Items a worker does between two saves of its progress.
const STEP: usize = 20;

/// A job the actor requested; to anyone else it does not exist.
pub async fn find(state: &AppState, actor: &Actor, _: Authorized, id: &str) -> Result<JobRow, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let account_id = actor.account_id.clone();
    state
        .db
        .run(move |conn| job_store::find_requested_by(conn, &id, &account_id)?.ok_or_else(ApiError::not_found))
        .await
}

/// Jobs one worker carries out at once. A job that waits on a slow server (an ACME CA
/// validating for minutes, a frozen PowerDNS or database server until its timeout)
/// holds one of these, and the others go on.
pub const AT_ONCE: usize = 4;

/// Claims the oldest open job for `worker`, with a lease; `None` when none is open.
pub async fn claim(state: &AppState, worker: &str) -> Result<Option<JobRow>, ApiError> {
    let claimer = worker.to_owned();
    let claimed = state
        .db
        .write(move |conn| {
            let now = time::now();
            Ok(job_store::claim_next(conn, &claimer, now, now + Duration::seconds(LEASE_SECONDS))?)
        })
        .await?;
    if let Some(job) = &claimed {
        tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, "job claimed");
    }
    Ok(claimed)
}

/// Carries out a claimed job of any kind; answers whether it ended (false: it waits for
/// a retry, or its lease was lost). A failure is logged here, with the job.
pub async fn carry_out(state: Arc<AppState>, worker: String, job: JobRow) -> Result<bool, ApiError> {
    let id = job.id.clone();
    let carried = match job.kind {
        JobKind::Provision => provision_jobs::work_on(&state, &worker, job).await,
        JobKind::CertificateOrder => acme_orders::work_on(&state, &worker, job).await,
        JobKind::ServicesBulk => work_on(&state, &worker, job).await,
    };
    if let Err(error) = &carried {
        tracing::warn!(job = %id, error = %error, "the job failed; it is taken again when its lease runs out");
    }
    carried
}

/// What a job's task came to, as [`carry_out`] answers it.
fn ended(joined: Result<Result<bool, ApiError>, JoinError>) -> Result<bool, ApiError> {
    joined.map_err(|error| ApiError::internal(format!("a job's task failed: {error}")))?
}

/// Claims and carries out open jobs, [`AT_ONCE`] at a time, until none is left to claim
/// and those claimed have ended (`hostadmin worker --once`); answers how many ended, or
/// the last failure once all have.
pub async fn work_on_jobs(state: &Arc<AppState>, worker: &str) -> Result<usize, ApiError> {
    let (mut finished, mut failure) = (0, None);
    loop {
        let mut running = JoinSet::new();
        while running.len() < AT_ONCE {
            let Some(job) = claim(state, worker).await? else { break };
            running.spawn(carry_out(state.clone(), worker.to_owned(), job));
        }
        if running.is_empty() {
            return failure.map_or(Ok(finished), Err);
        }
        while let Some(joined) = running.join_next().await {
            match ended(joined) {
                Ok(true) => finished += 1,
                Ok(false) => {}
                Err(error) => failure = Some(error),
            }
        }
    }
}

/// Carries out one claimed bulk job from where it stands, saving its progress (and
/// extending the lease) every [`STEP`] items. Answers false when the lease was lost.
async fn work_on(state: &AppState, worker: &str, job: JobRow) -> Result<bool, ApiError> {
    let parsed: Result<(JobParams, Vec<BulkItemResult>), _> =
        serde_json::from_str(&job.params).and_then(|params| Ok((params, serde_json::from_str(&job.results)?)));
    let (params, mut results) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            tracing::error!(job = %job.id, error = %error, "job cannot be read; failed");
            return save(state, &job.id, worker, Vec::new(), Some(JobStatus::Failed)).await;
        }
    };
    let mut actor = params.actor.clone();
    actor.origin.request_id = Some(job.id.clone());
    let actor = as_it_stands_now(state, actor).await?;
    let taken_over = job.attempts > 1;
    let start = results.len().min(params.service_ids.len());
    for chunk in params.service_ids[start..].chunks(STEP) {
        for service_id in chunk {
            if taken_over && done_before(state, &job.id, service_id).await? {
                results.push(BulkItemResult { service_id: service_id.clone(), ok: true, error: None });
                continue;
            }
            let queued_version = params.queued_versions.get(service_id).copied();
            results.push(match &actor {
                Ok(actor) => bulk::item(state, actor, &params.command, service_id, queued_version).await,
                Err(refusal) => refusal.for_item(service_id),
            });
        }
        let last = results.len() == params.service_ids.len();
        if !save(state, &job.id, worker, results.clone(), last.then_some(JobStatus::Done)).await? {
            tracing::warn!(job = %job.id, "lease lost; another worker carries on");
            return Ok(false);
        }
    }
    if start == params.service_ids.len() {
        return save(state, &job.id, worker, results, Some(JobStatus::Done)).await;
    }
    Ok(true)
}

/// Whether an earlier attempt at the job changed the service (its audit entry carries
/// the job's id).
async fn done_before(state: &AppState, job_id: &str, service_id: &str) -> Result<bool, ApiError> {
    let (job_id, service_id) = (job_id.to_owned(), service_id.to_owned());
    state.db.run(move |conn| Ok(audit::recorded_for_request(conn, &job_id, target::SERVICE, &service_id)?)).await
}

/// Why a job's requester can no longer act at all.
struct Gone(ApiError);

impl Gone {
    fn for_item(&self, service_id: &str) -> BulkItemResult {
        BulkItemResult {
            service_id: service_id.to_owned(),
            ok: false,
            error: Some(bulk::ItemError { code: self.0.code().to_owned(), detail: self.0.to_string() }),
        }
    }
}

/// The job's actor with its account's status and restrictions as they are now: changes
/// to them take effect on the next item as on the next request.
async fn as_it_stands_now(state: &AppState, mut actor: Actor) -> Result<Result<Actor, Gone>, ApiError> {
    let account_id = actor.account_id.clone();
    let found = state.db.run(move |conn| Ok(restriction_store::account_with_restrictions(conn, &account_id)?)).await?;
    let Some((account, restrictions)) = found else {
        return Ok(Err(Gone(ApiError::not_found())));
    };
    actor.status = account.status;
    actor.restrictions = restrictions;
    if actor.status == AccountStatus::Blocked {
        let blocked = ApiError::conflict("account_blocked", "the account that asked for this job is blocked");
        return Ok(Err(Gone(blocked)));
    }
    Ok(Ok(actor))
}

/// Saves the results (and ends the job with `finish`, if given) while the worker still
/// holds it.
async fn save(
    state: &AppState,
    id: &str,
    worker: &str,
    results: Vec<BulkItemResult>,
    finish: Option<JobStatus>,
) -> Result<bool, ApiError> {
    let done = i64::try_from(results.len()).map_err(ApiError::internal)?;
    let results = serde_json::to_string(&results).map_err(ApiError::internal)?;
    let (id, worker) = (id.to_owned(), worker.to_owned());
    state
        .db
        .write(move |conn| {
            let now = time::now();
            Ok(match finish {
                Some(status) => job_store::finish(conn, &id, &worker, status, &results, done, now)?,
                None => job_store::save_progress(
                    conn,
                    &id,
                    &worker,
                    &results,
                    done,
                    now + Duration::seconds(LEASE_SECONDS),
                )?,
            })
        })
        .await
}
