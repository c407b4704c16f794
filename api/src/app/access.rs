//! Finding what an actor may act on: the one place where an [`Authorized`] proof meets
//! an object. Every lookup is scoped by the actor's [`Reach`](hostadmin_domain::policy::Reach)
//! (another tenant's object is 404, as if it did not exist), and the actor's relation to
//! the object's owner is checked against the action's rule (403).

use hostadmin_domain::domains::DomainName;
use hostadmin_domain::ids::parse_id;
use hostadmin_domain::policy::{Action, Actor, Authorized, Relation, Standing};
use hostadmin_persistence::accounts::{self as account_store, AccountRow};
use hostadmin_persistence::domains::{self as domain_store, DomainRow};
use hostadmin_persistence::restrictions as restriction_store;
use hostadmin_persistence::services::{self as service_store, ServiceRow};
use hostadmin_persistence::tickets::{self as ticket_store, TicketRow};
use hostadmin_persistence::webhooks::{self as webhook_store, WebhookRow};
use hostadmin_persistence::DbConnection;

use crate::http::problem::ApiError;
use crate::state::AppState;

/// A domain with the service it belongs to.
#[derive(Debug, Clone)]
pub struct HostedDomain {
    pub domain: DomainRow,
    /// Its `domain` service when registered, otherwise the hosting service that serves it.
    pub service: ServiceRow,
}

/// An object the actor reached for an action it is authorized for.
#[derive(Debug, Clone)]
pub struct Reached<T> {
    pub row: T,
    pub relation: Relation,
    /// The owner's standing, for a grantee (whose changes it limits).
    owner: Option<Standing>,
    authorized: Authorized,
}

impl<T> Reached<T> {
    /// The action the object was reached for.
    pub fn action(&self) -> Action {
        self.authorized.action()
    }

    /// Guards a use case against being handed an object reached for another action.
    pub fn expect(&self, action: Action) -> Result<(), ApiError> {
        if self.action() == action {
            Ok(())
        } else {
            Err(ApiError::internal(format!("{action:?} was handed an object reached for {:?}", self.action())))
        }
    }

    /// Whether the actor reached it from above the owner (its seller's reach).
    pub fn from_above(&self) -> bool {
        self.relation == Relation::Above
    }

    /// The same object, changed (e.g. read again inside a transaction).
    pub fn with<U>(self, row: U) -> Reached<U> {
        Reached { row, relation: self.relation, owner: self.owner, authorized: self.authorized }
    }

    /// Another service, reached by the same actor for the same action (the service a
    /// domain moves to).
    pub async fn another_service(
        &self,
        state: &AppState,
        actor: &Actor,
        id: &str,
    ) -> Result<Reached<ServiceRow>, ApiError> {
        service(state, actor, self.authorized.clone(), id).await
    }

    /// Checks a second action on the same object (a request that does two things, e.g.
    /// a domain change that also moves its name servers).
    pub fn also(&self, actor: &Actor, action: Action) -> Result<(), ApiError> {
        let authorized = actor.authorize(action)?;
        authorized.permits(&self.relation, self.owner.as_ref()).map_err(ApiError::from)
    }
}

/// The service `id` as `actor` reaches it for the authorized action: 404 outside its reach
/// (or for a malformed id), 403 when its relation to the owner does not allow the action.
pub async fn service(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    id: &str,
) -> Result<Reached<ServiceRow>, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let reach = actor.reach();
    state.db.run(move |conn| service_in(conn, &reach, authorized, &id)).await
}

/// [`service`] inside a connection the caller holds (a bulk item, a transaction).
pub fn service_in(
    conn: &mut DbConnection,
    reach: &hostadmin_domain::policy::Reach,
    authorized: Authorized,
    id: &str,
) -> Result<Reached<ServiceRow>, ApiError> {
    let (row, relation) = service_store::find_in_reach(conn, reach, id)?.ok_or_else(ApiError::not_found)?;
    let owner = match relation {
        Relation::Grantee(_) => Some(standing_of(conn, &row.owner_id)?),
        Relation::Owner | Relation::Above => None,
    };
    authorized.permits(&relation, owner.as_ref())?;
    Ok(Reached { row, relation, owner, authorized })
}

