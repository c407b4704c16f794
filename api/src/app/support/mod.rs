//! Support tickets: an account writes to its seller (an incoming ticket), a seller
//! writes to an account directly below it (an outgoing one); both sides answer, the
//! seller's side also in internal notes the customer's side never sees.
//!
//! The side an actor speaks for follows from how it reached the ticket: from above the
//! customer it is the seller's side; as the customer, or through a grant of `support`
//! on the ticket's service, the customer's side.

pub mod attachments;
mod notify;

use hostadmin_domain::accounts::AccountKind;
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::policy::{Action, Actor, Authorized, Reach, Relation};
use hostadmin_domain::support::{
    Direction, MessageBody, Priority, Side, Subject, TicketEvent, MAX_ATTACHMENTS_PER_MESSAGE,
};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::accounts::{self as account_store, AccountRow};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::ticket_attachments::{self as attachment_store, AttachmentRow};
use hostadmin_persistence::tickets::{self as ticket_store, MessageRow, NewMessage, NewTicket, TicketChanges};
use hostadmin_persistence::tickets::{TicketFilter, TicketRow};
use hostadmin_persistence::DbConnection;

use crate::app::access::{self, Reached};
use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// The side of a ticket the actor reached it on.
pub fn side_of<T>(reached: &Reached<T>) -> Side {
    if reached.from_above() {
        Side::Seller
    } else {
        Side::Customer
    }
}

/// A ticket, as asked for (validated by the route).
#[derive(Debug, Clone)]
pub struct NewTicketRequest {
    /// Present: an outgoing ticket from a seller to this account directly below it.
    pub customer_id: Option<String>,
    pub service_id: Option<String>,
    pub subject: Subject,
    pub body: MessageBody,
    pub priority: Priority,
}

/// Who a new ticket is between, once the request is checked.
struct Parties {
    direction: Direction,
    customer: AccountRow,
    service_id: Option<String>,
}

/// Open a ticket: without `customer_id` the actor (or the owner of the service it was
/// granted `support` on) writes to its seller; with it, a seller writes to an account
/// directly below it. The first message is stored with the ticket and the other side is
/// mailed, in one transaction.
pub async fn open(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    request: NewTicketRequest,
) -> Result<TicketRow, ApiError> {
    if authorized.action() != Action::WriteTickets {
        return Err(ApiError::internal(format!("opening a ticket with a proof for {:?}", authorized.action())));
    }
    if request.customer_id.is_some() && actor.kind == AccountKind::Customer {
        return Err(ApiError::forbidden("only resellers and operators write to the accounts below them"));
    }
    let reach = actor.reach();
    let (me, kind) = (actor.account_id.clone(), actor.kind);
    let context = AuditContext::of(actor);
    let config = state.config.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let parties = match &request.customer_id {
                Some(customer_id) => outgoing(conn, &reach, &authorized, customer_id, request.service_id.as_deref())?,
                None => incoming(conn, &reach, &authorized, kind, request.service_id.as_deref())?,
            };
            let seller_id = match parties.direction {
                Direction::Incoming => parties.customer.parent_id.clone(),
                Direction::Outgoing if kind == AccountKind::Operator => None,
                Direction::Outgoing => Some(me.clone()),
            };
            let new = NewTicket {
                id: new_id(),
                number: ticket_store::next_number(conn, seller_id.as_deref())?,
                seller_id,
                customer_id: parties.customer.id.clone(),
                service_id: parties.service_id.clone(),
                direction: parties.direction,
                subject: request.subject.as_str().to_owned(),
                priority: request.priority,
                created_by: me.clone(),
                now,
            };
            ticket_store::insert(conn, &new)?;
            let message = NewMessage {
                id: &new_id(),
                ticket_id: &new.id,
                author_id: &me,
                side: new.direction.opened_by(),
                internal: false,
                body: request.body.as_str(),
                now,
            };
            ticket_store::insert_message(conn, &message)?;
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::TICKET_CREATE,
                    target_type: target::TICKET,
                    target_id: &new.id,
                    account_id: Some(&new.customer_id),
                    details: serde_json::json!({
                        "number": new.number, "direction": new.direction, "service_id": new.service_id,
                        "priority": new.priority, "message_id": message.id,
                    }),
                },
                now,
            )?;
            let ticket =
                ticket_store::find(conn, &new.id)?.ok_or_else(|| ApiError::internal("the new ticket vanished"))?;
            notify::opened(conn, &config, &ticket, request.body.as_str(), &me)?;
            Ok(ticket)
        })
        .await
}

fn required_customer(detail: &str) -> ApiError {
    ApiError::field("/customer_id", Invalid::new("required", detail))
}

