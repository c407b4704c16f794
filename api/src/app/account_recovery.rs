//! Getting back into an account by mail: password reset and email verification.
//!
//! A reset request is worked on after its answer, so neither the answer nor its time
//! tells whether an account has the address. Tokens are single-use, expire, are stored
//! as SHA-256 digests and are bound to one account and address.

use std::sync::Arc;

use chrono::NaiveDateTime;
use serde_json::json;

use hostadmin_domain::accounts::{AccountStatus, EmailAddress};
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::credentials;
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::time;
use hostadmin_persistence::accounts::{self as account_store, Taken};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::email_tokens::{self, EmailTokenRow, Purpose};
use hostadmin_persistence::{sessions, DbConnection};

use crate::app::accounts::taken_error;
use crate::config::Config;
use crate::http::problem::ApiError;
use crate::mail::{self, Outgoing, Template};
use crate::state::AppState;

/// Reset requests being worked on after their answer. A flood beyond this is answered
/// alike and dropped, rather than queueing without end behind the database; the
/// per-address and per-recipient limits stop the rest.
const RESETS_IN_FLIGHT: usize = 64;
static RESET_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(RESETS_IN_FLIGHT);

/// The tokens that set a password: a reset mail's, and the welcome mail's.
const SETS_PASSWORD: [Purpose; 2] = [Purpose::PasswordReset, Purpose::SetPassword];

fn invalid_token() -> ApiError {
    ApiError::invalid("invalid_token", "/token", "the link is not valid or was already used; ask for a new one")
}

/// Ask for a password reset mail to `email`. Answers at once, always alike: the mail is
/// queued afterwards, if an active or suspended account has the address and neither the
/// address nor the client had their 20 mails this hour.
pub fn request_reset(state: Arc<AppState>, context: AuditContext, email: EmailAddress) {
    let Ok(slot) = RESET_SLOTS.try_acquire() else {
        tracing::warn!("password reset requests beyond {RESETS_IN_FLIGHT} in flight: this one is dropped");
        return;
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
}

fn queue_reset(
    conn: &mut DbConnection,
    config: &Config,
    email: &str,
    context: &AuditContext,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let Some(account) = account_store::find_by_login_or_email(conn, email)? else { return Ok(()) };
    if account.email.trim().to_lowercase() != email || account.status == AccountStatus::Blocked {
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
            invoice_id: None,
        },
        now,
    )?;
    // Anyone may ask: the event has no actor, only the client address.
    record(conn, context, actions::ACCOUNT_PASSWORD_RESET_REQUESTED, &account.id, json!({}), now)
}

/// A token that may still be used for one of `purposes`, or 422 on `/token`.
fn usable_token(
    conn: &mut DbConnection,
    digest: &str,
    purposes: &[Purpose],
    now: NaiveDateTime,
) -> Result<EmailTokenRow, ApiError> {
    let token = email_tokens::find(conn, digest)?.ok_or_else(invalid_token)?;
    if token.used_at.is_some() || !purposes.contains(&token.purpose) {
        return Err(invalid_token());
    }
    if token.expires_at <= now {
        return Err(ApiError::invalid("token_expired", "/token", "the link has expired; ask for a new one"));
    }
    Ok(token)
}

/// Set a new password with the token of a reset mail (or of the welcome mail). Every
/// session and token of the account ends, and so do its other open reset links; a
/// second factor is still asked at the next login.
pub async fn confirm_reset(
    state: &AppState,
    context: AuditContext,
    token: &str,
    new_password: NewPassword,
) -> Result<(), ApiError> {
    let digest = credentials::digest(token);
    {
        // Checked before hashing, so that a bad token costs no hashing slot.
        let digest = digest.clone();
        state.db.run(move |conn| usable_token(conn, &digest, &SETS_PASSWORD, time::now()).map(|_| ())).await?;
    }
    let hash = state.hasher.hash(new_password).await?;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let token = usable_token(conn, &digest, &SETS_PASSWORD, now)?;
            let account = account_store::find(conn, &token.account_id)?.ok_or_else(invalid_token)?;
            if account.status == AccountStatus::Blocked || !email_tokens::spend(conn, &digest, now)? {
                return Err(invalid_token());
            }
            account_store::set_password(conn, &account.id, &hash, now)?;
            sessions::end_all_of(conn, &account.id, "password_reset", now)?;
            email_tokens::spend_all_of(conn, &account.id, &SETS_PASSWORD, now)?;
            // The link reached the mailbox: that proves the address as a verification does.
            email_tokens::confirm_address(conn, &account.id, &token.email, now)?;
            let mut context = context.clone();
            context.actor_id = Some(account.id.clone());
            let details = json!({ "via": token.purpose.as_str() });
            record(conn, &context, actions::ACCOUNT_PASSWORD_RESET, &account.id, details, now)
        })
        .await
}

/// Confirm an email address with the token of a verification mail; a pending address
/// (after a change) becomes the account's (`409 email_taken` when another account took
/// it meanwhile).
pub async fn verify_email(state: &AppState, context: AuditContext, token: &str) -> Result<(), ApiError> {
    let digest = credentials::digest(token);
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let token = usable_token(conn, &digest, &[Purpose::VerifyEmail], now)?;
            if account_store::email_taken(conn, &token.email, Some(&token.account_id))? {
                return Err(taken_error(Taken::Email));
            }
            if !email_tokens::confirm_address(conn, &token.account_id, &token.email, now)?
                || !email_tokens::spend(conn, &digest, now)?
            {
                return Err(invalid_token());
            }
            let mut context = context.clone();
            context.actor_id = Some(token.account_id.clone());
            record(conn, &context, actions::ACCOUNT_EMAIL_VERIFIED, &token.account_id, json!({}), now)
        })
        .await
}

fn record(
    conn: &mut DbConnection,
    context: &AuditContext,
    action: &'static str,
    account_id: &str,
    details: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let event =
        NewEvent { action, target_type: target::ACCOUNT, target_id: account_id, account_id: Some(account_id), details };
    Ok(audit::record(conn, context, event, now)?)
}
