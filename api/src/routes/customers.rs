//! `/v1/customers`: the accounts below the caller. Resellers and operators create, list,
//! read and change them; customers have nobody below them (403). (crate::app::accounts)

use actix_web::http::header;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::accounts::{
    AccountKind, AccountStatus, DisplayName, EmailAddress, Login, NewAccountKind, Profile,
};
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::policy::Action;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::accounts::AccountFilter;

use crate::app::access;
use crate::app::accounts::{self as use_case, profile_errors, NewCustomer, ProfileChange};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{IfMatch, IfMatchHeader};
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::merge_patch::Patch;
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
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
    #[schema(format = "line", max_length = 200)]
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

fn collect<T>(errors: &mut Vec<FieldError>, pointer: &str, result: Result<T, Invalid>) -> Option<T> {
    result.map_err(|invalid| errors.push(FieldError::new(pointer, invalid))).ok()
}

impl CreateCustomer {
    /// The new account, or every field that is refused.
    fn validate(self) -> Result<NewCustomer, ApiError> {
        let mut errors = Vec::new();
        let login = collect(&mut errors, "/login", Login::parse(&self.login));
        let password = collect(&mut errors, "/password", NewPassword::parse(&self.password));
        let name = collect(&mut errors, "/name", DisplayName::parse(&self.name));
        let email = collect(&mut errors, "/email", EmailAddress::parse(&self.email));
        let profile = self.profile.unwrap_or_default();
        errors.extend(profile_errors(&profile, "/profile"));
        match (login, password, name, email) {
            (Some(login), Some(password), Some(name), Some(email)) if errors.is_empty() => Ok(NewCustomer {
                kind: AccountKind::from(self.kind),
                login,
                password,
                name,
                email,
                profile,
                send_welcome_email: self.send_welcome_email,
            }),
            _ => Err(ApiError::fields(errors)),
        }
    }
}

/// Create an account below the caller.
///
/// A reseller creates a customer (or, with `kind: "reseller"`, a sub-reseller) directly
/// below itself; an operator creates a top-level account of the provider. The account is
/// `active` and may log in at once; `send_welcome_email` mails it a link to set a
/// password (never the password). `login` and `email` are unique across the installation,
/// case-insensitively (`409 login_taken`, `409 email_taken`); a full reseller package
/// (the caller's own, or one further up) is `409 quota_exceeded`; each refused field is a
/// `422` error with its pointer. Customers get `403 forbidden`. Takes `Idempotency-Key`.
/// API keys need `customers:write`.
#[utoipa::path(
    tag = "Customers",
    request_body = CreateCustomer,
    params(IdempotencyKeyHeader),
    responses(
        (status = 201, description = "Created", body = AccountView, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "`login_taken`, `email_taken`, `quota_exceeded` (a reseller package is full) or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/customers")]
