//! FTP users of a hosting service: a login for the installation's FTP server whose home
//! directory is confined to the service's root.
//!
//! Passwords are stored, and handed to the provisioner, only as the argon2id PHC string
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`): the form libsodium's
//! `crypto_pwhash_str_verify` checks, which Pure-FTPd's SQL back-ends use for the
//! `argon2` (and `any`) crypt setting; a driver for a server that wants a scheme tag
//! (Dovecot-style `{ARGON2ID}`) prepends it. The clear password is never stored,
//! logged, audited nor returned.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::QuotaKey;
use hostadmin_domain::ftp::{FtpUsername, HomeDirectory};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::passwords::service_password;
use hostadmin_domain::policy::Action;
use hostadmin_domain::provisioning::{ResourceAction, ResourceKind};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{self, NewEvent};
use hostadmin_persistence::ftp_users::{self as ftp_store, FtpUserFilter, FtpUserRow, NewFtpUser};
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::StoreError;

use crate::app::access;
use crate::app::hosting;
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, precondition_failed, IfMatch};
use crate::http::idempotency;
use crate::http::merge_patch::Patch;
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct FtpUserView {
    pub id: String,
    pub service_id: String,
    /// Unique across the installation.
    pub username: String,
    /// The home directory relative to the service's root, normalised (`a/b/c`); empty:
    /// the root itself.
    pub directory: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FtpUserView {
    fn from_row(row: &FtpUserRow) -> Result<Self, ApiError> {
        let directory = HomeDirectory::from_stored(&row.directory)
            .ok_or_else(|| ApiError::internal(format!("stored directory of FTP user {}", row.id)))?;
        Ok(Self {
            id: row.id.clone(),
            service_id: row.service_id.clone(),
            username: row.username.clone(),
            directory: directory.as_str().to_owned(),
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
        })
    }
}

fn ftp_user_response(mut builder: actix_web::HttpResponseBuilder, row: &FtpUserRow) -> Result<HttpResponse, ApiError> {
    Ok(builder.insert_header((header::ETAG, etag(row.version))).json(FtpUserView::from_row(row)?))
}

/// What the provisioner gets: the user after the change, its password only as the hash.
fn spec_of(row_username: &str, directory: &str, password_hash: Option<&str>) -> serde_json::Value {
    let mut spec = serde_json::json!({ "username": row_username, "directory": directory });
    if let Some(hash) = password_hash {
        spec["password_hash"] = serde_json::Value::String(hash.to_owned());
    }
    spec
}

fn username_taken() -> ApiError {
    ApiError::conflict("username_taken", "another FTP user of the installation has this username")
}

/// A unique violation on insert is the username's (another request won the race).
fn insert_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Unique(constraint) if ftp_store::is_username_violation(&constraint) => username_taken(),
        other => other.into(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "shop-upload", "password": "a long passphrase of mine", "directory": "public_html/uploads"}))]
pub struct CreateFtpUser {
    /// 3-32 of `a-z 0-9 . _ -`, starting with a letter, ending with a letter or digit,
    /// without two of `. _ -` in a row; system names (`root`, `ftp`, `anonymous`, ...)
    /// are reserved. Unique across the installation.
    #[schema(min_length = 3, max_length = 32, pattern = "^[a-z][a-z0-9._-]{1,30}[a-z0-9]$")]
    pub username: String,
    /// 8-128 characters, not a common password, no control characters.
    #[schema(min_length = 8, max_length = 128, format = Password)]
    pub password: String,
    /// Relative to the service's root (default: the root). Absolute paths, `..`,
    /// backslashes and control characters are refused; `a//b/./c/` is stored as `a/b/c`.
    #[serde(default)]
    #[schema(max_length = 1024)]
    pub directory: Option<String>,
}

