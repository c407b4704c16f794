//! Suspend, unsuspend, block and unblock an account below the caller.
//!
//! A hold covers the account, everything below it and all their services. A suspended
//! account logs in and reads, every change answers `403 account_suspended` (the policy
//! reads the effective `accounts.status`); a blocked one cannot log in, and its tokens,
//! sessions and API keys end in the same transaction. Lifting a hold undoes exactly that
//! hold: accounts and services held for other reasons (their own suspension, a hold
//! further up) stay as they are. Revoked API keys stay revoked after an unblock: a key
//! is a secret that may have leaked while the account was blocked, and a new one is one
//! request away.
//!
//! Order of checks: authorize (403) → the account within reach (404) → body (422) → one
//! transaction: `If-Match` (412), the hold's state (409), the change, its audit events
//! (crate::app::holds).

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use hostadmin_domain::holds::HoldKind;
use hostadmin_domain::policy::Action;
use hostadmin_domain::validation::Reason;

use crate::app::access;
use crate::app::holds::{self, HoldChange};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{IfMatch, IfMatchHeader};
use crate::http::problem::ApiError;
use crate::state::AppState;
use crate::views::accounts::{account_response, AccountView};

fn reason(text: &str) -> Result<Reason, ApiError> {
    Reason::parse(text).map_err(|invalid| ApiError::field("/reason", invalid))
}

