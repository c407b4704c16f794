//! Holds on accounts (suspensions and blocks) and what follows from them: the effective
//! status of every account below, the services switched off with their owner, and, for a
//! block, the end of every session, token and API key at once.
//!
//! `accounts.status` stays the effective status (the policy reads it on every request),
//! so after each hold change [`settle`] recomputes it for the subtree of the account the
//! hold is on. Services suspended because of a hold carry `services.held`; services
//! suspended for a reason of their own never do, so lifting a hold releases exactly
//! what it held.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hostadmin_domain::accounts::AccountStatus;
use hostadmin_domain::holds::{effective_status, HoldKind};
use hostadmin_domain::services::ServiceStatus;

use crate::columns::Text;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{account_holds, account_tree, accounts, api_keys, services, sessions};

/// A hold as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = account_holds, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct HoldRow {
    pub id: String,
    pub account_id: String,
    #[diesel(deserialize_as = Text<HoldKind>)]
    pub kind: HoldKind,
    pub reason: String,
    pub fraud: bool,
    pub placed_by: Option<String>,
    pub placed_at: NaiveDateTime,
}

/// A hold to place.
#[derive(Debug, Clone)]
pub struct NewHold<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub kind: HoldKind,
    pub reason: &'a str,
    pub fraud: bool,
    pub placed_by: Option<&'a str>,
    pub now: NaiveDateTime,
}

/// The name of the unique index that allows one active hold of each kind per account.
pub const ACTIVE_HOLD_INDEX: &str = "account_holds_active_key";

/// Whether a unique violation is the one-active-hold rule (PostgreSQL names the index,
/// SQLite the columns).
pub fn is_active_hold_violation(constraint: &str) -> bool {
    constraint.contains(ACTIVE_HOLD_INDEX) || constraint.contains("account_holds.account_id")
}

/// The hold of `kind` placed on the account itself and not lifted, if any.
pub fn active(conn: &mut DbConnection, account_id: &str, kind: HoldKind) -> Result<Option<HoldRow>, StoreError> {
    Ok(account_holds::table
        .filter(account_holds::account_id.eq(account_id))
        .filter(account_holds::kind.eq(kind.as_str()))
        .filter(account_holds::lifted_at.is_null())
        .select(HoldRow::as_select())
        .first(conn)
        .optional()?)
}

