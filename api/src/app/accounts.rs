//! Accounts: the customers (and sub-resellers) below a seller, which it creates, lists
//! and changes, and the caller's own account (`/v1/me`): its profile, email address and
//! password.
//!
//! A change applies to the account as it is when the change's transaction has locked it:
//! concurrent changes without `If-Match` are applied one after the other (a merge patch
//! of the profile merges into what the one before left), and `If-Match`, when sent, is
//! compared with that version.

use chrono::NaiveDateTime;

use hostadmin_domain::accounts::{AccountKind, DisplayName, EmailAddress, Login, Profile};
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::QuotaKey;
use hostadmin_domain::ids::new_id;
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::policy::{Action, Actor, Authorized};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::accounts::{
    self as account_store, AccountChanges, AccountFilter, AccountRow, NewAccount, Taken,
};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::{sessions, DbConnection, StoreError};

use crate::app::access::Reached;
use crate::app::resellers;
use crate::http::etag::IfMatch;
use crate::http::merge_patch::{self, Patch};
use crate::http::problem::{ApiError, FieldError};
use crate::mail;
use crate::state::AppState;

/// An account to create below the seller, its fields checked.
pub struct NewCustomer {
    pub kind: AccountKind,
    pub login: Login,
    pub password: NewPassword,
    pub name: DisplayName,
    pub email: EmailAddress,
    pub profile: Profile,
    /// Mail it a link to set its password.
    pub send_welcome_email: bool,
}

/// The answer to a login or an email address another account has.
pub fn taken_error(taken: Taken) -> ApiError {
    match taken {
        Taken::Login => ApiError::conflict("login_taken", "another account has this login"),
        Taken::Email => ApiError::conflict("email_taken", "another account has this email address"),
    }
}

/// A unique index refused the row: another request took the name between our check
/// and our insert (possible on PostgreSQL, where the check does not lock).
fn taken_meanwhile(error: StoreError) -> ApiError {
    match &error {
        StoreError::Unique(constraint) => match Taken::from_violation(constraint) {
            Some(taken) => taken_error(taken),
            None => error.into(),
        },
        _ => error.into(),
    }
}

/// Create an account below the seller (for operators: one of the provider's own), counted
/// against every reseller package above it; with `send_welcome_email`, mail it a link to
/// set its password.
pub async fn create(state: &AppState, actor: &Actor, _: Authorized, new: NewCustomer) -> Result<AccountRow, ApiError> {
    let password_hash = state.hasher.hash(new.password).await?;
    let account = NewAccount {
        id: new_id(),
        kind: new.kind,
        parent_id: (actor.kind != AccountKind::Operator).then(|| actor.account_id.clone()),
        login: new.login.as_str().to_owned(),
        email: new.email.as_str().to_owned(),
        email_normalized: new.email.normalized().to_owned(),
        name: new.name.as_str().to_owned(),
        profile: new.profile,
        password_hash: Some(password_hash),
        now: time::now(),
    };
    let send_welcome_email = new.send_welcome_email;
    let context = AuditContext::of(actor);
    let config = state.config.clone();
    state
        .db
        .write(move |conn| {
            if let Some(taken) = account_store::taken(conn, &account.login, &account.email_normalized)? {
                return Err(taken_error(taken));
            }
            if let Some(parent) = &account.parent_id {
                resellers::enforce(conn, parent, true, QuotaKey::Customers)?;
            }
            account_store::insert(conn, &account).map_err(taken_meanwhile)?;
            let details = serde_json::json!({
                "kind": account.kind.as_str(), "login": account.login, "send_welcome_email": send_welcome_email,
            });
            record(conn, &context, actions::CUSTOMER_CREATE, &account.id, details, account.now)?;
            let row = account_store::find(conn, &account.id)?
                .ok_or_else(|| ApiError::internal("the new account vanished"))?;
            if send_welcome_email {
                mail::queue_welcome(conn, &config, &row, account.now)?;
            }
            Ok(row)
        })
        .await
}

/// One page of the accounts below the actor, newest first.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    _: Authorized,
    filter: AccountFilter,
    limit: i64,
) -> Result<Vec<AccountRow>, ApiError> {
    let reach = actor.reach();
    state.db.run(move |conn| Ok(account_store::list_in_reach(conn, &reach, &filter, limit)?)).await
}

/// A change of an account's name, email address or profile, as a merge patch asks for
/// it: checked against the stored account, and applied to it as it is when locked.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub name: Patch<String>,
    /// Becomes the pending address until it is verified.
    pub email: Patch<String>,
    /// Merged into the stored profile (RFC 7396); `null` clears it.
    pub profile: Patch<serde_json::Value>,
    /// Sellers mark an account below them as fraud: it cannot order (billing).
    pub fraud: Patch<bool>,
}

impl ProfileChange {
    pub fn changes_email(&self) -> bool {
        !matches!(self.email, Patch::Absent)
    }
}

