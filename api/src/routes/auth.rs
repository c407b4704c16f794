//! Logging in and out: sessions with short-lived access tokens and rotating refresh
//! tokens.

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::accounts::AccountStatus;
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::credentials::{self, SecretKind};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_persistence::accounts::{self as account_store, AccountRow};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::two_factor as two_factor_store;
use hostadmin_persistence::{login_failures, sessions, DbConnection};

use crate::auth::principal::request_context;
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::problem::ApiError;
use crate::routes::two_factor::{self, SecondFactorCode};
use crate::state::AppState;

/// Failed logins count for this long.
const FAILURE_WINDOW_MINUTES: i64 = 15;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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
pub struct RefreshRequest {
    #[schema(max_length = 256)]
    pub refresh_token: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// Also end the session this refresh token belongs to (one of the caller's).
    #[schema(max_length = 256)]
    pub refresh_token: Option<String>,
    /// End every session and token of the account (API keys stay).
    #[serde(default)]
    pub everywhere: bool,
}

fn invalid_credentials() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "the login or the password is wrong")
}

/// The digests that failed logins are counted under.
fn failure_subjects(submitted: &str, ip: Option<&str>) -> (String, Option<String>) {
    let by_login = credentials::digest(&format!("login:{}", submitted.trim().to_lowercase()));
    let by_address = ip.map(|ip| credentials::digest(&format!("address:{ip}")));
    (by_login, by_address)
}

/// Refuses with 429 while a subject has reached its limit; the wait is until its oldest
/// failure leaves the window, so the lock always ends by itself.
fn check_throttle(conn: &mut DbConnection, subject: &str, limit: u32, now: NaiveDateTime) -> Result<(), ApiError> {
    let window_start = now - Duration::minutes(FAILURE_WINDOW_MINUTES);
    let (count, oldest) = login_failures::count_since(conn, subject, window_start)?;
    if count >= i64::from(limit) {
        let frees_at = oldest.unwrap_or(now) + Duration::minutes(FAILURE_WINDOW_MINUTES);
        let wait = (frees_at - now).num_seconds().max(1);
        return Err(ApiError::rate_limited(u64::try_from(wait).unwrap_or(1)));
    }
    Ok(())
}

/// Opens a session for the account and answers its first token pair.
fn open_session(
    conn: &mut DbConnection,
    state: &AppState,
    account: &AccountRow,
    context: &AuditContext,
) -> Result<TokenPair, ApiError> {
    let now = time::now();
    let session_id = new_id();
    sessions::create(conn, &session_id, &account.id, None, now)?;
    let refresh_token = new_refresh_token(conn, state, &session_id, now)?;
    let mut context = context.clone();
    context.actor_id = Some(account.id.clone());
    audit::record(
        conn,
        &context,
        NewEvent {
            action: actions::SESSION_LOGIN,
            target_type: target::SESSION,
            target_id: &session_id,
            account_id: Some(&account.id),
            details: serde_json::json!({}),
        },
        now,
    )?;
    let access_token =
        state.tokens.issue(&account.id, &session_id, account.token_version, None, state.tokens.access_ttl_seconds)?;
    Ok(TokenPair {
        access_token,
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: state.tokens.access_ttl_seconds,
    })
}

fn new_refresh_token(
    conn: &mut DbConnection,
    state: &AppState,
    session_id: &str,
    now: NaiveDateTime,
) -> Result<String, ApiError> {
    let token = credentials::new_secret(SecretKind::RefreshToken).map_err(ApiError::internal)?;
    let expires_at = now + Duration::days(i64::from(state.config.refresh_token_ttl_days));
    sessions::add_refresh_token(conn, &credentials::digest(&token), session_id, now, expires_at)?;
    Ok(token)
}

