//! `/v1/services/{id}/mailboxes` (crate::app::hosting::mail).

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::mailboxes::{Description, HostedAddress, MailboxQuota};
use hostadmin_domain::passwords::service_password;
use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::mailboxes::MailboxRow;

use crate::app::access;
use crate::app::hosting::mail::{self, MailboxUpdate, NewMailboxRequest};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch, IfMatchHeader};
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::merge_patch::Patch;
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "01938a76-0d1e-7f2a-9b3c-4d5e6f7a8b9c", "service_id": "01938a6e-5b7c-7d2e-9f10-4a5b6c7d8e9f", "address": "info@example.com", "quota_mb": 1024, "description": "Shop inbox", "panel_login": false, "created_at": "2026-11-05T09:30:00Z", "updated_at": "2026-12-05T10:00:00Z"}))]
pub struct MailboxView {
    pub id: String,
    pub service_id: String,
    /// Lowercase, the domain in punycode.
    pub address: String,
    /// The mailbox's size in MB.
    pub quota_mb: u64,
    pub description: String,
    /// Whether the mailbox's owner may log in to the panel with its address (the
    /// provisioner is told).
    pub panel_login: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl MailboxView {
    fn from_row(row: &MailboxRow) -> Result<Self, ApiError> {
        let quota = MailboxQuota::from_stored(row.quota_mb)
            .ok_or_else(|| ApiError::internal(format!("stored size of mailbox {}", row.id)))?;
        Ok(Self {
            id: row.id.clone(),
            service_id: row.service_id.clone(),
            address: row.address.clone(),
            quota_mb: quota.mb(),
            description: row.description.clone(),
            panel_login: row.panel_login,
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
        })
    }
}

fn mailbox_response(mut builder: actix_web::HttpResponseBuilder, row: &MailboxRow) -> Result<HttpResponse, ApiError> {
    Ok(builder.insert_header((header::ETAG, etag(row.version))).json(MailboxView::from_row(row)?))
}

fn take<T>(result: Result<T, Invalid>, pointer: &str, errors: &mut Vec<FieldError>) -> Option<T> {
    result.map_err(|invalid| errors.push(FieldError::new(pointer, invalid))).ok()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"address": "info@example.com", "password": "a long passphrase", "quota_mb": 1024, "description": "Shop inbox"}))]
pub struct CreateMailbox {
    /// On one of the service's domains; the part before `@` is 1-64 of `a-z 0-9 . _ -`
    /// (a dot-atom). Stored in lowercase.
    #[schema(format = "hosted-address", max_length = 254)]
    pub address: String,
    /// The account password policy: 8-128 characters, not a common password. Never
    /// returned; stored as `{ARGON2ID}` + an argon2id PHC string for Dovecot.
    #[schema(format = "service-password", min_length = 8, max_length = 128)]
    pub password: String,
    /// MB; default and maximum the plan's `mailbox_default_mb` (1024 when the plan sets
    /// none). The sizes of all mailboxes together must fit the service's `disk_mb`
    /// (`409 quota_exceeded` otherwise).
    #[schema(minimum = 1, maximum = 1_048_576)]
    pub quota_mb: Option<u64>,
    #[schema(format = "optional-text", max_length = 10000)]
    pub description: Option<String>,
    /// May the mailbox log in to the panel (default false).
    #[serde(default)]
    pub panel_login: bool,
}

