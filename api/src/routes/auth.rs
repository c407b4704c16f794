//! `/v1/auth`: logging in and out, sessions with short-lived access tokens and rotating
//! refresh tokens (crate::app::sessions).

use actix_web::http::header;
use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::policy::Action;
use hostadmin_domain::validation::Invalid;

use crate::app::sessions::{self as use_case, Credentials, Logout, Tokens};
use crate::app::two_factor::SecondFactorCode;
use crate::auth::principal::request_context;
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"login": "jane", "password": "correct horse battery staple 42", "totp_code": "123456"}))]
pub struct LoginRequest {
    /// Login name or email address.
    #[schema(min_length = 1, max_length = 254)]
    pub login: String,
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
    /// The current code of the authenticator app, when two-factor login is on.
    #[schema(max_length = 16)]
    pub totp_code: Option<String>,
    /// A single-use recovery code instead of the TOTP code.
    #[schema(max_length = 64)]
    pub recovery_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.example-claims.example-signature",
    "refresh_token": "hr_ExampleRefreshTokenOnlyForTheDocs0123456789", "token_type": "Bearer", "expires_in": 900
}))]
pub struct TokenPair {
    pub access_token: String,
    /// Spent by its first use: `/v1/auth/refresh` answers a new pair.
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "hr_ExampleRefreshTokenOnlyForTheDocs0123456789"}))]
pub struct RefreshRequest {
    #[schema(max_length = 256)]
    pub refresh_token: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "hr_ExampleRefreshTokenOnlyForTheDocs0123456789", "everywhere": false}))]
pub struct LogoutRequest {
    /// Also end the session this refresh token belongs to (one of the caller's).
    #[schema(max_length = 256)]
    pub refresh_token: Option<String>,
    /// End every session and token of the account (API keys stay).
    #[serde(default)]
    pub everywhere: bool,
}

impl From<Tokens> for TokenPair {
    fn from(tokens: Tokens) -> Self {
        Self {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            token_type: "Bearer".into(),
            expires_in: tokens.expires_in,
        }
    }
}

/// Tokens are never cached by anything between us and the client (RFC 6749 5.1).
fn token_response(tokens: Tokens) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(TokenPair::from(tokens))
}

/// The code a login presents, if any; both at once is refused.
fn second_factor_of(input: &LoginRequest) -> Result<Option<SecondFactorCode>, ApiError> {
    match (&input.totp_code, &input.recovery_code) {
        (Some(_), Some(_)) => Err(ApiError::field(
            "/recovery_code",
            Invalid::new("conflicting_fields", "send totp_code or recovery_code, not both"),
        )),
        (Some(code), None) => Ok(Some(SecondFactorCode::Totp(code.clone()))),
        (None, Some(code)) => Ok(Some(SecondFactorCode::Recovery(code.clone()))),
        (None, None) => Ok(None),
    }
}

/// Log in with a login name or email address and a password.
///
/// Wrong logins and wrong passwords answer alike. Failed attempts are limited per
/// submitted login and per client address (429 with `Retry-After`).
#[utoipa::path(
    tag = "Authentication",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 401, description = "`invalid_credentials`, `totp_required` or `invalid_totp`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`account_blocked` (only after a correct password)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/auth/login")]
pub async fn login(state: web::Data<AppState>, request: HttpRequest, body: JsonBody) -> Result<HttpResponse, ApiError> {
    let input: LoginRequest = body.parse()?;
    let second_factor = second_factor_of(&input)?;
    let submitted = Credentials { login: input.login, password: input.password, second_factor };
    let tokens = use_case::login(&state, request_context(&request, &state), submitted).await?;
    Ok(token_response(tokens))
}

/// Trade a refresh token for a new pair.
///
/// The presented token is spent. Presenting a spent token again ends the whole session
/// (`refresh_token_reused`): one of the two presenters had stolen it.
#[utoipa::path(
    tag = "Authentication",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenPair),
        (status = 401, description = "`unauthenticated`, `token_expired` or `refresh_token_reused`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let input: RefreshRequest = body.parse()?;
    let tokens = use_case::refresh(&state, request_context(&request, &state), &input.refresh_token).await?;
    Ok(token_response(tokens))
}

/// Log out: end this session, or every session of the account.
///
/// Without a body (or with `{}`) the session of the access token ends: its refresh token
/// no longer works and its access token is refused from the next request on. A
/// `refresh_token` of another of the caller's own sessions ends that one too.
/// `everywhere: true` ends every session and token of the account, API keys excepted,
/// and is refused under an impersonation token (`403 impersonation_forbidden`). Only a
/// login session can log out: an API key gets `403 forbidden`. A suspended account may
/// still log out.
#[utoipa::path(
    tag = "Authentication",
    request_body(content = LogoutRequest, description = "May be empty: ends the current session."),
    responses((status = 204, description = "Logged out")),
    security(("bearer" = []))
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let input: LogoutRequest = body.parse()?;
    let authorized = principal.authorize(if input.everywhere { Action::EndAllSessions } else { Action::EndSession })?;
    let logout = Logout { everywhere: input.everywhere, refresh_token: input.refresh_token };
    use_case::logout(&state, &principal.actor, authorized, logout).await?;
    Ok(HttpResponse::NoContent().finish())
}
