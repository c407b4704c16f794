//! Accounts and the closure table that makes "everything below X" one indexed query.

use chrono::NaiveDateTime;
use diesel::dsl::not;
use diesel::prelude::*;
use hostadmin_domain::accounts::{AccountKind, AccountStatus, Profile};
use hostadmin_domain::policy::{Below, Reach};

use crate::columns::{json, Json, Text};
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::planning::PlanEachTime;
use crate::schema::{account_tree, accounts};

/// An account as stored, its columns read into their domain types.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct AccountRow {
    pub id: String,
    #[diesel(deserialize_as = Text<AccountKind>)]
    pub kind: AccountKind,
    pub parent_id: Option<String>,
    pub login: String,
    pub email: String,
    pub pending_email: Option<String>,
    pub name: String,
    /// The effective status: the account's own holds and its ancestors' (holds.rs).
    #[diesel(deserialize_as = Text<AccountStatus>)]
    pub status: AccountStatus,
    pub email_verified: bool,
    pub fraud: bool,
    pub two_factor_enabled: bool,
    #[diesel(deserialize_as = Json<Profile>)]
    pub profile: Profile,
    pub password_hash: Option<String>,
    pub token_version: i64,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A new account, already validated.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub id: String,
    pub kind: AccountKind,
    pub parent_id: Option<String>,
    pub login: String,
    pub email: String,
    pub email_normalized: String,
    pub name: String,
    pub profile: Profile,
    pub password_hash: Option<String>,
    pub now: NaiveDateTime,
}

/// Which unique rule a new or changed account broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Login,
    Email,
}

impl Taken {
    /// Reads the index name (PostgreSQL) or message (SQLite) of a unique violation.
    pub fn from_violation(constraint: &str) -> Option<Self> {
        if constraint.contains("accounts_login_key") || constraint.contains("accounts.login") {
            Some(Self::Login)
        } else if constraint.contains("accounts_email_key") || constraint.contains("accounts.email_normalized") {
            Some(Self::Email)
        } else {
            None
        }
    }
}

/// Which of a login and an email address another account already has (login first).
pub fn taken(conn: &mut DbConnection, login: &str, email_normalized: &str) -> Result<Option<Taken>, StoreError> {
    let login_taken: i64 = accounts::table.filter(accounts::login.eq(login)).count().get_result(conn)?;
    if login_taken > 0 {
        return Ok(Some(Taken::Login));
    }
    Ok(email_taken(conn, email_normalized, None)?.then_some(Taken::Email))
}

/// Whether another account than `except` uses this address.
pub fn email_taken(conn: &mut DbConnection, email_normalized: &str, except: Option<&str>) -> Result<bool, StoreError> {
    let mut query = accounts::table.filter(accounts::email_normalized.eq(email_normalized)).into_boxed();
    if let Some(id) = except {
        query = query.filter(accounts::id.ne(id));
    }
    let count: i64 = query.count().get_result(conn)?;
    Ok(count > 0)
}

