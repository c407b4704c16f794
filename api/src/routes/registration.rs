//! Public self-registration, off unless `registration_enabled`.
//!
//! The answer is 202 with an empty body whether or not the login or the address is
//! taken; the mail to the address says what happened (a verification link, or that the
//! address already has an account, or that the login is taken). Both ways hash the
//! password and write one transaction, so they also take about as long.

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use hostadmin_domain::accounts::{AccountKind, DisplayName, EmailAddress, Login, Profile};
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::QuotaKey;
use hostadmin_domain::ids::new_id;
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::accounts::{self as account_store, AccountRow, NewAccount, Taken};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::{DbConnection, StoreError};

use crate::app::resellers;
use crate::auth::principal::request_context;
use crate::config::Config;
use crate::http::body::JsonBody;
use crate::http::problem::{ApiError, FieldError};
use crate::mail::{self, Outgoing, Template};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 3-32 of `a-z 0-9 . _ -`, starting with a letter or digit.
    #[schema(min_length = 3, max_length = 32, pattern = "^[a-z0-9][a-z0-9._-]{2,31}$")]
    pub login: String,
    #[schema(max_length = 254, format = Email)]
    pub email: String,
    /// At least 8 characters (12 or more recommended), at most 128; not a common password.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

/// A checked registration.
struct Valid {
    login: Login,
    email: EmailAddress,
    password: NewPassword,
    name: DisplayName,
}

impl RegisterRequest {
    fn validate(self) -> Result<Valid, ApiError> {
        let mut errors = Vec::new();
        let mut check = |pointer: &str, result: Result<(), Invalid>| {
            if let Err(invalid) = result {
                errors.push(FieldError::new(pointer, invalid));
            }
        };
        let login = Login::parse(&self.login);
        check("/login", login.as_ref().map(|_| ()).map_err(Clone::clone));
        let email = EmailAddress::parse(&self.email);
        check("/email", email.as_ref().map(|_| ()).map_err(Clone::clone));
        let password = NewPassword::parse(&self.password);
        check("/password", password.as_ref().map(|_| ()).map_err(Clone::clone));
        let name = DisplayName::parse(&self.name);
        check("/name", name.as_ref().map(|_| ()).map_err(Clone::clone));
        match (login, email, password, name) {
            (Ok(login), Ok(email), Ok(password), Ok(name)) => Ok(Valid { login, email, password, name }),
            _ => Err(ApiError::fields(errors)),
        }
    }
}

/// Register a new customer account (only when the provider enabled it).
///
/// Answers 202 with an empty body, alike whether the login or the address is taken;
/// the mail to the address says what happened. A new account is a customer, active, and
/// may log in at once; its address is verified through the mailed link.
#[utoipa::path(
    tag = "Authentication",
    request_body = RegisterRequest,
    responses(
        (status = 202, description = "Accepted; the mail to the address says what happened"),
        (status = 404, description = "`not_found`: registration is not enabled", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    if !state.config.registration_enabled {
        return Err(ApiError::not_found());
    }
    let valid = body.parse::<RegisterRequest>()?.validate()?;
    // Hashed whether or not the account will be made: both ways take as long.
    let password_hash = state.hasher.hash(valid.password).await?;
    let context = request_context(&request, &state);
    let config = state.config.clone();
    let new = NewAccount {
        id: new_id(),
        kind: AccountKind::Customer,
        parent_id: None,
        login: valid.login.as_str().to_owned(),
        email: valid.email.as_str().to_owned(),
        email_normalized: valid.email.normalized().to_owned(),
        name: valid.name.as_str().to_owned(),
        profile: serde_json::to_string(&Profile::default()).map_err(ApiError::internal)?,
        password_hash: Some(password_hash),
        now: time::now(),
    };
    state.db.write(move |conn| register_in(conn, &config, new.clone(), &context)).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Makes the account and queues its verification mail, or queues the mail that tells
/// what is taken. Beyond the address's or client's mail limit nothing happens at all.
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
    Ok(match parent.kind()? {
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
    let row: AccountRow =
        account_store::find(conn, &new.id)?.ok_or_else(|| ApiError::internal("the new account vanished"))?;
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
