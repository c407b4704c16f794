//! Logging in as an account below: a short access token that carries the real actor
//! (RFC 8693 `act`), without a refresh token, backed by a session with its impersonator.
//! Requests under it are audited with the actor as actor and the customer as
//! on-behalf-of; the policy refuses credential, two-factor, API key, grant and
//! impersonation routes under it, and the token ends with its actor's (a block, a
//! logout everywhere, a new password).

use hostadmin_domain::accounts::AccountStatus;
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::policy::{Action, Actor};
use hostadmin_domain::time;
use hostadmin_persistence::accounts::{self as account_store, AccountRow};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::sessions;

use crate::app::access::Reached;
use crate::auth::tokens::ActorClaim;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// An impersonation lasts at most this long (QUALITY.md 10), and it cannot be refreshed.
const MAX_TTL_SECONDS: i64 = 15 * 60;

/// An access token acting as the customer, and seconds until it expires.
pub struct Impersonation {
    pub access_token: String,
    pub expires_in: i64,
}

/// Log in as an account below the actor (`409 account_blocked` when it is blocked).
pub async fn impersonate(
    state: &AppState,
    actor: &Actor,
    account: Reached<AccountRow>,
) -> Result<Impersonation, ApiError> {
    account.expect(Action::ImpersonateCustomer)?;
    let ttl = state.tokens.access_ttl_seconds.min(MAX_TTL_SECONDS);
    let context = AuditContext::of(actor);
    let (customer_id, impersonator_id) = (account.row.id, actor.account_id.clone());
    let (session_id, customer, impersonator) = state
        .db
        .write(move |conn| {
            let now = time::now();
            // Read again inside the transaction: a block that just committed wins.
            let customer = account_store::find(conn, &customer_id)?.ok_or_else(ApiError::not_found)?;
            if customer.status == AccountStatus::Blocked {
                return Err(ApiError::conflict("account_blocked", "a blocked account cannot be impersonated"));
            }
            let impersonator = account_store::find(conn, &impersonator_id)?.ok_or_else(ApiError::not_found)?;
            let session_id = new_id();
            sessions::create(conn, &session_id, &customer.id, Some(&impersonator.id), now)?;
            let event = NewEvent {
                action: actions::CUSTOMER_IMPERSONATE,
                target_type: target::ACCOUNT,
                target_id: &customer.id,
                account_id: Some(&customer.id),
                details: serde_json::json!({
                    "impersonator_id": impersonator.id,
                    "customer_id": customer.id,
                    "session_id": session_id,
                    "expires_in": ttl,
                }),
            };
            audit::record(conn, &context, event, now)?;
            Ok((session_id, customer, impersonator))
        })
        .await?;
    // Both token versions as they were when the session opened: the token ends with
    // either account's tokens.
    let act = ActorClaim { sub: impersonator.id, ver: impersonator.token_version };
    let access_token = state.tokens.issue(&customer.id, &session_id, customer.token_version, Some(&act), ttl)?;
    Ok(Impersonation { access_token, expires_in: ttl })
}
