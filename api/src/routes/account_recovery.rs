//! Getting back into an account by mail: password reset and email verification
//! (crate::app::account_recovery).
//!
//! A reset request answers 202 with an empty body whatever the address: the work (the
//! lookup, the token and the queued mail) runs after the answer, so neither the body nor
//! the time tells whether an account has that address.

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use hostadmin_domain::accounts::EmailAddress;
use hostadmin_domain::passwords::NewPassword;

use crate::app::account_recovery as use_case;
use crate::auth::principal::request_context;
use crate::http::body::JsonBody;
use crate::http::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "jane@example.test"}))]
pub struct PasswordResetRequest {
    #[schema(max_length = 254, format = Email)]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "token": "ExampleResetTokenFromTheMailLinkNotReal0123", "new_password": "correct horse battery staple 42"
}))]
pub struct PasswordResetConfirm {
    /// The token from the mail's link (reset, or the welcome mail's set-password link).
    #[schema(max_length = 256)]
    pub token: String,
    /// At least 8 characters (12 or more recommended), at most 128; not a common password.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "ExampleVerifyTokenFromTheMailLinkNotReal012"}))]
pub struct VerifyEmailRequest {
    /// The token from the verification mail's link.
    #[schema(max_length = 256)]
    pub token: String,
}

/// Ask for a password reset mail.
///
/// Answers 202 with an empty body, always: whether or not an account has the address,
/// it is blocked, or the address had its 20 mails this hour (then nothing is sent).
#[utoipa::path(
    tag = "Authentication",
    request_body = PasswordResetRequest,
    responses((status = 202, description = "Accepted; a mail is sent if an account has this address")),
    security(())
)]
#[post("/auth/password-reset")]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let input: PasswordResetRequest = body.parse()?;
    let email = EmailAddress::parse(&input.email).map_err(|invalid| ApiError::field("/email", invalid))?;
    let context = request_context(&request, &state);
    use_case::request_reset(state.into_inner(), context, email);
    Ok(HttpResponse::Accepted().finish())
}

/// Set a new password with the token of a reset mail (or of the welcome mail).
///
/// Every session and token of the account ends; two-factor login is still asked at the
/// next login. The token is spent; other open reset links of the account end too.
#[utoipa::path(
    tag = "Authentication",
    request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "The password is set; every session has ended"),
        (status = 422, description = "`invalid_token`, `token_expired` (pointer `/token`) or a refused password", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/auth/password-reset/confirm")]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let input: PasswordResetConfirm = body.parse()?;
    let new_password =
        NewPassword::parse(&input.new_password).map_err(|invalid| ApiError::field("/new_password", invalid))?;
    use_case::confirm_reset(&state, request_context(&request, &state), &input.token, new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Confirm an email address with the token of a verification mail.
///
/// For a pending address (after a change), the address becomes the account's.
#[utoipa::path(
    tag = "Authentication",
    request_body = VerifyEmailRequest,
    responses(
        (status = 204, description = "The address is verified"),
        (status = 409, description = "`email_taken`: another account took the address meanwhile", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_token` or `token_expired` (pointer `/token`)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/auth/verify-email")]
pub async fn verify_email(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let input: VerifyEmailRequest = body.parse()?;
    use_case::verify_email(&state, request_context(&request, &state), &input.token).await?;
    Ok(HttpResponse::NoContent().finish())
}
