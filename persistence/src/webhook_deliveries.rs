//! Webhook deliveries: the log an endpoint's owner reads, and how workers take them.
//!
//! A worker holds a whole endpoint while it delivers to it: [`claim_endpoint`] is a
//! conditional update on `claimed_by`/`lease_until` (as jobs and mails are claimed), so
//! deliveries to one endpoint go out one at a time, oldest first (a delivery waiting for
//! its retry lets later ones pass), two workers never send one delivery at once, and a
//! crashed worker's endpoint comes back when its lease runs out. Every result is recorded
//! only while the worker still holds the endpoint, which also extends its lease.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use hostadmin_domain::webhooks::DeliveryStatus;

use crate::columns::Text;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::planning::PlanEachTime;
use crate::schema::{audit_events, webhook_deliveries, webhooks};
use crate::webhooks::WebhookRow;

/// A delivery as its log shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    #[diesel(deserialize_as = Text<DeliveryStatus>)]
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_response_body: Option<String>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

/// The endpoint's deliveries, newest first, optionally of one status.
pub fn list(
    conn: &mut DbConnection,
    webhook_id: &str,
    status: Option<DeliveryStatus>,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let mut query = webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(webhook_id)).into_boxed();
    if let Some(status) = status {
        query = query.filter(webhook_deliveries::status.eq(status.as_str()));
    }
    if let Some(before) = before_id {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    Ok(query.order(webhook_deliveries::id.desc()).limit(limit).select(DeliveryRow::as_select()).load(conn)?)
}

/// The delivery `id` of the endpoint; another endpoint's is not found.
pub fn find(conn: &mut DbConnection, webhook_id: &str, id: &str) -> Result<Option<DeliveryRow>, StoreError> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::id.eq(id))
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()?)
}

