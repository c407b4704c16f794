//! Where a hosting resource stands on the real server behind it: `pending` while the
//! worker carries a change out (with the last error while it retries), `ready`, or
//! `failed` with the driver's reason. A resource without a row is kept by the built-in
//! driver, and ready.
//!
//! `changes` counts the changes queued for the resource and `applied` how many of them a
//! successful job had seen before it read what to apply: the resource is ready when the
//! two are equal, not merely when some job succeeded. One job at a time applies a
//! resource (`held_by`, until `held_until`): two pushing at once could land an older
//! state on the server after a newer one.

use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::provisioning_states as states;

type Key<'a> = dsl::And<dsl::Eq<states::resource_kind, &'a str>, dsl::Eq<states::resource_id, &'a str>>;

/// The row of one resource.
fn key<'a>(kind: &'a str, id: &'a str) -> Key<'a> {
    states::resource_kind.eq(kind).and(states::resource_id.eq(id))
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct StateRow {
    pub resource_kind: String,
    pub resource_id: String,
    pub status: String,
    pub error: Option<String>,
    pub updated_at: NaiveDateTime,
    pub changes: i64,
    pub applied: i64,
    pub held_by: Option<String>,
    pub held_until: Option<NaiveDateTime>,
}

impl StateRow {
    /// Whether the server holds every change queued so far.
    pub fn is_current(&self) -> bool {
        self.applied >= self.changes
    }
}

/// One more change of the resource was queued (inside the change's transaction): it is
/// `pending` until a job that saw this change succeeds.
pub fn queue(conn: &mut DbConnection, kind: &str, id: &str, now: NaiveDateTime) -> Result<(), StoreError> {
    let updated = diesel::update(states::table.filter(key(kind, id)))
        .set((
            states::status.eq("pending"),
            states::error.eq(None::<String>),
            states::updated_at.eq(now),
            states::changes.eq(states::changes + 1),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(states::table)
            .values((
                states::resource_kind.eq(kind),
                states::resource_id.eq(id),
                states::status.eq("pending"),
                states::updated_at.eq(now),
                states::changes.eq(1),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Whether a job could take the resource to apply it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// It holds it now (or held it already); the state as it is.
    Taken(StateRow),
    /// Another job applies it.
    Busy,
    /// No state: the resource is gone and its state forgotten.
    Missing,
}

/// Takes the resource for `holder` (a job's id) until `until`, unless another job holds
/// it and its hold has not run out.
pub fn hold(
    conn: &mut DbConnection,
    kind: &str,
    id: &str,
    holder: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Hold, StoreError> {
    let free = states::held_by.is_null().or(states::held_until.lt(now)).or(states::held_by.eq(holder));
    let taken = diesel::update(states::table.filter(key(kind, id)).filter(free))
        .set((states::held_by.eq(holder), states::held_until.eq(until)))
        .execute(conn)?;
    Ok(match find(conn, kind, id)? {
        None => Hold::Missing,
        Some(row) if taken == 1 => Hold::Taken(row),
        Some(_) => Hold::Busy,
    })
}

/// `holder` is done with the resource.
pub fn release(conn: &mut DbConnection, kind: &str, id: &str, holder: &str) -> Result<(), StoreError> {
    diesel::update(states::table.filter(key(kind, id)).filter(states::held_by.eq(holder)))
        .set((states::held_by.eq(None::<String>), states::held_until.eq(None::<NaiveDateTime>)))
        .execute(conn)?;
    Ok(())
}

/// A job that had seen `seen` changes before it read what to apply succeeded: those
/// changes are on the server. The resource is `ready` unless a change came after them,
/// whose own job is still to run. Answers whether it is ready.
pub fn applied(
    conn: &mut DbConnection,
    kind: &str,
    id: &str,
    seen: i64,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    diesel::update(states::table.filter(key(kind, id)).filter(states::applied.lt(seen)))
        .set(states::applied.eq(seen))
        .execute(conn)?;
    let ready = diesel::update(states::table.filter(key(kind, id)).filter(states::changes.eq(seen)))
        .set((states::status.eq("ready"), states::error.eq(None::<String>), states::updated_at.eq(now)))
        .execute(conn)?;
    Ok(ready == 1)
}

/// Sets the state of a resource whose change failed (inside the caller's transaction):
/// `pending` with the error while it is retried, `failed` when given up.
pub fn set_failure(
    conn: &mut DbConnection,
    kind: &str,
    id: &str,
    status: &str,
    error: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(states::table.filter(key(kind, id)))
        .set((states::status.eq(status), states::error.eq(error), states::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, kind: &str, id: &str) -> Result<Option<StateRow>, StoreError> {
    Ok(states::table.filter(key(kind, id)).first::<StateRow>(conn).optional()?)
}

/// The states of `ids` of one kind (a page of a list).
pub fn of(conn: &mut DbConnection, kind: &str, ids: &[String]) -> Result<Vec<StateRow>, StoreError> {
    Ok(states::table
        .filter(states::resource_kind.eq(kind).and(states::resource_id.eq_any(ids)))
        .load::<StateRow>(conn)?)
}

/// Forgets a removed resource's state.
pub fn forget(conn: &mut DbConnection, kind: &str, id: &str) -> Result<(), StoreError> {
    diesel::delete(states::table.filter(key(kind, id))).execute(conn)?;
    Ok(())
}