/// Create a mailbox.
///
/// `422` (pointer `/address`, code `domain_not_on_service`) when the address's domain is
/// not one of the service's; `422` (`/quota_mb`, `exceeds_plan`) above the plan's
/// `mailbox_default_mb`. `409 quota_exceeded` when the plan's `mailboxes` (or a reseller
/// package above) is full, or when the mailbox sizes together would exceed the service's
/// `disk_mb`: that depends on the other mailboxes, not on this request alone, so it is a
/// conflict with the state rather than bad input. `409 address_taken` when a mailbox or a
/// forward anywhere has the address.
///
/// The owner, an account above it, or a grantee with `manage`; refused while `mail.write`
/// is disabled (`403 action_restricted`). `409 service_not_active` unless the service is
/// active. Takes `Idempotency-Key`. API keys need `mail:write`.
#[utoipa::path(
    tag = "Mail",
    request_body = CreateMailbox,
    params(("id" = String, Path, description = "The service's id"), IdempotencyKeyHeader),
    responses(
        (status = 201, description = "Created", body = MailboxView, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "`service_not_active`, `quota_exceeded`, `address_taken` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/mailboxes")]
pub async fn create_mailbox(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteMail)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateMailbox = body.parse()?;
        let plan_default = service.row.quotas.mailbox_default_mb;
        let mut errors = Vec::new();
        let address = take(HostedAddress::parse(&input.address), "/address", &mut errors);
        let password = take(service_password(&input.password), "/password", &mut errors);
        let quota = take(MailboxQuota::parse(input.quota_mb, plan_default), "/quota_mb", &mut errors);
        let description =
            take(Description::parse(input.description.as_deref().unwrap_or_default()), "/description", &mut errors);
        let (Some(address), Some(password), Some(quota), Some(description)) = (address, password, quota, description)
        else {
            return Err(ApiError::fields(errors));
        };
        let new = NewMailboxRequest { address, password, quota, description, panel_login: input.panel_login };
        let row = mail::create_mailbox(&state, &principal.actor, service.clone(), new).await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/services/{}/mailboxes/{}", row.service_id, row.id)));
        mailbox_response(builder, &row)
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListMailboxesQuery {
    /// A case-insensitive prefix of the address.
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
}

/// The service's mailboxes, newest first.
///
/// Filter `q`: a case-insensitive prefix of the address. Cursor-paginated (`limit`,
/// `cursor`; a cursor is bound to its filter). Never a password or its hash.
/// Readable by whoever reaches the service: the owner, the accounts above it, grantees with
/// `view`; anyone else gets `404`. API keys need `mail:read`.
#[utoipa::path(
    tag = "Mail",
    params(("id" = String, Path, description = "The service's id"), ListMailboxesQuery, PageQuery),
    responses((status = 200, description = "A page of mailboxes", body = Page<MailboxView>)),
)]
#[get("/services/{id}/mailboxes")]
pub async fn list_mailboxes(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    query: web::Query<ListMailboxesQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadMail)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    let q = search_prefix(query.q.as_deref())?;
    let page = paging.request(format!("q={}", q.as_deref().unwrap_or_default()))?;
    let rows = mail::mailboxes(&state, service, q, page.before_id.clone(), page.fetch()).await?;
    let views = rows.iter().map(MailboxView::from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Read one mailbox (never its password or hash).
///
/// `404` for a mailbox of another service. The `ETag` is what `If-Match` of PATCH and
/// DELETE compares with.
/// Readable by whoever reaches the service: the owner, the accounts above it, grantees with
/// `view`; anyone else gets `404`. API keys need `mail:read`.
#[utoipa::path(
    tag = "Mail",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("mailbox_id" = String, Path, description = "The mailbox's id"),
    ),
    responses((status = 200, description = "The mailbox", body = MailboxView, headers(("ETag" = String)))),
)]
#[get("/services/{id}/mailboxes/{mailbox_id}")]
pub async fn get_mailbox(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (service_id, mailbox_id) = path.into_inner();
    let authorized = principal.authorize(Action::ReadMail)?;
    let service = access::service(&state, &principal.actor, authorized, &service_id).await?;
    let mailbox = mail::mailbox(&state, service, &mailbox_id).await?;
    mailbox_response(HttpResponse::Ok(), &mailbox.row.1)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"quota_mb": 2048}))]
