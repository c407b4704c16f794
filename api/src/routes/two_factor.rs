//! The second factor of the current account (enrol, confirm, disable), an ancestor's
//! reset of a descendant's, and the code check that login shares.
//!
//! The TOTP secret is stored sealed; each code works once (the last accepted step is
//! kept in the account's row), and recovery codes are single-use and stored hashed.

use actix_web::http::header;
use actix_web::{delete, post, web, HttpRequest, HttpResponse, HttpResponseBuilder};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::policy::Action;
use hostadmin_domain::sealing::Sealer;
use hostadmin_domain::time;
use hostadmin_domain::two_factor::{self, RecoveryCode, TotpSecret};
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{self, NewEvent};
use hostadmin_persistence::two_factor::{self as store, TwoFactorRow};
use hostadmin_persistence::DbConnection;

use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::idempotency;
use crate::http::problem::ApiError;
use crate::routes::customers::find_reachable;
use crate::state::AppState;

/// A second-factor code as presented: an authenticator code or a recovery code.
#[derive(Debug, Clone)]
pub enum SecondFactorCode {
    Totp(String),
    Recovery(String),
}

impl SecondFactorCode {
    /// Six digits are an authenticator code; anything else is tried as a recovery code.
    pub fn guess(text: &str) -> Self {
        if two_factor::is_totp_code_shaped(text) {
            Self::Totp(text.to_owned())
        } else {
            Self::Recovery(text.to_owned())
        }
    }
}

/// The sealing context of an account's TOTP secret: a sealed secret copied to another
/// account does not open.
fn sealing_context(account_id: &str) -> String {
    format!("totp:{account_id}")
}

fn open_secret(sealer: &Sealer, account_id: &str, sealed: Option<&str>) -> Result<TotpSecret, ApiError> {
    let sealed =
        sealed.ok_or_else(|| ApiError::internal(format!("account {account_id}: two-factor without secret")))?;
    let bytes = sealer
        .open(&sealing_context(account_id), sealed)
        .map_err(|e| ApiError::internal(format!("account {account_id}: TOTP secret: {e}")))?;
    TotpSecret::from_bytes(&bytes)
        .ok_or_else(|| ApiError::internal(format!("account {account_id}: TOTP secret of the wrong length")))
}

/// Checks a code against an account whose second factor is on, and spends it: a TOTP
/// code's step becomes the last accepted one, a recovery code is used up. `false` for a
/// wrong code and for one already used (also by a concurrent request elsewhere).
pub fn spend_code(
    conn: &mut DbConnection,
    sealer: &Sealer,
    account_id: &str,
    row: &TwoFactorRow,
    code: &SecondFactorCode,
    now: NaiveDateTime,
) -> Result<bool, ApiError> {
    match code {
        SecondFactorCode::Totp(code) => {
            let secret = open_secret(sealer, account_id, row.secret_sealed.as_deref())?;
            match secret.matching_step(code, now.and_utc().timestamp(), row.last_step) {
                Some(step) => Ok(store::accept_step(conn, account_id, step)?),
                None => Ok(false),
            }
        }
        SecondFactorCode::Recovery(text) => match RecoveryCode::parse(text) {
            Some(code) => Ok(store::spend_recovery_code(conn, account_id, &code.digest(), now)?),
            None => Ok(false),
        },
    }
}

fn invalid_transition(detail: &str) -> ApiError {
    ApiError::conflict("invalid_transition", detail)
}

fn wrong_code() -> ApiError {
    ApiError::invalid("invalid_totp", "/code", "the code is wrong or was already used")
}

/// Secrets are never cached by anything between us and the client.
fn no_store(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
    builder
}

async fn verify_password(state: &AppState, principal: &Principal, candidate: String) -> Result<(), ApiError> {
    if !state.hasher.verify(candidate, principal.account.password_hash.clone()).await? {
        return Err(ApiError::invalid("invalid_credentials", "/password", "the password is wrong"));
    }
    Ok(())
}

