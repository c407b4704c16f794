//! Restrictions: the actions a seller disabled for an account and everything below it,
//! one row per account that has any, as the names' storage form.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hostadmin_domain::restrictions::Restrictions;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{account_restrictions, account_tree};

/// The list set on one account, with its version (0 while none was ever set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredRestrictions {
    pub disabled: Restrictions,
    pub version: i64,
}

/// What was set on the account itself.
pub fn own(conn: &mut DbConnection, account_id: &str) -> Result<StoredRestrictions, StoreError> {
    let row: Option<(String, i64)> = account_restrictions::table
        .filter(account_restrictions::account_id.eq(account_id))
        .select((account_restrictions::disabled_actions, account_restrictions::version))
        .first(conn)
        .optional()?;
    Ok(row.map_or_else(StoredRestrictions::default, |(stored, version)| StoredRestrictions {
        disabled: Restrictions::from_storage(&stored),
        version,
    }))
}

/// The union of what was set on the account's ancestors (`including_self`: and on the
/// account): one query over the closure table.
pub fn in_force(conn: &mut DbConnection, account_id: &str, including_self: bool) -> Result<Restrictions, StoreError> {
    let min_depth = if including_self { 0 } else { 1 };
    let rows: Vec<String> = account_restrictions::table
        .filter(
            account_restrictions::account_id.eq_any(
                account_tree::table
                    .filter(account_tree::descendant_id.eq(account_id))
                    .filter(account_tree::depth.ge(min_depth))
                    .select(account_tree::ancestor_id),
            ),
        )
        .select(account_restrictions::disabled_actions)
        .load(conn)?;
    let mut all = Restrictions::none();
    for stored in rows {
        all.merge(Restrictions::from_storage(&stored));
    }
    Ok(all)
}

/// Replaces the account's list if it is still at `expected_version`; answers the new
/// version, or `None` when another change got in first.
pub fn replace(
    conn: &mut DbConnection,
    account_id: &str,
    expected_version: i64,
    disabled: &Restrictions,
    now: NaiveDateTime,
) -> Result<Option<i64>, StoreError> {
    let next = expected_version + 1;
    if expected_version == 0 {
        // The first list: a concurrent first insert loses on the primary key.
        diesel::insert_into(account_restrictions::table)
            .values((
                account_restrictions::account_id.eq(account_id),
                account_restrictions::disabled_actions.eq(disabled.to_storage()),
                account_restrictions::version.eq(next),
                account_restrictions::updated_at.eq(now),
            ))
            .execute(conn)?;
        return Ok(Some(next));
    }
    let updated = diesel::update(
        account_restrictions::table
            .filter(account_restrictions::account_id.eq(account_id))
            .filter(account_restrictions::version.eq(expected_version)),
    )
    .set((
        account_restrictions::disabled_actions.eq(disabled.to_storage()),
        account_restrictions::version.eq(next),
        account_restrictions::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok((updated == 1).then_some(next))
}