/// Tokens are never cached by anything between us and the client (RFC 6749 5.1).
fn token_response(pair: &TokenPair) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .insert_header((actix_web::http::header::PRAGMA, "no-cache"))
        .json(pair)
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
    if input.login.chars().count() > 254 || input.password.chars().count() > 1024 {
        return Err(invalid_credentials());
    }
    let context = request_context(&request, &state);
    let (by_login, by_address) = failure_subjects(&input.login, context.ip.as_deref());
    let limits = state.config.limits.clone();
    let submitted = input.login.clone();
    let account = {
        let (by_login, by_address) = (by_login.clone(), by_address.clone());
        state
            .db
            .run(move |conn| {
                let now = time::now();
                check_throttle(conn, &by_login, limits.login_failures_per_login, now)?;
                if let Some(by_address) = &by_address {
                    check_throttle(conn, by_address, limits.login_failures_per_address, now)?;
                }
                Ok(account_store::find_by_login_or_email(conn, &submitted)?)
            })
            .await?
    };
    let stored_hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let matches = state.hasher.verify(input.password, stored_hash).await?;
    let account = match account {
        Some(account) if matches => account,
        _ => {
            state
                .db
                .write(move |conn| {
                    let now = time::now();
                    login_failures::record(conn, &by_login, now)?;
                    if let Some(by_address) = &by_address {
                        login_failures::record(conn, by_address, now)?;
                    }
                    Ok(())
                })
                .await?;
            return Err(invalid_credentials());
        }
    };
    if account.status()? == AccountStatus::Blocked {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "account_blocked", "this account is blocked"));
    }
    let state_for_write = state.clone();
    let outcome = state
        .db
        .write(move |conn| {
            match second_factor_in(conn, &state_for_write, &account.id, second_factor.as_ref())? {
                SecondFactor::Passed => {}
                SecondFactor::Missing => return Ok(LoggedIn::TotpRequired),
                SecondFactor::Failed => {
                    // A wrong second factor counts like a wrong password, so guessing
                    // codes meets the same limits.
                    let now = time::now();
                    login_failures::record(conn, &by_login, now)?;
                    if let Some(by_address) = &by_address {
                        login_failures::record(conn, by_address, now)?;
                    }
                    return Ok(LoggedIn::InvalidTotp);
                }
            }
            open_session(conn, &state_for_write, &account, &context).map(LoggedIn::Pair)
        })
        .await?;
    match outcome {
        LoggedIn::Pair(pair) => Ok(token_response(&pair)),
        LoggedIn::TotpRequired => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "totp_required",
            "this account logs in with a second factor: send totp_code or recovery_code",
        )),
        LoggedIn::InvalidTotp => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_totp",
            "the second factor is wrong or was already used",
        )),
    }
}

/// What the second step of a login found.
enum LoggedIn {
    Pair(TokenPair),
    TotpRequired,
    InvalidTotp,
}

enum SecondFactor {
    /// Not needed, or given and spent.
    Passed,
    Missing,
    Failed,
}

/// The code a login presents, if any; both at once is refused.
fn second_factor_of(input: &LoginRequest) -> Result<Option<SecondFactorCode>, ApiError> {
    match (&input.totp_code, &input.recovery_code) {
        (Some(_), Some(_)) => Err(ApiError::field(
            "/recovery_code",
            hostadmin_domain::validation::Invalid::new(
                "conflicting_fields",
                "send totp_code or recovery_code, not both",
            ),
        )),
        (Some(code), None) => Ok(Some(SecondFactorCode::Totp(code.clone()))),
        (None, Some(code)) => Ok(Some(SecondFactorCode::Recovery(code.clone()))),
        (None, None) => Ok(None),
    }
}

/// Checks and spends the second factor when the account has one on (read in this
/// transaction, so that a concurrent reset or enrolment is seen).
fn second_factor_in(
    conn: &mut DbConnection,
    state: &AppState,
    account_id: &str,
    code: Option<&SecondFactorCode>,
) -> Result<SecondFactor, ApiError> {
    let row = two_factor_store::find(conn, account_id)?;
    let Some(row) = row.filter(|row| row.enabled) else { return Ok(SecondFactor::Passed) };
    let Some(code) = code else { return Ok(SecondFactor::Missing) };
    if two_factor::spend_code(conn, &state.sealer, account_id, &row, code, time::now())? {
        Ok(SecondFactor::Passed)
    } else {
        Ok(SecondFactor::Failed)
    }
}

