//! Logging in as an account below: a short access token that carries the real actor
//! (RFC 8693 `act`), without a refresh token (crate::app::impersonation).

use actix_web::http::header;
use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use hostadmin_domain::policy::Action;

use crate::app::access;
use crate::app::impersonation as use_case;
use crate::auth::Principal;
use crate::http::idempotency;
use crate::http::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.example-claims-with-act.example-signature",
    "token_type": "Bearer", "expires_in": 900
}))]
pub struct ImpersonationToken {
    /// An access token acting as the customer; it carries the real actor.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until it expires (at most 900); there is no refresh token.
    pub expires_in: i64,
}

/// Log in as an account below the caller.
///
/// Answers a short-lived access token without a refresh token. Under it, `GET /v1/me`
/// shows `impersonated_by`; credentials, email, two-factor, API keys, grants, logging
/// out everywhere and impersonating again answer `403 impersonation_forbidden`. The
/// token ends early when the caller is blocked or the caller's own tokens end. A
/// blocked account cannot be impersonated (`409 account_blocked`).
///
/// Resellers and operators, for an account below them (`404` otherwise; customers get
/// `403 forbidden`); an operator never impersonates another operator, since no operator
/// is below anyone. The answer holds a token, so `Idempotency-Key` is refused (`400
/// idempotency_not_supported`). Every impersonation is audited (`customer.impersonate`).
/// API keys need the `impersonate` scope.
#[utoipa::path(
    tag = "Customers",
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 201, description = "An impersonation token", body = ImpersonationToken),
        (status = 400, description = "`idempotency_not_supported`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`, `insufficient_scope` (`impersonate`), `impersonation_forbidden`, `account_suspended`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`account_blocked`: the account is blocked", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/customers/{id}/impersonate")]
pub async fn impersonate_customer(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ImpersonateCustomer)?;
    idempotency::refuse(&request)?;
    let account = access::account(&state, &principal.actor, authorized, &id).await?;
    let impersonation = use_case::impersonate(&state, &principal.actor, account).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(ImpersonationToken {
            access_token: impersonation.access_token,
            token_type: "Bearer".into(),
            expires_in: impersonation.expires_in,
        }))
}
