//! Webhook endpoints, and the fan-out of events to them.
//!
//! Endpoints belong to one account and are only ever found through it. Every audited
//! change is an event: [`fan_out`] runs inside `audit::record`, in the transaction of the
//! change, and queues one delivery per endpoint that may hear of it (the webhooks of the
//! account the event is about, of the accounts above it, and of operators) and whose
//! filters match. A unique index on (endpoint, event) keeps it to one.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use hostadmin_domain::ids::new_id;
use hostadmin_domain::webhooks::events::{audience, Audience};
use hostadmin_domain::webhooks::{DeliveryStatus, EventFilters};

use crate::columns::{json, Json};
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{account_tree, accounts, webhook_deliveries, webhooks};

/// Why the worker switched an endpoint off.
pub const DISABLED_FAILING: &str = "failing";

/// An endpoint as stored. The secrets stay sealed here; the API opens them to sign.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct WebhookRow {
    pub id: String,
    pub account_id: String,
    /// The owner is an operator: it hears of every event.
    pub sees_all: bool,
    pub url: String,
    #[diesel(deserialize_as = Json<EventFilters>)]
    pub events: EventFilters,
    pub description: String,
    pub enabled: bool,
    /// `failing` when the worker disabled it.
    pub disabled_reason: Option<String>,
    pub secret_sealed: String,
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub failing_since: Option<NaiveDateTime>,
    pub claimed_by: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl WebhookRow {
    /// The previous secret, while it still signs along (24 hours after a rotation).
    pub fn previous_secret_at(&self, now: NaiveDateTime) -> Option<&str> {
        match (&self.previous_secret_sealed, self.previous_secret_until) {
            (Some(sealed), Some(until)) if until > now => Some(sealed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewWebhook<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub sees_all: bool,
    pub url: &'a str,
    pub events: &'a EventFilters,
    pub description: &'a str,
    pub enabled: bool,
    pub secret_sealed: &'a str,
}

pub fn insert(conn: &mut DbConnection, new: &NewWebhook<'_>, now: NaiveDateTime) -> Result<(), StoreError> {
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::id.eq(new.id),
            webhooks::account_id.eq(new.account_id),
            webhooks::sees_all.eq(new.sees_all),
            webhooks::url.eq(new.url),
            webhooks::events.eq(json(new.events)?),
            webhooks::description.eq(new.description),
            webhooks::enabled.eq(new.enabled),
            webhooks::secret_sealed.eq(new.secret_sealed),
            webhooks::version.eq(1_i64),
            webhooks::created_at.eq(now),
            webhooks::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes the owner's row lock (a no-op update) so that concurrent creations count one
/// after the other on PostgreSQL (SQLite's writers are serialized already).
pub fn lock_owner(conn: &mut DbConnection, account_id: &str) -> Result<(), StoreError> {
    diesel::update(accounts::table.filter(accounts::id.eq(account_id)))
        .set(accounts::version.eq(accounts::version))
        .execute(conn)?;
    Ok(())
}

pub fn count_of(conn: &mut DbConnection, account_id: &str) -> Result<i64, StoreError> {
    Ok(webhooks::table.filter(webhooks::account_id.eq(account_id)).count().get_result(conn)?)
}

/// The endpoint `id` of `account_id`; another account's is not found.
pub fn find_own(conn: &mut DbConnection, account_id: &str, id: &str) -> Result<Option<WebhookRow>, StoreError> {
    Ok(webhooks::table
        .filter(webhooks::id.eq(id))
        .filter(webhooks::account_id.eq(account_id))
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<WebhookRow>, StoreError> {
    Ok(webhooks::table.filter(webhooks::id.eq(id)).select(WebhookRow::as_select()).first(conn).optional()?)
}

/// The account's endpoints, newest first.
pub fn list_own(
    conn: &mut DbConnection,
    account_id: &str,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<WebhookRow>, StoreError> {
    let mut query = webhooks::table.filter(webhooks::account_id.eq(account_id)).into_boxed();
    if let Some(before) = before_id {
        query = query.filter(webhooks::id.lt(before));
    }
    Ok(query.order(webhooks::id.desc()).limit(limit).select(WebhookRow::as_select()).load(conn)?)
}

/// What an owner's change sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub events: Option<EventFilters>,
    pub description: Option<String>,
    /// Enabling also forgets past failures; either way the worker's reason is cleared.
    pub enabled: Option<bool>,
}

/// Applies `changes` when the endpoint is still at `version`; false when it moved on.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
    changes: &WebhookChanges,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let at_version = || webhooks::table.filter(webhooks::id.eq(id)).filter(webhooks::version.eq(version));
    let bumped = diesel::update(at_version())
        .set((webhooks::version.eq(version + 1), webhooks::updated_at.eq(now)))
        .execute(conn)?;
    if bumped == 0 {
        return Ok(false);
    }
    let this = || webhooks::table.filter(webhooks::id.eq(id));
    if let Some(url) = &changes.url {
        diesel::update(this()).set(webhooks::url.eq(url)).execute(conn)?;
    }
    if let Some(events) = &changes.events {
        diesel::update(this()).set(webhooks::events.eq(json(events)?)).execute(conn)?;
    }
    if let Some(description) = &changes.description {
        diesel::update(this()).set(webhooks::description.eq(description)).execute(conn)?;
    }
    match changes.enabled {
        Some(true) => diesel::update(this())
            .set((
                webhooks::enabled.eq(true),
                webhooks::disabled_reason.eq(None::<String>),
                webhooks::failing_since.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?,
        Some(false) => diesel::update(this())
            .set((webhooks::enabled.eq(false), webhooks::disabled_reason.eq(None::<String>)))
            .execute(conn)?,
        None => 0,
    };
    Ok(true)
}

/// Puts a new secret in force, keeping the current one as the previous until `until`.
pub fn rotate_secret(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
    new_sealed: &str,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(webhooks::table.filter(webhooks::id.eq(id)).filter(webhooks::version.eq(version)))
        .set((
            webhooks::previous_secret_sealed.eq(webhooks::secret_sealed.nullable()),
            webhooks::previous_secret_until.eq(Some(until)),
            webhooks::secret_sealed.eq(new_sealed),
            webhooks::version.eq(version + 1),
            webhooks::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Removes the endpoint at `version` with its delivery log.
pub fn delete(conn: &mut DbConnection, id: &str, version: i64) -> Result<bool, StoreError> {
    let removed = diesel::delete(webhooks::table.filter(webhooks::id.eq(id)).filter(webhooks::version.eq(version)))
        .execute(conn)?;
    if removed == 1 {
        diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(id))).execute(conn)?;
    }
    Ok(removed == 1)
}

/// Switches off an endpoint that failed everything for too long; false when it was off
/// already (another worker got there first).
pub fn disable_failing(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    let updated = diesel::update(webhooks::table.filter(webhooks::id.eq(id)).filter(webhooks::enabled.eq(true)))
        .set((
            webhooks::enabled.eq(false),
            webhooks::disabled_reason.eq(DISABLED_FAILING),
            webhooks::version.eq(webhooks::version + 1),
            webhooks::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// An event as the audit log records it, to be fanned out.
#[derive(Debug, Clone)]
pub struct Published<'a> {
    pub event_id: &'a str,
    pub event_type: &'a str,
    /// The account whose data changed; `None`: only operators may read the event.
    pub account_id: Option<&'a str>,
}

/// Queues the event for every enabled endpoint that may hear of it and asked for it, in
/// the caller's transaction; answers how many.
pub fn fan_out(conn: &mut DbConnection, event: &Published<'_>, now: NaiveDateTime) -> Result<usize, StoreError> {
    if audience(event.event_type) == Audience::Addressed {
        return Ok(0);
    }
    let mut candidates: Vec<(String, EventFilters)> = webhooks::table
        .filter(webhooks::sees_all.eq(true))
        .filter(webhooks::enabled.eq(true))
        .select((webhooks::id, webhooks::events))
        .load::<(String, String)>(conn)?
        .into_iter()
        .filter_map(readable_filters)
        .collect();
    if let Some(account_id) = event.account_id {
        // The account itself is its own ancestor at depth 0.
        let above =
            account_tree::table.filter(account_tree::descendant_id.eq(account_id)).select(account_tree::ancestor_id);
        let own: Vec<(String, String)> = webhooks::table
            .filter(webhooks::account_id.eq_any(above))
            .filter(webhooks::sees_all.eq(false))
            .filter(webhooks::enabled.eq(true))
            .select((webhooks::id, webhooks::events))
            .load(conn)?;
        candidates.extend(own.into_iter().filter_map(readable_filters));
    }
    let mut queued = 0;
    for (webhook_id, filters) in candidates {
        if filters.matches(event.event_type) {
            queue(conn, &webhook_id, event.event_id, event.event_type, now)?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Filters this version cannot read match nothing (and are logged): an event must never
/// fail the change it describes.
fn readable_filters((id, text): (String, String)) -> Option<(String, EventFilters)> {
    match serde_json::from_str(&text) {
        Ok(filters) => Some((id, filters)),
        Err(error) => {
            tracing::error!(webhook = %id, error = %error, "stored event filters cannot be read");
            None
        }
    }
}

/// Queues one delivery of an event to one endpoint, due at once.
pub fn queue(
    conn: &mut DbConnection,
    webhook_id: &str,
    event_id: &str,
    event_type: &str,
    now: NaiveDateTime,
) -> Result<String, StoreError> {
    let id = new_id();
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::id.eq(&id),
            webhook_deliveries::webhook_id.eq(webhook_id),
            webhook_deliveries::event_id.eq(event_id),
            webhook_deliveries::event_type.eq(event_type),
            webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
            webhook_deliveries::attempts.eq(0),
            webhook_deliveries::next_attempt_at.eq(Some(now)),
            webhook_deliveries::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}
