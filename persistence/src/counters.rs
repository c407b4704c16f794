//! Gapless counters: a row per sequence in `counters`, incremented inside the
//! transaction that uses the number. A rollback gives the number back; concurrent
//! users wait for each other on the row (PostgreSQL sequences would skip numbers).

use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::counters;

/// The next value of the counter `name`, starting at 1. The first use creates the row;
/// two first uses at once collide on its key, and the loser's transaction is tried
/// again (`Busy`), finding the row.
pub fn next(conn: &mut DbConnection, name: &str) -> Result<i64, StoreError> {
    let next: Option<i64> = diesel::update(counters::table.filter(counters::name.eq(name)))
        .set(counters::value.eq(counters::value + 1))
        .returning(counters::value)
        .get_result(conn)
        .optional()?;
    if let Some(number) = next {
        return Ok(number);
    }
    match diesel::insert_into(counters::table)
        .values((counters::name.eq(name), counters::value.eq(1_i64)))
        .execute(conn)
    {
        Ok(_) => Ok(1),
        Err(error) => match StoreError::from(error) {
            StoreError::Unique(_) => Err(StoreError::Busy(format!("{name} was created meanwhile"))),
            other => Err(other),
        },
    }
}

/// The counter of a seller's numbers of one kind: `<kind>:<seller id>`, or
/// `<kind>:provider` for the provider's.
pub fn per_seller(kind: &str, seller_id: Option<&str>) -> String {
    format!("{kind}:{}", seller_id.unwrap_or("provider"))
}
