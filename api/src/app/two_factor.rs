//! The second factor: an account enrols, confirms and disables its own; a seller resets
//! the one of an account below (it lost its device); login checks a code with
//! [`spend_code`].
//!
//! The TOTP secret is stored sealed; each code works once (the last accepted step is
//! kept in the account's row and advanced by a conditional update), and recovery codes
//! are single-use and stored hashed.

use chrono::NaiveDateTime;

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::policy::{Action, Actor, Authorized};
use hostadmin_domain::sealing::Sealer;
use hostadmin_domain::time;
use hostadmin_domain::two_factor::{self, RecoveryCode, TotpSecret};
use hostadmin_persistence::accounts::AccountRow;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::two_factor::{self as store, TwoFactorRow};
use hostadmin_persistence::DbConnection;

use crate::app::access::Reached;
use crate::app::accounts::verify_password;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// A second-factor code as presented: an authenticator code or a recovery code.
#[derive(Clone)]
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

/// A new secret for the authenticator app, shown once.
pub struct Enrolment {
    /// The secret in base32, for typing it into an authenticator app.
    pub secret: String,
    /// The same secret as an `otpauth://totp/...` URI, for a QR code.
    pub otpauth_uri: String,
}

/// Start enrolling the actor's own account (`own`), given its password: a new pending
/// secret, replacing an unconfirmed one (`409 invalid_transition` when the second factor
/// is on already).
pub async fn start(
    state: &AppState,
    actor: &Actor,
    own: &AccountRow,
    _: Authorized,
    password: String,
) -> Result<Enrolment, ApiError> {
    verify_password(state, own, password, "/password", "the password is wrong").await?;
    let secret = TotpSecret::generate().map_err(ApiError::internal)?;
    let sealed = state.sealer.seal(&sealing_context(&own.id), secret.as_bytes()).map_err(ApiError::internal)?;
    let enrolment = Enrolment { secret: secret.base32(), otpauth_uri: secret.otpauth_uri(&own.login) };
    let context = AuditContext::of(actor);
    let id = own.id.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            if !store::set_pending(conn, &id, &sealed, now)? {
                return Err(invalid_transition("two-factor login is on already; disable it first"));
            }
            record(conn, &context, actions::ACCOUNT_TWO_FACTOR_ENROL, &id, serde_json::json!({}), now)
        })
        .await?;
    Ok(enrolment)
}

/// What confirming found.
enum Confirmed {
    On,
    WrongCode,
}

/// Confirm the enrolment with a code of the app (six digits, checked by the caller):
/// two-factor login is on from now. Answers the ten recovery codes, shown once.
pub async fn confirm(state: &AppState, actor: &Actor, _: Authorized, code: String) -> Result<Vec<String>, ApiError> {
    let codes = two_factor::new_recovery_codes().map_err(ApiError::internal)?;
    let shown: Vec<String> = codes.iter().map(RecoveryCode::display).collect();
    let hashes: Vec<String> = codes.iter().map(RecoveryCode::digest).collect();
    let context = AuditContext::of(actor);
    let id = actor.account_id.clone();
    let sealer = state.sealer.clone();
    let outcome = state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = store::find(conn, &id)?.ok_or_else(ApiError::not_found)?;
            let pending = match (&row.pending_secret_sealed, row.enabled) {
                (Some(pending), false) => pending,
                (_, true) => return Err(invalid_transition("two-factor login is on already")),
                (None, false) => return Err(invalid_transition("start with POST /v1/me/two-factor")),
            };
            let secret = open_secret(&sealer, &id, Some(pending))?;
            let Some(step) = secret.matching_step(&code, now.and_utc().timestamp(), None) else {
                return Ok(Confirmed::WrongCode);
            };
            if !store::enable(conn, &id, pending, step, &hashes, now)? {
                return Err(invalid_transition("the enrolment changed meanwhile; start again"));
            }
            record(conn, &context, actions::ACCOUNT_TWO_FACTOR_ENABLE, &id, serde_json::json!({}), now)?;
            Ok(Confirmed::On)
        })
        .await?;
    match outcome {
        Confirmed::On => Ok(shown),
        Confirmed::WrongCode => Err(wrong_code()),
    }
}

/// Switch the actor's own second factor off, given its password and a code (of the app
/// or a recovery code); the secret and the recovery codes are forgotten.
pub async fn disable(
    state: &AppState,
    actor: &Actor,
    own: &AccountRow,
    _: Authorized,
    password: String,
    code: SecondFactorCode,
) -> Result<(), ApiError> {
    verify_password(state, own, password, "/password", "the password is wrong").await?;
    let context = AuditContext::of(actor);
    let id = own.id.clone();
    let sealer = state.sealer.clone();
    let disabled = state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = store::find(conn, &id)?.ok_or_else(ApiError::not_found)?;
            if !row.enabled {
                return Err(invalid_transition("two-factor login is off"));
            }
            if !spend_code(conn, &sealer, &id, &row, &code, now)? {
                return Ok(false);
            }
            store::disable(conn, &id, now)?;
            record(conn, &context, actions::ACCOUNT_TWO_FACTOR_DISABLE, &id, serde_json::json!({}), now)?;
            Ok(true)
        })
        .await?;
    if disabled {
        Ok(())
    } else {
        Err(wrong_code())
    }
}

/// Switch off the second factor of an account below (it lost its device): its secret, a
/// pending enrolment and its recovery codes are forgotten. Nothing to forget is no error
/// (and no event).
pub async fn reset(state: &AppState, actor: &Actor, account: Reached<AccountRow>) -> Result<(), ApiError> {
    account.expect(Action::ResetCustomerTwoFactor)?;
    let context = AuditContext::of(actor);
    let customer = account.row;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            if store::disable(conn, &customer.id, now)? {
                let details = serde_json::json!({"was_enabled": customer.two_factor_enabled});
                record(conn, &context, actions::CUSTOMER_TWO_FACTOR_RESET, &customer.id, details, now)?;
            }
            Ok(())
        })
        .await
}
