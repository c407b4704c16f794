//! Logging in and out: sessions with short-lived access tokens and rotating refresh
//! tokens.
//!
//! Failed logins are counted in the database, per submitted login, per account (its
//! login name and email address together) and per client address, so that every
//! instance agrees; a wrong second factor counts as a wrong
//! password. A refresh token is spent by its use; a spent one presented again ends its
//! session (one of the two presenters had stolen it).

use actix_web::http::StatusCode;
use chrono::{Duration, NaiveDateTime};

use hostadmin_domain::accounts::AccountStatus;
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::credentials::{self, SecretKind};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::policy::{Actor, Authorized};
use hostadmin_domain::sealing::Sealer;
use hostadmin_domain::time;
use hostadmin_persistence::accounts as account_store;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::two_factor as two_factor_store;
use hostadmin_persistence::{login_failures, sessions, DbConnection};

use crate::app::two_factor::{spend_code, SecondFactorCode};
use crate::config::{Config, Limits};
use crate::http::problem::ApiError;
use crate::state::AppState;

/// Failed logins count for this long.
const FAILURE_WINDOW_MINUTES: i64 = 15;
/// The longest login and password a login form may send; longer ones are wrong ones.
const MAX_LOGIN: usize = 254;
const MAX_PASSWORD: usize = 1024;

/// A new access token and the refresh token that replaces it (no `Debug`: they are
/// secrets).
pub struct Tokens {
    pub access_token: String,
    /// Spent by its first use.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// A login as submitted (no `Debug`: it holds a password).
pub struct Credentials {
    /// Login name or email address.
    pub login: String,
    pub password: String,
    pub second_factor: Option<SecondFactorCode>,
}

fn invalid_credentials() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "the login or the password is wrong")
}

/// The digests that failed logins are counted under: the login as submitted (so that
/// unknown logins are limited too), the account it names (so that its login name and its
/// email address share one limit, QUALITY.md 9), and the client address.
#[derive(Clone)]
struct FailureSubjects {
    submitted: String,
    account: Option<String>,
    address: Option<String>,
}

impl FailureSubjects {
    fn new(submitted: &str, ip: Option<&str>) -> Self {
        Self {
            submitted: credentials::digest(&format!("login:{}", submitted.trim().to_lowercase())),
            account: None,
            address: ip.map(|ip| credentials::digest(&format!("address:{ip}"))),
        }
    }

    /// The same, with the account the login named.
    fn of_account(self, account_id: Option<&str>) -> Self {
        Self { account: account_id.map(|id| credentials::digest(&format!("account:{id}"))), ..self }
    }

    /// 429 while any subject has reached its limit.
    fn check(&self, conn: &mut DbConnection, limits: &Limits, now: NaiveDateTime) -> Result<(), ApiError> {
        for by_login in std::iter::once(&self.submitted).chain(&self.account) {
            check_throttle(conn, by_login, limits.login_failures_per_login, now)?;
        }
        if let Some(address) = &self.address {
            check_throttle(conn, address, limits.login_failures_per_address, now)?;
        }
        Ok(())
    }

