//! The second factor of the current account (enrol, confirm, disable), and an ancestor's
//! reset of a descendant's (crate::app::two_factor).

use actix_web::http::header;
use actix_web::{delete, post, web, HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::policy::Action;
use hostadmin_domain::two_factor;
use hostadmin_domain::validation::Invalid;

use crate::app::access;
use crate::app::two_factor::{self as use_case, SecondFactorCode};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::idempotency;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// Secrets are never cached by anything between us and the client.
fn no_store(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
    builder
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"password": "correct horse battery staple 42"}))]
pub struct StartTwoFactor {
    /// The account's password.
    #[schema(max_length = 1024)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "secret": "EXAMPLESECRETEXAMPLESECRETEXAMPL",
    "otpauth_uri": "otpauth://totp/hostadmin:jane?secret=EXAMPLESECRETEXAMPLESECRETEXAMPL&issuer=hostadmin"
}))]
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
///
/// `422 invalid_credentials` at `/password` for a wrong password; `409
/// invalid_transition` when two-factor login is on already. The answer holds the secret,
/// so `Idempotency-Key` is refused (`400 idempotency_not_supported`). Login sessions
/// only: API keys get `403 forbidden`, impersonation tokens `403
/// impersonation_forbidden`.
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
    let authorized = principal.authorize(Action::ManageOwnTwoFactor)?;
    idempotency::refuse(&request)?;
    let input: StartTwoFactor = body.parse()?;
    let enrolment = use_case::start(&state, &principal.actor, &principal.account, authorized, input.password).await?;
    Ok(no_store(HttpResponse::Created())
        .json(TwoFactorEnrolment { secret: enrolment.secret, otpauth_uri: enrolment.otpauth_uri }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "123456"}))]
pub struct ConfirmTwoFactor {
    /// The current six-digit code of the authenticator app.
    #[schema(format = "totp-code", example = "123456")]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"recovery_codes": [
    "ABCD-EFGH-IJKL-MNOP", "DEFG-HIJK-LMNO-PQRS", "GHIJ-KLMN-OPQR-STUV", "JKLM-NOPQ-RSTU-VWXY", "MNOP-QRST-UVWX-YZ23",
    "PQRS-TUVW-XYZ2-3456", "STUV-WXYZ-2345-67AB", "VWXY-Z234-567A-BCDE", "YZ23-4567-ABCD-EFGH", "3456-7ABC-DEFG-HIJK"
]}))]
pub struct RecoveryCodes {
    /// Ten single-use codes for logging in without the app; shown this once.
    #[schema(example = json!(["ABCD-EFGH-IJKL-MNOP"]))]
    pub recovery_codes: Vec<String>,
}

/// Confirm the enrolment with a code of the app: two-factor login is on from now.
///
/// Send the app's current six-digit code for the secret of `POST /v1/me/two-factor`
/// (`422 invalid_totp` at `/code` when it is wrong). The answer holds ten single-use
/// recovery codes, shown this once: keep them. `409 invalid_transition` when no
/// enrolment waits or two-factor login is already on. The answer holds secrets, so
/// `Idempotency-Key` is refused (`400 idempotency_not_supported`). Login sessions only:
/// API keys get `403 forbidden`, impersonation tokens `403 impersonation_forbidden`.
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
    let authorized = principal.authorize(Action::ManageOwnTwoFactor)?;
    idempotency::refuse(&request)?;
    let input: ConfirmTwoFactor = body.parse()?;
    if !two_factor::is_totp_code_shaped(&input.code) {
        return Err(ApiError::field("/code", Invalid::new("invalid_format", "a code is six digits")));
    }
    let recovery_codes = use_case::confirm(&state, &principal.actor, authorized, input.code).await?;
    Ok(no_store(HttpResponse::Ok()).json(RecoveryCodes { recovery_codes }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"password": "correct horse battery staple 42", "code": "123456"}))]
pub struct DisableTwoFactor {
    /// The account's password.
    #[schema(max_length = 1024)]
    pub password: String,
    /// A current code of the app, or one of the recovery codes.
    #[schema(max_length = 64)]
    pub code: String,
}

/// Switch two-factor login off, with the password and a code.
///
/// `code` is a current code of the app or one of the recovery codes (which is then
/// spent). The secret and the recovery codes are forgotten. `422 invalid_credentials` at
/// `/password` for a wrong password, `422 invalid_totp` at `/code` for a wrong or used
/// code; `409 invalid_transition` when two-factor login is off. `Idempotency-Key` is
/// refused (`400 idempotency_not_supported`). Login sessions only: API keys get `403
/// forbidden`, impersonation tokens `403 impersonation_forbidden`.
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
    let authorized = principal.authorize(Action::ManageOwnTwoFactor)?;
    idempotency::refuse(&request)?;
    let input: DisableTwoFactor = body.parse()?;
    let code = SecondFactorCode::guess(&input.code);
    let (actor, own) = (&principal.actor, &principal.account);
    use_case::disable(&state, actor, own, authorized, input.password, code).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Switch off the second factor of an account below (it lost its device).
///
/// Its secret, a pending enrolment and its recovery codes are forgotten; it logs in
/// with its password alone until it enrols again. Answers 204 also when the second
/// factor was off already (and records an event only when something changed).
///
/// Resellers and operators, for an account below them (`404` otherwise; customers get
/// `403 forbidden`). Refused while the caller is suspended or has `customer.write`
/// disabled (`403 action_restricted`). API keys need `customers:write`.
#[utoipa::path(
    tag = "Customers",
    params(("id" = String, Path, description = "The account's id")),
    responses((status = 204, description = "Off")),
)]
#[delete("/customers/{id}/two-factor")]
pub async fn reset_customer_two_factor(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ResetCustomerTwoFactor)?;
    let account = access::account(&state, &principal.actor, authorized, &id).await?;
    use_case::reset(&state, &principal.actor, account).await?;
    Ok(HttpResponse::NoContent().finish())
}
