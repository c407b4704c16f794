//! Files on tickets: uploaded to a ticket (already read within the size limit and typed
//! by their content), held by their uploader until one of its messages takes them, then
//! seen by whoever sees that message. Stored in the database in one insert, so a refused
//! or failed upload leaves nothing behind.

use actix_web::web::Bytes;
use chrono::Duration;
use sha2::{Digest, Sha256};

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::policy::{Action, Actor};
use hostadmin_domain::support::{AttachmentType, Filename, Side};
use hostadmin_domain::time;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::ticket_attachments::{self as attachment_store, AttachmentRow, NewAttachment};
use hostadmin_persistence::tickets::{self as ticket_store, TicketRow};

use crate::app::access::Reached;
use crate::app::support::side_of;
use crate::db::Db;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// Files one account may hold on a ticket before a message takes them.
pub const MAX_PENDING_PER_TICKET: i64 = 20;
/// Files no message took are removed after this long.
const PENDING_FOR_HOURS: i64 = 24;

/// A file to attach, already checked.
pub struct Upload {
    pub filename: Filename,
    pub content_type: AttachmentType,
    pub content: Bytes,
}

/// Attach a file to a ticket, for a message of the uploader's to take. `409
/// quota_exceeded` beyond [`MAX_PENDING_PER_TICKET`] files no message took yet.
pub async fn upload(
    state: &AppState,
    actor: &Actor,
    ticket: Reached<TicketRow>,
    upload: Upload,
) -> Result<AttachmentRow, ApiError> {
    ticket.expect(Action::WriteTickets)?;
    let side = side_of(&ticket);
    let sha256: String = Sha256::digest(&upload.content).iter().map(|b| format!("{b:02x}")).collect();
    let context = AuditContext::of(actor);
    let me = actor.account_id.clone();
    let id = ticket.row.id;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = ticket_store::find(conn, &id)?.ok_or_else(ApiError::not_found)?;
            if attachment_store::count_pending(conn, &row.id, &me)? >= MAX_PENDING_PER_TICKET {
                return Err(ApiError::conflict(
                    "quota_exceeded",
                    format!("at most {MAX_PENDING_PER_TICKET} files may wait for a message on one ticket"),
                ));
            }
            let attachment_id = new_id();
            attachment_store::insert(
                conn,
                &NewAttachment {
                    id: &attachment_id,
                    ticket_id: &row.id,
                    uploader_id: &me,
                    side,
                    filename: upload.filename.as_str(),
                    content_type: upload.content_type,
                    sha256: &sha256,
                    content: &upload.content,
                    now,
                },
            )?;
            // Filed under the uploader's side: a file meant for an internal note must not
            // show up in the customer's log.
            let account_id = match side {
                Side::Customer => Some(row.customer_id.as_str()),
                Side::Seller => row.seller_id.as_deref(),
            };
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::TICKET_ATTACHMENT_UPLOAD,
                    target_type: target::TICKET_ATTACHMENT,
                    target_id: &attachment_id,
                    account_id,
                    details: serde_json::json!({
                        "ticket_id": row.id, "filename": upload.filename.as_str(),
                        "content_type": upload.content_type, "size": upload.content.len(), "sha256": sha256,
                    }),
                },
                now,
            )?;
            attachment_store::find(conn, &row.id, &attachment_id)?
                .ok_or_else(|| ApiError::internal("the new attachment vanished"))
        })
        .await
}

/// The attachment `id` of the ticket with its content, if the actor sees it: its
/// uploader while no message carries it, then whoever sees the message (the customer's
/// side never sees an internal note's files). Anything else is 404.
pub async fn download(
    state: &AppState,
    actor: &Actor,
    ticket: Reached<TicketRow>,
    id: &str,
) -> Result<(AttachmentRow, Vec<u8>), ApiError> {
    ticket.expect(Action::ReadTickets)?;
    let side = side_of(&ticket);
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let me = actor.account_id.clone();
    let ticket_id = ticket.row.id;
    state
        .db
        .run(move |conn| {
            let row = attachment_store::find(conn, &ticket_id, &id)?.ok_or_else(ApiError::not_found)?;
            let visible = match &row.message_id {
                None => row.uploader_id == me,
                Some(message_id) => ticket_store::find_message(conn, &ticket_id, message_id, side)?.is_some(),
            };
            if !visible {
                return Err(ApiError::not_found());
            }
            let content = attachment_store::content(conn, &row.id)?.ok_or_else(ApiError::not_found)?;
            Ok((row, content))
        })
        .await
}

/// Removes files no message took within a day (their uploader gave up on them).
pub async fn prune(db: &Db) -> Result<usize, ApiError> {
    db.write(|conn| Ok(attachment_store::prune_pending(conn, time::now() - Duration::hours(PENDING_FOR_HOURS))?)).await
}
