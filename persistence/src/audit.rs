//! The append-only audit log. Events are written in the transaction of the change they
//! describe; the tables' triggers refuse UPDATE and DELETE.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hostadmin_domain::policy::{Actor, Below, Reach};

use crate::columns::Json;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::planning::PlanEachTime;
use crate::schema::{account_tree, audit_events};
use crate::webhooks::{self, Published};

/// Who did it, from where: the same for every event of one request.
#[derive(Debug, Clone, Default)]
pub struct AuditContext {
    /// The person acting: the impersonator under an impersonation token.
    pub actor_id: Option<String>,
    /// The account acted as, when someone impersonates it.
    pub on_behalf_of: Option<String>,
    pub api_key_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl AuditContext {
    /// The context of a change `actor` makes.
    pub fn of(actor: &Actor) -> Self {
        Self {
            actor_id: Some(actor.audited_actor().to_owned()),
            on_behalf_of: actor.on_behalf_of().map(str::to_owned),
            api_key_id: actor.api_key_id().map(str::to_owned),
            ip: actor.origin.ip.clone(),
            request_id: actor.origin.request_id.clone(),
        }
    }
}

/// One event to append.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    /// The account whose data changed: decides who may read the event.
    pub account_id: Option<&'a str>,
    pub details: serde_json::Value,
}

/// Whether a change to the target was recorded for `request_id` (a job's items carry
/// the job's id): the audit entry is written in the same transaction as the change, so
/// it says whether the change happened.
pub fn recorded_for_request(
    conn: &mut DbConnection,
    request_id: &str,
    target_type: &str,
    target_id: &str,
) -> Result<bool, StoreError> {
    let found: i64 = audit_events::table
        .filter(audit_events::target_type.eq(target_type))
        .filter(audit_events::target_id.eq(target_id))
        .filter(audit_events::request_id.eq(request_id))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Appends the event; it is also queued for the webhooks that may hear of it, in the
/// same transaction (crate::webhooks::fan_out).
pub fn record(
    conn: &mut DbConnection,
    context: &AuditContext,
    event: NewEvent<'_>,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    append(conn, context, event, at).map(|_| ())
}

/// [`record`], answering the event's id.
pub fn append(
    conn: &mut DbConnection,
    context: &AuditContext,
    event: NewEvent<'_>,
    at: NaiveDateTime,
) -> Result<String, StoreError> {
    let id = hostadmin_domain::ids::new_id();
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(&id),
            audit_events::at.eq(at),
            audit_events::action.eq(event.action),
            audit_events::actor_id.eq(&context.actor_id),
            audit_events::on_behalf_of.eq(&context.on_behalf_of),
            audit_events::api_key_id.eq(&context.api_key_id),
            audit_events::ip.eq(&context.ip),
            audit_events::request_id.eq(&context.request_id),
            audit_events::target_type.eq(event.target_type),
            audit_events::target_id.eq(event.target_id),
            audit_events::account_id.eq(event.account_id),
            audit_events::details.eq(event.details.to_string()),
        ))
        .execute(conn)?;
    let published = Published { event_id: &id, event_type: event.action, account_id: event.account_id };
    webhooks::fan_out(conn, &published, at)?;
    Ok(id)
}

/// An event as stored, its details read as JSON.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct EventRow {
    pub id: String,
    pub at: NaiveDateTime,
    pub action: String,
    pub actor_id: Option<String>,
    pub on_behalf_of: Option<String>,
    pub api_key_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub target_type: String,
    pub target_id: String,
    #[diesel(deserialize_as = Json<serde_json::Value>)]
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub actor_id: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub action: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub before_id: Option<String>,
}

/// Events the reader may see, newest first: operators all of them, resellers those of
/// their own account and their subtree, customers those of their own account.
pub fn list(
    conn: &mut DbConnection,
    reach: &Reach,
    filter: &EventFilter,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    let mut query = audit_events::table.into_boxed();
    query = match reach.below {
        Below::AllButOperators => query,
        Below::Subtree => query.filter(
            audit_events::account_id.eq_any(
                account_tree::table
                    .filter(account_tree::ancestor_id.eq(&reach.account_id))
                    .select(account_tree::descendant_id)
                    .nullable(),
            ),
        ),
        Below::Nobody => query.filter(audit_events::account_id.eq(&reach.account_id)),
    };
    if let Some(actor) = &filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(actor));
    }
    if let Some(target_type) = &filter.target_type {
        query = query.filter(audit_events::target_type.eq(target_type));
    }
    if let Some(target_id) = &filter.target_id {
        query = query.filter(audit_events::target_id.eq(target_id));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_events::at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::at.lt(until));
    }
    if let Some(before) = &filter.before_id {
        query = query.filter(audit_events::id.lt(before));
    }
    Ok(query
        .order(audit_events::id.desc())
        .limit(limit)
        .select(EventRow::as_select())
        .planned_each_time()
        .load(conn)?)
}