/// An account writing to its seller: about nothing in particular, about a service of its
/// own, or about a service whose owner granted it `support` (the ticket is the owner's).
fn incoming(
    conn: &mut DbConnection,
    reach: &Reach,
    authorized: &Authorized,
    kind: AccountKind,
    service_id: Option<&str>,
) -> Result<Parties, ApiError> {
    if kind == AccountKind::Operator {
        return Err(required_customer("operators have no seller: they write to an account below them"));
    }
    let (customer_id, service_id) = match service_id {
        None => (reach.account_id.clone(), None),
        Some(id) => {
            let service = access::service_in(conn, reach, authorized.clone(), id)?;
            if service.relation == Relation::Above {
                return Err(required_customer("a ticket about a service of an account below goes to its owner"));
            }
            (service.row.owner_id, Some(service.row.id))
        }
    };
    let customer = account_store::find(conn, &customer_id)?.ok_or_else(ApiError::not_found)?;
    if customer.kind == AccountKind::Operator {
        return Err(ApiError::field(
            "/service_id",
            Invalid::new("no_seller", "the provider's own services have no seller to write to"),
        ));
    }
    Ok(Parties { direction: Direction::Incoming, customer, service_id })
}

/// A seller writing to an account directly below it (for operators: a top-level
/// account), optionally about one of that account's services.
fn outgoing(
    conn: &mut DbConnection,
    reach: &Reach,
    authorized: &Authorized,
    customer_id: &str,
    service_id: Option<&str>,
) -> Result<Parties, ApiError> {
    let customer_id = parse_id(customer_id).ok_or_else(ApiError::not_found)?;
    let customer = account_store::find_in_reach(conn, reach, &customer_id)?.ok_or_else(ApiError::not_found)?;
    let directly_below = match reach.below {
        hostadmin_domain::policy::Below::AllButOperators => customer.parent_id.is_none(),
        _ => customer.parent_id.as_deref() == Some(reach.account_id.as_str()),
    };
    if !directly_below {
        return Err(ApiError::field(
            "/customer_id",
            Invalid::new("not_directly_below", "a seller writes only to the accounts directly below it"),
        ));
    }
    let service_id = match service_id {
        None => None,
        Some(id) => {
            let service = access::service_in(conn, reach, authorized.clone(), id)?;
            if service.row.owner_id != customer.id {
                return Err(ApiError::field(
                    "/service_id",
                    Invalid::new("not_the_customers", "the service must belong to the account written to"),
                ));
            }
            Some(service.row.id)
        }
    };
    Ok(Parties { direction: Direction::Outgoing, customer, service_id })
}

/// One page of the tickets the actor reaches, newest first.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    _: Authorized,
    filter: TicketFilter,
    limit: i64,
) -> Result<Vec<TicketRow>, ApiError> {
    let reach = actor.reach();
    state.db.run(move |conn| Ok(ticket_store::list_in_reach(conn, &reach, &filter, limit)?)).await
}

/// What a change of a ticket asks for: closing it, a new priority.
#[derive(Debug, Clone, Copy, Default)]
pub struct TicketUpdate {
    pub close: bool,
    pub priority: Option<Priority>,
}

/// Close a ticket or change its priority (either side). Asking for what already holds
/// changes nothing.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    ticket: Reached<TicketRow>,
    update: TicketUpdate,
    if_match: IfMatch,
) -> Result<TicketRow, ApiError> {
    ticket.expect(Action::WriteTickets)?;
    let context = AuditContext::of(actor);
    let id = ticket.row.id;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = ticket_store::find(conn, &id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(row.version)?;
            let changes = TicketChanges {
                status: update.close.then(|| row.status.after(TicketEvent::Close)).filter(|s| *s != row.status),
                priority: update.priority.filter(|p| *p != row.priority),
                replied_at: None,
            };
            if changes.status.is_none() && changes.priority.is_none() {
                return Ok(row);
            }
            if !ticket_store::update(conn, &row.id, row.version, &changes, now)? {
                return Err(ApiError::Busy("the ticket changed during the request".into()));
            }
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::TICKET_UPDATE,
                    target_type: target::TICKET,
                    target_id: &row.id,
                    account_id: Some(&row.customer_id),
                    details: serde_json::json!({ "status": changes.status, "priority": changes.priority }),
                },
                now,
            )?;
            ticket_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)
        })
        .await
}

/// A reply, as asked for (validated by the route).
#[derive(Debug, Clone)]
pub struct ReplyRequest {
    pub body: MessageBody,
    /// A note for the seller's side only.
    pub internal: bool,
    /// Attachments the author uploaded to the ticket and no message carries yet.
    pub attachment_ids: Vec<String>,
}

/// A message with the files it carries.
#[derive(Debug, Clone)]
pub struct Message {
    pub row: MessageRow,
    pub attachments: Vec<AttachmentRow>,
}

