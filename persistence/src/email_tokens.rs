//! One-time tokens sent by mail (verification, password reset, the welcome mail's
//! set-password link). Only the SHA-256 digest is stored; a token is bound to one
//! account and to the address it was sent to, expires, and is spent by its first use.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::columns::Text;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::email_tokens;

pub use hostadmin_domain::credentials::EmailTokenPurpose as Purpose;

/// A token as stored (its digest), with what it may be used for.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_tokens, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct EmailTokenRow {
    pub token_hash: String,
    #[diesel(deserialize_as = Text<Purpose>)]
    pub purpose: Purpose,
    pub account_id: String,
    /// The lowercase address the token was sent to.
    pub email: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone)]
pub struct NewEmailToken<'a> {
    pub token_hash: &'a str,
    pub purpose: Purpose,
    pub account_id: &'a str,
    pub email: &'a str,
    pub now: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewEmailToken<'_>) -> Result<(), StoreError> {
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::token_hash.eq(new.token_hash),
            email_tokens::purpose.eq(new.purpose.as_str()),
            email_tokens::account_id.eq(new.account_id),
            email_tokens::email.eq(new.email.trim().to_lowercase()),
            email_tokens::created_at.eq(new.now),
            email_tokens::expires_at.eq(new.expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, token_hash: &str) -> Result<Option<EmailTokenRow>, StoreError> {
    Ok(email_tokens::table
        .filter(email_tokens::token_hash.eq(token_hash))
        .select(EmailTokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// Spends an unused token; false when it was already spent (two requests raced for it:
/// only one wins).
pub fn spend(conn: &mut DbConnection, token_hash: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    let updated = diesel::update(
        email_tokens::table.filter(email_tokens::token_hash.eq(token_hash)).filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Spends every open token of these purposes of the account: a used reset makes the
/// other reset links worthless, a verified address the other verification links.
pub fn spend_all_of(
    conn: &mut DbConnection,
    account_id: &str,
    purposes: &[Purpose],
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    let names: Vec<&str> = purposes.iter().map(|p| p.as_str()).collect();
    Ok(diesel::update(
        email_tokens::table
            .filter(email_tokens::account_id.eq(account_id))
            .filter(email_tokens::purpose.eq_any(names))
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(Some(now)))
    .execute(conn)?)
}

/// Deletes tokens that expired before `before`.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(email_tokens::table.filter(email_tokens::expires_at.lt(before))).execute(conn)?)
}

/// What a verification token proves: the account owns the address it was sent to.
/// When that address is the pending one, it becomes the account's address; answers
/// false when the account's addresses no longer include it (the token is stale).
pub fn confirm_address(
    conn: &mut DbConnection,
    account_id: &str,
    email_normalized: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    use crate::schema::accounts;
    let (email, pending): (String, Option<String>) = accounts::table
        .filter(accounts::id.eq(account_id))
        .select((accounts::email_normalized, accounts::pending_email))
        .first(conn)?;
    let target = accounts::table.filter(accounts::id.eq(account_id));
    if pending.as_deref().is_some_and(|p| p.trim().to_lowercase() == email_normalized) {
        let new_email = pending.unwrap_or_default();
        diesel::update(target)
            .set((
                accounts::email.eq(&new_email),
                accounts::email_normalized.eq(email_normalized),
                accounts::pending_email.eq(None::<String>),
                accounts::email_verified.eq(true),
                accounts::version.eq(accounts::version + 1),
                accounts::updated_at.eq(now),
            ))
            .execute(conn)?;
        return Ok(true);
    }
    if email == email_normalized {
        diesel::update(target)
            .set((
                accounts::email_verified.eq(true),
                accounts::version.eq(accounts::version + 1),
                accounts::updated_at.eq(now),
            ))
            .execute(conn)?;
        return Ok(true);
    }
    Ok(false)
}