/// The ticket `id` as `actor` reaches it for the authorized action: its customer, an
/// account above the customer (the seller's side) or a grantee of its service; 404
/// outside that (or for a malformed id), 403 when the relation does not allow the
/// action (`insufficient_grant` for a grant without `support`).
pub async fn ticket(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    id: &str,
) -> Result<Reached<TicketRow>, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let reach = actor.reach();
    state
        .db
        .run(move |conn| {
            let (row, relation) = ticket_store::find_in_reach(conn, &reach, &id)?.ok_or_else(ApiError::not_found)?;
            let owner = match relation {
                Relation::Grantee(_) => Some(standing_of(conn, &row.customer_id)?),
                Relation::Owner | Relation::Above => None,
            };
            authorized.permits(&relation, owner.as_ref())?;
            Ok(Reached { row, relation, owner, authorized })
        })
        .await
}

/// An object of `owner_id` found in the actor's reach with `relation`, checked against
/// the authorized action (a grantee also against the owner's standing).
pub fn checked_in<T>(
    conn: &mut DbConnection,
    row: T,
    relation: Relation,
    owner_id: &str,
    authorized: Authorized,
) -> Result<Reached<T>, ApiError> {
    let owner = match relation {
        Relation::Grantee(_) => Some(standing_of(conn, owner_id)?),
        Relation::Owner | Relation::Above => None,
    };
    authorized.permits(&relation, owner.as_ref())?;
    Ok(Reached { row, relation, owner, authorized })
}

/// What the owner's account imposes now: its status and the restrictions in force on it.
fn standing_of(conn: &mut DbConnection, owner_id: &str) -> Result<Standing, ApiError> {
    let (owner, restrictions) = restriction_store::account_with_restrictions(conn, owner_id)?
        .ok_or_else(|| ApiError::internal(format!("the owner {owner_id} of a service vanished")))?;
    Ok(Standing { status: owner.status, restrictions })
}

/// The account `id` below the actor, for the authorized action: 404 when it is not below
/// (the actor itself and its ancestors are not below it; for operators, every
/// non-operator account is) or the id is malformed.
pub async fn account(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    id: &str,
) -> Result<Reached<AccountRow>, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let reach = actor.reach();
    let row = state
        .db
        .run(move |conn| account_store::find_in_reach(conn, &reach, &id)?.ok_or_else(ApiError::not_found))
        .await?;
    Ok(Reached { row, relation: Relation::Above, owner: None, authorized })
}

/// The actor's own webhook endpoint `id`, for the authorized action: 404 for another
/// account's (whoever it belongs to) or a malformed id.
pub async fn webhook(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    id: &str,
) -> Result<Reached<WebhookRow>, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let owner = actor.account_id.clone();
    let row =
        state.db.run(move |conn| webhook_store::find_own(conn, &owner, &id)?.ok_or_else(ApiError::not_found)).await?;
    Ok(Reached { row, relation: Relation::Owner, owner: None, authorized })
}

/// The domain `name` (any spelling; unparsable is 404) as the actor reaches it through
/// its service, for the authorized action.
pub async fn domain(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    name: &str,
) -> Result<Reached<HostedDomain>, ApiError> {
    let name = DomainName::parse(name).map_err(|_| ApiError::not_found())?;
    let reach = actor.reach();
    state
        .db
        .run(move |conn| {
            let domain = domain_store::find_by_name(conn, name.as_str())?.ok_or_else(ApiError::not_found)?;
            let service_id = domain
                .service()
                .ok_or_else(|| ApiError::internal(format!("domain {} has no service", domain.id)))?
                .to_owned();
            let service = service_in(conn, &reach, authorized, &service_id)?;
            let service_row = service.row.clone();
            Ok(service.with(HostedDomain { domain, service: service_row }))
        })
        .await
}