/// What a valid change resolves to on one version of the account.
struct Resolved {
    changes: AccountChanges,
    new_email: Option<EmailAddress>,
    /// The fields changed, for the audit log.
    fields: Vec<&'static str>,
}

/// Change an account below the actor.
pub async fn update_customer(
    state: &AppState,
    actor: &Actor,
    account: Reached<AccountRow>,
    change: ProfileChange,
    if_match: IfMatch,
) -> Result<AccountRow, ApiError> {
    account.expect(Action::UpdateCustomer)?;
    apply(state, actor, account.row, change, if_match, actions::CUSTOMER_UPDATE).await
}

/// Change the actor's own account (`own`, as read for this request). A new email address
/// needs the current password, and that the actor may change its address
/// ([`Action::ChangeOwnEmail`]: not under an impersonation token, not with an API key).
pub async fn update_own(
    state: &AppState,
    actor: &Actor,
    own: AccountRow,
    _: Authorized,
    change: ProfileChange,
    current_password: Option<String>,
    if_match: IfMatch,
) -> Result<AccountRow, ApiError> {
    if !change.changes_email() {
        return apply(state, actor, own, change, if_match, actions::ACCOUNT_UPDATE).await;
    }
    actor.authorize(Action::ChangeOwnEmail)?;
    resolve(&own, &change)?;
    let candidate = current_password.ok_or_else(|| {
        let invalid = Invalid::new("required", "changing the email address needs the current password");
        ApiError::field("/current_password", invalid)
    })?;
    verify_password(state, &own, candidate, "/current_password", "the current password is wrong").await?;
    apply(state, actor, own, change, if_match, actions::ACCOUNT_EMAIL_CHANGE_REQUESTED).await
}

/// Checks the change against the account as read (422 before anything is locked), then
/// applies it to the account as it is once locked, with its audit event and, for a new
/// address, the verification mail and the notice to the old address.
async fn apply(
    state: &AppState,
    actor: &Actor,
    row: AccountRow,
    change: ProfileChange,
    if_match: IfMatch,
    action: &'static str,
) -> Result<AccountRow, ApiError> {
    resolve(&row, &change)?;
    let context = AuditContext::of(actor);
    let config = state.config.clone();
    let id = row.id;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let current = account_store::find_for_update(conn, &id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(current.version)?;
            let resolved = resolve(&current, &change)?;
            if let Some(email) = &resolved.new_email {
                if account_store::email_taken(conn, email.normalized(), Some(&id))? {
                    return Err(taken_error(Taken::Email));
                }
            }
            if !account_store::update(conn, &id, current.version, &resolved.changes, now)? {
                return Err(ApiError::Busy("the account changed during the request".into()));
            }
            if let Some(Some(new_email)) = &resolved.changes.pending_email {
                // The new address takes effect once verified; the old one is told now.
                mail::queue_email_change(conn, &config, &current, new_email, context.ip.as_deref(), now)?;
            }
            record(conn, &context, action, &id, serde_json::json!({ "fields": resolved.fields }), now)?;
            account_store::find(conn, &id)?.ok_or_else(ApiError::not_found)
        })
        .await
}

fn collect<T>(errors: &mut Vec<FieldError>, pointer: &str, result: Result<T, Invalid>) -> Option<T> {
    result.map_err(|invalid| errors.push(FieldError::new(pointer, invalid))).ok()
}

/// Each refused field of a profile, with its pointer under `prefix`.
pub fn profile_errors(profile: &Profile, prefix: &str) -> Vec<FieldError> {
    profile
        .problems()
        .into_iter()
        .map(|(field, invalid)| FieldError::new(format!("{prefix}/{field}"), invalid))
        .collect()
}

