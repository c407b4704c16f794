//! Public self-registration, off unless `registration_enabled`.
//!
//! Whether or not the login or the address is taken, the caller learns nothing: the
//! mail to the address says what happened (a verification link, or that the address
//! already has an account, or that the login is taken). Both ways hash the password and
//! write one transaction, so they also take about as long.

use serde_json::json;

use hostadmin_domain::accounts::{AccountKind, DisplayName, EmailAddress, Login, Profile};
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::QuotaKey;
use hostadmin_domain::ids::new_id;
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::time;
use hostadmin_persistence::accounts::{self as account_store, NewAccount, Taken};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::{DbConnection, StoreError};

use crate::app::resellers;
use crate::config::Config;
use crate::http::problem::ApiError;
use crate::mail::{self, Outgoing, Template};
use crate::state::AppState;

/// A registration, its fields checked.
pub struct Registration {
    pub login: Login,
    pub email: EmailAddress,
    pub password: NewPassword,
    pub name: DisplayName,
}

/// `404` unless the provider enabled registration: checked before anything else, so that
/// a closed door says nothing about what was sent to it.
pub fn require_enabled(state: &AppState) -> Result<(), ApiError> {
    if state.config.registration_enabled {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

/// Register a new customer account: active, able to log in at once, its address
/// verified through the mailed link. Beyond the address's or the client's mail limit
/// nothing happens at all.
pub async fn register(state: &AppState, context: AuditContext, registration: Registration) -> Result<(), ApiError> {
    require_enabled(state)?;
    // Hashed whether or not the account will be made: both ways take as long.
    let password_hash = state.hasher.hash(registration.password).await?;
    let config = state.config.clone();
    let new = NewAccount {
        id: new_id(),
        kind: AccountKind::Customer,
        parent_id: None,
        login: registration.login.as_str().to_owned(),
        email: registration.email.as_str().to_owned(),
        email_normalized: registration.email.normalized().to_owned(),
        name: registration.name.as_str().to_owned(),
        profile: Profile::default(),
        password_hash: Some(password_hash),
        now: time::now(),
    };
    state.db.write(move |conn| register_in(conn, &config, new.clone(), &context)).await
}

/// Makes the account and queues its verification mail, or queues the mail that tells
/// what is taken.
fn register_in(
    conn: &mut DbConnection,
    config: &Config,
    mut new: NewAccount,
    context: &AuditContext,
) -> Result<(), ApiError> {
    let now = time::now();
    new.now = now;
    if mail::limit_reached(conn, &new.email, context.ip.as_deref(), now)?.is_some() {
        return Ok(());
    }
    // Checked when the server started; accounts are never deleted nor change kind.
    new.parent_id = registration_parent(conn, config)?.map_err(ApiError::internal)?;
    let outgoing = |template: Template, context_values: serde_json::Value| Outgoing {
        template,
        recipient: &new.email,
        account_id: None,
        client_ip: context.ip.as_deref(),
        context: context_values,
        invoice_id: None,
    };
    match account_store::taken(conn, &new.login, &new.email_normalized)? {
        Some(Taken::Email) => {
            let owner = account_store::find_by_login_or_email(conn, &new.email_normalized)?;
            let login = owner.map(|o| o.login).unwrap_or_default();
            mail::queue(conn, config, outgoing(Template::RegistrationExists, json!({ "login": login })), now)
        }
        Some(Taken::Login) => {
            let values = json!({ "name": new.name, "login": new.login });
            mail::queue(conn, config, outgoing(Template::RegistrationLoginTaken, values), now)
        }
        None => create_account(conn, config, &new, context),
    }
}

/// Why `registration_parent` cannot take registrations. Found when the server starts,
/// which it then refuses: better than a 500 on every registration.
#[derive(Debug, thiserror::Error)]
pub enum BadRegistrationParent {
    #[error("registration_parent (HOSTADMIN_REGISTRATION_PARENT): no account has the login {0:?}")]
    Unknown(String),
    #[error(
        "registration_parent (HOSTADMIN_REGISTRATION_PARENT): {0:?} is a customer; \
         it must be the login of a reseller or an operator"
    )]
    Customer(String),
}

/// The account registrations are placed below: the configured login's, or none (the
/// provider's own customers, as the operators' customers are).
pub fn registration_parent(
    conn: &mut DbConnection,
    config: &Config,
) -> Result<Result<Option<String>, BadRegistrationParent>, StoreError> {
    let Some(login) = &config.registration_parent else { return Ok(Ok(None)) };
    let Some(parent) = account_store::find_by_login_or_email(conn, login)? else {
        return Ok(Err(BadRegistrationParent::Unknown(login.clone())));
    };
    Ok(match parent.kind {
        AccountKind::Operator => Ok(None),
        AccountKind::Reseller => Ok(Some(parent.id)),
        AccountKind::Customer => Err(BadRegistrationParent::Customer(login.clone())),
    })
}

fn create_account(
    conn: &mut DbConnection,
    config: &Config,
    new: &NewAccount,
    context: &AuditContext,
) -> Result<(), ApiError> {
    if let Some(parent) = &new.parent_id {
        resellers::enforce(conn, parent, true, QuotaKey::Customers)?;
    }
    match account_store::insert(conn, new) {
        // Another registration took the name between our check and the insert
        // (PostgreSQL): answered alike, as a taken name is.
        Err(StoreError::Unique(_)) => return Err(ApiError::Busy("registration raced for a name".into())),
        other => other?,
    }
    let row = account_store::find(conn, &new.id)?.ok_or_else(|| ApiError::internal("the new account vanished"))?;
    mail::queue_verification(conn, config, &row, &new.email, context.ip.as_deref(), new.now)?;
    let mut context = context.clone();
    context.actor_id = Some(new.id.clone());
    audit::record(
        conn,
        &context,
        NewEvent {
            action: actions::ACCOUNT_REGISTER,
            target_type: target::ACCOUNT,
            target_id: &new.id,
            account_id: Some(&new.id),
            details: json!({ "login": new.login, "parent_id": new.parent_id }),
        },
        new.now,
    )?;
    Ok(())
}
