//! Restrictions: the actions a seller disabled for an account and everything below it,
//! as the names' storage form. One row per (account, setter): each seller above an
//! account keeps its own list there, and the lists add up.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hostadmin_domain::restrictions::Restrictions;

use crate::accounts::AccountRow;
use crate::columns::Listed;
use crate::connection::{natively, DbConnection};
use crate::error::StoreError;
use crate::schema::{account_restrictions, account_tree, accounts, sessions};
use crate::sessions::SessionRow;

/// One setter's list on one account, with its version (0 while none was ever set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredRestrictions {
    pub disabled: Restrictions,
    pub version: i64,
}

/// What `setter_id` set on the account itself.
pub fn own(conn: &mut DbConnection, account_id: &str, setter_id: &str) -> Result<StoredRestrictions, StoreError> {
    let row: Option<(Listed<Restrictions>, i64)> = account_restrictions::table
        .filter(account_restrictions::account_id.eq(account_id))
        .filter(account_restrictions::setter_id.eq(setter_id))
        .select((account_restrictions::disabled_actions, account_restrictions::version))
        .first(conn)
        .optional()?;
    Ok(row.map_or_else(StoredRestrictions::default, |(disabled, version)| StoredRestrictions {
        disabled: disabled.into_inner(),
        version,
    }))
}

/// What binds the account: the union of every list, whoever set it, on the account and
/// on its ancestors. One query over the closure table (depth 0 is the account itself).
pub fn in_force(conn: &mut DbConnection, account_id: &str) -> Result<Restrictions, StoreError> {
    let rows: Vec<Listed<Restrictions>> = account_restrictions::table
        .filter(account_restrictions::account_id.eq_any(
            account_tree::table.filter(account_tree::descendant_id.eq(account_id)).select(account_tree::ancestor_id),
        ))
        .select(account_restrictions::disabled_actions)
        .load(conn)?;
    let mut all = Restrictions::none();
    for list in rows {
        all.merge(list.into_inner());
    }
    Ok(all)
}

/// The account and the restrictions in force for it, in one statement: every request
/// needs both, and on PostgreSQL each round trip costs as much as the statement.
pub fn account_with_restrictions(
    conn: &mut DbConnection,
    account_id: &str,
) -> Result<Option<(AccountRow, Restrictions)>, StoreError> {
    // One row per account above (and the account itself), with the lists set there.
    let rows: Vec<(AccountRow, Option<Listed<Restrictions>>)> = natively!(conn => accounts::table
        .inner_join(account_tree::table.on(account_tree::descendant_id.eq(accounts::id)))
        .left_join(account_restrictions::table.on(account_restrictions::account_id.eq(account_tree::ancestor_id)))
        .filter(accounts::id.eq(account_id))
        .select((AccountRow::as_select(), account_restrictions::disabled_actions.nullable()))
        .load(conn))?;
    Ok(merged(rows.into_iter().map(|(account, list)| ((), account, list))).map(|((), account, all)| (account, all)))
}

/// A session of `account_id` with its account and the restrictions in force on it, in
/// one statement: what every request with an access token reads.
pub fn session_with_account(
    conn: &mut DbConnection,
    session_id: &str,
    account_id: &str,
) -> Result<Option<(SessionRow, AccountRow, Restrictions)>, StoreError> {
    let rows: Vec<(SessionRow, AccountRow, Option<Listed<Restrictions>>)> = natively!(conn => sessions::table
        .inner_join(accounts::table.on(accounts::id.eq(sessions::account_id)))
        .inner_join(account_tree::table.on(account_tree::descendant_id.eq(accounts::id)))
        .left_join(account_restrictions::table.on(account_restrictions::account_id.eq(account_tree::ancestor_id)))
        .filter(sessions::id.eq(session_id))
        .filter(accounts::id.eq(account_id))
        .select((SessionRow::as_select(), AccountRow::as_select(), account_restrictions::disabled_actions.nullable()))
        .load(conn))?;
    Ok(merged(rows.into_iter()))
}

/// The first row's leading parts, with the lists of every row merged (one row per
/// account above, and the account itself).
fn merged<T, L: Into<Option<Listed<Restrictions>>>>(
    mut rows: impl Iterator<Item = (T, AccountRow, L)>,
) -> Option<(T, AccountRow, Restrictions)> {
    let (first_part, account, first) = rows.next()?;
    let mut all = Restrictions::none();
    for list in std::iter::once(first.into()).chain(rows.map(|(_, _, list)| list.into())).flatten() {
        all.merge(list.into_inner());
    }
    Some((first_part, account, all))
}

/// Replaces `setter_id`'s list on the account if it is still at `expected_version`;
/// answers the new version, or `None` when another change got in first.
pub fn replace(
    conn: &mut DbConnection,
    account_id: &str,
    setter_id: &str,
    expected_version: i64,
    disabled: &Restrictions,
    now: NaiveDateTime,
) -> Result<Option<i64>, StoreError> {
    let next = expected_version + 1;
    if expected_version == 0 {
        // The setter's first list: a concurrent first insert loses on the primary key.
        diesel::insert_into(account_restrictions::table)
            .values((
                account_restrictions::account_id.eq(account_id),
                account_restrictions::setter_id.eq(setter_id),
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
            .filter(account_restrictions::setter_id.eq(setter_id))
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
