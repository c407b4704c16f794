//! Login sessions and their rotating refresh tokens.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{refresh_tokens, sessions};

/// A session as stored: a login, or an impersonation (with its impersonator).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct SessionRow {
    pub id: String,
    pub account_id: String,
    pub impersonator_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
}

pub fn create(
    conn: &mut DbConnection,
    id: &str,
    account_id: &str,
    impersonator_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::account_id.eq(account_id),
            sessions::impersonator_id.eq(impersonator_id),
            sessions::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<SessionRow>, StoreError> {
    Ok(sessions::table.filter(sessions::id.eq(id)).select(SessionRow::as_select()).first(conn).optional()?)
}

/// Ends one session (idempotent: an ended session keeps its first end).
pub fn end(conn: &mut DbConnection, id: &str, reason: &str, now: NaiveDateTime) -> Result<(), StoreError> {
    diesel::update(sessions::table.filter(sessions::id.eq(id)).filter(sessions::ended_at.is_null()))
        .set((sessions::ended_at.eq(now), sessions::ended_reason.eq(reason)))
        .execute(conn)?;
    Ok(())
}

/// Ends every open session of an account, and the sessions in which it is impersonated.
pub fn end_all_of(
    conn: &mut DbConnection,
    account_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        sessions::table
            .filter(sessions::account_id.eq(account_id).or(sessions::impersonator_id.eq(account_id)))
            .filter(sessions::ended_at.is_null()),
    )
    .set((sessions::ended_at.eq(now), sessions::ended_reason.eq(reason)))
    .execute(conn)?)
}

pub fn add_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
    session_id: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A refresh token as stored (its digest).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub session_id: String,
    pub expires_at: NaiveDateTime,
    pub spent_at: Option<NaiveDateTime>,
}

pub fn find_refresh_token(conn: &mut DbConnection, token_hash: &str) -> Result<Option<RefreshTokenRow>, StoreError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// Spends a refresh token; `false` when it was already spent (by a concurrent request
/// too: the conditional update lets exactly one spender win).
pub fn spend_refresh_token(conn: &mut DbConnection, token_hash: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    let updated = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .filter(refresh_tokens::spent_at.is_null()),
    )
    .set(refresh_tokens::spent_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}
