//! An account's second factor: its sealed TOTP secret (and a pending one during
//! enrolment), the last accepted step, and its recovery codes.
//!
//! Every transition is a conditional UPDATE, so two instances (or two requests) can
//! never both accept one code, both spend one recovery code, or both finish one
//! enrolment.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{accounts, recovery_codes};

/// The stored second factor of one account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct TwoFactorRow {
    #[diesel(column_name = two_factor_enabled)]
    pub enabled: bool,
    #[diesel(column_name = totp_secret_sealed)]
    pub secret_sealed: Option<String>,
    #[diesel(column_name = totp_pending_secret_sealed)]
    pub pending_secret_sealed: Option<String>,
    #[diesel(column_name = totp_last_step)]
    pub last_step: Option<i64>,
}

pub fn find(conn: &mut DbConnection, account_id: &str) -> Result<Option<TwoFactorRow>, StoreError> {
    Ok(accounts::table.filter(accounts::id.eq(account_id)).select(TwoFactorRow::as_select()).first(conn).optional()?)
}

/// Keeps a new pending secret (replacing an earlier unconfirmed one); `false` when the
/// second factor is already on.
pub fn set_pending(
    conn: &mut DbConnection,
    account_id: &str,
    sealed: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        accounts::table.filter(accounts::id.eq(account_id)).filter(accounts::two_factor_enabled.eq(false)),
    )
    .set((accounts::totp_pending_secret_sealed.eq(sealed), accounts::updated_at.eq(now)))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Turns the second factor on with the pending secret that was checked (`false` when
/// it is on already or the pending secret changed meanwhile) and replaces the recovery
/// codes. `step` is the step of the confirming code, which therefore works once.
pub fn enable(
    conn: &mut DbConnection,
    account_id: &str,
    pending_sealed: &str,
    step: i64,
    recovery_code_hashes: &[String],
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        accounts::table
            .filter(accounts::id.eq(account_id))
            .filter(accounts::two_factor_enabled.eq(false))
            .filter(accounts::totp_pending_secret_sealed.eq(pending_sealed)),
    )
    .set((
        accounts::two_factor_enabled.eq(true),
        accounts::totp_secret_sealed.eq(pending_sealed),
        accounts::totp_pending_secret_sealed.eq(None::<String>),
        accounts::totp_last_step.eq(step),
        accounts::version.eq(accounts::version + 1),
        accounts::updated_at.eq(now),
    ))
    .execute(conn)?;
    if updated != 1 {
        return Ok(false);
    }
    diesel::delete(recovery_codes::table.filter(recovery_codes::account_id.eq(account_id))).execute(conn)?;
    // One row at a time: batch inserts are not available through MultiConnection.
    for hash in recovery_code_hashes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::account_id.eq(account_id),
                recovery_codes::code_hash.eq(hash),
                recovery_codes::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(true)
}

/// Records `step` as accepted; `false` when a code of this step or a later one was
/// accepted already (a replay, possibly on another instance at the same moment).
pub fn accept_step(conn: &mut DbConnection, account_id: &str, step: i64) -> Result<bool, StoreError> {
    let updated = diesel::update(
        accounts::table
            .filter(accounts::id.eq(account_id))
            .filter(accounts::two_factor_enabled.eq(true))
            .filter(accounts::totp_last_step.is_null().or(accounts::totp_last_step.lt(step))),
    )
    .set(accounts::totp_last_step.eq(step))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Spends a recovery code; `false` when it is unknown or spent already.
pub fn spend_recovery_code(
    conn: &mut DbConnection,
    account_id: &str,
    code_hash: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::account_id.eq(account_id))
            .filter(recovery_codes::code_hash.eq(code_hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

/// How many recovery codes are left unspent.
pub fn recovery_codes_left(conn: &mut DbConnection, account_id: &str) -> Result<i64, StoreError> {
    Ok(recovery_codes::table
        .filter(recovery_codes::account_id.eq(account_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Turns the second factor off and forgets its secrets and recovery codes; `false`
/// when there was nothing to forget (neither on nor being enrolled).
pub fn disable(conn: &mut DbConnection, account_id: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    let updated = diesel::update(
        accounts::table
            .filter(accounts::id.eq(account_id))
            .filter(accounts::two_factor_enabled.eq(true).or(accounts::totp_pending_secret_sealed.is_not_null())),
    )
    .set((
        accounts::two_factor_enabled.eq(false),
        accounts::totp_secret_sealed.eq(None::<String>),
        accounts::totp_pending_secret_sealed.eq(None::<String>),
        accounts::totp_last_step.eq(None::<i64>),
        accounts::version.eq(accounts::version + 1),
        accounts::updated_at.eq(now),
    ))
    .execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::account_id.eq(account_id))).execute(conn)?;
    Ok(updated == 1)
}
