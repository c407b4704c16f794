//! Mailboxes of a hosting service: an address on one of the service's domains, a
//! password stored as the hash Dovecot verifies, a size within the plan, a description
//! and whether the mailbox may log in to the panel (passed to the provisioner).
//!
//! Every change locks the service first (hosting::reserve or usage::lock_service), so
//! the quota count, the sum of mailbox sizes against the disk and the address register
//! hold under parallel requests on both backends.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::QuotaKey;
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::mailboxes::{fits_disk, Description, DovecotHash, HostedAddress, MailboxQuota};
use hostadmin_domain::passwords::service_password;
use hostadmin_domain::policy::Action;
use hostadmin_domain::provisioning::{ResourceAction, ResourceKind};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{self, NewEvent};
use hostadmin_persistence::domains::{self as domain_store, DomainRow};
use hostadmin_persistence::mail_addresses::{self, AddressKind};
use hostadmin_persistence::mailboxes::{self as mailbox_store, MailboxChanges, MailboxRow, NewMailbox};
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::DbConnection;

use crate::auth::Principal;
use crate::hosting;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, precondition_failed, IfMatch};
use crate::http::idempotency;
use crate::http::merge_patch::Patch;
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::routes::services::find_for;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
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

/// What the provisioner gets: the mailbox as the mail server needs it, with the hash
/// Dovecot verifies and never the password.
fn spec(row: &MailboxRow) -> serde_json::Value {
    serde_json::json!({
        "address": row.address,
        "password_hash": row.password_hash,
        "quota_mb": row.quota_mb,
        "panel_login": row.panel_login,
    })
}

/// `422` at `pointer` when the address's domain is not one the service hosts.
fn not_a_service_domain(pointer: &str) -> ApiError {
    ApiError::field(
        pointer,
        Invalid::new("domain_not_on_service", "the address's domain is not one of this service's domains"),
    )
}

/// The domain of `address` when the service hosts it (its `hosting_service_id`), else
/// `422` at `pointer`. Looked up by name and service together, so another tenant's
/// domain answers as if it did not exist.
pub(crate) fn service_domain(
    conn: &mut DbConnection,
    service_id: &str,
    address: &HostedAddress,
    pointer: &str,
) -> Result<DomainRow, ApiError> {
    domain_store::find_by_name(conn, address.domain())?
        .filter(|domain| domain.hosting_service_id.as_deref() == Some(service_id))
        .ok_or_else(|| not_a_service_domain(pointer))
}

pub(crate) fn address_taken(address: &str) -> ApiError {
    ApiError::conflict("address_taken", format!("{address} is already a mailbox or a forward"))
}