fn record(
    conn: &mut DbConnection,
    principal: &Principal,
    action: &str,
    account_id: &str,
    details: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    audit::record(
        conn,
        &principal.audit(),
        NewEvent { action, target_type: target::ACCOUNT, target_id: account_id, account_id: Some(account_id), details },
        now,
    )?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartTwoFactor {
    /// The account's password.
    #[schema(max_length = 1024)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorEnrolment {
    /// The secret in base32, for typing it into an authenticator app.
    pub secret: String,
    /// The same secret as an `otpauth://totp/...` URI, for a QR code.
    pub otpauth_uri: String,
}

/// Start two-factor login: a new secret for the authenticator app.
///
/// Two-factor login is on only once a code of the app has been confirmed. Starting
/// again before that replaces the secret.
#[utoipa::path(
    tag = "Current account",
    request_body = StartTwoFactor,
    responses(
        (status = 201, description = "The secret, shown this once", body = TwoFactorEnrolment),
        (status = 400, description = "`idempotency_not_supported`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (API keys), `impersonation_forbidden`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: two-factor login is on already", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_credentials` (pointer `/password`)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/two-factor")]
pub async fn start_two_factor(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ManageOwnTwoFactor)?;
    idempotency::refuse(&request)?;
    let input: StartTwoFactor = body.parse()?;
    verify_password(&state, &principal, input.password).await?;
    let secret = TotpSecret::generate().map_err(ApiError::internal)?;
    let sealed = state.sealer.seal(&sealing_context(principal.id()), secret.as_bytes()).map_err(ApiError::internal)?;
    let enrolment =
        TwoFactorEnrolment { secret: secret.base32(), otpauth_uri: secret.otpauth_uri(&principal.account.login) };
    state
        .db
        .write(move |conn| {
            let now = time::now();
            if !store::set_pending(conn, principal.id(), &sealed, now)? {
                return Err(invalid_transition("two-factor login is on already; disable it first"));
            }
            record(conn, &principal, actions::ACCOUNT_TWO_FACTOR_ENROL, principal.id(), serde_json::json!({}), now)
        })
        .await?;
    Ok(no_store(HttpResponse::Created()).json(enrolment))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTwoFactor {
    /// The current six-digit code of the authenticator app.
    #[schema(max_length = 16, example = "123456")]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes for logging in without the app; shown this once.
    #[schema(example = json!(["ABCD-EFGH-IJKL-MNOP"]))]
    pub recovery_codes: Vec<String>,
}

/// What confirming found.
enum Confirmed {
    On,
    WrongCode,
}

/// Confirm the enrolment with a code of the app: two-factor login is on from now.
#[utoipa::path(
    tag = "Current account",
    request_body = ConfirmTwoFactor,
    responses(
        (status = 200, description = "On; the recovery codes are shown this once", body = RecoveryCodes),
        (status = 409, description = "`invalid_transition`: no enrolment is waiting, or two-factor login is on already", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_totp` (pointer `/code`)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/two-factor/confirm")]
pub async fn confirm_two_factor(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ManageOwnTwoFactor)?;
    idempotency::refuse(&request)?;
    let input: ConfirmTwoFactor = body.parse()?;
    if !two_factor::is_totp_code_shaped(&input.code) {
        return Err(ApiError::field("/code", Invalid::new("invalid_format", "a code is six digits")));
    }
    let codes = two_factor::new_recovery_codes().map_err(ApiError::internal)?;
    let shown: Vec<String> = codes.iter().map(RecoveryCode::display).collect();
    let hashes: Vec<String> = codes.iter().map(RecoveryCode::digest).collect();
    let state_for_write = state.clone();
    let outcome = state
        .db
        .write(move |conn| {
            let now = time::now();
            let id = principal.id();
            let row = store::find(conn, id)?.ok_or_else(ApiError::not_found)?;
            let pending = match (&row.pending_secret_sealed, row.enabled) {
                (Some(pending), false) => pending,
                (_, true) => return Err(invalid_transition("two-factor login is on already")),
                (None, false) => return Err(invalid_transition("start with POST /v1/me/two-factor")),
            };
            let secret = open_secret(&state_for_write.sealer, id, Some(pending))?;
            let Some(step) = secret.matching_step(&input.code, now.and_utc().timestamp(), None) else {
                return Ok(Confirmed::WrongCode);
            };
            if !store::enable(conn, id, pending, step, &hashes, now)? {
                return Err(invalid_transition("the enrolment changed meanwhile; start again"));
            }
            record(conn, &principal, actions::ACCOUNT_TWO_FACTOR_ENABLE, id, serde_json::json!({}), now)?;
            Ok(Confirmed::On)
        })
        .await?;
    match outcome {
        Confirmed::On => Ok(no_store(HttpResponse::Ok()).json(RecoveryCodes { recovery_codes: shown })),
        Confirmed::WrongCode => Err(wrong_code()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableTwoFactor {
    /// The account's password.
    #[schema(max_length = 1024)]
    pub password: String,
    /// A current code of the app, or one of the recovery codes.
    #[schema(max_length = 64)]
    pub code: String,
}

/// Switch two-factor login off, with the password and a code (of the app or a recovery
/// code). The secret and the recovery codes are forgotten.
#[utoipa::path(
    tag = "Current account",
    request_body = DisableTwoFactor,
    responses(
        (status = 204, description = "Off"),
        (status = 409, description = "`invalid_transition`: two-factor login is off", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_credentials` (pointer `/password`) or `invalid_totp` (pointer `/code`)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/two-factor/disable")]
pub async fn disable_two_factor(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ManageOwnTwoFactor)?;
    idempotency::refuse(&request)?;
    let input: DisableTwoFactor = body.parse()?;
    verify_password(&state, &principal, input.password).await?;
    let code = SecondFactorCode::guess(&input.code);
    let state_for_write = state.clone();
    let disabled = state
        .db
        .write(move |conn| {
            let now = time::now();
            let id = principal.id();
            let row = store::find(conn, id)?.ok_or_else(ApiError::not_found)?;
            if !row.enabled {
                return Err(invalid_transition("two-factor login is off"));
            }
            if !spend_code(conn, &state_for_write.sealer, id, &row, &code, now)? {
                return Ok(false);
            }
            store::disable(conn, id, now)?;
            record(conn, &principal, actions::ACCOUNT_TWO_FACTOR_DISABLE, id, serde_json::json!({}), now)?;
            Ok(true)
        })
        .await?;
    if !disabled {
        return Err(wrong_code());
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Switch off the second factor of an account below (it lost its device).
///
/// Its secret, a pending enrolment and its recovery codes are forgotten; it logs in
/// with its password alone until it enrols again. Answers 204 also when the second
/// factor was off already (and records an event only when something changed).
#[utoipa::path(
    tag = "Customers",
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Off"),
        (status = 404, description = "No such account below the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[delete("/customers/{id}/two-factor")]
pub async fn reset_customer_two_factor(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ResetCustomerTwoFactor)?;
    let customer = find_reachable(&state, principal.reach(), &id).await?;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            if store::disable(conn, &customer.id, now)? {
                let details = serde_json::json!({"was_enabled": customer.two_factor_enabled});
                record(conn, &principal, actions::CUSTOMER_TWO_FACTOR_RESET, &customer.id, details, now)?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
