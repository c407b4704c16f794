//! Where a hosting resource stands on the real server behind it: `pending` while the
//! worker carries a change out (with the last error while it retries), `ready`, or
//! `failed` with the driver's reason. A resource without a row is kept by the built-in
//! driver, and ready.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::provisioning_states as states;

#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct StateRow {
    pub resource_kind: String,
    pub resource_id: String,
    pub status: String,
    pub error: Option<String>,
    pub updated_at: NaiveDateTime,
}

/// Sets the resource's state (inside the caller's transaction).
pub fn set(
    conn: &mut DbConnection,
    kind: &str,
    id: &str,
    status: &str,
    error: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let key = states::resource_kind.eq(kind).and(states::resource_id.eq(id));
    let updated = diesel::update(states::table.filter(key))
        .set((states::status.eq(status), states::error.eq(error), states::updated_at.eq(now)))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(states::table)
            .values((
                states::resource_kind.eq(kind),
                states::resource_id.eq(id),
                states::status.eq(status),
                states::error.eq(error),
                states::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn find(conn: &mut DbConnection, kind: &str, id: &str) -> Result<Option<StateRow>, StoreError> {
    Ok(states::table
        .filter(states::resource_kind.eq(kind).and(states::resource_id.eq(id)))
        .first::<StateRow>(conn)
        .optional()?)
}

/// The states of `ids` of one kind (a page of a list).
pub fn of(conn: &mut DbConnection, kind: &str, ids: &[String]) -> Result<Vec<StateRow>, StoreError> {
    Ok(states::table
        .filter(states::resource_kind.eq(kind).and(states::resource_id.eq_any(ids)))
        .load::<StateRow>(conn)?)
}

/// Forgets a removed resource's state.
pub fn forget(conn: &mut DbConnection, kind: &str, id: &str) -> Result<(), StoreError> {
    diesel::delete(states::table.filter(states::resource_kind.eq(kind).and(states::resource_id.eq(id))))
        .execute(conn)?;
    Ok(())
}