pub struct UpdateMailbox {
    /// A new password (the account password policy); `null` is refused.
    #[schema(format = "service-password", min_length = 8, value_type = String, max_length = 128)]
    #[serde(default)]
    pub password: Patch<String>,
    /// A new size in MB; `null` returns it to the plan's default.
    #[schema(value_type = Option<u64>, minimum = 1, maximum = 1_048_576)]
    #[serde(default)]
    pub quota_mb: Patch<u64>,
    /// `null` clears it.
    #[schema(format = "optional-text", value_type = Option<String>, max_length = 10000)]
    #[serde(default)]
    pub description: Patch<String>,
}

/// Change a mailbox's password, size or description (JSON merge patch).
///
/// A larger size must still fit the plan (`422 exceeds_plan`) and, with the other
/// mailboxes, the service's disk (`409 quota_exceeded`).
///
/// A new password follows the password policy. `409 service_not_active` unless the
/// service is active; a stale `If-Match` is `412`. The owner, an account above it, or a
/// grantee with `manage`; refused while `mail.write` is disabled. API keys need
/// `mail:write`.
#[utoipa::path(
    tag = "Mail",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("mailbox_id" = String, Path, description = "The mailbox's id"),
        IfMatchHeader,
    ),
    request_body(content = UpdateMailbox, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed mailbox", body = MailboxView, headers(("ETag" = String))),
        (status = 409, description = "`service_not_active` or `quota_exceeded`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[patch("/services/{id}/mailboxes/{mailbox_id}")]
pub async fn update_mailbox(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let (service_id, mailbox_id) = path.into_inner();
    let authorized = principal.authorize(Action::WriteMail)?;
    let service = access::service(&state, &principal.actor, authorized, &service_id).await?;
    let plan_default = service.row.quotas.mailbox_default_mb;
    let mailbox = mail::mailbox(&state, service, &mailbox_id).await?;
    let input: UpdateMailbox = body.parse()?;
    let mut errors = Vec::new();
    let password = match &input.password {
        Patch::Absent => None,
        Patch::Null => {
            errors.push(FieldError::new("/password", Invalid::new("required", "cannot be cleared")));
            None
        }
        Patch::Value(text) => take(service_password(text), "/password", &mut errors),
    };
    let quota = match input.quota_mb {
        Patch::Absent => None,
        Patch::Null => take(MailboxQuota::parse(None, plan_default), "/quota_mb", &mut errors),
        Patch::Value(mb) => take(MailboxQuota::parse(Some(mb), plan_default), "/quota_mb", &mut errors),
    };
    let description = match &input.description {
        Patch::Absent => None,
        Patch::Null => Some(Description::default()),
        Patch::Value(text) => take(Description::parse(text), "/description", &mut errors),
    };
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    let update = MailboxUpdate { password, quota, description };
    let row = mail::update_mailbox(&state, &principal.actor, mailbox, update, IfMatch::from_request(&request)).await?;
    mailbox_response(HttpResponse::Ok(), &row)
}

/// Remove a mailbox: its address becomes free again.
///
/// The provisioner is told, and its size no longer counts against the service's disk.
/// `409 service_not_active` when the service is not active; a stale `If-Match` is `412`.
/// The owner, an account above it, or a grantee with `manage`; refused while `mail.write`
/// is disabled (`403 action_restricted`). API keys need `mail:write`.
#[utoipa::path(
    tag = "Mail",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("mailbox_id" = String, Path, description = "The mailbox's id"),
        IfMatchHeader,
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[delete("/services/{id}/mailboxes/{mailbox_id}")]
pub async fn delete_mailbox(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (service_id, mailbox_id) = path.into_inner();
    let authorized = principal.authorize(Action::WriteMail)?;
    let service = access::service(&state, &principal.actor, authorized, &service_id).await?;
    let mailbox = mail::mailbox(&state, service, &mailbox_id).await?;
    mail::delete_mailbox(&state, &principal.actor, mailbox, IfMatch::from_request(&request)).await?;
    Ok(HttpResponse::NoContent().finish())
}
