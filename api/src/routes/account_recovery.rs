//! Getting back into an account by mail: password reset and email verification.
//!
//! A reset request answers 202 with an empty body whatever the address: the work (the
//! lookup, the token and the queued mail) runs after the answer, so neither the body nor
//! the time tells whether an account has that address. Tokens are single-use, expire,
//! are stored as SHA-256 digests and are bound to one account and address.

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use hostadmin_domain::accounts::{AccountStatus, EmailAddress};
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::credentials;
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::time;
use hostadmin_persistence::accounts as account_store;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::email_tokens::{self, EmailTokenRow, Purpose};
use hostadmin_persistence::{sessions, DbConnection};

use crate::auth::principal::request_context;
use crate::config::Config;
use crate::http::body::JsonBody;
use crate::http::problem::ApiError;
use crate::mail::{self, Outgoing, Template};
use crate::state::AppState;

/// Reset requests being worked on after their answer. A flood beyond this is answered
/// alike (202) and dropped, rather than queueing without end behind the database; the
/// per-address and per-recipient limits stop the rest.
const RESETS_IN_FLIGHT: usize = 64;
static RESET_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(RESETS_IN_FLIGHT);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(max_length = 254, format = Email)]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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
pub struct VerifyEmailRequest {
    /// The token from the verification mail's link.
    #[schema(max_length = 256)]
    pub token: String,
}

fn invalid_token() -> ApiError {
    ApiError::invalid("invalid_token", "/token", "the link is not valid or was already used; ask for a new one")
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
    let state = state.into_inner();
    let Ok(slot) = RESET_SLOTS.try_acquire() else {
        tracing::warn!("password reset requests beyond {RESETS_IN_FLIGHT} in flight: this one is dropped");
        return Ok(HttpResponse::Accepted().finish());
    };
    // After the answer: the time of the answer must not tell whether the account exists.
    tokio::spawn(async move {
        let _slot = slot;
        let config = state.config.clone();
        let result =
            state.db.write(move |conn| queue_reset(conn, &config, email.normalized(), &context, time::now())).await;
        if let Err(error) = result {
            tracing::warn!(error = %error, "a password reset request failed");
        }
    });
    Ok(HttpResponse::Accepted().finish())
}

/// Queues the reset mail if an active or suspended account has the address and neither
/// the address nor the client had their limit.
fn queue_reset(
    conn: &mut DbConnection,
    config: &Config,
    email: &str,
    context: &AuditContext,
    now: chrono::NaiveDateTime,
) -> Result<(), ApiError> {
    let Some(account) = account_store::find_by_login_or_email(conn, email)? else { return Ok(()) };
    if account.email.trim().to_lowercase() != email || account.status()? == AccountStatus::Blocked {
        return Ok(());
    }
    if mail::limit_reached(conn, &account.email, context.ip.as_deref(), now)?.is_some() {
        return Ok(());
    }
    let (link, valid_for) = mail::issue_link(conn, config, Purpose::PasswordReset, &account.id, email, now)?;
    mail::queue(
        conn,
        config,
        Outgoing {
            template: Template::PasswordReset,
            recipient: &account.email,
            account_id: Some(&account.id),
            client_ip: context.ip.as_deref(),
            context: json!({ "name": account.name, "login": account.login, "link": link, "valid_for": valid_for }),
        },
        now,
    )?;
    // Anyone may ask: the event has no actor, only the client address.
    audit::record(
        conn,
        context,
        NewEvent {
            action: actions::ACCOUNT_PASSWORD_RESET_REQUESTED,
            target_type: target::ACCOUNT,
            target_id: &account.id,
            account_id: Some(&account.id),
            details: json!({}),
        },
        now,
    )?;
    Ok(())
}

/// A token that may still be used for one of `purposes`, or 422 on `/token`.
fn usable_token(
    conn: &mut DbConnection,
    digest: &str,
    purposes: &[Purpose],
    now: chrono::NaiveDateTime,
) -> Result<EmailTokenRow, ApiError> {
    let token = email_tokens::find(conn, digest)?.ok_or_else(invalid_token)?;
    if token.used_at.is_some() || !token.purpose().is_some_and(|p| purposes.contains(&p)) {
        return Err(invalid_token());
    }
    if token.expires_at <= now {
        return Err(ApiError::invalid("token_expired", "/token", "the link has expired; ask for a new one"));
    }
    Ok(token)
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
    let digest = credentials::digest(&input.token);
    const PURPOSES: [Purpose; 2] = [Purpose::PasswordReset, Purpose::SetPassword];
    {
        // Checked before hashing, so that a bad token costs no hashing slot.
        let digest = digest.clone();
        state.db.run(move |conn| usable_token(conn, &digest, &PURPOSES, time::now()).map(|_| ())).await?;
    }
    let hash = state.hasher.hash(new_password).await?;
    let context = request_context(&request, &state);
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let token = usable_token(conn, &digest, &PURPOSES, now)?;
            let account = account_store::find(conn, &token.account_id)?.ok_or_else(invalid_token)?;
            if account.status()? == AccountStatus::Blocked || !email_tokens::spend(conn, &digest, now)? {
                return Err(invalid_token());
            }
            account_store::set_password(conn, &account.id, &hash, now)?;
            sessions::end_all_of(conn, &account.id, "password_reset", now)?;
            email_tokens::spend_all_of(conn, &account.id, &PURPOSES, now)?;
            // The link reached the mailbox: that proves the address as a verification does.
            email_tokens::confirm_address(conn, &account.id, &token.email, now)?;
            let mut context = context.clone();
            context.actor_id = Some(account.id.clone());
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::ACCOUNT_PASSWORD_RESET,
                    target_type: target::ACCOUNT,
                    target_id: &account.id,
                    account_id: Some(&account.id),
                    details: json!({ "via": token.purpose }),
                },
                now,
            )?;
            Ok(())
        })
        .await?;
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
    let digest = credentials::digest(&input.token);
    let context = request_context(&request, &state);
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let token = usable_token(conn, &digest, &[Purpose::VerifyEmail], now)?;
            if account_store::email_taken(conn, &token.email, Some(&token.account_id))? {
                return Err(crate::routes::customers::taken_error(account_store::Taken::Email));
            }
            if !email_tokens::confirm_address(conn, &token.account_id, &token.email, now)?
                || !email_tokens::spend(conn, &digest, now)?
            {
                return Err(invalid_token());
            }
            let mut context = context.clone();
            context.actor_id = Some(token.account_id.clone());
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::ACCOUNT_EMAIL_VERIFIED,
                    target_type: target::ACCOUNT,
                    target_id: &token.account_id,
                    account_id: Some(&token.account_id),
                    details: json!({}),
                },
                now,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
