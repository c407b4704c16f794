//! Customers: the accounts below the caller. Resellers and operators create, list, read
//! and change them; customers have nobody below them (403).

use actix_web::http::header;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::accounts::{
    AccountKind, AccountStatus, DisplayName, EmailAddress, Login, NewAccountKind, Profile,
};
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::QuotaKey;
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::policy::{Action, Reach};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::accounts::{
    self as account_store, AccountChanges, AccountFilter, AccountRow, NewAccount, Taken,
};
use hostadmin_persistence::audit::{self, NewEvent};
use hostadmin_persistence::email_tokens::Purpose;
use hostadmin_persistence::StoreError;

use crate::app::resellers;
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{precondition_failed, IfMatch};
use crate::http::idempotency;
use crate::http::merge_patch::{self, Patch};
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::mail;
use crate::state::AppState;
use crate::views::accounts::{account_response, AccountView};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"login": "shop-owner", "password": "a long passphrase of words", "name": "Shop Owner", "email": "owner@shop.example", "kind": "customer", "profile": {"company": "Shop BV", "country": "NL"}}))]
pub struct CreateCustomer {
    /// 3-32 of `a-z 0-9 . _ -`, starting with a letter or digit; unique.
    #[schema(min_length = 3, max_length = 32, pattern = "^[a-z0-9][a-z0-9._-]{2,31}$")]
    pub login: String,
    /// At least 8 characters (12 or more recommended), at most 128; not a common password.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Unique across the installation, case-insensitively.
    #[schema(max_length = 254, format = Email)]
    pub email: String,
    /// `reseller` creates a (sub-)reseller below the caller.
    #[serde(default)]
    pub kind: NewAccountKind,
    pub profile: Option<Profile>,
    /// Send the account a welcome mail with a link to set a password.
    #[serde(default)]
    pub send_welcome_email: bool,
}

/// A checked new account, or every field that was refused.
struct ValidCustomer {
    login: Login,
    password: NewPassword,
    name: DisplayName,
    email: EmailAddress,
    profile: Profile,
}

fn collect<T>(errors: &mut Vec<FieldError>, pointer: &str, result: Result<T, Invalid>) -> Option<T> {
    result.map_err(|invalid| errors.push(FieldError::new(pointer, invalid))).ok()
}

fn profile_errors(profile: &Profile, prefix: &str) -> Vec<FieldError> {
    profile
        .problems()
        .into_iter()
        .map(|(field, invalid)| FieldError::new(format!("{prefix}/{field}"), invalid))
        .collect()
}

impl CreateCustomer {
    fn validate(self) -> Result<ValidCustomer, ApiError> {
        let mut errors = Vec::new();
        let login = collect(&mut errors, "/login", Login::parse(&self.login));
        let password = collect(&mut errors, "/password", NewPassword::parse(&self.password));
        let name = collect(&mut errors, "/name", DisplayName::parse(&self.name));
        let email = collect(&mut errors, "/email", EmailAddress::parse(&self.email));
        let profile = self.profile.unwrap_or_default();
        errors.extend(profile_errors(&profile, "/profile"));
        match (login, password, name, email) {
            (Some(login), Some(password), Some(name), Some(email)) if errors.is_empty() => {
                Ok(ValidCustomer { login, password, name, email, profile })
            }
            _ => Err(ApiError::fields(errors)),
        }
    }
}

pub fn taken_error(taken: Taken) -> ApiError {
    match taken {
        Taken::Login => ApiError::conflict("login_taken", "another account has this login"),
        Taken::Email => ApiError::conflict("email_taken", "another account has this email address"),
    }
}

/// A unique index refused the row: another request took the name between our check
/// and our insert (possible on PostgreSQL, where the check does not lock).
fn store_to_api(error: StoreError) -> ApiError {
    match &error {
        StoreError::Unique(constraint) => match Taken::from_violation(constraint) {
            Some(taken) => taken_error(taken),
            None => error.into(),
        },
        _ => error.into(),
    }
}

