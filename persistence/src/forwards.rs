//! Forwards of a service: a source address on one of its domains delivered on to 1-50
//! destinations. Every query names the service, as for mailboxes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::escape_like;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::forwards;

#[derive(Debug, Clone, Queryable)]
pub struct ForwardRow {
    pub id: String,
    pub service_id: String,
    pub domain_id: String,
    pub source: String,
    /// A JSON array of addresses (an address may hold a space inside quotes).
    pub destinations: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

type Columns = (
    forwards::id,
    forwards::service_id,
    forwards::domain_id,
    forwards::source,
    forwards::destinations,
    forwards::version,
    forwards::created_at,
    forwards::updated_at,
);
const COLUMNS: Columns = (
    forwards::id,
    forwards::service_id,
    forwards::domain_id,
    forwards::source,
    forwards::destinations,
    forwards::version,
    forwards::created_at,
    forwards::updated_at,
);

#[derive(Debug, Clone)]
pub struct NewForward {
    pub id: String,
    pub service_id: String,
    pub domain_id: String,
    pub source: String,
    pub destinations: String,
}

pub fn insert(conn: &mut DbConnection, new: &NewForward, now: NaiveDateTime) -> Result<(), StoreError> {
    diesel::insert_into(forwards::table)
        .values((
            forwards::id.eq(&new.id),
            forwards::service_id.eq(&new.service_id),
            forwards::domain_id.eq(&new.domain_id),
            forwards::source.eq(&new.source),
            forwards::destinations.eq(&new.destinations),
            forwards::version.eq(1_i64),
            forwards::created_at.eq(now),
            forwards::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The forward `id` of `service_id`, or `None`.
pub fn find(conn: &mut DbConnection, service_id: &str, id: &str) -> Result<Option<ForwardRow>, StoreError> {
    Ok(forwards::table
        .filter(forwards::service_id.eq(service_id))
        .filter(forwards::id.eq(id))
        .select(COLUMNS)
        .first(conn)
        .optional()?)
}

/// A page of the service's forwards, newest first; `prefix` (lowercase) matches the
/// start of the source.
pub fn list(
    conn: &mut DbConnection,
    service_id: &str,
    prefix: Option<&str>,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<ForwardRow>, StoreError> {
    let mut query = forwards::table.filter(forwards::service_id.eq(service_id)).into_boxed();
    if let Some(prefix) = prefix {
        query = query.filter(forwards::source.like(format!("{}%", escape_like(prefix))).escape('\\'));
    }
    if let Some(before) = before_id {
        query = query.filter(forwards::id.lt(before.to_owned()));
    }
    Ok(query.order(forwards::id.desc()).limit(limit).select(COLUMNS).load(conn)?)
}

/// Replaces the destinations if the forward is still at `expected_version`; answers
/// whether it did.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    expected_version: i64,
    destinations: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let target = forwards::table.filter(forwards::id.eq(id)).filter(forwards::version.eq(expected_version));
    let updated = diesel::update(target)
        .set((
            forwards::destinations.eq(destinations),
            forwards::version.eq(expected_version + 1),
            forwards::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Removes the forward if it is still at `expected_version`; answers whether it did.
pub fn delete(conn: &mut DbConnection, id: &str, expected_version: i64) -> Result<bool, StoreError> {
    let removed =
        diesel::delete(forwards::table.filter(forwards::id.eq(id)).filter(forwards::version.eq(expected_version)))
            .execute(conn)?;
    Ok(removed == 1)
}
