//! Tickets, their messages and attachments as the API shows them (the ticket and the
//! attachment routes).

use actix_web::http::header;
use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use hostadmin_domain::support::{AttachmentType, Direction, Priority, Side, TicketStatus};
use hostadmin_domain::time;
use hostadmin_persistence::ticket_attachments::AttachmentRow;
use hostadmin_persistence::tickets::TicketRow;

use crate::app::support::Message;
use crate::http::etag::etag;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-0000-7000-8000-000000000001", "number": 42, "subject": "Mail does not arrive",
    "status": "open", "priority": "high", "direction": "incoming",
    "customer_id": "0193a1b2-0000-7000-8000-0000000000c1", "seller_id": "0193a1b2-0000-7000-8000-0000000000a1",
    "service_id": null, "created_by": "0193a1b2-0000-7000-8000-0000000000c1",
    "last_reply_at": "2026-12-05T09:30:00Z", "created_at": "2026-12-05T09:30:00Z", "updated_at": "2026-12-05T09:30:00Z"
}))]
pub struct TicketView {
    pub id: String,
    /// Gapless per seller: the seller's first ticket is 1.
    pub number: i64,
    pub subject: String,
    /// `open`: the seller's side is to answer; `answered`: the customer's side; `closed`.
    pub status: TicketStatus,
    pub priority: Priority,
    /// `incoming`: the customer's side wrote to its seller; `outgoing`: the seller wrote
    /// to the customer.
    pub direction: Direction,
    /// The account the ticket is about (for a ticket about a service: its owner).
    pub customer_id: String,
    /// The account above the customer; null: the provider (operators answer).
    pub seller_id: Option<String>,
    pub service_id: Option<String>,
    /// Who opened it (the customer, a user it granted `support`, or the seller).
    pub created_by: String,
    /// The last reply either side can see.
    pub last_reply_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TicketView {
    pub fn from_row(row: &TicketRow) -> Self {
        Self {
            id: row.id.clone(),
            number: row.number,
            subject: row.subject.clone(),
            status: row.status,
            priority: row.priority,
            direction: row.direction,
            customer_id: row.customer_id.clone(),
            seller_id: row.seller_id.clone(),
            service_id: row.service_id.clone(),
            created_by: row.created_by.clone(),
            last_reply_at: time::to_utc(row.last_reply_at),
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
        }
    }
}

/// An answer with the ticket and its `ETag`.
pub fn ticket_response(mut builder: actix_web::HttpResponseBuilder, row: &TicketRow) -> HttpResponse {
    builder.insert_header((header::ETAG, etag(row.version))).json(TicketView::from_row(row))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-0000-7000-8000-0000000000f1", "filename": "screenshot.png", "content_type": "image/png",
    "size": 48213, "message_id": null, "created_at": "2026-12-05T09:31:00Z"
}))]
pub struct AttachmentView {
    pub id: String,
    pub filename: String,
    /// As found in the content (the declared type must agree with it).
    pub content_type: AttachmentType,
    /// Bytes.
    pub size: i64,
    /// The message that carries it; null while only its uploader has it.
    pub message_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl AttachmentView {
    pub fn from_row(row: &AttachmentRow) -> Self {
        Self {
            id: row.id.clone(),
            filename: row.filename.clone(),
            content_type: row.content_type,
            size: row.size,
            message_id: row.message_id.clone(),
            created_at: time::to_utc(row.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-0000-7000-8000-0000000000e1", "ticket_id": "0193a1b2-0000-7000-8000-000000000001",
    "author_id": "0193a1b2-0000-7000-8000-0000000000a1", "side": "seller", "internal": false,
    "body": "We restarted the mail server; please try again.", "attachments": [],
    "created_at": "2026-12-05T09:45:00Z"
}))]
pub struct MessageView {
    pub id: String,
    pub ticket_id: String,
    pub author_id: String,
    /// The side the author wrote for.
    pub side: Side,
    /// A note for the seller's side; the customer's side never sees one.
    pub internal: bool,
    pub body: String,
    pub attachments: Vec<AttachmentView>,
    pub created_at: DateTime<Utc>,
}

impl MessageView {
    pub fn from_message(message: &Message) -> Self {
        let row = &message.row;
        Self {
            id: row.id.clone(),
            ticket_id: row.ticket_id.clone(),
            author_id: row.author_id.clone(),
            side: row.side,
            internal: row.internal,
            body: row.body.clone(),
            attachments: message.attachments.iter().map(AttachmentView::from_row).collect(),
            created_at: time::to_utc(row.created_at),
        }
    }
}
