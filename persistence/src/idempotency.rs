//! Idempotency records: the first request with a key claims it, its answer is stored,
//! retries get that answer back for 24 hours.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::idempotency_keys;

#[derive(Debug, Clone, Queryable)]
pub struct IdempotencyRow {
    pub principal: String,
    pub idempotency_key: String,
    pub method: String,
    pub path: String,
    pub request_hash: String,
    pub status_code: Option<i32>,
    pub response_body: Option<String>,
    pub response_headers: Option<String>,
    pub locked_until: Option<NaiveDateTime>,
    pub expires_at: NaiveDateTime,
}

/// What claiming a key found.
#[derive(Debug)]
pub enum Claim {
    /// The key is ours: run the request, then [`complete`] or [`release`] it.
    Claimed,
    /// The key was used before (or is in use): compare and replay, or refuse.
    Existing(IdempotencyRow),
}

#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub principal: &'a str,
    pub key: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub request_hash: &'a str,
}

/// Claims the key for this request. An expired record, or one whose first request died
/// without finishing (its lock ran out), is taken over.
pub fn claim(
    conn: &mut DbConnection,
    request: &Request<'_>,
    now: NaiveDateTime,
    lock_until: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<Claim, StoreError> {
    let existing: Option<IdempotencyRow> = idempotency_keys::table
        .filter(idempotency_keys::principal.eq(request.principal))
        .filter(idempotency_keys::idempotency_key.eq(request.key))
        .select((
            idempotency_keys::principal,
            idempotency_keys::idempotency_key,
            idempotency_keys::method,
            idempotency_keys::path,
            idempotency_keys::request_hash,
            idempotency_keys::status_code,
            idempotency_keys::response_body,
            idempotency_keys::response_headers,
            idempotency_keys::locked_until,
            idempotency_keys::expires_at,
        ))
        .first(conn)
        .optional()?;
    if let Some(row) = existing {
        let abandoned = row.status_code.is_none() && row.locked_until.is_some_and(|until| until < now);
        if row.expires_at > now && !abandoned {
            return Ok(Claim::Existing(row));
        }
        diesel::delete(
            idempotency_keys::table
                .filter(idempotency_keys::principal.eq(request.principal))
                .filter(idempotency_keys::idempotency_key.eq(request.key)),
        )
        .execute(conn)?;
    }
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::principal.eq(request.principal),
            idempotency_keys::idempotency_key.eq(request.key),
            idempotency_keys::method.eq(request.method),
            idempotency_keys::path.eq(request.path),
            idempotency_keys::request_hash.eq(request.request_hash),
            idempotency_keys::locked_until.eq(lock_until),
            idempotency_keys::created_at.eq(now),
            idempotency_keys::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map_err(|error| match StoreError::from(error) {
            // A parallel request with the same key inserted it between our read and our
            // insert: a lost race, not a failure. Retrying the transaction reads its row
            // (and answers `idempotency_in_progress` or the replay).
            StoreError::Unique(cause) => StoreError::Busy(cause),
            other => other,
        })?;
    Ok(Claim::Claimed)
}

/// Stores the answer of the request that claimed the key.
pub fn complete(
    conn: &mut DbConnection,
    principal: &str,
    key: &str,
    status_code: i32,
    body: &str,
    headers: &str,
) -> Result<(), StoreError> {
    diesel::update(
        idempotency_keys::table
            .filter(idempotency_keys::principal.eq(principal))
            .filter(idempotency_keys::idempotency_key.eq(key)),
    )
    .set((
        idempotency_keys::status_code.eq(status_code),
        idempotency_keys::response_body.eq(body),
        idempotency_keys::response_headers.eq(headers),
        idempotency_keys::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Gives the key back (the request failed in a way a retry may fix: 5xx, 429).
pub fn release(conn: &mut DbConnection, principal: &str, key: &str) -> Result<(), StoreError> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::principal.eq(principal))
            .filter(idempotency_keys::idempotency_key.eq(key))
            .filter(idempotency_keys::status_code.is_null()),
    )
    .execute(conn)?;
    Ok(())
}

/// Deletes expired records (run by the worker).
pub fn prune(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(idempotency_keys::table.filter(idempotency_keys::expires_at.lt(now))).execute(conn)?)
}