pub async fn create_customer(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::CreateCustomer)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let new = body.parse::<CreateCustomer>()?.validate()?;
        let row = use_case::create(&state, &principal.actor, authorized.clone(), new).await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/customers/{}", row.id)));
        Ok(account_response(builder, &row))
    })
    .await
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
///
/// A reseller sees every account in its subtree, an operator every account that is not
/// an operator; never the caller itself or an account above it. `q` is a
/// case-insensitive prefix of the login, email or name; `parent_id` keeps the accounts
/// directly below that one. Cursor-paginated (`limit`, `cursor`; a cursor is bound to
/// its filters). Customers get `403 forbidden`. API keys need `customers:read`.
#[utoipa::path(
    tag = "Customers",
    params(ListCustomersQuery, PageQuery),
    responses((status = 200, description = "A page of accounts", body = Page<AccountView>)),
)]
#[get("/customers")]
pub async fn list_customers(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListCustomersQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ListCustomers)?;
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
    let rows = use_case::list(&state, &principal.actor, authorized, filter, page.fetch()).await?;
    let views = rows.iter().map(AccountView::from_row).collect::<Vec<_>>();
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Read one account below the caller.
///
/// Resellers and operators; an account that is not below the caller (the caller itself,
/// an ancestor, another tenant's, or a malformed id) is `404`. Customers get `403
/// forbidden`. The `ETag` is what `If-Match` of the changing routes compares with. API
/// keys need `customers:read`.
#[utoipa::path(
    tag = "Customers",
    params(("id" = String, Path, description = "The account's id")),
    responses((status = 200, description = "The account", body = AccountView, headers(("ETag" = String)))),
)]
#[get("/customers/{id}")]
pub async fn get_customer(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadCustomer)?;
    let account = access::account(&state, &principal.actor, authorized, &id).await?;
    Ok(account_response(HttpResponse::Ok(), &account.row))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Shop Owner",
    "profile": {"street": "Damrak 1", "postal_code": "1012 LG", "city": "Amsterdam", "phone": "+31201234567"}
}))]
pub struct UpdateCustomer {
    #[schema(format = "line", value_type = String, max_length = 200)]
    #[serde(default)]
    pub name: Patch<String>,
    /// Becomes `pending_email` until the new address is verified.
    #[schema(format = Email, value_type = String, max_length = 254)]
    #[serde(default)]
    pub email: Patch<String>,
    /// Merged into the stored profile (RFC 7396); `null` clears it.
    #[schema(value_type = Option<Profile>)]
    #[serde(default)]
    pub profile: Patch<serde_json::Value>,
    /// Marks the account as fraud: it and every account below it can no longer order
    /// (`403 ordering_blocked`).
    #[schema(value_type = bool)]
    #[serde(default)]
    pub fraud: Patch<bool>,
}

/// Change an account below the caller (JSON merge patch).
///
/// Without `If-Match`, concurrent changes are applied one after the other, each to what
/// the one before left.
///
/// Resellers and operators, for an account below them (`404` otherwise; customers get
/// `403 forbidden`); refused while the caller is suspended or has `customer.write`
/// disabled. A new `email` waits for verification as for `PATCH /v1/me` (`409
/// email_taken` when another account has it); `fraud` blocks ordering for the account and
/// everything below it. A stale `If-Match` is `412`. API keys need `customers:write`.
#[utoipa::path(
    tag = "Customers",
    params(("id" = String, Path, description = "The account's id"), IfMatchHeader),
    request_body(content = UpdateCustomer, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed account", body = AccountView, headers(("ETag" = String))),
        (status = 409, description = "`email_taken`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[patch("/customers/{id}")]
pub async fn update_customer(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::UpdateCustomer)?;
    let account = access::account(&state, &principal.actor, authorized, &id).await?;
    let input: UpdateCustomer = body.parse()?;
    let change = ProfileChange { name: input.name, email: input.email, profile: input.profile, fraud: input.fraud };
    let if_match = IfMatch::from_request(&request);
    let row = use_case::update_customer(&state, &principal.actor, account, change, if_match).await?;
    Ok(account_response(HttpResponse::Ok(), &row))
}

/// Send the verification mail again: to the pending address after a change, else to the
/// account's address while it is unverified.
///
/// Limited to 20 reset and verification mails per recipient and per client address per
/// hour (`429 rate_limited` with `Retry-After`).
///
/// Resellers and operators, for an account below them (`404` otherwise; customers get
/// `403 forbidden`). API keys need `customers:write`.
#[utoipa::path(
    tag = "Customers",
    params(("id" = String, Path, description = "The account's id")),
    responses(
        (status = 202, description = "The mail is queued"),
        (status = 409, description = "`already_verified`: the address is verified and no change is pending", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/customers/{id}/verification-email")]
pub async fn resend_verification_email(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::SendVerificationEmail)?;
    let account = access::account(&state, &principal.actor, authorized, &id).await?;
    use_case::send_verification(&state, &principal.actor, account).await?;
    Ok(HttpResponse::Accepted().finish())
}
