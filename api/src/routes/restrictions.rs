//! `/v1/customers/{id}/restrictions`: the actions a seller disabled for an account below
//! it, in force for that account and everything below it (crate::app::restrictions).

use actix_web::http::header;
use actix_web::{get, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::policy::Action;
use hostadmin_domain::restrictions::{RestrictableAction, Restrictions};
use hostadmin_domain::validation::Invalid;

use crate::app::access;
use crate::app::restrictions::{self as use_case, SellersView};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch, IfMatchHeader};
use crate::http::problem::{ApiError, FieldError};
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
#[schema(example = json!({"disabled_actions": ["dns.write", "service.cancel"]}))]
pub struct SetRestrictions {
    /// The complete new list (it replaces the old one); `[]` lifts them all.
    #[schema(value_type = Vec<RestrictableAction>, max_items = 100)]
    pub disabled_actions: Vec<String>,
}

/// The seller's own list and what else is in force; the `ETag` versions the seller's
/// own list only: that is what a PUT replaces.
fn answer(seen: &SellersView) -> HttpResponse {
    let view = RestrictionsView {
        disabled_actions: seen.own.iter().collect(),
        inherited: seen.in_force.iter().filter(|action| !seen.own.contains(*action)).collect(),
    };
    HttpResponse::Ok().insert_header((header::ETAG, etag(seen.version))).json(view)
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

/// The actions disabled for an account below the caller.
///
/// `disabled_actions` is the caller's own list on the account (what a PUT replaces, and
/// what the `ETag` versions); `inherited` is everything else in force there, set by
/// other sellers or on an account above it, which the caller cannot lift. Resellers and
/// operators, for an account below them (`404` otherwise; customers get `403
/// forbidden`). API keys need `customers:read`.
#[utoipa::path(
    tag = "Customers",
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The caller's own list and what else is in force", body = RestrictionsView, headers(("ETag" = String))),
    ),
)]
#[get("/customers/{id}/restrictions")]
pub async fn get_restrictions(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadRestrictions)?;
    let account = access::account(&state, &principal.actor, authorized, &id).await?;
    Ok(answer(&use_case::read(&state, &principal.actor, account).await?))
}

/// Replace the caller's own list of actions disabled for an account below it.
///
/// The list holds for the account and everything below it, from the next request of each
/// of them on: a disabled action answers `403 action_restricted`. `[]` lifts the
/// caller's list; lists set by others stay in force. An unknown action name is `422` at
/// `/disabled_actions/{index}`; a stale `If-Match` is `412`. Resellers and operators,
/// for an account below them; refused while the caller is suspended or has
/// `customer.write` disabled. API keys need `customers:write`.
#[utoipa::path(
    tag = "Customers",
    params(("id" = String, Path, description = "The account's id"), IfMatchHeader),
    request_body = SetRestrictions,
    responses(
        (status = 200, description = "The caller's new list and what else is in force", body = RestrictionsView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden` (customers), `account_suspended`, `action_restricted` (`customer.write`)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[put("/customers/{id}/restrictions")]
pub async fn set_restrictions(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::SetRestrictions)?;
    let account = access::account(&state, &principal.actor, authorized, &id).await?;
    let input: SetRestrictions = body.parse()?;
    let disabled = parse(&input.disabled_actions)?;
    let if_match = IfMatch::from_request(&request);
    Ok(answer(&use_case::set(&state, &principal.actor, account, disabled, if_match).await?))
}
