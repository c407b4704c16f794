//! Deferred provisioning in the worker: a `provision` job (queued by
//! [`provisioning::request`] when the driver deferred) is carried out through
//! [`Provisioner::carry_out`] and retried with a growing delay until it succeeds, or
//! [`MAX_ATTEMPTS`] have failed. A carried-out `create` moves the service from `pending` to
//! `active` (audit `service.provisioned`, no actor), into its owner's hold if the owner is
//! held meanwhile.

use chrono::{Duration, NaiveDateTime};

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::jobs::JobStatus;
use hostadmin_domain::provisioning::{Operation, Provisioner, ProvisioningError};
use hostadmin_domain::services::{transition, ServiceAction};
use hostadmin_domain::time;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::holds;
use hostadmin_persistence::jobs::{self as job_store, JobRow};
use hostadmin_persistence::services::{self as service_store, ServiceState};
use hostadmin_persistence::DbConnection;

use crate::app::driven;
use crate::app::holds as account_holds;
use crate::app::provisioning_states::{self, Standing};
use crate::db::Db;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// A provision job that failed this many times is given up (`failed`, logged).
pub const MAX_ATTEMPTS: i32 = 10;
/// The longest wait between two attempts.
const MAX_RETRY_DELAY_SECONDS: i64 = 300;

/// How long to wait before attempt `attempts + 1`: 5 s, 10 s, 20 s, ... at most 5 min.
pub fn retry_delay(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 10) - 1).unwrap_or(0);
    Duration::seconds((5_i64 << exponent).min(MAX_RETRY_DELAY_SECONDS))
}

/// Carries out one claimed `provision` job. It first holds the operation's resource (one
/// job applies a resource at a time; another waits its turn). A job whose change a
/// driver's later job already applied is `done` at once. On success the job is `done` and a
/// `create` moves its service from pending to active, in one transaction; on a retryable
/// failure the job keeps its claim with a lease that runs out after [`retry_delay`], so
/// the next round after that takes it again (any worker); after [`MAX_ATTEMPTS`], or a
/// refusal, it is `failed`. Answers whether the job ended.
pub async fn work_on(state: &AppState, worker: &str, job: JobRow) -> Result<bool, ApiError> {
    let (db, provisioner) = (&state.db, &state.provisioner);
    // A job's `params` is the operation itself.
    let operation = match serde_json::from_str::<Operation>(&job.params) {
        Ok(operation) => operation,
        Err(error) => {
            tracing::error!(job = %job.id, error = %error, "provision job cannot be read; failed");
            return finish(db, &job.id, worker, JobStatus::Failed, None, None).await;
        }
    };
    let (holder, wanted) = (job.id.clone(), operation.clone());
    let standing = db.write(move |conn| provisioning_states::take(conn, &wanted, &holder, time::now())).await?;
    match standing {
        Standing::Busy => return wait_for_turn(db, &job.id, worker).await,
        Standing::Current if driven::drives(&state.drivers, &operation) => {
            tracing::info!(job = %job.id, "a later job carried this change out already");
            return finish(db, &job.id, worker, JobStatus::Done, Some(operation), None).await;
        }
        _ => {}
    }
    let carried = match driven::apply(state, &operation).await {
        Some(result) => result,
        None => {
            let (driver, attempt) = (provisioner.clone(), operation.clone());
            tokio::task::spawn_blocking(move || driver.carry_out(&attempt))
                .await
                .map_err(|error| ApiError::internal(format!("provisioner task failed: {error}")))?
        }
    };
    let service = operation.service().service_id.clone();
    match carried {
        Ok(()) => {
            let (id, worker, provisioner) = (job.id.clone(), worker.to_owned(), provisioner.clone());
            let ended = db
                .write(move |conn| {
                    let now = time::now();
                    if !job_store::finish(conn, &id, &worker, JobStatus::Done, "[]", 1, now)? {
                        return Ok(false);
                    }
                    provisioning_states::settle(conn, &operation, &id, Ok(standing), now)?;
                    if matches!(operation, Operation::Create { .. }) {
                        provisioned(conn, provisioner.as_ref(), &operation.service().service_id, &id, now)?;
                    }
                    Ok(true)
                })
                .await?;
            tracing::info!(job = %job.id, service = %service, ended, "provisioning carried out");
            Ok(ended)
        }
        Err(ProvisioningError::Retry(cause)) if job.attempts < MAX_ATTEMPTS => {
            let delay = retry_delay(job.attempts);
            tracing::warn!(job = %job.id, service = %service, attempt = job.attempts, cause = %cause,
                retry_in_seconds = delay.num_seconds(), "provisioning failed; will retry");
            let (id, worker) = (job.id.clone(), worker.to_owned());
            let error = ProvisioningError::Retry(cause);
            // The lease is the retry timer: the job is claimable again once it runs out.
            db.write(move |conn| {
                let now = time::now();
                if !job_store::save_progress(conn, &id, &worker, "[]", 0, now + delay)? {
                    return Ok(false);
                }
                provisioning_states::settle(conn, &operation, &id, Err((&error, true)), now)?;
                Ok(true)
            })
            .await?;
            Ok(false)
        }
        Err(error) => {
            tracing::error!(job = %job.id, service = %service, attempt = job.attempts, error = %error,
                "provisioning failed for good; the service needs an operator");
            finish(db, &job.id, worker, JobStatus::Failed, Some(operation), Some(error)).await
        }
    }
}

