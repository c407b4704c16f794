//! Files attached to tickets, stored in the database beside their ticket: an upload is
//! one insert, so a refused or failed upload leaves nothing behind. An attachment is its
//! uploader's alone until one of the uploader's messages takes it; from then on it is
//! seen by whoever sees that message. The content is read only by [`content`]: lists and
//! lookups never load it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hostadmin_domain::support::{AttachmentType, Side};

use crate::columns::Text;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::ticket_attachments;

/// An attachment without its content.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ticket_attachments, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct AttachmentRow {
    pub id: String,
    pub ticket_id: String,
    /// The message that carries it; `None` while only its uploader has it.
    pub message_id: Option<String>,
    pub uploader_id: String,
    #[diesel(deserialize_as = Text<Side>)]
    pub side: Side,
    pub filename: String,
    /// Checked against the content when it was uploaded.
    #[diesel(deserialize_as = Text<AttachmentType>)]
    pub content_type: AttachmentType,
    pub size: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct NewAttachment<'a> {
    pub id: &'a str,
    pub ticket_id: &'a str,
    pub uploader_id: &'a str,
    pub side: Side,
    pub filename: &'a str,
    pub content_type: AttachmentType,
    pub sha256: &'a str,
    pub content: &'a [u8],
    pub now: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewAttachment<'_>) -> Result<(), StoreError> {
    let size = i64::try_from(new.content.len())
        .map_err(|_| StoreError::Corrupt(format!("an attachment of {} bytes", new.content.len())))?;
    diesel::insert_into(ticket_attachments::table)
        .values((
            ticket_attachments::id.eq(new.id),
            ticket_attachments::ticket_id.eq(new.ticket_id),
            ticket_attachments::uploader_id.eq(new.uploader_id),
            ticket_attachments::side.eq(new.side.as_str()),
            ticket_attachments::filename.eq(new.filename),
            ticket_attachments::content_type.eq(new.content_type.as_str()),
            ticket_attachments::size.eq(size),
            ticket_attachments::sha256.eq(new.sha256),
            ticket_attachments::content.eq(new.content),
            ticket_attachments::created_at.eq(new.now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The attachment `id` of the ticket (whoever may see it).
pub fn find(conn: &mut DbConnection, ticket_id: &str, id: &str) -> Result<Option<AttachmentRow>, StoreError> {
    Ok(ticket_attachments::table
        .filter(ticket_attachments::ticket_id.eq(ticket_id))
        .filter(ticket_attachments::id.eq(id))
        .select(AttachmentRow::as_select())
        .first(conn)
        .optional()?)
}

/// The stored bytes of an attachment.
pub fn content(conn: &mut DbConnection, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(ticket_attachments::table
        .filter(ticket_attachments::id.eq(id))
        .select(ticket_attachments::content)
        .first(conn)
        .optional()?)
}

/// The attachments the given messages carry, oldest first.
pub fn of_messages(conn: &mut DbConnection, message_ids: &[String]) -> Result<Vec<AttachmentRow>, StoreError> {
    if message_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ticket_attachments::table
        .filter(ticket_attachments::message_id.eq_any(message_ids))
        .order(ticket_attachments::id.asc())
        .select(AttachmentRow::as_select())
        .load(conn)?)
}

/// Gives a pending attachment to a message; answers whether it was still pending.
pub fn attach(conn: &mut DbConnection, id: &str, message_id: &str) -> Result<bool, StoreError> {
    let updated = diesel::update(
        ticket_attachments::table
            .filter(ticket_attachments::id.eq(id))
            .filter(ticket_attachments::message_id.is_null()),
    )
    .set(ticket_attachments::message_id.eq(message_id))
    .execute(conn)?;
    Ok(updated == 1)
}

/// How many attachments `uploader_id` holds on the ticket that no message carries yet.
pub fn count_pending(conn: &mut DbConnection, ticket_id: &str, uploader_id: &str) -> Result<i64, StoreError> {
    Ok(ticket_attachments::table
        .filter(ticket_attachments::ticket_id.eq(ticket_id))
        .filter(ticket_attachments::uploader_id.eq(uploader_id))
        .filter(ticket_attachments::message_id.is_null())
        .count()
        .get_result(conn)?)
}

/// Deletes attachments that no message took since before `uploaded_before`; answers how
/// many. Set-based, safe from any number of workers.
pub fn prune_pending(conn: &mut DbConnection, uploaded_before: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        ticket_attachments::table
            .filter(ticket_attachments::message_id.is_null())
            .filter(ticket_attachments::created_at.lt(uploaded_before)),
    )
    .execute(conn)?)
}