/// Inserts the account and its place in the tree: itself at depth 0 and one row for
/// each ancestor of its parent, one level deeper.
pub fn insert(conn: &mut DbConnection, new: &NewAccount) -> Result<(), StoreError> {
    diesel::insert_into(accounts::table)
        .values((
            accounts::id.eq(&new.id),
            accounts::kind.eq(new.kind.as_str()),
            accounts::parent_id.eq(&new.parent_id),
            accounts::login.eq(&new.login),
            accounts::email.eq(&new.email),
            accounts::email_normalized.eq(&new.email_normalized),
            accounts::name.eq(&new.name),
            accounts::name_lower.eq(new.name.to_lowercase()),
            accounts::status.eq(AccountStatus::Active.as_str()),
            accounts::email_verified.eq(false),
            accounts::fraud.eq(false),
            accounts::two_factor_enabled.eq(false),
            accounts::profile.eq(json(&new.profile)?),
            accounts::password_hash.eq(&new.password_hash),
            accounts::token_version.eq(0_i64),
            accounts::version.eq(1_i64),
            accounts::created_at.eq(new.now),
            accounts::updated_at.eq(new.now),
        ))
        .execute(conn)?;

    let mut rows = vec![(new.id.clone(), 0)];
    if let Some(parent_id) = &new.parent_id {
        let ancestors: Vec<(String, i32)> = account_tree::table
            .filter(account_tree::descendant_id.eq(parent_id))
            .select((account_tree::ancestor_id, account_tree::depth))
            .load(conn)?;
        rows.extend(ancestors.into_iter().map(|(ancestor, depth)| (ancestor, depth + 1)));
    }
    // One row at a time: batch inserts are not available through MultiConnection.
    for (ancestor_id, depth) in rows {
        diesel::insert_into(account_tree::table)
            .values((
                account_tree::ancestor_id.eq(ancestor_id),
                account_tree::descendant_id.eq(&new.id),
                account_tree::depth.eq(depth),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<AccountRow>, StoreError> {
    Ok(accounts::table.filter(accounts::id.eq(id)).select(AccountRow::as_select()).first(conn).optional()?)
}

/// The account a login form names: by login name or by email address.
pub fn find_by_login_or_email(conn: &mut DbConnection, login_or_email: &str) -> Result<Option<AccountRow>, StoreError> {
    let needle = login_or_email.trim().to_lowercase();
    Ok(accounts::table
        .filter(accounts::login.eq(&needle).or(accounts::email_normalized.eq(&needle)))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?)
}

type BoxedAccounts<'a> = accounts::BoxedQuery<'a, <DbConnection as diesel::Connection>::Backend>;

/// Restricts a query to the accounts `reach` covers.
fn within<'a>(query: BoxedAccounts<'a>, reach: &'a Reach) -> BoxedAccounts<'a> {
    match reach.below {
        Below::AllButOperators => query.filter(accounts::kind.ne(AccountKind::Operator.as_str())),
        Below::Subtree => query.filter(
            accounts::id.eq_any(
                account_tree::table
                    .filter(account_tree::ancestor_id.eq(&reach.account_id))
                    .filter(account_tree::depth.gt(0))
                    .select(account_tree::descendant_id),
            ),
        ),
        Below::Nobody => query.filter(not(accounts::id.eq(accounts::id))),
    }
}

/// The account with this id, if the actor's reach covers it.
pub fn find_in_reach(conn: &mut DbConnection, reach: &Reach, id: &str) -> Result<Option<AccountRow>, StoreError> {
    Ok(within(accounts::table.into_boxed(), reach)
        .filter(accounts::id.eq(id))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?)
}

/// Filters of the customer list.
#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    /// Lowercase prefix of the login, email or name.
    pub prefix: Option<String>,
    pub status: Option<AccountStatus>,
    pub kind: Option<AccountKind>,
    pub parent_id: Option<String>,
    /// Keyset: only ids before this one (newest first).
    pub before_id: Option<String>,
}

/// One page, newest first; `limit` rows at most.
pub fn list_in_reach(
    conn: &mut DbConnection,
    reach: &Reach,
    filter: &AccountFilter,
    limit: i64,
) -> Result<Vec<AccountRow>, StoreError> {
    let mut query = within(accounts::table.into_boxed(), reach);
    if let Some(prefix) = &filter.prefix {
        let pattern = format!("{}%", escape_like(prefix));
        query = query.filter(
            accounts::login
                .like(pattern.clone())
                .escape('\\')
                .or(accounts::email_normalized.like(pattern.clone()).escape('\\'))
                .or(accounts::name_lower.like(pattern).escape('\\')),
        );
    }
    if let Some(status) = filter.status {
        query = query.filter(accounts::status.eq(status.as_str()));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(accounts::kind.eq(kind.as_str()));
    }
    if let Some(parent_id) = &filter.parent_id {
        query = query.filter(accounts::parent_id.eq(parent_id));
    }
    if let Some(before) = &filter.before_id {
        query = query.filter(accounts::id.lt(before));
    }
    Ok(query.order(accounts::id.desc()).limit(limit).select(AccountRow::as_select()).planned_each_time().load(conn)?)
}

/// Escapes LIKE's wildcards so that user input matches only itself.
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// What a profile change sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountChanges {
    pub name: Option<String>,
    pub profile: Option<Profile>,
    /// `Some(None)` withdraws a pending address.
    pub pending_email: Option<Option<String>>,
    /// Marked as fraud (or no longer): it and every account below can no longer order.
    pub fraud: Option<bool>,
}

#[derive(AsChangeset)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct AccountUpdate<'a> {
    name: Option<&'a str>,
    name_lower: Option<String>,
    profile: Option<String>,
    pending_email: Option<Option<&'a str>>,
    fraud: Option<bool>,
    version: i64,
    updated_at: NaiveDateTime,
}

/// Applies the changes if the account is still at `version`, and bumps it; answers
/// whether it did (false: another change got in first, or there is no such account).
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
    changes: &AccountChanges,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let update = AccountUpdate {
        name: changes.name.as_deref(),
        name_lower: changes.name.as_ref().map(|name| name.to_lowercase()),
        profile: changes.profile.as_ref().map(json).transpose()?,
        pending_email: changes.pending_email.as_ref().map(Option::as_deref),
        fraud: changes.fraud,
        version: version + 1,
        updated_at: now,
    };
    let updated = diesel::update(accounts::table.filter(accounts::id.eq(id)).filter(accounts::version.eq(version)))
        .set(&update)
        .execute(conn)?;
    Ok(updated == 1)
}