/// `409 quota_exceeded` when the mailbox sizes would exceed the service's disk.
fn check_disk(
    conn: &mut DbConnection,
    service: &ServiceRow,
    quota: MailboxQuota,
    except: Option<&str>,
) -> Result<(), ApiError> {
    let disk = service.quotas.disk_mb;
    let others = mailbox_store::quota_sum(conn, &service.id, except)?;
    if fits_disk(others, quota, disk) {
        return Ok(());
    }
    Err(ApiError::conflict(
        "quota_exceeded",
        format!(
            "the service's mailboxes would be promised {} MB of its {} MB disk",
            others.saturating_add(quota.stored()),
            disk.unwrap_or(0)
        ),
    ))
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
    #[schema(max_length = 254)]
    pub address: String,
    /// The account password policy: 8-128 characters, not a common password. Never
    /// returned; stored as `{ARGON2ID}` + an argon2id PHC string for Dovecot.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// MB; default and maximum the plan's `mailbox_default_mb` (1024 when the plan sets
    /// none). The sizes of all mailboxes together must fit the service's `disk_mb`
    /// (`409 quota_exceeded` otherwise).
    #[schema(minimum = 1, maximum = 1_048_576)]
    pub quota_mb: Option<u64>,
    #[schema(max_length = 10000)]
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
#[utoipa::path(
    tag = "Mail",
    request_body = CreateMailbox,
    params(
        ("id" = String, Path, description = "The service's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours."),
    ),
    responses(
        (status = 201, description = "Created", body = MailboxView, headers(("Location" = String), ("ETag" = String))),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active`, `quota_exceeded`, `address_taken` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/services/{id}/mailboxes")]
pub async fn create_mailbox(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteMail)?;
    let (service, _) = find_for(&state, &principal, &id, Action::WriteMail).await?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateMailbox = body.parse()?;
        let plan_default = service.quotas.mailbox_default_mb;
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
        let (service_id, lookup) = (service.id.clone(), address.clone());
        state.db.run(move |conn| service_domain(conn, &service_id, &lookup, "/address").map(|_| ())).await?;
        // Before the slow hash: an inactive service gets its 409 at once.
        hosting::require_active(&service)?;
        let phc = state.hasher.hash(password).await?;
        let hash =
            DovecotHash::from_phc(&phc).ok_or_else(|| ApiError::internal("the password hash is not argon2id"))?;

        let new = NewMailbox {
            id: new_id(),
            service_id: service.id.clone(),
            domain_id: String::new(),
            address: address.as_str().to_owned(),
            password_hash: hash.as_str().to_owned(),
            quota_mb: quota.stored(),
            description: description.as_str().to_owned(),
            panel_login: input.panel_login,
        };
        let context = principal.audit.clone();
        let requested_by = principal.id().to_owned();
        let shared = state.clone();
        let row = state
            .db
            .write(move |conn| {
                let now = time::now();
                let service = hosting::lock_active(conn, &new.service_id)?;
                let domain = service_domain(conn, &service.id, &address, "/address")?;
                hosting::reserve(conn, &service, QuotaKey::Mailboxes)?;
                check_disk(conn, &service, quota, None)?;
                if mail_addresses::claim(conn, &new.address, AddressKind::Mailbox, &new.id)?.is_err() {
                    return Err(address_taken(&new.address));
                }
                let new = NewMailbox { domain_id: domain.id.clone(), ..new.clone() };
                mailbox_store::insert(conn, &new, now)?;
                let row = mailbox_store::find(conn, &service.id, &new.id)?
                    .ok_or_else(|| ApiError::internal("the new mailbox vanished"))?;
                hosting::provision(
                    conn,
                    &shared,
                    &service,
                    (ResourceKind::Mailbox, ResourceAction::Create, &row.id),
                    spec(&row),
                    &requested_by,
                    now,
                )?;
                audit::record(
                    conn,
                    &context,
                    NewEvent {
                        action: actions::MAILBOX_CREATE,
                        target_type: target::MAILBOX,
                        target_id: &row.id,
                        account_id: Some(&service.owner_id),
                        details: serde_json::json!({
                            "service_id": service.id, "address": row.address, "quota_mb": row.quota_mb,
                            "panel_login": row.panel_login,
                        }),
                    },
                    now,
                )?;
                Ok(row)
            })
            .await?;
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
#[utoipa::path(
    tag = "Mail",
    params(("id" = String, Path, description = "The service's id"), ListMailboxesQuery, PageQuery),
    responses(
        (status = 200, description = "A page of mailboxes", body = Page<MailboxView>),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/services/{id}/mailboxes")]
pub async fn list_mailboxes(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    query: web::Query<ListMailboxesQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadMail)?;
    let (service, _) = find_for(&state, &principal, &id, Action::ReadMail).await?;
    let q = search_prefix(query.q.as_deref())?;
    let page = paging.request(format!("q={}", q.as_deref().unwrap_or_default()))?;
    let (before, fetch) = (page.before_id.clone(), page.fetch());
    let rows = state
        .db
        .run(move |conn| Ok(mailbox_store::list(conn, &service.id, q.as_deref(), before.as_deref(), fetch)?))
        .await?;
    let views = rows.iter().map(MailboxView::from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// The mailbox `mailbox_id` of the service, or 404 (also for a malformed id and for
/// another service's mailbox).
async fn find_mailbox(state: &AppState, service_id: &str, mailbox_id: &str) -> Result<MailboxRow, ApiError> {
    let mailbox_id = parse_id(mailbox_id).ok_or_else(ApiError::not_found)?;
    let service_id = service_id.to_owned();
    state.db.run(move |conn| mailbox_store::find(conn, &service_id, &mailbox_id)?.ok_or_else(ApiError::not_found)).await
}

/// Read one mailbox (never its password or hash).
#[utoipa::path(
    tag = "Mail",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("mailbox_id" = String, Path, description = "The mailbox's id"),
    ),
    responses(
        (status = 200, description = "The mailbox", body = MailboxView, headers(("ETag" = String))),
        (status = 404, description = "No such service or mailbox for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/services/{id}/mailboxes/{mailbox_id}")]
pub async fn get_mailbox(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadMail)?;
    let (service_id, mailbox_id) = path.into_inner();
    let (service, _) = find_for(&state, &principal, &service_id, Action::ReadMail).await?;
    let row = find_mailbox(&state, &service.id, &mailbox_id).await?;
    mailbox_response(HttpResponse::Ok(), &row)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMailbox {
    /// A new password (the account password policy); `null` is refused.
    #[schema(value_type = Option<String>, min_length = 8, max_length = 128)]
    #[serde(default)]
    pub password: Patch<String>,
    /// A new size in MB; `null` returns it to the plan's default.
    #[schema(value_type = Option<u64>, minimum = 1, maximum = 1_048_576)]
    #[serde(default)]
    pub quota_mb: Patch<u64>,
    /// `null` clears it.
    #[schema(value_type = Option<String>, max_length = 10000)]
    #[serde(default)]
    pub description: Patch<String>,
}

/// Change a mailbox's password, size or description (JSON merge patch).
///
/// A larger size must still fit the plan (`422 exceeds_plan`) and, with the other
/// mailboxes, the service's disk (`409 quota_exceeded`).
#[utoipa::path(
    tag = "Mail",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("mailbox_id" = String, Path, description = "The mailbox's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body(content = UpdateMailbox, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed mailbox", body = MailboxView, headers(("ETag" = String))),
        (status = 404, description = "No such service or mailbox for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active` or `quota_exceeded`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[patch("/services/{id}/mailboxes/{mailbox_id}")]
pub async fn update_mailbox(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteMail)?;
    let (service_id, mailbox_id) = path.into_inner();
    let (service, _) = find_for(&state, &principal, &service_id, Action::WriteMail).await?;
    let current = find_mailbox(&state, &service.id, &mailbox_id).await?;
    let input: UpdateMailbox = body.parse()?;
    let plan_default = service.quotas.mailbox_default_mb;
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
    let if_match = IfMatch::from_request(&request);
    if_match.check(current.version)?;
    hosting::require_active(&service)?;
    let password_hash = match password {
        None => None,
        Some(password) => {
            let phc = state.hasher.hash(password).await?;
            let hash =
                DovecotHash::from_phc(&phc).ok_or_else(|| ApiError::internal("the password hash is not argon2id"))?;
            Some(hash.as_str().to_owned())
        }
    };
    let changes = MailboxChanges {
        password_hash,
        quota_mb: quota.map(MailboxQuota::stored),
        description: description.map(|d| d.as_str().to_owned()),
    };
    let context = principal.audit.clone();
    let requested_by = principal.id().to_owned();
    let shared = state.clone();
    let row = state
        .db
        .write(move |conn| {
            let now = time::now();
            let service = hosting::lock_active(conn, &current.service_id)?;
            let before = mailbox_store::find(conn, &service.id, &current.id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(before.version)?;
            if let Some(quota) = quota {
                check_disk(conn, &service, quota, Some(&before.id))?;
            }
            if !mailbox_store::update(conn, &before.id, before.version, &changes, now)? {
                return Err(precondition_failed());
            }
            let row = mailbox_store::find(conn, &service.id, &before.id)?.ok_or_else(ApiError::not_found)?;
            hosting::provision(
                conn,
                &shared,
                &service,
                (ResourceKind::Mailbox, ResourceAction::Update, &row.id),
                spec(&row),
                &requested_by,
                now,
            )?;
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::MAILBOX_UPDATE,
                    target_type: target::MAILBOX,
                    target_id: &row.id,
                    account_id: Some(&service.owner_id),
                    details: serde_json::json!({
                        "service_id": service.id, "address": row.address,
                        "password_changed": changes.password_hash.is_some(),
                        "quota_mb": changes.quota_mb, "description_changed": changes.description.is_some(),
                    }),
                },
                now,
            )?;
            Ok(row)
        })
        .await?;
    mailbox_response(HttpResponse::Ok(), &row)
}