/// Places a hold; a second active hold of the same kind is refused by the unique index
/// ([`StoreError::Unique`], see [`is_active_hold_violation`]).
pub fn place(conn: &mut DbConnection, hold: &NewHold<'_>) -> Result<(), StoreError> {
    diesel::insert_into(account_holds::table)
        .values((
            account_holds::id.eq(hold.id),
            account_holds::account_id.eq(hold.account_id),
            account_holds::kind.eq(hold.kind.as_str()),
            account_holds::reason.eq(hold.reason),
            account_holds::fraud.eq(hold.fraud),
            account_holds::placed_by.eq(hold.placed_by),
            account_holds::placed_at.eq(hold.now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Lifts a hold; `false` when it was lifted meanwhile.
pub fn lift(
    conn: &mut DbConnection,
    id: &str,
    lifted_by: Option<&str>,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        account_holds::table.filter(account_holds::id.eq(id)).filter(account_holds::lifted_at.is_null()),
    )
    .set((
        account_holds::lifted_at.eq(now),
        account_holds::lifted_by.eq(lifted_by),
        account_holds::lift_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Marks the account as fraud while an active block on it says so, and bumps its
/// version: a hold placed or lifted on it changes the resource (and its `ETag`) even
/// when an ancestor's hold already decided its status.
pub fn touch(conn: &mut DbConnection, account_id: &str, now: NaiveDateTime) -> Result<(), StoreError> {
    let fraud: i64 = account_holds::table
        .filter(account_holds::account_id.eq(account_id))
        .filter(account_holds::kind.eq(HoldKind::Block.as_str()))
        .filter(account_holds::lifted_at.is_null())
        .filter(account_holds::fraud.eq(true))
        .count()
        .get_result(conn)?;
    diesel::update(accounts::table.filter(accounts::id.eq(account_id)))
        .set((accounts::fraud.eq(fraud > 0), accounts::version.eq(accounts::version + 1), accounts::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// An account whose effective status changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub account_id: String,
    pub from: AccountStatus,
    pub to: AccountStatus,
}

/// Recomputes the effective status of `root` and every account below it from the
/// active holds on each one's ancestors-or-self, and stores those that changed (with a
/// new version). Answers the changes.
pub fn settle(conn: &mut DbConnection, root: &str, now: NaiveDateTime) -> Result<Vec<StatusChange>, StoreError> {
    let subtree: Vec<(String, Text<AccountStatus>)> = accounts::table
        .filter(accounts::id.eq_any(subtree_of(root)))
        .select((accounts::id, accounts::status))
        .load(conn)?;
    // Holds strictly above the root cover the whole subtree alike.
    let above: Vec<Text<HoldKind>> = account_holds::table
        .filter(
            account_holds::account_id.eq_any(
                account_tree::table
                    .filter(account_tree::descendant_id.eq(root))
                    .filter(account_tree::depth.gt(0))
                    .select(account_tree::ancestor_id),
            ),
        )
        .filter(account_holds::lifted_at.is_null())
        .select(account_holds::kind)
        .load(conn)?;
    let above: Vec<HoldKind> = above.into_iter().map(HoldKind::from).collect();
    let blocked_from_above = above.contains(&HoldKind::Block);
    let suspended_from_above = above.contains(&HoldKind::Suspension);
    // Holds inside the subtree cover their holder's own subtree.
    let inside: Vec<(String, Text<HoldKind>)> = account_holds::table
        .filter(account_holds::account_id.eq_any(subtree_of(root)))
        .filter(account_holds::lifted_at.is_null())
        .select((account_holds::account_id, account_holds::kind))
        .load(conn)?;
    let mut blocked = HashSet::new();
    let mut suspended = HashSet::new();
    for (holder, kind) in inside {
        let covered: Vec<String> = subtree_of(&holder).load(conn)?;
        if HoldKind::from(kind) == HoldKind::Block {
            blocked.extend(covered);
        } else {
            suspended.extend(covered);
        }
    }
    let mut changes = Vec::new();
    for (id, stored) in subtree {
        let from = AccountStatus::from(stored);
        let to = effective_status(
            blocked_from_above || blocked.contains(&id),
            suspended_from_above || suspended.contains(&id),
        );
        if from != to {
            diesel::update(accounts::table.filter(accounts::id.eq(&id)))
                .set((
                    accounts::status.eq(to.as_str()),
                    accounts::version.eq(accounts::version + 1),
                    accounts::updated_at.eq(now),
                ))
                .execute(conn)?;
            changes.push(StatusChange { account_id: id, from, to });
        }
    }
    Ok(changes)
}

type Subtree = diesel::dsl::Select<
    diesel::dsl::Filter<account_tree::table, diesel::dsl::Eq<account_tree::ancestor_id, String>>,
    account_tree::descendant_id,
>;

/// `root` and every account below it, as a subquery.
fn subtree_of(root: &str) -> Subtree {
    account_tree::table.filter(account_tree::ancestor_id.eq(root.to_owned())).select(account_tree::descendant_id)
}

/// Ends every way in for `root` and everything below it, at once: the token version
/// moves on (every access token is refused), every session ends (so do refresh tokens
/// and the impersonation sessions they opened as actors), every API key is revoked.
/// Answers (sessions ended, API keys revoked).
pub fn end_access(conn: &mut DbConnection, root: &str, now: NaiveDateTime) -> Result<(usize, usize), StoreError> {
    diesel::update(accounts::table.filter(accounts::id.eq_any(subtree_of(root))))
        .set(accounts::token_version.eq(accounts::token_version + 1))
        .execute(conn)?;
    let sessions_ended = diesel::update(
        sessions::table
            .filter(
                sessions::account_id.eq_any(subtree_of(root)).or(sessions::impersonator_id.eq_any(
                    account_tree::table
                        .filter(account_tree::ancestor_id.eq(root.to_owned()))
                        .select(account_tree::descendant_id.nullable()),
                )),
            )
            .filter(sessions::ended_at.is_null()),
    )
    .set((sessions::ended_at.eq(now), sessions::ended_reason.eq("blocked")))
    .execute(conn)?;
    let keys_revoked = diesel::update(
        api_keys::table.filter(api_keys::account_id.eq_any(subtree_of(root))).filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(now))
    .execute(conn)?;
    Ok((sessions_ended, keys_revoked))
}

/// The effective status of an account that is about to get an active service (a sale, a
/// deferred creation carried out), with its row locked until the transaction ends. On
/// PostgreSQL a hold placed or lifted on it or above updates that row, so either the hold
/// waits and its cascade then sees the new service, or the sale waits and then reads the
/// status the hold left; SQLite's writing transaction holds the write lock already.
/// `None` when there is no such account.
pub fn status_for_update(conn: &mut DbConnection, account_id: &str) -> Result<Option<AccountStatus>, StoreError> {
    crate::accounts::lock(conn, account_id)?;
    let stored: Option<Text<AccountStatus>> =
        accounts::table.filter(accounts::id.eq(account_id)).select(accounts::status).first(conn).optional()?;
    Ok(stored.map(AccountStatus::from))
}

/// Active services whose owner (in `root`'s subtree) is now held: to be suspended with it.
pub fn services_to_hold(conn: &mut DbConnection, root: &str) -> Result<Vec<String>, StoreError> {
    Ok(services::table
        .filter(
            services::owner_id.eq_any(
                accounts::table
                    .filter(accounts::id.eq_any(subtree_of(root)))
                    .filter(accounts::status.ne(AccountStatus::Active.as_str()))
                    .select(accounts::id),
            ),
        )
        .filter(services::status.eq(ServiceStatus::Active.as_str()))
        .order(services::id.asc())
        .select(services::id)
        .load(conn)?)
}

/// Services held with their owner (in `root`'s subtree) whose owner is active again.
pub fn services_to_release(conn: &mut DbConnection, root: &str) -> Result<Vec<String>, StoreError> {
    Ok(services::table
        .filter(
            services::owner_id.eq_any(
                accounts::table
                    .filter(accounts::id.eq_any(subtree_of(root)))
                    .filter(accounts::status.eq(AccountStatus::Active.as_str()))
                    .select(accounts::id),
            ),
        )
        .filter(services::status.eq(ServiceStatus::Suspended.as_str()))
        .filter(services::held.eq(true))
        .order(services::id.asc())
        .select(services::id)
        .load(conn)?)
}

/// Moves a service into or out of a hold if it is still at `expected_version`: status,
/// suspension reason and the marker together, with a new version. Answers whether it
/// did.
pub fn set_service_hold(
    conn: &mut DbConnection,
    id: &str,
    expected_version: i64,
    held: bool,
    status: &str,
    suspension_reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated =
        diesel::update(services::table.filter(services::id.eq(id)).filter(services::version.eq(expected_version)))
            .set((
                services::status.eq(status),
                services::held.eq(held),
                services::suspension_reason.eq(suspension_reason),
                services::version.eq(expected_version + 1),
                services::updated_at.eq(now),
            ))
            .execute(conn)?;
    Ok(updated == 1)
}

/// Whether the service is suspended because its owner is held.
pub fn service_is_held(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    let held: Option<bool> =
        services::table.filter(services::id.eq(id)).select(services::held).first(conn).optional()?;
    Ok(held.unwrap_or(false))
}

/// Drops the marker of a service that left its held suspension by another way
/// (terminated, cancelled, expired): a later suspension of its own must not be lifted
/// with the owner's hold.
pub fn forget_service_hold(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    diesel::update(services::table.filter(services::id.eq(id)).filter(services::held.eq(true)))
        .set(services::held.eq(false))
        .execute(conn)?;
    Ok(())
}