/// Makes a delivery due now again, whatever its state (a delivered one is sent once
/// more). Its attempts keep counting: a failure goes on with the schedule, or ends it.
pub fn retry_now(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    let updated = diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq(id)))
        .set((
            webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
            webhook_deliveries::next_attempt_at.eq(Some(now)),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Enabled endpoints with a delivery due and nobody holding them, at most `limit`.
pub fn due_endpoints(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> Result<Vec<String>, StoreError> {
    Ok(webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(webhooks::enabled.eq(true))
        .filter(webhooks::claimed_by.is_null().or(webhooks::lease_until.lt(now)))
        .select(webhooks::id)
        .distinct()
        .limit(limit)
        .planned_each_time()
        .load(conn)?)
}

/// Takes the endpoint for `worker` until `lease_until`, if it is enabled and nobody
/// (alive) holds it.
pub fn claim_endpoint(
    conn: &mut DbConnection,
    id: &str,
    worker: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> Result<Option<WebhookRow>, StoreError> {
    let claimed = diesel::update(
        webhooks::table
            .filter(webhooks::id.eq(id))
            .filter(webhooks::enabled.eq(true))
            .filter(webhooks::claimed_by.is_null().or(webhooks::lease_until.lt(now))),
    )
    .set((webhooks::claimed_by.eq(worker), webhooks::lease_until.eq(lease_until)))
    .execute(conn)?;
    if claimed == 1 {
        crate::webhooks::find(conn, id)
    } else {
        Ok(None)
    }
}

/// Lets go of an endpoint `worker` holds.
pub fn release_endpoint(conn: &mut DbConnection, id: &str, worker: &str) -> Result<(), StoreError> {
    diesel::update(webhooks::table.filter(webhooks::id.eq(id)).filter(webhooks::claimed_by.eq(worker)))
        .set((webhooks::claimed_by.eq(None::<String>), webhooks::lease_until.eq(None::<NaiveDateTime>)))
        .execute(conn)?;
    Ok(())
}

/// A delivery to send, with the audit entry its payload is made of.
#[derive(Debug, Clone, Queryable)]
pub struct Outgoing {
    pub id: String,
    pub attempts: i32,
    pub event_id: String,
    pub event_type: String,
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub on_behalf_of: Option<String>,
    pub api_key_id: Option<String>,
    pub target_type: String,
    pub target_id: String,
    pub account_id: Option<String>,
    /// JSON, as the audit entry holds it.
    pub details: String,
}

/// The oldest delivery of the endpoint that is due now, while the endpoint is still
/// enabled and at `version` (a changed URL, filter or secret ends the worker's hold).
pub fn next_due(
    conn: &mut DbConnection,
    webhook_id: &str,
    version: i64,
    now: NaiveDateTime,
) -> Result<Option<Outgoing>, StoreError> {
    Ok(webhook_deliveries::table
        .inner_join(audit_events::table)
        .inner_join(webhooks::table)
        .filter(webhooks::enabled.eq(true))
        .filter(webhooks::version.eq(version))
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .order(webhook_deliveries::id.asc())
        .select((
            webhook_deliveries::id,
            webhook_deliveries::attempts,
            audit_events::id,
            audit_events::action,
            audit_events::at,
            audit_events::actor_id,
            audit_events::on_behalf_of,
            audit_events::api_key_id,
            audit_events::target_type,
            audit_events::target_id,
            audit_events::account_id,
            audit_events::details,
        ))
        .first(conn)
        .optional()?)
}

/// One attempt's outcome, as recorded.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub delivery_id: &'a str,
    pub webhook_id: &'a str,
    pub worker: &'a str,
    /// The status the delivery moves to; for `Pending`, `next_attempt_at` says when.
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub status_code: Option<i32>,
    pub error: Option<&'a str>,
    pub response_body: Option<&'a str>,
    pub now: NaiveDateTime,
    /// The worker's lease on the endpoint, extended by recording.
    pub lease_until: NaiveDateTime,
}

/// Records an attempt while `worker` still holds the endpoint (false otherwise: its lease
/// ran out and another worker took over, which sends the delivery again). A success
/// clears the endpoint's failure streak; a failure starts one if none is running.
/// Answers whether it was recorded and, for a failure, since when the endpoint fails.
pub fn record(conn: &mut DbConnection, attempt: &Attempt<'_>) -> Result<Recorded, StoreError> {
    let held =
        webhooks::table.filter(webhooks::id.eq(attempt.webhook_id)).filter(webhooks::claimed_by.eq(attempt.worker));
    if diesel::update(held).set(webhooks::lease_until.eq(attempt.lease_until)).execute(conn)? == 0 {
        return Ok(Recorded::LostEndpoint);
    }
    let delivered = attempt.status == DeliveryStatus::Delivered;
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(attempt.delivery_id))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .set((
        webhook_deliveries::status.eq(attempt.status.as_str()),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
        webhook_deliveries::next_attempt_at.eq(attempt.next_attempt_at),
        webhook_deliveries::last_attempt_at.eq(Some(attempt.now)),
        webhook_deliveries::last_status_code.eq(attempt.status_code),
        webhook_deliveries::last_error.eq(attempt.error),
        webhook_deliveries::last_response_body.eq(attempt.response_body),
        webhook_deliveries::delivered_at.eq(delivered.then_some(attempt.now)),
    ))
    .execute(conn)?;
    let this = || webhooks::table.filter(webhooks::id.eq(attempt.webhook_id));
    if delivered {
        diesel::update(this()).set(webhooks::failing_since.eq(None::<NaiveDateTime>)).execute(conn)?;
        return Ok(Recorded::Delivered);
    }
    diesel::update(this().filter(webhooks::failing_since.is_null()))
        .set(webhooks::failing_since.eq(Some(attempt.now)))
        .execute(conn)?;
    let since: Option<NaiveDateTime> = this().select(webhooks::failing_since).first(conn)?;
    Ok(Recorded::Failed { failing_since: since.unwrap_or(attempt.now) })
}

/// What [`record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Delivered,
    Failed {
        failing_since: NaiveDateTime,
    },
    /// The worker no longer holds the endpoint: nothing was written.
    LostEndpoint,
}

/// Deletes deliveries created before `before`, whatever their state (set-based: safe from
/// any number of workers). The log keeps 30 days.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::created_at.lt(before))).execute(conn)?)
}