/// Remove a mailbox: its address becomes free again.
#[utoipa::path(
    tag = "Mail",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("mailbox_id" = String, Path, description = "The mailbox's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such service or mailbox for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[delete("/services/{id}/mailboxes/{mailbox_id}")]
pub async fn delete_mailbox(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteMail)?;
    let (service_id, mailbox_id) = path.into_inner();
    let (service, _) = find_for(&state, &principal, &service_id, Action::WriteMail).await?;
    let current = find_mailbox(&state, &service.id, &mailbox_id).await?;
    let if_match = IfMatch::from_request(&request);
    if_match.check(current.version)?;
    let context = principal.audit.clone();
    let requested_by = principal.id().to_owned();
    let shared = state.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let service = hosting::lock_active(conn, &current.service_id)?;
            let row = mailbox_store::find(conn, &service.id, &current.id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(row.version)?;
            if !mailbox_store::delete(conn, &row.id, row.version)? {
                return Err(precondition_failed());
            }
            mail_addresses::release(conn, &row.address, &row.id)?;
            hosting::provision(
                conn,
                &shared,
                &service,
                (ResourceKind::Mailbox, ResourceAction::Delete, &row.id),
                spec(&row),
                &requested_by,
                now,
            )?;
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::MAILBOX_DELETE,
                    target_type: target::MAILBOX,
                    target_id: &row.id,
                    account_id: Some(&service.owner_id),
                    details: serde_json::json!({ "service_id": service.id, "address": row.address }),
                },
                now,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