/// What presenting a refresh token found.
enum Refreshed {
    Pair(TokenPair),
    /// A spent token came back: it was copied. Its session has been ended.
    Reused,
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
    let digest = credentials::digest(&input.refresh_token);
    let context = request_context(&request, &state);
    let state_for_write = state.clone();
    let outcome = state.db.write(move |conn| refresh_in(conn, &state_for_write, &digest, &context)).await?;
    match outcome {
        Refreshed::Pair(pair) => Ok(token_response(&pair)),
        Refreshed::Reused => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "refresh_token_reused",
            "this refresh token was already used; the session has been ended, log in again",
        )),
    }
}

fn refresh_in(
    conn: &mut DbConnection,
    state: &AppState,
    digest: &str,
    context: &AuditContext,
) -> Result<Refreshed, ApiError> {
    let now = time::now();
    let invalid = || ApiError::unauthenticated("the refresh token is not valid");
    let token = sessions::find_refresh_token(conn, digest)?.ok_or_else(invalid)?;
    let session = sessions::find(conn, &token.session_id)?.ok_or_else(invalid)?;
    if session.ended_at.is_some() {
        return Err(invalid());
    }
    if token.spent_at.is_some() || !sessions::spend_refresh_token(conn, digest, now)? {
        sessions::end(conn, &session.id, "refresh_token_reused", now)?;
        let mut context = context.clone();
        context.actor_id = Some(session.account_id.clone());
        audit::record(
            conn,
            &context,
            NewEvent {
                action: actions::SESSION_REFRESH_REUSED,
                target_type: target::SESSION,
                target_id: &session.id,
                account_id: Some(&session.account_id),
                details: serde_json::json!({}),
            },
            now,
        )?;
        return Ok(Refreshed::Reused);
    }
    if token.expires_at <= now {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "the refresh token has expired; log in again",
        ));
    }
    // Impersonation sessions never had a refresh token; refuse one anyway.
    if session.impersonator_id.is_some() {
        return Err(invalid());
    }
    let account = account_store::find(conn, &session.account_id)?.ok_or_else(invalid)?;
    if account.status()? == AccountStatus::Blocked {
        return Err(invalid());
    }
    let refresh_token = new_refresh_token(conn, state, &session.id, now)?;
    let ttl = state.tokens.access_ttl_seconds;
    let access_token = state.tokens.issue(&account.id, &session.id, account.token_version, None, ttl)?;
    Ok(Refreshed::Pair(TokenPair { access_token, refresh_token, token_type: "Bearer".into(), expires_in: ttl }))
}

/// Log out: end this session, or with `everywhere` every session and token of the
/// account (API keys stay).
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
    principal.authorize(if input.everywhere { Action::EndAllSessions } else { Action::EndSession })?;
    let session_id =
        principal.session_id().map(str::to_owned).ok_or_else(|| ApiError::forbidden("API keys cannot log out"))?;
    let other_digest = input.refresh_token.as_deref().map(credentials::digest);
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let account_id = principal.id();
            if input.everywhere {
                account_store::bump_token_version(conn, account_id)?;
                sessions::end_all_of(conn, account_id, "logout_everywhere", now)?;
            } else {
                sessions::end(conn, &session_id, "logout", now)?;
                if let Some(digest) = &other_digest {
                    if let Some(token) = sessions::find_refresh_token(conn, digest)? {
                        let session = sessions::find(conn, &token.session_id)?;
                        if session.is_some_and(|s| s.account_id == account_id) {
                            sessions::end(conn, &token.session_id, "logout", now)?;
                        }
                    }
                }
            }
            audit::record(
                conn,
                &principal.audit(),
                NewEvent {
                    action: if input.everywhere { actions::SESSION_LOGOUT_EVERYWHERE } else { actions::SESSION_LOGOUT },
                    target_type: target::SESSION,
                    target_id: &session_id,
                    account_id: Some(account_id),
                    details: serde_json::json!({}),
                },
                now,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
