//! Leases a stopping worker gives back, so that another worker takes its work over at
//! once instead of when the leases run out.
//!
//! A lease is `claimed_by` (the worker's id) with `lease_until` on a job, a mail of the
//! outbox or a webhook endpoint; a job applying a resource also holds the resource's
//! provisioning state (`held_by`, the job's id). Every write a worker makes under a lease
//! is conditional on still holding it, so a step of the stopping worker that finishes
//! after this (a blocking database call cannot be cancelled) changes nothing.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{jobs, outbox, provisioning_states, webhooks};

/// How many leases of each kind were given back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Released {
    pub jobs: usize,
    pub mails: usize,
    pub endpoints: usize,
}

impl Released {
    pub fn total(&self) -> usize {
        self.jobs + self.mails + self.endpoints
    }
}

/// Gives back every lease `worker` holds.
pub fn release_all(conn: &mut DbConnection, worker: &str) -> Result<Released, StoreError> {
    let no_worker = None::<String>;
    let no_lease = None::<NaiveDateTime>;
    // The resources its jobs were applying, first: the holds name the jobs.
    let its_jobs = jobs::table.filter(jobs::claimed_by.eq(worker)).select(jobs::id.nullable());
    diesel::update(provisioning_states::table.filter(provisioning_states::held_by.eq_any(its_jobs)))
        .set((provisioning_states::held_by.eq(&no_worker), provisioning_states::held_until.eq(no_lease)))
        .execute(conn)?;
    let jobs = diesel::update(jobs::table.filter(jobs::claimed_by.eq(worker)))
        .set((jobs::claimed_by.eq(&no_worker), jobs::lease_until.eq(no_lease)))
        .execute(conn)?;
    let mails = diesel::update(outbox::table.filter(outbox::claimed_by.eq(worker)))
        .set((outbox::claimed_by.eq(&no_worker), outbox::lease_until.eq(no_lease)))
        .execute(conn)?;
    let endpoints = diesel::update(webhooks::table.filter(webhooks::claimed_by.eq(worker)))
        .set((webhooks::claimed_by.eq(&no_worker), webhooks::lease_until.eq(no_lease)))
        .execute(conn)?;
    Ok(Released { jobs, mails, endpoints })
}
