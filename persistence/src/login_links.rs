//! One-click login links: only the SHA-256 digest of each token is stored; a token is
//! spent by a conditional update, so of any number of concurrent redeems exactly one
//! succeeds.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use hostadmin_domain::login_links::Tool;

use crate::columns::Text;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{login_links, services};

#[derive(Debug, Clone)]
pub struct NewLoginLink<'a> {
    pub token_hash: &'a str,
    pub service_id: &'a str,
    pub account_id: &'a str,
    pub tool: Tool,
    pub login: &'a str,
    pub created_by: &'a str,
    pub now: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewLoginLink<'_>) -> Result<(), StoreError> {
    diesel::insert_into(login_links::table)
        .values((
            login_links::token_hash.eq(new.token_hash),
            login_links::service_id.eq(new.service_id),
            login_links::account_id.eq(new.account_id),
            login_links::tool.eq(new.tool.as_str()),
            login_links::login.eq(new.login),
            login_links::created_by.eq(new.created_by),
            login_links::created_at.eq(new.now),
            login_links::expires_at.eq(new.expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A redeemed link: whom the tool logs in.
#[derive(Debug, Clone, Queryable)]
pub struct RedeemedLink {
    pub service_id: String,
    pub service_number: i64,
    pub account_id: String,
    pub login: String,
    #[diesel(deserialize_as = Text<Tool>)]
    pub tool: Tool,
}

/// Spends the link whose token has `token_hash`, if it is unused, unexpired and for one
/// of `tools`; `None` otherwise (a second redeem, a late one, an unknown token).
pub fn redeem(
    conn: &mut DbConnection,
    token_hash: &str,
    tools: &[Tool],
    now: NaiveDateTime,
) -> Result<Option<RedeemedLink>, StoreError> {
    let names: Vec<&str> = tools.iter().map(|tool| tool.as_str()).collect();
    let spent = diesel::update(
        login_links::table
            .filter(login_links::token_hash.eq(token_hash))
            .filter(login_links::used_at.is_null())
            .filter(login_links::expires_at.gt(now))
            .filter(login_links::tool.eq_any(&names)),
    )
    .set(login_links::used_at.eq(Some(now)))
    .execute(conn)?;
    if spent == 0 {
        return Ok(None);
    }
    Ok(login_links::table
        .inner_join(services::table.on(services::id.eq(login_links::service_id)))
        .filter(login_links::token_hash.eq(token_hash))
        .select((
            login_links::service_id,
            services::number,
            login_links::account_id,
            login_links::login,
            login_links::tool,
        ))
        .first(conn)
        .optional()?)
}

/// Deletes links that expired before `before` (set-based).
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(login_links::table.filter(login_links::expires_at.lt(before))).execute(conn)?)
}