    fn record(&self, conn: &mut DbConnection) -> Result<(), ApiError> {
        let now = time::now();
        for subject in std::iter::once(&self.submitted).chain(&self.account).chain(&self.address) {
            login_failures::record(conn, subject, now)?;
        }
        Ok(())
    }
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

/// What the second step of a login found.
enum LoggedIn {
    /// A new session: its id, the account, its token version and its refresh token.
    Session {
        session_id: String,
        account_id: String,
        token_version: i64,
        refresh_token: String,
    },
    TotpRequired,
    InvalidTotp,
}

/// Log in with a login name or email address, a password and (when the account has it
/// on) a second factor. Wrong logins and wrong passwords answer alike; failures are
/// limited per submitted login, per account (its login name and email address together)
/// and per client address (429 with `Retry-After`).
pub async fn login(state: &AppState, context: AuditContext, submitted: Credentials) -> Result<Tokens, ApiError> {
    if submitted.login.chars().count() > MAX_LOGIN || submitted.password.chars().count() > MAX_PASSWORD {
        return Err(invalid_credentials());
    }
    let submitted_subjects = FailureSubjects::new(&submitted.login, context.ip.as_deref());
    let limits = state.config.limits.clone();
    let login = submitted.login.clone();
    let (account, subjects) = state
        .db
        .run(move |conn| {
            let account = account_store::find_by_login_or_email(conn, &login)?;
            let subjects = submitted_subjects.of_account(account.as_ref().map(|a| a.id.as_str()));
            subjects.check(conn, &limits, time::now())?;
            Ok((account, subjects))
        })
        .await?;
    let stored_hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let matches = state.hasher.verify(submitted.password, stored_hash).await?;
    let account = match account {
        Some(account) if matches => account,
        _ => {
            let subjects = subjects.clone();
            state.db.write(move |conn| subjects.record(conn)).await?;
            return Err(invalid_credentials());
        }
    };
    if account.status == AccountStatus::Blocked {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "account_blocked", "this account is blocked"));
    }
    let config = state.config.clone();
    let sealer = state.sealer.clone();
    let second_factor = submitted.second_factor;
    let outcome = state
        .db
        .write(move |conn| {
            let now = time::now();
            match second_factor_in(conn, &sealer, &account.id, second_factor.as_ref(), now)? {
                SecondFactor::Passed => {}
                SecondFactor::Missing => return Ok(LoggedIn::TotpRequired),
                SecondFactor::Failed => {
                    // A wrong second factor counts like a wrong password, so guessing
                    // codes meets the same limits.
                    subjects.record(conn)?;
                    return Ok(LoggedIn::InvalidTotp);
                }
            }
            let session_id = new_id();
            sessions::create(conn, &session_id, &account.id, None, now)?;
            let refresh_token = new_refresh_token(conn, &config, &session_id, now)?;
            let mut context = context.clone();
            context.actor_id = Some(account.id.clone());
            let event = NewEvent {
                action: actions::SESSION_LOGIN,
                target_type: target::SESSION,
                target_id: &session_id,
                account_id: Some(&account.id),
                details: serde_json::json!({}),
            };
            audit::record(conn, &context, event, now)?;
            Ok(LoggedIn::Session {
                session_id,
                account_id: account.id.clone(),
                token_version: account.token_version,
                refresh_token,
            })
        })
        .await?;
    match outcome {
        LoggedIn::Session { session_id, account_id, token_version, refresh_token } => {
            let ttl = state.tokens.access_ttl_seconds;
            let access_token = state.tokens.issue(&account_id, &session_id, token_version, None, ttl)?;
            Ok(Tokens { access_token, refresh_token, expires_in: ttl })
        }
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

/// What the second factor of a login found.
enum SecondFactor {
    /// Not needed, or given and spent.
    Passed,
    Missing,
    Failed,
}

/// Checks and spends the second factor when the account has one on (read in this
/// transaction, so that a concurrent reset or enrolment is seen).
fn second_factor_in(
    conn: &mut DbConnection,
    sealer: &Sealer,
    account_id: &str,
    code: Option<&SecondFactorCode>,
    now: NaiveDateTime,
) -> Result<SecondFactor, ApiError> {
    let row = two_factor_store::find(conn, account_id)?;
    let Some(row) = row.filter(|row| row.enabled) else { return Ok(SecondFactor::Passed) };
    let Some(code) = code else { return Ok(SecondFactor::Missing) };
    Ok(if spend_code(conn, sealer, account_id, &row, code, now)? { SecondFactor::Passed } else { SecondFactor::Failed })
}

fn new_refresh_token(
    conn: &mut DbConnection,
    config: &Config,
    session_id: &str,
    now: NaiveDateTime,
) -> Result<String, ApiError> {
    let token = credentials::new_secret(SecretKind::RefreshToken).map_err(ApiError::internal)?;
    let expires_at = now + Duration::days(i64::from(config.refresh_token_ttl_days));
    sessions::add_refresh_token(conn, &credentials::digest(&token), session_id, now, expires_at)?;
    Ok(token)
}

/// What presenting a refresh token found.
enum Refreshed {
    /// The new refresh token of the session, for the account at its token version.
    Rotated { session_id: String, account_id: String, token_version: i64, refresh_token: String },
    /// A spent token came back: it was copied. Its session has been ended.
    Reused,
}

/// Trade a refresh token for a new pair. The presented token is spent; presenting a spent
/// token again ends the whole session (`401 refresh_token_reused`).
pub async fn refresh(state: &AppState, context: AuditContext, refresh_token: &str) -> Result<Tokens, ApiError> {
    let digest = credentials::digest(refresh_token);
    let config = state.config.clone();
    // Answered after the transaction: ending a reused token's session must commit.
    let outcome = state.db.write(move |conn| rotate(conn, &config, &digest, &context)).await?;
    match outcome {
        Refreshed::Rotated { session_id, account_id, token_version, refresh_token } => {
            let ttl = state.tokens.access_ttl_seconds;
            let access_token = state.tokens.issue(&account_id, &session_id, token_version, None, ttl)?;
            Ok(Tokens { access_token, refresh_token, expires_in: ttl })
        }
        Refreshed::Reused => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "refresh_token_reused",
            "this refresh token was already used; the session has been ended, log in again",
        )),
    }
}

fn rotate(
    conn: &mut DbConnection,
    config: &Config,
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
        let event = NewEvent {
            action: actions::SESSION_REFRESH_REUSED,
            target_type: target::SESSION,
            target_id: &session.id,
            account_id: Some(&session.account_id),
            details: serde_json::json!({}),
        };
        audit::record(conn, &context, event, now)?;
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
    if account.status == AccountStatus::Blocked {
        return Err(invalid());
    }
    let refresh_token = new_refresh_token(conn, config, &session.id, now)?;
    Ok(Refreshed::Rotated {
        session_id: session.id,
        account_id: account.id,
        token_version: account.token_version,
        refresh_token,
    })
}

/// How a logout ends sessions.
pub struct Logout {
    /// Every session and token of the account (API keys stay).
    pub everywhere: bool,
    /// Also the session this refresh token belongs to (when it is one of the actor's).
    pub refresh_token: Option<String>,
}

/// End the actor's session (a session, not an API key: `403`), or with `everywhere`
/// every session and token of the account.
pub async fn logout(state: &AppState, actor: &Actor, _: Authorized, logout: Logout) -> Result<(), ApiError> {
    let session_id =
        actor.session_id().map(str::to_owned).ok_or_else(|| ApiError::forbidden("API keys cannot log out"))?;
    let other_digest = logout.refresh_token.as_deref().map(credentials::digest);
    let context = AuditContext::of(actor);
    let account_id = actor.account_id.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            if logout.everywhere {
                account_store::bump_token_version(conn, &account_id)?;
                sessions::end_all_of(conn, &account_id, "logout_everywhere", now)?;
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
            let event = NewEvent {
                action: if logout.everywhere { actions::SESSION_LOGOUT_EVERYWHERE } else { actions::SESSION_LOGOUT },
                target_type: target::SESSION,
                target_id: &session_id,
                account_id: Some(&account_id),
                details: serde_json::json!({}),
            };
            Ok(audit::record(conn, &context, event, now)?)
        })
        .await
}
