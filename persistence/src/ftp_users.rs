//! FTP users of hosting services. Usernames are unique across the installation: the
//! unique index `ftp_users_username_key` decides, also between parallel creations.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::escape_like;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::ftp_users;

#[derive(Debug, Clone, Queryable)]
pub struct FtpUserRow {
    pub id: String,
    pub service_id: String,
    pub username: String,
    pub password_hash: String,
    pub directory: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

type Columns = (
    ftp_users::id,
    ftp_users::service_id,
    ftp_users::username,
    ftp_users::password_hash,
    ftp_users::directory,
    ftp_users::version,
    ftp_users::created_at,
    ftp_users::updated_at,
);
const COLUMNS: Columns = (
    ftp_users::id,
    ftp_users::service_id,
    ftp_users::username,
    ftp_users::password_hash,
    ftp_users::directory,
    ftp_users::version,
    ftp_users::created_at,
    ftp_users::updated_at,
);

#[derive(Debug, Clone)]
pub struct NewFtpUser {
    pub id: String,
    pub service_id: String,
    pub username: String,
    pub password_hash: String,
    pub directory: String,
    pub now: NaiveDateTime,
}

/// Whether a unique violation is the username's (the only unique rule of the table).
pub fn is_username_violation(constraint: &str) -> bool {
    // PostgreSQL names the index; SQLite says "UNIQUE constraint failed: ftp_users.username".
    constraint.contains("ftp_users_username_key") || constraint.contains("ftp_users.username")
}

/// Inserts the user; a taken username is `StoreError::Unique` (see
/// [`is_username_violation`]).
pub fn insert(conn: &mut DbConnection, new: &NewFtpUser) -> Result<(), StoreError> {
    diesel::insert_into(ftp_users::table)
        .values((
            ftp_users::id.eq(&new.id),
            ftp_users::service_id.eq(&new.service_id),
            ftp_users::username.eq(&new.username),
            ftp_users::password_hash.eq(&new.password_hash),
            ftp_users::directory.eq(&new.directory),
            ftp_users::version.eq(1_i64),
            ftp_users::created_at.eq(new.now),
            ftp_users::updated_at.eq(new.now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The FTP user `id` of `service_id`, or `None` (also when it belongs to another service).
pub fn find_in_service(conn: &mut DbConnection, service_id: &str, id: &str) -> Result<Option<FtpUserRow>, StoreError> {
    Ok(ftp_users::table
        .filter(ftp_users::id.eq(id))
        .filter(ftp_users::service_id.eq(service_id))
        .select(COLUMNS)
        .first(conn)
        .optional()?)
}

#[derive(Debug, Clone, Default)]
pub struct FtpUserFilter {
    /// A lowercase prefix of the username.
    pub q: Option<String>,
    pub before_id: Option<String>,
}

/// The service's FTP users, newest first (ids are UUIDv7).
pub fn list(
    conn: &mut DbConnection,
    service_id: &str,
    filter: &FtpUserFilter,
    limit: i64,
) -> Result<Vec<FtpUserRow>, StoreError> {
    let mut query = ftp_users::table.filter(ftp_users::service_id.eq(service_id)).into_boxed();
    if let Some(q) = &filter.q {
        query = query.filter(ftp_users::username.like(format!("{}%", escape_like(q))).escape('\\'));
    }
    if let Some(before) = &filter.before_id {
        query = query.filter(ftp_users::id.lt(before));
    }
    Ok(query.order(ftp_users::id.desc()).limit(limit).select(COLUMNS).load(conn)?)
}

/// Sets the password hash and the directory if the user is still at
/// `expected_version`; answers whether it did.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    expected_version: i64,
    password_hash: &str,
    directory: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated =
        diesel::update(ftp_users::table.filter(ftp_users::id.eq(id)).filter(ftp_users::version.eq(expected_version)))
            .set((
                ftp_users::password_hash.eq(password_hash),
                ftp_users::directory.eq(directory),
                ftp_users::version.eq(expected_version + 1),
                ftp_users::updated_at.eq(now),
            ))
            .execute(conn)?;
    Ok(updated == 1)
}

/// Removes the user if it is still at `expected_version`; answers whether it did.
pub fn delete(conn: &mut DbConnection, id: &str, expected_version: i64) -> Result<bool, StoreError> {
    let deleted =
        diesel::delete(ftp_users::table.filter(ftp_users::id.eq(id)).filter(ftp_users::version.eq(expected_version)))
            .execute(conn)?;
    Ok(deleted == 1)
}
