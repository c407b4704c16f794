//! Restrictions: the actions a seller disabled for an account below it. They apply to
//! that account and everything below it, from the next request on: the principal loads
//! the union over the account's ancestors-or-self on every request, and the one policy
//! refuses with `403 action_restricted`.
//!
//! Each account above an account keeps its own list on it and replaces only that one:
//! what binds an account is the union of every list set on it or on its ancestors, by
//! anyone. So nothing set from above can be lifted further down — neither by the
//! account itself (it cannot reach itself) nor by a seller in between.

use actix_web::http::header;
use actix_web::{get, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::policy::Action;
use hostadmin_domain::restrictions::{RestrictableAction, Restrictions};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{self, NewEvent};
use hostadmin_persistence::restrictions::{self as store, StoredRestrictions};
use hostadmin_persistence::StoreError;

use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch};
use crate::http::problem::{ApiError, FieldError};
use crate::routes::customers::find_reachable;
use crate::state::AppState;

/// More names than there are actions can only be a mistake (or an attack on the parser).
const MAX_ACTIONS: usize = 100;

/// The restrictions of one account, as one caller sees them.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"disabled_actions": ["dns.write", "service.cancel"], "inherited": ["domain.delete"]}))]
pub struct RestrictionsView {
    /// What the caller disabled on this account (and so for everything below it): the
    /// list a PUT of the caller replaces.
    pub disabled_actions: Vec<RestrictableAction>,
    /// Every other action in force here: disabled on this account by other sellers, or on
    /// an account above it. The caller cannot lift these.
    pub inherited: Vec<RestrictableAction>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRestrictions {
    /// The complete new list (it replaces the old one); `[]` lifts them all.
    #[schema(value_type = Vec<RestrictableAction>, max_items = 100)]
    pub disabled_actions: Vec<String>,
}

fn view(own: &Restrictions, in_force: &Restrictions) -> RestrictionsView {
    RestrictionsView {
        disabled_actions: own.iter().collect(),
        inherited: in_force.iter().filter(|action| !own.contains(*action)).collect(),
    }
}

/// The ETag versions the caller's own list only: that is what a PUT replaces.
fn answer(version: i64, own: &Restrictions, in_force: &Restrictions) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::ETAG, etag(version))).json(view(own, in_force))
}

/// Every name of the list, or each unknown one with its pointer.
fn parse(names: &[String]) -> Result<Restrictions, ApiError> {
    if names.len() > MAX_ACTIONS {
        return Err(ApiError::field(
            "/disabled_actions",
            Invalid::new("too_many", format!("at most {MAX_ACTIONS} actions")),
        ));
    }
    let mut errors = Vec::new();
    let mut actions = Vec::new();
    for (index, name) in names.iter().enumerate() {
        match RestrictableAction::parse(name) {
            Some(action) => actions.push(action),
            None => errors.push(FieldError::new(
                format!("/disabled_actions/{index}"),
                Invalid::new("unknown_action", format!("{name:?} is not an action that can be disabled")),
            )),
        }
    }
    if errors.is_empty() {
        Ok(actions.into_iter().collect())
    } else {
        Err(ApiError::fields(errors))
    }
}

/// The actions disabled for an account below the caller: the caller's own list on it,
/// and everything else in force there.
#[utoipa::path(
    tag = "Customers",
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The caller's own list and what else is in force", body = RestrictionsView, headers(("ETag" = String))),
        (status = 404, description = "No such account below the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/customers/{id}/restrictions")]
pub async fn get_restrictions(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadRestrictions)?;
    let id = find_reachable(&state, principal.reach(), &id).await?.id;
    let setter = principal.id().to_owned();
    let (own, in_force) =
        state.db.run(move |conn| Ok((store::own(conn, &id, &setter)?, store::in_force(conn, &id)?))).await?;
    Ok(answer(own.version, &own.disabled, &in_force))
}

/// Replace the caller's own list of actions disabled for an account below it (and
/// everything below that). Lists set by others stay in force. Takes effect on the next
/// request of each of them.
#[utoipa::path(
    tag = "Customers",
    params(
        ("id" = String, Path, description = "The account's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body = SetRestrictions,
    responses(
        (status = 200, description = "The caller's new list and what else is in force", body = RestrictionsView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden` (customers), `account_suspended`, `action_restricted` (`customer.write`)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account below the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[put("/customers/{id}/restrictions")]
pub async fn set_restrictions(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::SetRestrictions)?;
    let id = find_reachable(&state, principal.reach(), &id).await?.id;
    let input: SetRestrictions = body.parse()?;
    let disabled = parse(&input.disabled_actions)?;
    let answered = disabled.clone();
    let if_match = IfMatch::from_request(&request);
    let context = principal.audit();
    let setter = principal.id().to_owned();
    let (version, in_force) = state
        .db
        .write(move |conn| {
            let now = time::now();
            let StoredRestrictions { disabled: before, version } = store::own(conn, &id, &setter)?;
            if_match.check(version)?;
            let next = store::replace(conn, &id, &setter, version, &disabled, now)
                .map_err(|error| match error {
                    // Another first list was inserted meanwhile: let the retry read it.
                    StoreError::Unique(_) => ApiError::Busy("restrictions changed during the request".into()),
                    other => other.into(),
                })?
                .ok_or_else(|| ApiError::Busy("restrictions changed during the request".into()))?;
            let names = |list: &Restrictions| list.iter().map(RestrictableAction::name).collect::<Vec<_>>();
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::CUSTOMER_SET_RESTRICTIONS,
                    target_type: target::ACCOUNT,
                    target_id: &id,
                    account_id: Some(&id),
                    details: serde_json::json!({ "from": names(&before), "to": names(&disabled) }),
                },
                now,
            )?;
            Ok((next, store::in_force(conn, &id)?))
        })
        .await?;
    Ok(answer(version, &answered, &in_force))
}
