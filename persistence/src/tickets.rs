//! Support tickets and their messages. Every lookup is scoped by who asks: a ticket is
//! reached by its customer, by the accounts above the customer (the seller's side), and
//! through an active grant on the ticket's service. Numbers are gapless per seller,
//! from a counter row per seller.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hostadmin_domain::accounts::AccountKind;
use hostadmin_domain::authorizations::Permission;
use hostadmin_domain::policy::{Reach, Relation};
use hostadmin_domain::support::{Direction, Priority, Side, TicketStatus};

use crate::accounts::{self, escape_like};
use crate::authorizations;
use crate::columns::Text;
use crate::connection::DbConnection;
use crate::counters;
use crate::error::StoreError;
use crate::planning::PlanEachTime;
use crate::reach::reached;
use crate::schema::accounts as account_table;
use crate::schema::{ticket_messages, tickets};

/// A ticket as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tickets, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct TicketRow {
    pub id: String,
    /// Gapless per seller.
    pub number: i64,
    /// The account above the customer; `None`: the provider (operators answer).
    pub seller_id: Option<String>,
    pub customer_id: String,
    pub service_id: Option<String>,
    #[diesel(deserialize_as = Text<Direction>)]
    pub direction: Direction,
    pub subject: String,
    #[diesel(deserialize_as = Text<TicketStatus>)]
    pub status: TicketStatus,
    #[diesel(deserialize_as = Text<Priority>)]
    pub priority: Priority,
    pub created_by: String,
    pub last_reply_at: NaiveDateTime,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A ticket being opened (its first message is inserted beside it).
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub id: String,
    pub number: i64,
    pub seller_id: Option<String>,
    pub customer_id: String,
    pub service_id: Option<String>,
    pub direction: Direction,
    pub subject: String,
    pub priority: Priority,
    pub created_by: String,
    pub now: NaiveDateTime,
}

/// The seller's next ticket number (gapless per seller; crate::counters).
pub fn next_number(conn: &mut DbConnection, seller_id: Option<&str>) -> Result<i64, StoreError> {
    counters::next(conn, &counters::per_seller("ticket_number", seller_id))
}

pub fn insert(conn: &mut DbConnection, new: &NewTicket) -> Result<(), StoreError> {
    let status = new.direction.initial_status();
    diesel::insert_into(tickets::table)
        .values((
            tickets::id.eq(&new.id),
            tickets::number.eq(new.number),
            tickets::seller_id.eq(&new.seller_id),
            tickets::customer_id.eq(&new.customer_id),
            tickets::service_id.eq(&new.service_id),
            tickets::direction.eq(new.direction.as_str()),
            tickets::subject.eq(&new.subject),
            tickets::subject_lower.eq(new.subject.to_lowercase()),
            tickets::status.eq(status.as_str()),
            tickets::priority.eq(new.priority.as_str()),
            tickets::created_by.eq(&new.created_by),
            tickets::last_reply_at.eq(new.now),
            tickets::version.eq(1_i64),
            tickets::created_at.eq(new.now),
            tickets::updated_at.eq(new.now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<TicketRow>, StoreError> {
    Ok(tickets::table.filter(tickets::id.eq(id)).select(TicketRow::as_select()).first(conn).optional()?)
}

/// The ticket with this id if the actor reaches it, and how it stands to the ticket's
/// customer: the customer itself, an account above it, or a grantee of the ticket's
/// service (with every permission its active grants give; the policy asks for
/// `support`).
pub fn find_in_reach(
    conn: &mut DbConnection,
    reach: &Reach,
    id: &str,
) -> Result<Option<(TicketRow, Relation)>, StoreError> {
    let Some(row) = find(conn, id)? else { return Ok(None) };
    if row.customer_id == reach.account_id {
        return Ok(Some((row, Relation::Owner)));
    }
    if accounts::find_in_reach(conn, reach, &row.customer_id)?.is_some() {
        return Ok(Some((row, Relation::Above)));
    }
    let Some(service_id) = row.service_id.clone().filter(|_| reach.grants) else { return Ok(None) };
    let permissions = authorizations::permissions_on(conn, &reach.account_id, &row.customer_id, &service_id)?;
    Ok((!permissions.is_empty()).then_some((row, Relation::Grantee(permissions))))
}

#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    pub customer_id: Option<String>,
    pub service_id: Option<String>,
    /// Lowercase prefix of the subject; when all digits, also the exact number.
    pub q: Option<String>,
    pub before_id: Option<String>,
}

/// One page of the tickets the actor reaches, newest first.
pub fn list_in_reach(
    conn: &mut DbConnection,
    reach: &Reach,
    filter: &TicketFilter,
    limit: i64,
) -> Result<Vec<TicketRow>, StoreError> {
    let granted = authorizations::granted_services(conn, reach, Permission::Support)?;
    let mut query = tickets::table.filter(reached!(tickets, customer_id, service_id, reach, &granted)).into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(tickets::status.eq(status.as_str()));
    }
    if let Some(customer) = &filter.customer_id {
        query = query.filter(tickets::customer_id.eq(customer));
    }
    if let Some(service) = &filter.service_id {
        query = query.filter(tickets::service_id.eq(service));
    }
    if let Some(q) = &filter.q {
        let by_subject = tickets::subject_lower.like(format!("{}%", escape_like(q))).escape('\\');
        query = match q.parse::<i64>() {
            Ok(number) if q.chars().all(|c| c.is_ascii_digit()) => {
                query.filter(by_subject.or(tickets::number.eq(number)))
            }
            _ => query.filter(by_subject),
        };
    }
    if let Some(before) = &filter.before_id {
        query = query.filter(tickets::id.lt(before));
    }
    Ok(query.order(tickets::id.desc()).limit(limit).select(TicketRow::as_select()).planned_each_time().load(conn)?)
}

/// What a change sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TicketChanges {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    /// A reply the customer's side sees.
    pub replied_at: Option<NaiveDateTime>,
}

/// Applies the changes if the ticket is still at `version`, and bumps it; answers
/// whether it did (false: another change got in first).
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
    changes: &TicketChanges,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let target = tickets::table.filter(tickets::id.eq(id)).filter(tickets::version.eq(version));
    let updated =
        diesel::update(target).set((tickets::version.eq(version + 1), tickets::updated_at.eq(now))).execute(conn)?;
    if updated != 1 {
        return Ok(false);
    }
    let target = tickets::table.filter(tickets::id.eq(id));
    if let Some(status) = changes.status {
        diesel::update(target).set(tickets::status.eq(status.as_str())).execute(conn)?;
    }
    if let Some(priority) = changes.priority {
        diesel::update(target).set(tickets::priority.eq(priority.as_str())).execute(conn)?;
    }
    if let Some(at) = changes.replied_at {
        diesel::update(target).set(tickets::last_reply_at.eq(at)).execute(conn)?;
    }
    Ok(true)
}