/// Reaches the account for `action`, parses the body with `change`, and applies it.
async fn hold(
    state: &AppState,
    request: &HttpRequest,
    principal: &Principal,
    id: &str,
    action: Action,
    change: impl FnOnce() -> Result<HoldChange, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(action)?;
    let account = access::account(state, &principal.actor, authorized, id).await?;
    let change = change()?;
    let row = holds::change(state, &principal.actor, account, change, IfMatch::from_request(request)).await?;
    Ok(account_response(HttpResponse::Ok(), &row))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Invoice INV-000001 is overdue"}))]
pub struct SuspendCustomer {
    /// Why, for the audit log; 1-1000 characters.
    #[schema(format = "text", max_length = 1000)]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Three chargebacks for stolen cards this week", "fraud": true}))]
pub struct BlockCustomer {
    /// Why, for the audit log; 1-1000 characters.
    #[schema(format = "text", max_length = 1000)]
    pub reason: String,
    /// Marks the account as fraud (`fraud: true`) while this block lasts.
    #[serde(default)]
    pub fraud: bool,
}

/// Lifting a hold: the reason is optional and goes to the audit log.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Invoice INV-000001 is paid"}))]
pub struct LiftHold {
    #[schema(format = "text", max_length = 1000)]
    #[serde(default)]
    pub reason: Option<String>,
}

const ID_PARAM: &str = "The account's id";

/// Suspend an account below the caller, everything below it and all their services.
///
/// The suspended accounts still log in and read, but every change answers `403
/// account_suspended` (logging in and out, refreshing, and securing the account with its
/// password or second factor stay allowed). Their active services are suspended with
/// the reason "the owner's account is suspended or blocked"; `reason` itself goes to the
/// audit log only. Resellers and operators, for an account below them (`404`
/// otherwise; customers get `403 forbidden`); refused while the caller is suspended or
/// has `customer.write` disabled. `409 invalid_transition` when the account already has
/// a suspension of its own; a stale `If-Match` is `412`. API keys need
/// `customers:write`.
#[utoipa::path(
    tag = "Customers",
    params(
        ("id" = String, Path, description = ID_PARAM),
        IfMatchHeader,
    ),
    request_body = SuspendCustomer,
    responses(
        (status = 200, description = "The account, `suspended`", body = AccountView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden` (customers), `account_suspended`, `action_restricted` (`customer.write`)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the account is already suspended by a suspension of its own", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/customers/{id}/suspend")]
pub async fn suspend_customer(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    hold(&state, &request, &principal, &id, Action::SuspendCustomer, || {
        let input: SuspendCustomer = body.parse()?;
        Ok(HoldChange::Place { kind: HoldKind::Suspension, reason: reason(&input.reason)?, fraud: false })
    })
    .await
}

/// Lift the account's own suspension.
///
/// Exactly what that suspension held becomes active again; accounts and services held
/// for other reasons (their own suspension, a block, a hold further up, a service's own
/// suspension) stay as they are. A suspension placed by an account above the caller is
/// not the caller's to lift (`403 forbidden`); operators lift any. `409
/// invalid_transition` when the account has no suspension of its own. `reason` is
/// optional, for the audit log. Resellers and operators, for an account below them;
/// API keys need `customers:write`.
#[utoipa::path(
    tag = "Customers",
    params(
        ("id" = String, Path, description = ID_PARAM),
        IfMatchHeader,
    ),
    request_body(content = LiftHold, description = "May be empty."),
    responses(
        (status = 200, description = "The account", body = AccountView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: customers, or a suspension placed by an account above the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the account has no suspension of its own", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/customers/{id}/unsuspend")]
pub async fn unsuspend_customer(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    hold(&state, &request, &principal, &id, Action::SuspendCustomer, || {
        let input: LiftHold = body.parse()?;
        let reason = input.reason.as_deref().map(reason).transpose()?;
        Ok(HoldChange::Lift { kind: HoldKind::Suspension, reason })
    })
    .await
}

/// Block an account below the caller and everything below it.
///
/// They can no longer log in or order; their sessions, tokens and API keys end in the
/// same transaction and their active services are suspended. `fraud: true` marks the
/// account as fraud while the block lasts. Accounts are never deleted. Resellers and
/// operators, for an account below them (operators are never below anyone: `404`;
/// customers get `403 forbidden`); refused while the caller is suspended or has
/// `customer.write` disabled. `409 invalid_transition` when the account already has a
/// block of its own; a stale `If-Match` is `412`. API keys need `customers:write`.
#[utoipa::path(
    tag = "Customers",
    params(
        ("id" = String, Path, description = ID_PARAM),
        IfMatchHeader,
    ),
    request_body = BlockCustomer,
    responses(
        (status = 200, description = "The account, `blocked`", body = AccountView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden` (customers), `account_suspended`, `action_restricted` (`customer.write`)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account below the caller (operators are never below anyone)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the account is already blocked by a block of its own", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/customers/{id}/block")]
pub async fn block_customer(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    hold(&state, &request, &principal, &id, Action::BlockCustomer, || {
        let input: BlockCustomer = body.parse()?;
        Ok(HoldChange::Place { kind: HoldKind::Block, reason: reason(&input.reason)?, fraud: input.fraud })
    })
    .await
}

/// Lift the account's own block.
///
/// The accounts it blocked log in again (with new sessions; revoked API keys stay
/// revoked: make new ones) and the services it suspended are active again, unless
/// another hold still covers them. The fraud mark goes with the block. A block placed
/// by an account above the caller is not the caller's to lift (`403 forbidden`);
/// operators lift any. `409 invalid_transition` when the account has no block of its
/// own. Resellers and operators, for an account below them; API keys need
/// `customers:write`.
#[utoipa::path(
    tag = "Customers",
    params(
        ("id" = String, Path, description = ID_PARAM),
        IfMatchHeader,
    ),
    request_body(content = LiftHold, description = "May be empty."),
    responses(
        (status = 200, description = "The account", body = AccountView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: customers, or a block placed by an account above the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the account has no block of its own", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/customers/{id}/unblock")]
pub async fn unblock_customer(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    hold(&state, &request, &principal, &id, Action::BlockCustomer, || {
        let input: LiftHold = body.parse()?;
        let reason = input.reason.as_deref().map(reason).transpose()?;
        Ok(HoldChange::Lift { kind: HoldKind::Block, reason })
    })
    .await
}