/// Create an account below the caller.
#[utoipa::path(
    tag = "Customers",
    request_body = CreateCustomer,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours.")),
    responses(
        (status = 201, description = "Created", body = AccountView, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "`login_taken`, `email_taken`, `quota_exceeded` (a reseller package is full) or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/customers")]
pub async fn create_customer(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::CreateCustomer)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateCustomer = body.parse()?;
        let kind = AccountKind::from(input.kind);
        let send_welcome_email = input.send_welcome_email;
        let valid = input.validate()?;
        let password_hash = state.hasher.hash(valid.password).await?;
        let parent_id = match principal.kind() {
            AccountKind::Operator => None,
            _ => Some(principal.id().to_owned()),
        };
        let new = NewAccount {
            id: new_id(),
            kind,
            parent_id,
            login: valid.login.as_str().to_owned(),
            email: valid.email.as_str().to_owned(),
            email_normalized: valid.email.normalized().to_owned(),
            name: valid.name.as_str().to_owned(),
            profile: serde_json::to_string(&valid.profile).map_err(ApiError::internal)?,
            password_hash: Some(password_hash),
            now: time::now(),
        };
        let audit_context = principal.audit();
        let config = state.config.clone();
        let row = state
            .db
            .write(move |conn| {
                if let Some(taken) = account_store::taken(conn, &new.login, &new.email_normalized)? {
                    return Err(taken_error(taken));
                }
                if let Some(parent) = &new.parent_id {
                    resellers::enforce(conn, parent, true, QuotaKey::Customers)?;
                }
                account_store::insert(conn, &new).map_err(store_to_api)?;
                audit::record(
                    conn,
                    &audit_context,
                    NewEvent {
                        action: actions::CUSTOMER_CREATE,
                        target_type: target::ACCOUNT,
                        target_id: &new.id,
                        account_id: Some(&new.id),
                        details: serde_json::json!({
                            "kind": new.kind.as_str(),
                            "login": new.login,
                            "send_welcome_email": send_welcome_email,
                        }),
                    },
                    new.now,
                )?;
                let row = account_store::find(conn, &new.id)?
                    .ok_or_else(|| ApiError::internal("the new account vanished"))?;
                if send_welcome_email {
                    queue_welcome(conn, &config, &row, new.now)?;
                }
                Ok(row)
            })
            .await?;
        let location = format!("/v1/customers/{}", row.id);
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, location));
        account_response(builder, &row)
    })
    .await
}

