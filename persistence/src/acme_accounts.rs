//! The ACME account hostadmin made at each CA, its credentials sealed: made once and
//! used from then on, as CAs limit how many accounts one client creates.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::acme_accounts;

/// The sealed credentials of the account at `directory_url`, if one was made.
pub fn find(conn: &mut DbConnection, directory_url: &str) -> Result<Option<String>, StoreError> {
    Ok(acme_accounts::table
        .filter(acme_accounts::directory_url.eq(directory_url))
        .select(acme_accounts::credentials_sealed)
        .first(conn)
        .optional()?)
}

/// Keeps the account made at `directory_url`; the first one kept stays (a second
/// instance that made one at the same time keeps using its own until it restarts).
/// Run it in a transaction of its own: a lost race ends it.
pub fn keep(
    conn: &mut DbConnection,
    directory_url: &str,
    credentials_sealed: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    if find(conn, directory_url)?.is_some() {
        return Ok(());
    }
    let inserted = diesel::insert_into(acme_accounts::table)
        .values((
            acme_accounts::directory_url.eq(directory_url),
            acme_accounts::credentials_sealed.eq(credentials_sealed),
            acme_accounts::created_at.eq(now),
        ))
        .execute(conn);
    match inserted.map_err(StoreError::from) {
        Ok(_) | Err(StoreError::Unique(_)) => Ok(()),
        Err(other) => Err(other),
    }
}
