//! Background jobs. A job is claimed with a conditional update on `claimed_by` and
//! `lease_until` (DESIGN.md "Persistence"), which works alike on both backends: several
//! workers never hold the same job at once, and a crashed worker's job is taken over
//! when its lease runs out. The holder extends its lease with every step it saves.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use hostadmin_domain::jobs::{JobKind, JobStatus};

use crate::columns::Text;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::jobs;

/// A job as stored, its kind and status read into their domain types. `params` and
/// `results` stay JSON text: their shape is the worker's business (a bulk command, a
/// provisioning operation), read where the job is carried out.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct JobRow {
    pub id: String,
    #[diesel(deserialize_as = Text<JobKind>)]
    pub kind: JobKind,
    #[diesel(deserialize_as = Text<JobStatus>)]
    pub status: JobStatus,
    /// JSON: what the job is to do.
    pub params: String,
    /// JSON array: what it did so far.
    pub results: String,
    pub progress_done: i64,
    pub progress_total: i64,
    pub requested_by: String,
    pub claimed_by: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

fn open_statuses() -> [&'static str; 2] {
    JobStatus::OPEN.map(JobStatus::as_str)
}

#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub id: &'a str,
    pub kind: JobKind,
    pub params: &'a str,
    pub total: i64,
    pub requested_by: &'a str,
    pub now: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewJob<'_>) -> Result<(), StoreError> {
    diesel::insert_into(jobs::table)
        .values((
            jobs::id.eq(new.id),
            jobs::kind.eq(new.kind.as_str()),
            jobs::status.eq(JobStatus::Queued.as_str()),
            jobs::params.eq(new.params),
            jobs::results.eq("[]"),
            jobs::progress_done.eq(0_i64),
            jobs::progress_total.eq(new.total),
            jobs::requested_by.eq(new.requested_by),
            jobs::attempts.eq(0),
            jobs::created_at.eq(new.now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<JobRow>, StoreError> {
    Ok(jobs::table.filter(jobs::id.eq(id)).select(JobRow::as_select()).first(conn).optional()?)
}

/// The job, if `account_id` requested it.
pub fn find_requested_by(conn: &mut DbConnection, id: &str, account_id: &str) -> Result<Option<JobRow>, StoreError> {
    Ok(jobs::table
        .filter(jobs::id.eq(id))
        .filter(jobs::requested_by.eq(account_id))
        .select(JobRow::as_select())
        .first(conn)
        .optional()?)
}

/// Claims the oldest open job nobody holds (or whose holder's lease ran out) for
/// `worker` until `lease_until`. Candidates are read first, then each is taken with the
/// conditional update; a worker that loses the race for one tries the next.
pub fn claim_next(
    conn: &mut DbConnection,
    worker: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> Result<Option<JobRow>, StoreError> {
    let candidates: Vec<String> = jobs::table
        .filter(jobs::status.eq_any(open_statuses()))
        .filter(jobs::claimed_by.is_null().or(jobs::lease_until.lt(now)))
        .order(jobs::created_at.asc())
        .limit(10)
        .select(jobs::id)
        .load(conn)?;
    for id in candidates {
        let claimed = diesel::update(
            jobs::table
                .filter(jobs::id.eq(&id))
                .filter(jobs::status.eq_any(open_statuses()))
                .filter(jobs::claimed_by.is_null().or(jobs::lease_until.lt(now))),
        )
        .set((
            jobs::claimed_by.eq(worker),
            jobs::lease_until.eq(lease_until),
            jobs::status.eq(JobStatus::Running.as_str()),
            jobs::attempts.eq(jobs::attempts + 1),
        ))
        .execute(conn)?;
        if claimed == 1 {
            return find(conn, &id);
        }
    }
    Ok(None)
}

/// Saves the progress of a job `worker` holds and extends its lease; answers false when
/// the worker no longer holds it (its lease ran out and another took it over).
pub fn save_progress(
    conn: &mut DbConnection,
    id: &str,
    worker: &str,
    results: &str,
    done: i64,
    lease_until: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(jobs::table.filter(jobs::id.eq(id)).filter(jobs::claimed_by.eq(worker)))
        .set((jobs::results.eq(results), jobs::progress_done.eq(done), jobs::lease_until.eq(lease_until)))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Gives a job `worker` holds back until `until` without counting its attempt: it waited
/// its turn, it did not fail. Answers false when the worker no longer holds it.
pub fn postpone(conn: &mut DbConnection, id: &str, worker: &str, until: NaiveDateTime) -> Result<bool, StoreError> {
    let updated = diesel::update(jobs::table.filter(jobs::id.eq(id)).filter(jobs::claimed_by.eq(worker)))
        .set((jobs::lease_until.eq(until), jobs::attempts.eq(jobs::attempts - 1)))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Ends a job `worker` holds with `status` (`done` or `failed`) and releases it.
/// Answers false when the worker no longer holds it.
pub fn finish(
    conn: &mut DbConnection,
    id: &str,
    worker: &str,
    status: JobStatus,
    results: &str,
    done: i64,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(jobs::table.filter(jobs::id.eq(id)).filter(jobs::claimed_by.eq(worker)))
        .set((
            jobs::status.eq(status.as_str()),
            jobs::results.eq(results),
            jobs::progress_done.eq(done),
            jobs::claimed_by.eq(None::<String>),
            jobs::lease_until.eq(None::<NaiveDateTime>),
            jobs::finished_at.eq(Some(now)),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}