/// Create an FTP user of a service.
///
/// Needs an active service (`409 service_not_active`) and room in the service's quota
/// and every reseller package above its owner (`409 quota_exceeded`).
#[utoipa::path(
    tag = "FTP users",
    request_body = CreateFtpUser,
    params(
        ("id" = String, Path, description = "The service's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours."),
    ),
    responses(
        (status = 201, description = "Created", body = FtpUserView, headers(("Location" = String), ("ETag" = String))),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`username_taken`, `service_not_active`, `quota_exceeded` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/services/{id}/ftp-users")]
pub async fn create_ftp_user(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteHosting)?;
    let service = access::service(&state, &principal.actor, principal.authorize(Action::WriteHosting)?, &id).await?.row;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateFtpUser = body.parse()?;
        let mut errors = Vec::new();
        let username = FtpUsername::parse(&input.username).map_err(|e| errors.push(FieldError::new("/username", e)));
        let password = service_password(&input.password).map_err(|e| errors.push(FieldError::new("/password", e)));
        let directory = match input.directory.as_deref() {
            None => Ok(HomeDirectory::root()),
            Some(text) => HomeDirectory::parse(text).map_err(|e| errors.push(FieldError::new("/directory", e))),
        };
        let (Ok(username), Ok(password), Ok(directory)) = (username, password, directory) else {
            return Err(ApiError::fields(errors));
        };
        // Checked before the slow hash too: a request that cannot succeed should not
        // wait for a hashing slot.
        hosting::require_active(&service)?;
        let password_hash = state.hasher.hash(password).await?;
        let new = NewFtpUser {
            id: new_id(),
            service_id: service.id.clone(),
            username: username.as_str().to_owned(),
            password_hash,
            directory: directory.as_str().to_owned(),
            now: time::now(),
        };
        let context = principal.audit();
        let requested_by = principal.id().to_owned();
        let state_for_write = state.clone();
        let row = state
            .db
            .write(move |conn| {
                let service = hosting::lock_active(conn, &new.service_id)?;
                hosting::reserve(conn, &service, QuotaKey::FtpUsers)?;
                // The unique index alone decides, so parallel requests cannot both pass a
                // check made before the insert.
                ftp_store::insert(conn, &new).map_err(insert_error)?;
                hosting::provision(
                    conn,
                    &state_for_write,
                    &service,
                    (ResourceKind::FtpUser, ResourceAction::Create, &new.id),
                    spec_of(&new.username, &new.directory, Some(&new.password_hash)),
                    &requested_by,
                    new.now,
                )?;
                audit::record(
                    conn,
                    &context,
                    NewEvent {
                        action: actions::FTP_USER_CREATE,
                        target_type: target::FTP_USER,
                        target_id: &new.id,
                        account_id: Some(&service.owner_id),
                        details: serde_json::json!({
                            "service_id": service.id, "username": new.username, "directory": new.directory,
                        }),
                    },
                    new.now,
                )?;
                ftp_store::find_in_service(conn, &service.id, &new.id)?
                    .ok_or_else(|| ApiError::internal("the new FTP user vanished"))
            })
            .await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/services/{}/ftp-users/{}", row.service_id, row.id)));
        ftp_user_response(builder, &row)
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListFtpUsersQuery {
    /// A case-insensitive prefix of the username.
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
}

/// The FTP users of a service, newest first.
#[utoipa::path(
    tag = "FTP users",
    params(("id" = String, Path, description = "The service's id"), ListFtpUsersQuery, PageQuery),
    responses(
        (status = 200, description = "A page of FTP users", body = Page<FtpUserView>),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/services/{id}/ftp-users")]
pub async fn list_ftp_users(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    query: web::Query<ListFtpUsersQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadHosting)?;
    let service = access::service(&state, &principal.actor, principal.authorize(Action::ReadHosting)?, &id).await?.row;
    let q = search_prefix(query.q.as_deref())?;
    let page = paging.request(format!("q={}", q.as_deref().unwrap_or_default()))?;
    let filter = FtpUserFilter { q, before_id: page.before_id.clone() };
    let fetch = page.fetch();
    let rows = state.db.run(move |conn| Ok(ftp_store::list(conn, &service.id, &filter, fetch)?)).await?;
    let views = rows.iter().map(FtpUserView::from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// The service (reached for `action`) and its FTP user `ftp_user_id`, or 404.
async fn find_ftp_user(
    state: &AppState,
    principal: &Principal,
    service_id: &str,
    ftp_user_id: &str,
    action: Action,
) -> Result<(ServiceRow, FtpUserRow), ApiError> {
    let service = access::service(state, &principal.actor, principal.authorize(action)?, service_id).await?.row;
    let ftp_user_id = parse_id(ftp_user_id).ok_or_else(ApiError::not_found)?;
    let service_id = service.id.clone();
    let row = state
        .db
        .run(move |conn| ftp_store::find_in_service(conn, &service_id, &ftp_user_id)?.ok_or_else(ApiError::not_found))
        .await?;
    Ok((service, row))
}

/// Read one FTP user of a service.
#[utoipa::path(
    tag = "FTP users",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("ftp_user_id" = String, Path, description = "The FTP user's id"),
    ),
    responses(
        (status = 200, description = "The FTP user", body = FtpUserView, headers(("ETag" = String))),
        (status = 404, description = "No such service or FTP user for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/services/{id}/ftp-users/{ftp_user_id}")]
pub async fn get_ftp_user(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadHosting)?;
    let (service_id, ftp_user_id) = path.into_inner();
    let (_, row) = find_ftp_user(&state, &principal, &service_id, &ftp_user_id, Action::ReadHosting).await?;
    ftp_user_response(HttpResponse::Ok(), &row)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFtpUser {
    /// A new password (8-128 characters, not a common one, no control characters); it
    /// cannot be cleared.
    #[schema(value_type = Option<String>, min_length = 8, max_length = 128, format = Password)]
    #[serde(default)]
    pub password: Patch<String>,
    /// A new home directory relative to the service's root; `null` is the root itself.
    #[schema(value_type = Option<String>, max_length = 1024)]
    #[serde(default)]
    pub directory: Patch<String>,
}

/// Change an FTP user's password or home directory (JSON merge patch).
#[utoipa::path(
    tag = "FTP users",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("ftp_user_id" = String, Path, description = "The FTP user's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body(content = UpdateFtpUser, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed FTP user", body = FtpUserView, headers(("ETag" = String))),
        (status = 404, description = "No such service or FTP user for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[patch("/services/{id}/ftp-users/{ftp_user_id}")]
pub async fn update_ftp_user(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteHosting)?;
    let (service_id, ftp_user_id) = path.into_inner();
    let (service, row) = find_ftp_user(&state, &principal, &service_id, &ftp_user_id, Action::WriteHosting).await?;
    let input: UpdateFtpUser = body.parse()?;
    let mut errors = Vec::new();
    let password = match &input.password {
        Patch::Absent => None,
        Patch::Null => {
            errors.push(FieldError::new("/password", Invalid::new("required", "cannot be cleared")));
            None
        }
        Patch::Value(text) => service_password(text).map_err(|e| errors.push(FieldError::new("/password", e))).ok(),
    };
    let directory = match &input.directory {
        Patch::Absent => None,
        Patch::Null => Some(HomeDirectory::root()),
        Patch::Value(text) => {
            HomeDirectory::parse(text).map_err(|e| errors.push(FieldError::new("/directory", e))).ok()
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    let if_match = IfMatch::from_request(&request);
    if_match.check(row.version)?;
    hosting::require_active(&service)?;
    let password_changed = password.is_some();
    let new_hash = match password {
        Some(password) => Some(state.hasher.hash(password).await?),
        None => None,
    };
    let context = principal.audit();
    let requested_by = principal.id().to_owned();
    let state_for_write = state.clone();
    let row = state
        .db
        .write(move |conn| {
            let now = time::now();
            let service = hosting::lock_active(conn, &row.service_id)?;
            let current = ftp_store::find_in_service(conn, &service.id, &row.id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(current.version)?;
            // An empty patch changes nothing: no new version, no provisioning, no event.
            if new_hash.is_none() && directory.is_none() {
                return Ok(current);
            }
            let hash = new_hash.clone().unwrap_or_else(|| current.password_hash.clone());
            let dir = directory.as_ref().map_or_else(|| current.directory.clone(), |d| d.as_str().to_owned());
            if !ftp_store::update(conn, &current.id, current.version, &hash, &dir, now)? {
                return Err(precondition_failed());
            }
            hosting::provision(
                conn,
                &state_for_write,
                &service,
                (ResourceKind::FtpUser, ResourceAction::Update, &current.id),
                spec_of(&current.username, &dir, Some(&hash)),
                &requested_by,
                now,
            )?;
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::FTP_USER_UPDATE,
                    target_type: target::FTP_USER,
                    target_id: &current.id,
                    account_id: Some(&service.owner_id),
                    details: serde_json::json!({
                        "service_id": service.id, "username": current.username,
                        "password_changed": password_changed, "directory": dir,
                    }),
                },
                now,
            )?;
            ftp_store::find_in_service(conn, &service.id, &current.id)?.ok_or_else(ApiError::not_found)
        })
        .await?;
    ftp_user_response(HttpResponse::Ok(), &row)
}

/// Remove an FTP user of a service.
#[utoipa::path(
    tag = "FTP users",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("ftp_user_id" = String, Path, description = "The FTP user's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such service or FTP user for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[delete("/services/{id}/ftp-users/{ftp_user_id}")]
pub async fn delete_ftp_user(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteHosting)?;
    let (service_id, ftp_user_id) = path.into_inner();
    let (service, row) = find_ftp_user(&state, &principal, &service_id, &ftp_user_id, Action::WriteHosting).await?;
    let if_match = IfMatch::from_request(&request);
    if_match.check(row.version)?;
    hosting::require_active(&service)?;
    let context = principal.audit();
    let requested_by = principal.id().to_owned();
    let state_for_write = state.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let service = hosting::lock_active(conn, &row.service_id)?;
            let current = ftp_store::find_in_service(conn, &service.id, &row.id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(current.version)?;
            if !ftp_store::delete(conn, &current.id, current.version)? {
                return Err(precondition_failed());
            }
            hosting::provision(
                conn,
                &state_for_write,
                &service,
                (ResourceKind::FtpUser, ResourceAction::Delete, &current.id),
                spec_of(&current.username, &current.directory, None),
                &requested_by,
                now,
            )?;
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::FTP_USER_DELETE,
                    target_type: target::FTP_USER,
                    target_id: &current.id,
                    account_id: Some(&service.owner_id),
                    details: serde_json::json!({ "service_id": service.id, "username": current.username }),
                },
                now,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
