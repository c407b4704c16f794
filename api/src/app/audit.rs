//! Reading the audit log. Nothing changes it: events are written with the changes they
//! describe, and the tables refuse updates and deletes.

use hostadmin_domain::policy::{Actor, Authorized};
use hostadmin_persistence::audit::{self as store, EventFilter, EventRow};

use crate::http::problem::ApiError;
use crate::state::AppState;

/// One page of the events the actor may see, newest first: operators all, resellers their
/// own and their subtree's, customers their own account's.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    _: Authorized,
    filter: EventFilter,
    limit: i64,
) -> Result<Vec<EventRow>, ApiError> {
    let reach = actor.reach();
    state.db.run(move |conn| Ok(store::list(conn, &reach, &filter, limit)?)).await
}