/// Answer a ticket. A reply from the customer's side makes it `open`, from the seller's
/// side `answered` (either reopens a closed one), and mails the other side; an internal
/// note (the seller's side only) changes nothing the customer's side sees and mails
/// nobody.
pub async fn reply(
    state: &AppState,
    actor: &Actor,
    ticket: Reached<TicketRow>,
    request: ReplyRequest,
) -> Result<Message, ApiError> {
    ticket.expect(Action::WriteTickets)?;
    let side = side_of(&ticket);
    if request.internal && !side.sees_internal_notes() {
        return Err(ApiError::forbidden("internal notes are the seller's side's"));
    }
    let attachment_ids = attachment_ids(&request.attachment_ids)?;
    let context = AuditContext::of(actor);
    let config = state.config.clone();
    let me = actor.account_id.clone();
    let id = ticket.row.id;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = ticket_store::find(conn, &id)?.ok_or_else(ApiError::not_found)?;
            if !request.internal {
                let changes = TicketChanges {
                    status: Some(row.status.after(TicketEvent::Reply(side))),
                    priority: None,
                    replied_at: Some(now),
                };
                if !ticket_store::update(conn, &row.id, row.version, &changes, now)? {
                    return Err(ApiError::Busy("the ticket changed during the request".into()));
                }
            }
            let message_id = new_id();
            let message = NewMessage {
                id: &message_id,
                ticket_id: &row.id,
                author_id: &me,
                side,
                internal: request.internal,
                body: request.body.as_str(),
                now,
            };
            ticket_store::insert_message(conn, &message)?;
            for (index, attachment_id) in attachment_ids.iter().enumerate() {
                take_attachment(conn, &row.id, attachment_id, &me, &message_id, index)?;
            }
            audit::record(conn, &context, reply_event(&row, &message, attachment_ids.len()), now)?;
            if !request.internal {
                let row = ticket_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)?;
                notify::answered(conn, &config, &row, side, request.body.as_str(), &me)?;
            }
            let row = ticket_store::find_message(conn, &row.id, &message_id, side)?
                .ok_or_else(|| ApiError::internal("the new message vanished"))?;
            let attachments = attachment_store::of_messages(conn, std::slice::from_ref(&message_id))?;
            Ok(Message { row, attachments })
        })
        .await
}

/// The audit event of a message: a reply is the ticket's customer's to read; an internal
/// note is filed under the seller (the provider's: operators only), so that the customer's
/// side never learns of it.
fn reply_event<'a>(ticket: &'a TicketRow, message: &'a NewMessage<'a>, attachments: usize) -> NewEvent<'a> {
    let details = serde_json::json!({
        "ticket_id": ticket.id, "number": ticket.number, "message_id": message.id, "side": message.side,
        "attachments": attachments,
    });
    if message.internal {
        NewEvent {
            action: actions::TICKET_INTERNAL_NOTE,
            target_type: target::TICKET_NOTE,
            target_id: message.id,
            account_id: ticket.seller_id.as_deref(),
            details,
        }
    } else {
        NewEvent {
            action: actions::TICKET_REPLY,
            target_type: target::TICKET,
            target_id: &ticket.id,
            account_id: Some(&ticket.customer_id),
            details,
        }
    }
}

/// The attachment ids of a reply: at most ten, each once; malformed ones name nothing (404).
fn attachment_ids(ids: &[String]) -> Result<Vec<String>, ApiError> {
    if ids.len() > MAX_ATTACHMENTS_PER_MESSAGE {
        return Err(ApiError::field(
            "/attachment_ids",
            Invalid::new("too_many", format!("at most {MAX_ATTACHMENTS_PER_MESSAGE} attachments per message")),
        ));
    }
    let mut seen = Vec::with_capacity(ids.len());
    for (index, id) in ids.iter().enumerate() {
        if seen.contains(id) {
            return Err(ApiError::field(format!("/attachment_ids/{index}"), Invalid::new("duplicate", "listed twice")));
        }
        seen.push(id.clone());
    }
    seen.into_iter().map(|id| parse_id(&id).ok_or_else(ApiError::not_found)).collect()
}

/// Gives the author's pending attachment to its new message: another's, another
/// ticket's or an unknown one is 404; one a message already carries is `409
/// attachment_in_use`.
fn take_attachment(
    conn: &mut DbConnection,
    ticket_id: &str,
    attachment_id: &str,
    author_id: &str,
    message_id: &str,
    index: usize,
) -> Result<(), ApiError> {
    let attachment = attachment_store::find(conn, ticket_id, attachment_id)?
        .filter(|a| a.uploader_id == author_id)
        .ok_or_else(ApiError::not_found)?;
    if attachment.message_id.is_some() || !attachment_store::attach(conn, &attachment.id, message_id)? {
        return Err(ApiError::conflict(
            "attachment_in_use",
            format!("attachment_ids/{index} is already on a message; upload the file again to send it twice"),
        ));
    }
    Ok(())
}

/// One page of the ticket's messages that the actor's side sees, newest first, each with
/// its attachments.
pub async fn messages(
    state: &AppState,
    ticket: Reached<TicketRow>,
    before_id: Option<String>,
    limit: i64,
) -> Result<Vec<Message>, ApiError> {
    ticket.expect(Action::ReadTickets)?;
    let side = side_of(&ticket);
    let id = ticket.row.id;
    state
        .db
        .run(move |conn| {
            let rows = ticket_store::messages(conn, &id, side, before_id.as_deref(), limit)?;
            let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
            let mut attachments = attachment_store::of_messages(conn, &ids)?;
            Ok(rows
                .into_iter()
                .map(|row| {
                    let (own, rest) = attachments.drain(..).partition(|a| a.message_id.as_deref() == Some(&row.id));
                    attachments = rest;
                    Message { row, attachments: own }
                })
                .collect())
        })
        .await
}