/// A message as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ticket_messages, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct MessageRow {
    pub id: String,
    pub ticket_id: String,
    pub author_id: String,
    #[diesel(deserialize_as = Text<Side>)]
    pub side: Side,
    pub internal: bool,
    pub body: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub id: &'a str,
    pub ticket_id: &'a str,
    pub author_id: &'a str,
    pub side: Side,
    pub internal: bool,
    pub body: &'a str,
    pub now: NaiveDateTime,
}

pub fn insert_message(conn: &mut DbConnection, new: &NewMessage<'_>) -> Result<(), StoreError> {
    diesel::insert_into(ticket_messages::table)
        .values((
            ticket_messages::id.eq(new.id),
            ticket_messages::ticket_id.eq(new.ticket_id),
            ticket_messages::author_id.eq(new.author_id),
            ticket_messages::side.eq(new.side.as_str()),
            ticket_messages::internal.eq(new.internal),
            ticket_messages::body.eq(new.body),
            ticket_messages::created_at.eq(new.now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The message `id` of the ticket, if `side` sees it (the customer's side never sees an
/// internal note).
pub fn find_message(
    conn: &mut DbConnection,
    ticket_id: &str,
    id: &str,
    side: Side,
) -> Result<Option<MessageRow>, StoreError> {
    let mut query = ticket_messages::table
        .filter(ticket_messages::ticket_id.eq(ticket_id))
        .filter(ticket_messages::id.eq(id))
        .into_boxed();
    if !side.sees_internal_notes() {
        query = query.filter(ticket_messages::internal.eq(false));
    }
    Ok(query.select(MessageRow::as_select()).first(conn).optional()?)
}

/// One page of the ticket's messages that `side` sees, newest first.
pub fn messages(
    conn: &mut DbConnection,
    ticket_id: &str,
    side: Side,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<MessageRow>, StoreError> {
    let mut query = ticket_messages::table.filter(ticket_messages::ticket_id.eq(ticket_id)).into_boxed();
    if !side.sees_internal_notes() {
        query = query.filter(ticket_messages::internal.eq(false));
    }
    if let Some(before) = before_id {
        query = query.filter(ticket_messages::id.lt(before));
    }
    Ok(query.order(ticket_messages::id.desc()).limit(limit).select(MessageRow::as_select()).load(conn)?)
}

/// Who answers for the provider, the seller of top-level accounts: every operator that
/// is not blocked, as (id, name, email), oldest first.
pub fn provider_staff(conn: &mut DbConnection) -> Result<Vec<(String, String, String)>, StoreError> {
    Ok(account_table::table
        .filter(account_table::kind.eq(AccountKind::Operator.as_str()))
        .filter(account_table::status.ne(hostadmin_domain::accounts::AccountStatus::Blocked.as_str()))
        .order(account_table::id.asc())
        .select((account_table::id, account_table::name, account_table::email))
        .load(conn)?)
}
