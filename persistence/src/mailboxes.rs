//! Mailboxes of a service. Every query names the service: a mailbox is only ever found
//! through the service the caller reached, so another tenant's mailbox id finds nothing.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::escape_like;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::mailboxes;

#[derive(Debug, Clone, Queryable)]
pub struct MailboxRow {
    pub id: String,
    pub service_id: String,
    pub domain_id: String,
    pub address: String,
    /// Dovecot's form, `{ARGON2ID}$argon2id$...`; never sent to a client.
    pub password_hash: String,
    pub quota_mb: i64,
    pub description: String,
    pub panel_login: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

type Columns = (
    mailboxes::id,
    mailboxes::service_id,
    mailboxes::domain_id,
    mailboxes::address,
    mailboxes::password_hash,
    mailboxes::quota_mb,
    mailboxes::description,
    mailboxes::panel_login,
    mailboxes::version,
    mailboxes::created_at,
    mailboxes::updated_at,
);
const COLUMNS: Columns = (
    mailboxes::id,
    mailboxes::service_id,
    mailboxes::domain_id,
    mailboxes::address,
    mailboxes::password_hash,
    mailboxes::quota_mb,
    mailboxes::description,
    mailboxes::panel_login,
    mailboxes::version,
    mailboxes::created_at,
    mailboxes::updated_at,
);

#[derive(Debug, Clone)]
pub struct NewMailbox {
    pub id: String,
    pub service_id: String,
    pub domain_id: String,
    pub address: String,
    pub password_hash: String,
    pub quota_mb: i64,
    pub description: String,
    pub panel_login: bool,
}

pub fn insert(conn: &mut DbConnection, new: &NewMailbox, now: NaiveDateTime) -> Result<(), StoreError> {
    diesel::insert_into(mailboxes::table)
        .values((
            mailboxes::id.eq(&new.id),
            mailboxes::service_id.eq(&new.service_id),
            mailboxes::domain_id.eq(&new.domain_id),
            mailboxes::address.eq(&new.address),
            mailboxes::password_hash.eq(&new.password_hash),
            mailboxes::quota_mb.eq(new.quota_mb),
            mailboxes::description.eq(&new.description),
            mailboxes::panel_login.eq(new.panel_login),
            mailboxes::version.eq(1_i64),
            mailboxes::created_at.eq(now),
            mailboxes::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The mailbox `id` of `service_id`, or `None`.
pub fn find(conn: &mut DbConnection, service_id: &str, id: &str) -> Result<Option<MailboxRow>, StoreError> {
    Ok(mailboxes::table
        .filter(mailboxes::service_id.eq(service_id))
        .filter(mailboxes::id.eq(id))
        .select(COLUMNS)
        .first(conn)
        .optional()?)
}

/// A page of the service's mailboxes, newest first; `prefix` (lowercase) matches the
/// start of the address.
pub fn list(
    conn: &mut DbConnection,
    service_id: &str,
    prefix: Option<&str>,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<MailboxRow>, StoreError> {
    let mut query = mailboxes::table.filter(mailboxes::service_id.eq(service_id)).into_boxed();
    if let Some(prefix) = prefix {
        query = query.filter(mailboxes::address.like(format!("{}%", escape_like(prefix))).escape('\\'));
    }
    if let Some(before) = before_id {
        query = query.filter(mailboxes::id.lt(before.to_owned()));
    }
    Ok(query.order(mailboxes::id.desc()).limit(limit).select(COLUMNS).load(conn)?)
}

/// The sizes of the service's mailboxes summed, leaving out `except` (the one being
/// resized). Summed here rather than with SQL `SUM`, whose type differs between the
/// backends (PostgreSQL answers NUMERIC for a BIGINT sum); a service has few mailboxes.
pub fn quota_sum(conn: &mut DbConnection, service_id: &str, except: Option<&str>) -> Result<i64, StoreError> {
    let mut query = mailboxes::table.filter(mailboxes::service_id.eq(service_id)).into_boxed();
    if let Some(except) = except {
        query = query.filter(mailboxes::id.ne(except.to_owned()));
    }
    let sizes: Vec<i64> = query.select(mailboxes::quota_mb).load(conn)?;
    Ok(sizes.into_iter().fold(0_i64, i64::saturating_add))
}

/// What a change sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MailboxChanges {
    pub password_hash: Option<String>,
    pub quota_mb: Option<i64>,
    pub description: Option<String>,
}

/// Applies `changes` if the mailbox is still at `expected_version`; answers whether it did.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    expected_version: i64,
    changes: &MailboxChanges,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let target = mailboxes::table.filter(mailboxes::id.eq(id)).filter(mailboxes::version.eq(expected_version));
    let updated = diesel::update(target)
        .set((
            changes.password_hash.as_ref().map(|hash| mailboxes::password_hash.eq(hash.clone())),
            changes.quota_mb.map(|mb| mailboxes::quota_mb.eq(mb)),
            changes.description.as_ref().map(|text| mailboxes::description.eq(text.clone())),
            mailboxes::version.eq(expected_version + 1),
            mailboxes::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Removes the mailbox if it is still at `expected_version`; answers whether it did.
pub fn delete(conn: &mut DbConnection, id: &str, expected_version: i64) -> Result<bool, StoreError> {
    let removed =
        diesel::delete(mailboxes::table.filter(mailboxes::id.eq(id)).filter(mailboxes::version.eq(expected_version)))
            .execute(conn)?;
    Ok(removed == 1)
}