/// The account, read after locking its row until the transaction ends: a change that
/// reads it this way is applied after every change that locked it first, to the version
/// those left (on SQLite the writing transaction holds the database's lock already).
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> Result<Option<AccountRow>, StoreError> {
    lock(conn, id)?;
    find(conn, id)
}

/// Locks the account's row until the transaction ends (a no-op update: diesel cannot
/// express `SELECT ... FOR UPDATE` through the connection enum). Changes that hang off
/// an account (its restrictions) take this lock too, so they are applied one by one.
pub fn lock(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    diesel::update(accounts::table.filter(accounts::id.eq(id)))
        .set(accounts::version.eq(accounts::version))
        .execute(conn)?;
    Ok(())
}

/// Stores a new password hash and ends every token issued before (token version).
pub fn set_password(
    conn: &mut DbConnection,
    id: &str,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(accounts::table.filter(accounts::id.eq(id)))
        .set((
            accounts::password_hash.eq(password_hash),
            accounts::token_version.eq(accounts::token_version + 1),
            accounts::version.eq(accounts::version + 1),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ends every access token of the account at once.
pub fn bump_token_version(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    diesel::update(accounts::table.filter(accounts::id.eq(id)))
        .set(accounts::token_version.eq(accounts::token_version + 1))
        .execute(conn)?;
    Ok(())
}

/// Whether `descendant` is strictly below `ancestor`.
pub fn is_below(conn: &mut DbConnection, ancestor: &str, descendant: &str) -> Result<bool, StoreError> {
    let count: i64 = account_tree::table
        .filter(account_tree::ancestor_id.eq(ancestor))
        .filter(account_tree::descendant_id.eq(descendant))
        .filter(account_tree::depth.gt(0))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// Whether the account or any account above it is marked as fraud.
pub fn fraud_in_chain(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    use crate::schema::account_tree;
    let ancestors = account_tree::table.filter(account_tree::descendant_id.eq(id)).select(account_tree::ancestor_id);
    Ok(diesel::select(diesel::dsl::exists(
        accounts::table.filter(accounts::fraud.eq(true)).filter(accounts::id.eq(id).or(accounts::id.eq_any(ancestors))),
    ))
    .get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }

    #[test]
    fn unique_violations_name_the_field_on_both_backends() {
        assert_eq!(Taken::from_violation("accounts_login_key"), Some(Taken::Login));
        assert_eq!(Taken::from_violation("UNIQUE constraint failed: accounts.login"), Some(Taken::Login));
        assert_eq!(Taken::from_violation("UNIQUE constraint failed: accounts.email_normalized"), Some(Taken::Email));
        assert_eq!(Taken::from_violation("api_keys_hash_key"), None);
    }
}