/// What `change` makes of `row`, or every field it refuses (an unknown profile field
/// alone, as `unknown_field`).
fn resolve(row: &AccountRow, change: &ProfileChange) -> Result<Resolved, ApiError> {
    let mut errors = Vec::new();
    let mut changes = AccountChanges::default();
    let mut fields = Vec::new();
    match &change.name {
        Patch::Absent => {}
        Patch::Null => errors.push(FieldError::new("/name", Invalid::new("required", "name cannot be cleared"))),
        Patch::Value(text) => {
            if let Some(name) = collect(&mut errors, "/name", DisplayName::parse(text)) {
                changes.name = Some(name.as_str().to_owned());
                fields.push("name");
            }
        }
    }
    let new_email = match &change.email {
        Patch::Absent => None,
        Patch::Null => {
            errors.push(FieldError::new("/email", Invalid::new("required", "email cannot be cleared")));
            None
        }
        Patch::Value(text) => collect(&mut errors, "/email", EmailAddress::parse(text)),
    };
    match &change.profile {
        Patch::Absent => {}
        Patch::Null => {
            changes.profile = Some(Profile::default());
            fields.push("profile");
        }
        Patch::Value(patch) => match merged_profile(&row.profile, patch)? {
            Ok(profile) => {
                errors.extend(profile_errors(&profile, "/profile"));
                changes.profile = Some(profile);
                fields.push("profile");
            }
            Err(error) => errors.push(error),
        },
    }
    match change.fraud {
        Patch::Absent => {}
        Patch::Null => errors.push(FieldError::new("/fraud", Invalid::new("required", "fraud is true or false"))),
        Patch::Value(fraud) => {
            changes.fraud = Some(fraud);
            fields.push("fraud");
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    if let Some(email) = &new_email {
        // Asking for the address already in use withdraws a pending change.
        let pending = (email.normalized() != row.email.to_lowercase()).then(|| email.as_str().to_owned());
        changes.pending_email = Some(pending);
        fields.push("pending_email");
    }
    Ok(Resolved { changes, new_email, fields })
}

/// The stored profile with the merge patch applied; a value of the wrong shape is the
/// field's error, an unknown field refuses the whole request (`unknown_field`).
fn merged_profile(stored: &Profile, patch: &serde_json::Value) -> Result<Result<Profile, FieldError>, ApiError> {
    let mut merged = serde_json::to_value(stored).map_err(ApiError::internal)?;
    merge_patch::merge(&mut merged, patch);
    let error = match serde_json::from_value::<Profile>(merged) {
        Ok(profile) => return Ok(Ok(profile)),
        Err(error) => error.to_string(),
    };
    match error.split_once("unknown field `") {
        Some((_, rest)) => {
            let pointer = format!("/profile/{}", rest.split('`').next().unwrap_or_default());
            let errors = vec![FieldError::new(pointer, Invalid::new("unknown_field", error.clone()))];
            Err(ApiError::Validation { code: "unknown_field", errors })
        }
        None => Ok(Err(FieldError::new("/profile", Invalid::new("invalid_value", error)))),
    }
}

/// Send the verification mail again: to the pending address after a change, else to the
/// account's address while it is unverified (`409 already_verified` otherwise). Counts
/// against the recipient's and the client's mail limits (`429`).
pub async fn send_verification(state: &AppState, actor: &Actor, account: Reached<AccountRow>) -> Result<(), ApiError> {
    account.expect(Action::SendVerificationEmail)?;
    let context = AuditContext::of(actor);
    let config = state.config.clone();
    let id = account.row.id;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            // Read again inside the transaction: the address may have changed meanwhile.
            let row = account_store::find(conn, &id)?.ok_or_else(ApiError::not_found)?;
            let recipient = match (&row.pending_email, row.email_verified) {
                (Some(pending), _) => pending.clone(),
                (None, false) => row.email.clone(),
                (None, true) => {
                    return Err(ApiError::conflict(
                        "already_verified",
                        "the address is verified and no change is pending",
                    ))
                }
            };
            let ip = context.ip.as_deref();
            if let Some(wait) = mail::limit_reached(conn, &recipient, ip, now)? {
                return Err(ApiError::rate_limited(wait));
            }
            mail::queue_verification(conn, &config, &row, &recipient, ip, now)?;
            let details = serde_json::json!({ "pending": row.pending_email.is_some() });
            record(conn, &context, actions::CUSTOMER_VERIFICATION_EMAIL, &id, details, now)
        })
        .await
}

/// Change the actor's own password, given the current one. Every session and token of
/// the account ends, the actor's own too.
pub async fn change_password(
    state: &AppState,
    actor: &Actor,
    own: &AccountRow,
    _: Authorized,
    current_password: String,
    new_password: NewPassword,
) -> Result<(), ApiError> {
    verify_password(state, own, current_password, "/current_password", "the current password is wrong").await?;
    let hash = state.hasher.hash(new_password).await?;
    let context = AuditContext::of(actor);
    let id = own.id.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            account_store::set_password(conn, &id, &hash, now)?;
            sessions::end_all_of(conn, &id, "password_change", now)?;
            record(conn, &context, actions::ACCOUNT_PASSWORD_CHANGE, &id, serde_json::json!({}), now)
        })
        .await
}

/// Refuses with `422 invalid_credentials` at `pointer` unless `candidate` is the
/// account's password.
pub async fn verify_password(
    state: &AppState,
    account: &AccountRow,
    candidate: String,
    pointer: &str,
    detail: &str,
) -> Result<(), ApiError> {
    if state.hasher.verify(candidate, account.password_hash.clone()).await? {
        Ok(())
    } else {
        Err(ApiError::invalid("invalid_credentials", pointer, detail))
    }
}

/// Records an event on the account `id`.
fn record(
    conn: &mut DbConnection,
    context: &AuditContext,
    action: &'static str,
    id: &str,
    details: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let event = NewEvent { action, target_type: target::ACCOUNT, target_id: id, account_id: Some(id), details };
    Ok(audit::record(conn, context, event, now)?)
}
