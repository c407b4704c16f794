//! Failed logins, counted in the database so that every instance agrees on a lock.
//!
//! Subjects are digests ("login:<name>", "address:<ip>"): a login form's first field
//! sometimes holds a mistyped password, which must not be stored readable.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::login_failures;

pub fn record(conn: &mut DbConnection, subject: &str, at: NaiveDateTime) -> Result<(), StoreError> {
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(hostadmin_domain::ids::new_id()),
            login_failures::subject.eq(subject),
            login_failures::at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// How many failures the subject has since `since`, and the oldest of them (which
/// decides when the window frees a slot).
pub fn count_since(
    conn: &mut DbConnection,
    subject: &str,
    since: NaiveDateTime,
) -> Result<(i64, Option<NaiveDateTime>), StoreError> {
    let recent = login_failures::table.filter(login_failures::subject.eq(subject)).filter(login_failures::at.gt(since));
    let count: i64 = recent.count().get_result(conn)?;
    let oldest: Option<NaiveDateTime> =
        recent.select(login_failures::at).order(login_failures::at.asc()).first(conn).optional()?;
    Ok((count, oldest))
}

/// Forgets failures older than the window (run by the worker).
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(login_failures::table.filter(login_failures::at.lt(before))).execute(conn)?)
}
