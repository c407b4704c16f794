//! API keys: stored as a SHA-256 digest with a visible prefix, revocable, expiring.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use hostadmin_domain::scopes::ScopeSet;

use crate::columns::Listed;
use crate::connection::{natively, DbConnection};
use crate::error::StoreError;
use crate::schema::api_keys;

/// An API key as stored (never the key itself: its digest stays in the table).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ApiKeyRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub prefix: String,
    #[diesel(deserialize_as = Listed<ScopeSet>)]
    pub scopes: ScopeSet,
    pub expires_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub scopes: &'a ScopeSet,
    pub expires_at: Option<NaiveDateTime>,
    pub now: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, key: &NewApiKey<'_>) -> Result<(), StoreError> {
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(key.id),
            api_keys::account_id.eq(key.account_id),
            api_keys::name.eq(key.name),
            api_keys::prefix.eq(key.prefix),
            api_keys::key_hash.eq(key.key_hash),
            api_keys::scopes.eq(key.scopes.to_storage()),
            api_keys::expires_at.eq(key.expires_at),
            api_keys::created_at.eq(key.now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<ApiKeyRow>, StoreError> {
    Ok(api_keys::table.filter(api_keys::id.eq(id)).select(ApiKeyRow::as_select()).first(conn).optional()?)
}

/// The key presented as a bearer token, by its digest, whether or not it is still valid.
pub fn find_by_hash(conn: &mut DbConnection, key_hash: &str) -> Result<Option<ApiKeyRow>, StoreError> {
    Ok(natively!(conn => api_keys::table
        .filter(api_keys::key_hash.eq(key_hash))
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional())?)
}

/// The account's keys that are not revoked, newest first, after the cursor.
pub fn list_for_account(
    conn: &mut DbConnection,
    account_id: &str,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<ApiKeyRow>, StoreError> {
    let mut query =
        api_keys::table.filter(api_keys::account_id.eq(account_id)).filter(api_keys::revoked_at.is_null()).into_boxed();
    if let Some(before) = before_id {
        query = query.filter(api_keys::id.lt(before));
    }
    Ok(query.order(api_keys::id.desc()).limit(limit).select(ApiKeyRow::as_select()).load(conn)?)
}

/// Revokes one of the account's keys; `false` when it has no such (unrevoked) key.
pub fn revoke(conn: &mut DbConnection, account_id: &str, id: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    let updated = diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(id))
            .filter(api_keys::account_id.eq(account_id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Records a use, at most once a minute per key so that reads do not all become writes.
pub fn touch(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> Result<(), StoreError> {
    let a_minute_ago = now - chrono::Duration::minutes(1);
    diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(id))
            .filter(api_keys::last_used_at.is_null().or(api_keys::last_used_at.lt(a_minute_ago))),
    )
    .set(api_keys::last_used_at.eq(now))
    .execute(conn)?;
    Ok(())
}
