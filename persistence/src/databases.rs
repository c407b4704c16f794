//! Databases of hosting services. Stored names and users are unique per engine: the
//! unique indexes `databases_engine_name_key` and `databases_engine_user_key` decide,
//! also between parallel creations. The password is kept sealed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::escape_like;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::databases;

#[derive(Debug, Clone, Queryable)]
pub struct DatabaseRow {
    pub id: String,
    pub service_id: String,
    pub engine: String,
    pub name: String,
    pub db_user: String,
    pub password_sealed: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

type Columns = (
    databases::id,
    databases::service_id,
    databases::engine,
    databases::name,
    databases::db_user,
    databases::password_sealed,
    databases::version,
    databases::created_at,
    databases::updated_at,
);
const COLUMNS: Columns = (
    databases::id,
    databases::service_id,
    databases::engine,
    databases::name,
    databases::db_user,
    databases::password_sealed,
    databases::version,
    databases::created_at,
    databases::updated_at,
);

#[derive(Debug, Clone)]
pub struct NewDatabase {
    pub id: String,
    pub service_id: String,
    pub engine: String,
    pub name: String,
    pub db_user: String,
    pub password_sealed: String,
    pub now: NaiveDateTime,
}

/// Which stored name of an engine is taken already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseTaken {
    Name,
    User,
}

impl DatabaseTaken {
    /// Which rule a unique violation broke, from the index name (PostgreSQL) or the
    /// columns (SQLite: "UNIQUE constraint failed: databases.engine, databases.db_user").
    pub fn from_violation(constraint: &str) -> Option<Self> {
        if constraint.contains("databases_engine_user_key") || constraint.contains("databases.db_user") {
            Some(Self::User)
        } else if constraint.contains("databases_engine_name_key") || constraint.contains("databases.name") {
            Some(Self::Name)
        } else {
            None
        }
    }
}

/// Inserts the database; a taken name or user is `StoreError::Unique` (see
/// [`DatabaseTaken::from_violation`]).
pub fn insert(conn: &mut DbConnection, new: &NewDatabase) -> Result<(), StoreError> {
    diesel::insert_into(databases::table)
        .values((
            databases::id.eq(&new.id),
            databases::service_id.eq(&new.service_id),
            databases::engine.eq(&new.engine),
            databases::name.eq(&new.name),
            databases::db_user.eq(&new.db_user),
            databases::password_sealed.eq(&new.password_sealed),
            databases::version.eq(1_i64),
            databases::created_at.eq(new.now),
            databases::updated_at.eq(new.now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The database `id` of `service_id`, or `None` (also when it belongs to another service).
pub fn find_in_service(conn: &mut DbConnection, service_id: &str, id: &str) -> Result<Option<DatabaseRow>, StoreError> {
    Ok(databases::table
        .filter(databases::id.eq(id))
        .filter(databases::service_id.eq(service_id))
        .select(COLUMNS)
        .first(conn)
        .optional()?)
}

/// Every database, in id order: what `hostadmin reconcile` compares with the servers.
pub fn all(conn: &mut DbConnection) -> Result<Vec<DatabaseRow>, StoreError> {
    Ok(databases::table.select(COLUMNS).order(databases::id).load(conn)?)
}

/// The database `id`, whichever service holds it (the worker's driver calls).
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<DatabaseRow>, StoreError> {
    Ok(databases::table.filter(databases::id.eq(id)).select(COLUMNS).first(conn).optional()?)
}

#[derive(Debug, Clone, Default)]
pub struct DatabaseFilter {
    pub engine: Option<String>,
    /// A lowercase prefix of the stored name.
    pub q: Option<String>,
    pub before_id: Option<String>,
}

/// The service's databases, newest first (ids are UUIDv7).
pub fn list(
    conn: &mut DbConnection,
    service_id: &str,
    filter: &DatabaseFilter,
    limit: i64,
) -> Result<Vec<DatabaseRow>, StoreError> {
    let mut query = databases::table.filter(databases::service_id.eq(service_id)).into_boxed();
    if let Some(engine) = &filter.engine {
        query = query.filter(databases::engine.eq(engine));
    }
    if let Some(q) = &filter.q {
        query = query.filter(databases::name.like(format!("{}%", escape_like(q))).escape('\\'));
    }
    if let Some(before) = &filter.before_id {
        query = query.filter(databases::id.lt(before));
    }
    Ok(query.order(databases::id.desc()).limit(limit).select(COLUMNS).load(conn)?)
}

/// Replaces the sealed password if the database is still at `expected_version`;
/// answers whether it did.
pub fn set_password(
    conn: &mut DbConnection,
    id: &str,
    expected_version: i64,
    password_sealed: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated =
        diesel::update(databases::table.filter(databases::id.eq(id)).filter(databases::version.eq(expected_version)))
            .set((
                databases::password_sealed.eq(password_sealed),
                databases::version.eq(expected_version + 1),
                databases::updated_at.eq(now),
            ))
            .execute(conn)?;
    Ok(updated == 1)
}

/// Removes the database if it is still at `expected_version`; answers whether it did.
pub fn delete(conn: &mut DbConnection, id: &str, expected_version: i64) -> Result<bool, StoreError> {
    let deleted =
        diesel::delete(databases::table.filter(databases::id.eq(id)).filter(databases::version.eq(expected_version)))
            .execute(conn)?;
    Ok(deleted == 1)
}
