//! Restrictions: the actions a seller disabled for an account below it. They apply to
//! that account and everything below it, from the next request on: the principal loads
//! the union over the account's ancestors-or-self on every request, and the one policy
//! refuses with `403 action_restricted`.
//!
//! Each account above an account keeps its own list on it and replaces only that one:
//! what binds an account is the union of every list set on it or on its ancestors, by
//! anyone. So nothing set from above can be lifted further down — neither by the
//! account itself (it cannot reach itself) nor by a seller in between.

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::policy::{Action, Actor};
use hostadmin_domain::restrictions::{RestrictableAction, Restrictions};
use hostadmin_domain::time;
use hostadmin_persistence::accounts::{self as account_store, AccountRow};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::restrictions as store;

use crate::app::access::Reached;
use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// The restrictions of one account as one seller sees them.
#[derive(Debug, Clone)]
pub struct SellersView {
    /// What the seller disabled on the account: the list its `PUT` replaces.
    pub own: Restrictions,
    /// The version of that list (0 while none was ever set): its `ETag`.
    pub version: i64,
    /// Everything in force on the account, by whoever set it.
    pub in_force: Restrictions,
}

/// The actor's own list on an account below it, and what is in force there.
pub async fn read(state: &AppState, actor: &Actor, account: Reached<AccountRow>) -> Result<SellersView, ApiError> {
    account.expect(Action::ReadRestrictions)?;
    let (id, setter) = (account.row.id, actor.account_id.clone());
    state
        .db
        .run(move |conn| {
            let own = store::own(conn, &id, &setter)?;
            Ok(SellersView { own: own.disabled, version: own.version, in_force: store::in_force(conn, &id)? })
        })
        .await
}

/// Replace the actor's own list of actions disabled on an account below it. Changes of
/// one account's restrictions are applied one after the other (its row is locked first);
/// `If-Match`, when sent, is compared with the actor's list as it then is.
pub async fn set(
    state: &AppState,
    actor: &Actor,
    account: Reached<AccountRow>,
    disabled: Restrictions,
    if_match: IfMatch,
) -> Result<SellersView, ApiError> {
    account.expect(Action::SetRestrictions)?;
    let context = AuditContext::of(actor);
    let (id, setter) = (account.row.id, actor.account_id.clone());
    state
        .db
        .write(move |conn| {
            let now = time::now();
            account_store::lock(conn, &id)?;
            let before = store::own(conn, &id, &setter)?;
            if_match.check(before.version)?;
            let version = store::replace(conn, &id, &setter, before.version, &disabled, now)?
                .ok_or_else(|| ApiError::Busy("restrictions changed during the request".into()))?;
            let names = |list: &Restrictions| list.iter().map(RestrictableAction::name).collect::<Vec<_>>();
            let event = NewEvent {
                action: actions::CUSTOMER_SET_RESTRICTIONS,
                target_type: target::ACCOUNT,
                target_id: &id,
                account_id: Some(&id),
                details: serde_json::json!({ "from": names(&before.disabled), "to": names(&disabled) }),
            };
            audit::record(conn, &context, event, now)?;
            Ok(SellersView { own: disabled.clone(), version, in_force: store::in_force(conn, &id)? })
        })
        .await
}