/// A deferred `create` was carried out: pending → active, audited without an actor.
/// A service no longer pending (only possible if someone changed it by hand) is left
/// alone. An owner held meanwhile (or when it ordered) gets it suspended with it at once:
/// the hold's cascade passed over it while it was pending.
fn provisioned(
    conn: &mut DbConnection,
    provisioner: &dyn Provisioner,
    id: &str,
    job_id: &str,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let Some(row) = service_store::find(conn, id)? else { return Ok(()) };
    let owner_status = holds::status_for_update(conn, &row.owner_id)?
        .ok_or_else(|| ApiError::internal(format!("the owner of service {id} vanished")))?;
    let from = row.status;
    let Ok(to) = transition(from, ServiceAction::Provisioned, false) else { return Ok(()) };
    let next = ServiceState { status: to, ..ServiceState::of(&row) };
    if !service_store::set_state(conn, &row.id, row.version, &next, now)? {
        return Err(ApiError::Busy("the service changed during provisioning".into()));
    }
    audit::record(
        conn,
        &AuditContext::default(),
        NewEvent {
            action: actions::SERVICE_PROVISIONED,
            target_type: target::SERVICE,
            target_id: &row.id,
            account_id: Some(&row.owner_id),
            details: serde_json::json!({ "from": from.as_str(), "to": to.as_str(), "job_id": job_id }),
        },
        now,
    )?;
    let row = service_store::find(conn, id)?.ok_or_else(ApiError::not_found)?;
    account_holds::hold_with_owner(conn, provisioner, &AuditContext::default(), row, owner_status, now)?;
    Ok(())
}

/// Ends the job, and its hold on the operation's resource; a given-up operation's
/// resource is `failed` with its error.
async fn finish(
    db: &Db,
    id: &str,
    worker: &str,
    status: JobStatus,
    operation: Option<Operation>,
    error: Option<ProvisioningError>,
) -> Result<bool, ApiError> {
    let (id, worker) = (id.to_owned(), worker.to_owned());
    db.write(move |conn| {
        let now = time::now();
        let progress = i64::from(status == JobStatus::Done);
        if !job_store::finish(conn, &id, &worker, status, "[]", progress, now)? {
            return Ok(false);
        }
        match (&operation, &error) {
            (Some(operation), Some(error)) => {
                provisioning_states::settle(conn, operation, &id, Err((error, false)), now)?
            }
            (Some(operation), None) => provisioning_states::release(conn, operation, &id)?,
            (None, _) => {}
        }
        Ok(true)
    })
    .await
}

/// Another job applies the resource: this one is taken again in a second, without
/// counting the attempt.
async fn wait_for_turn(db: &Db, id: &str, worker: &str) -> Result<bool, ApiError> {
    let (id, worker) = (id.to_owned(), worker.to_owned());
    db.write(move |conn| Ok(job_store::postpone(conn, &id, &worker, time::now() + Duration::seconds(1))?)).await?;
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_up_to_five_minutes() {
        assert_eq!(retry_delay(1), Duration::seconds(5));
        assert_eq!(retry_delay(2), Duration::seconds(10));
        assert_eq!(retry_delay(4), Duration::seconds(40));
        assert_eq!(retry_delay(9), Duration::seconds(300));
        assert_eq!(retry_delay(50), Duration::seconds(300));
    }
}
