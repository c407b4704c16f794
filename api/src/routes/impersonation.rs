//! Logging in as an account below: a short access token that carries the real actor
//! (RFC 8693 `act`), without a refresh token. Requests under it are audited with the
//! actor as actor and the customer as on-behalf-of; the policy refuses credential,
//! two-factor, API key, grant and impersonation routes under it.

use actix_web::http::header;
use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use hostadmin_domain::accounts::AccountStatus;
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_persistence::audit::{self, NewEvent};
use hostadmin_persistence::{accounts as account_store, sessions};

use crate::auth::tokens::ActorClaim;
use crate::auth::Principal;
use crate::http::idempotency;
use crate::http::problem::ApiError;
use crate::routes::customers::find_reachable;
use crate::state::AppState;

/// An impersonation lasts at most this long (QUALITY.md 10), and it cannot be refreshed.
const MAX_TTL_SECONDS: i64 = 15 * 60;

#[derive(Debug, Serialize, ToSchema)]
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
#[utoipa::path(
    tag = "Customers",
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 201, description = "An impersonation token", body = ImpersonationToken),
        (status = 400, description = "`idempotency_not_supported`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`, `insufficient_scope` (`impersonate`), `impersonation_forbidden`, `account_suspended`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account below the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`account_blocked`: the account is blocked", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/customers/{id}/impersonate")]
pub async fn impersonate_customer(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ImpersonateCustomer)?;
    idempotency::refuse(&request)?;
    let customer = find_reachable(&state, principal.reach(), &id).await?;
    let ttl = state.tokens.access_ttl_seconds.min(MAX_TTL_SECONDS);
    let state_for_write = state.clone();
    let access_token = state
        .db
        .write(move |conn| {
            let now = time::now();
            // Read again inside the transaction: a block that just committed wins.
            let target_row = account_store::find(conn, &customer.id)?.ok_or_else(ApiError::not_found)?;
            if target_row.status()? == AccountStatus::Blocked {
                return Err(ApiError::conflict("account_blocked", "a blocked account cannot be impersonated"));
            }
            let actor = account_store::find(conn, principal.id())?.ok_or_else(ApiError::not_found)?;
            let session_id = new_id();
            sessions::create(conn, &session_id, &target_row.id, Some(&actor.id), now)?;
            audit::record(
                conn,
                &principal.audit(),
                NewEvent {
                    action: actions::CUSTOMER_IMPERSONATE,
                    target_type: target::ACCOUNT,
                    target_id: &target_row.id,
                    account_id: Some(&target_row.id),
                    details: serde_json::json!({
                        "impersonator_id": actor.id,
                        "customer_id": target_row.id,
                        "session_id": session_id,
                        "expires_in": ttl,
                    }),
                },
                now,
            )?;
            let act = ActorClaim { sub: actor.id.clone(), ver: actor.token_version };
            state_for_write.tokens.issue(&target_row.id, &session_id, target_row.token_version, Some(&act), ttl)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(ImpersonationToken { access_token, token_type: "Bearer".into(), expires_in: ttl }))
}