/// The welcome mail: the login and a link to set the password (never the password).
fn queue_welcome(
    conn: &mut hostadmin_persistence::DbConnection,
    config: &crate::config::Config,
    row: &AccountRow,
    now: chrono::NaiveDateTime,
) -> Result<(), ApiError> {
    let (link, valid_for) = mail::issue_link(conn, config, Purpose::SetPassword, &row.id, &row.email, now)?;
    mail::queue(
        conn,
        config,
        mail::Outgoing {
            template: mail::Template::Welcome,
            recipient: &row.email,
            account_id: Some(&row.id),
            client_ip: None,
            context: serde_json::json!({
                "name": row.name, "login": row.login, "link": link, "valid_for": valid_for,
            }),
        },
        now,
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCustomersQuery {
    /// Case-insensitive prefix of the login, email address or name.
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
    pub status: Option<AccountStatus>,
    pub kind: Option<AccountKind>,
    /// Only the accounts directly below this one.
    pub parent_id: Option<String>,
}

/// List the accounts below the caller, newest first.
#[utoipa::path(
    tag = "Customers",
    params(ListCustomersQuery, PageQuery),
    responses((status = 200, description = "A page of accounts", body = Page<AccountView>)),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/customers")]
pub async fn list_customers(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListCustomersQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ListCustomers)?;
    let query = query.into_inner();
    let prefix = search_prefix(query.q.as_deref())?;
    let filters = format!(
        "q={}&status={}&kind={}&parent_id={}",
        prefix.as_deref().unwrap_or_default(),
        query.status.map(AccountStatus::as_str).unwrap_or_default(),
        query.kind.map(AccountKind::as_str).unwrap_or_default(),
        query.parent_id.as_deref().unwrap_or_default()
    );
    let page = paging.request(filters)?;
    let filter = AccountFilter {
        prefix,
        status: query.status,
        kind: query.kind,
        parent_id: query.parent_id,
        before_id: page.before_id.clone(),
    };
    let reach = principal.reach();
    let fetch = page.fetch();
    let rows = state.db.run(move |conn| Ok(account_store::list_in_reach(conn, &reach, &filter, fetch)?)).await?;
    let views = rows.iter().map(AccountView::from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Loads an account the caller may reach, or answers 404 as if it did not exist.
pub async fn find_reachable(state: &AppState, reach: Reach, id: &str) -> Result<AccountRow, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    state.db.run(move |conn| account_store::find_in_reach(conn, &reach, &id)?.ok_or_else(ApiError::not_found)).await
}

/// Read one account below the caller.
#[utoipa::path(
    tag = "Customers",
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account", body = AccountView, headers(("ETag" = String))),
        (status = 404, description = "No such account below the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/customers/{id}")]
pub async fn get_customer(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadCustomer)?;
    let row = find_reachable(&state, principal.reach(), &id).await?;
    account_response(HttpResponse::Ok(), &row)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomer {
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    #[serde(default)]
    pub name: Patch<String>,
    /// Becomes `pending_email` until the new address is verified.
    #[schema(value_type = Option<String>, max_length = 254)]
    #[serde(default)]
    pub email: Patch<String>,
    /// Merged into the stored profile (RFC 7396); `null` clears it.
    #[schema(value_type = Option<Profile>)]
    #[serde(default)]
    pub profile: Patch<serde_json::Value>,
}

/// What a valid profile change resolves to.
pub struct ProfileChanges {
    pub changes: AccountChanges,
    pub new_email: Option<EmailAddress>,
    pub fields: Vec<&'static str>,
}

/// Checks the name and profile parts of a merge patch against the stored account.
pub fn resolve_changes(
    row: &AccountRow,
    name: &Patch<String>,
    email: &Patch<String>,
    profile: &Patch<serde_json::Value>,
) -> Result<ProfileChanges, ApiError> {
    let mut errors = Vec::new();
    let mut changes = AccountChanges::default();
    let mut fields = Vec::new();
    match name {
        Patch::Absent => {}
        Patch::Null => errors.push(FieldError::new("/name", Invalid::new("required", "name cannot be cleared"))),
        Patch::Value(text) => {
            if let Some(name) = collect(&mut errors, "/name", DisplayName::parse(text)) {
                changes.name = Some(name.as_str().to_owned());
                fields.push("name");
            }
        }
    }
    let new_email = match email {
        Patch::Absent => None,
        Patch::Null => {
            errors.push(FieldError::new("/email", Invalid::new("required", "email cannot be cleared")));
            None
        }
        Patch::Value(text) => collect(&mut errors, "/email", EmailAddress::parse(text)),
    };
    match profile {
        Patch::Absent => {}
        Patch::Null => {
            changes.profile = Some("{}".to_owned());
            fields.push("profile");
        }
        Patch::Value(patch) => {
            let mut merged: serde_json::Value =
                serde_json::from_str(&row.profile).unwrap_or_else(|_| serde_json::json!({}));
            merge_patch::merge(&mut merged, patch);
            match serde_json::from_value::<Profile>(merged) {
                Ok(profile) => {
                    errors.extend(profile_errors(&profile, "/profile"));
                    changes.profile = Some(serde_json::to_string(&profile).map_err(ApiError::internal)?);
                    fields.push("profile");
                }
                Err(error) => {
                    let message = error.to_string();
                    let (code, pointer) = match message.split_once("unknown field `") {
                        Some((_, rest)) => {
                            ("unknown_field", format!("/profile/{}", rest.split('`').next().unwrap_or_default()))
                        }
                        None => ("invalid_value", "/profile".to_owned()),
                    };
                    let error = FieldError::new(pointer, Invalid::new(code, message));
                    if code == "unknown_field" {
                        return Err(ApiError::Validation { code, errors: vec![error] });
                    }
                    errors.push(error);
                }
            }
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
    Ok(ProfileChanges { changes, new_email, fields })
}

/// Applies resolved changes in one transaction with their audit event; answers the
/// stored account.
pub async fn apply_changes(
    state: &AppState,
    principal: &Principal,
    row: AccountRow,
    if_match: IfMatch,
    resolved: ProfileChanges,
    action: &'static str,
) -> Result<AccountRow, ApiError> {
    let audit_context = principal.audit();
    let config = state.config.clone();
    let expected = match if_match {
        IfMatch::Absent | IfMatch::Any => None,
        IfMatch::Versions(versions) => Some(versions.first().copied().unwrap_or(-1)),
    };
    state
        .db
        .write(move |conn| {
            let now = time::now();
            if let Some(email) = &resolved.new_email {
                if account_store::email_taken(conn, email.normalized(), Some(&row.id))? {
                    return Err(taken_error(Taken::Email));
                }
            }
            let updated = account_store::update(conn, &row.id, expected, &resolved.changes, now)?;
            if updated.is_none() {
                return Err(precondition_failed());
            }
            if let Some(Some(new_email)) = &resolved.changes.pending_email {
                // The new address takes effect once verified; the old one is told now.
                mail::queue_email_change(conn, &config, &row, new_email, audit_context.ip.as_deref(), now)?;
            }
            audit::record(
                conn,
                &audit_context,
                NewEvent {
                    action,
                    target_type: target::ACCOUNT,
                    target_id: &row.id,
                    account_id: Some(&row.id),
                    details: serde_json::json!({ "fields": resolved.fields }),
                },
                now,
            )?;
            account_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)
        })
        .await
}

/// Change an account below the caller (JSON merge patch).
#[utoipa::path(
    tag = "Customers",
    params(
        ("id" = String, Path, description = "The account's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body(content = UpdateCustomer, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed account", body = AccountView, headers(("ETag" = String))),
        (status = 404, description = "No such account below the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[patch("/customers/{id}")]
pub async fn update_customer(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::UpdateCustomer)?;
    let row = find_reachable(&state, principal.reach(), &id).await?;
    let input: UpdateCustomer = body.parse()?;
    let resolved = resolve_changes(&row, &input.name, &input.email, &input.profile)?;
    let if_match = IfMatch::from_request(&request);
    if_match.check(row.version)?;
    let row = apply_changes(&state, &principal, row, if_match, resolved, actions::CUSTOMER_UPDATE).await?;
    account_response(HttpResponse::Ok(), &row)
}

/// Send the verification mail again: to the pending address after a change, else to the
/// account's address while it is unverified.
///
/// Limited to 20 reset and verification mails per recipient and per client address per
/// hour (`429 rate_limited` with `Retry-After`).
#[utoipa::path(
    tag = "Customers",
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 202, description = "The mail is queued"),
        (status = 404, description = "No such account below the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_verified`: the address is verified and no change is pending", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/customers/{id}/verification-email")]
pub async fn resend_verification_email(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::SendVerificationEmail)?;
    let row = find_reachable(&state, principal.reach(), &id).await?;
    let config = state.config.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            // Read again inside the transaction: the address may have changed meanwhile.
            let row = account_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)?;
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
            let ip = principal.actor.origin.ip.as_deref();
            if let Some(wait) = mail::limit_reached(conn, &recipient, ip, now)? {
                return Err(ApiError::rate_limited(wait));
            }
            mail::queue_verification(conn, &config, &row, &recipient, ip, now)?;
            audit::record(
                conn,
                &principal.audit(),
                NewEvent {
                    action: actions::CUSTOMER_VERIFICATION_EMAIL,
                    target_type: target::ACCOUNT,
                    target_id: &row.id,
                    account_id: Some(&row.id),
                    details: serde_json::json!({ "pending": row.pending_email.is_some() }),
                },
                now,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Accepted().finish())
}
