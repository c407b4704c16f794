//! `/v1/services/{id}/ftp-users` (crate::app::hosting::ftp): FTP logins of a hosting
//! service, confined to the service's root. Passwords are stored only as argon2id and
//! never returned.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::ftp::{FtpUsername, HomeDirectory};
use hostadmin_domain::passwords::service_password;
use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::ftp_users::{FtpUserFilter, FtpUserRow};

use crate::app::access;
use crate::app::hosting::{self, ftp, ftp::FtpUserUpdate, ftp::NewFtpUserRequest};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch, IfMatchHeader};
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::merge_patch::Patch;
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "01938a75-9c0d-7e1f-8a2b-3c4d5e6f7a8b", "service_id": "01938a6e-5b7c-7d2e-9f10-4a5b6c7d8e9f", "username": "shop-upload", "directory": "public_html/uploads", "created_at": "2026-11-05T09:30:00Z", "updated_at": "2026-12-05T10:00:00Z"}))]
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "shop-upload", "password": "a long passphrase of mine", "directory": "public_html/uploads"}))]
pub struct CreateFtpUser {
    /// 3-32 of `a-z 0-9 . _ -`, starting with a letter, ending with a letter or digit,
    /// without two of `. _ -` in a row; system names (`root`, `ftp`, `anonymous`, ...)
    /// are reserved. Unique across the installation.
    #[schema(format = "ftp-username", min_length = 3, max_length = 32)]
    pub username: String,
    /// 8-128 characters, not a common password, no control characters.
    #[schema(format = "service-password", min_length = 8, max_length = 128)]
    pub password: String,
    /// Relative to the service's root (default: the root). Absolute paths, `..`,
    /// backslashes and control characters are refused; `a//b/./c/` is stored as `a/b/c`.
    #[serde(default)]
    #[schema(format = "relative-directory", max_length = 1024)]
    pub directory: Option<String>,
}

/// The path of one FTP user.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FtpUserPath {
    /// The service's id
    id: String,
    /// The FTP user's id
    ftp_user_id: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListFtpUsersQuery {
    /// A case-insensitive prefix of the username.
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
}

/// Create an FTP user of a service.
///
/// Needs an active service (`409 service_not_active`) and room in the service's quota
/// and every reseller package above its owner (`409 quota_exceeded`).
///
/// `409 username_taken` when the username exists anywhere. The owner, an account above
/// it, or a grantee with `manage`; refused while `hosting.write` is disabled (`403
/// action_restricted`). Takes `Idempotency-Key`. API keys need `hosting:write`.
#[utoipa::path(
    tag = "FTP users",
    request_body = CreateFtpUser,
    params(("id" = String, Path, description = "The service's id"), IdempotencyKeyHeader),
    responses(
        (status = 201, description = "Created", body = FtpUserView, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "`username_taken`, `service_not_active`, `quota_exceeded` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/ftp-users")]
pub async fn create_ftp_user(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteHosting)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
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
        let new = NewFtpUserRequest { username, password, directory };
        let row = ftp::create(&state, &principal.actor, service.clone(), new).await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/services/{}/ftp-users/{}", row.service_id, row.id)));
        ftp_user_response(builder, &row)
    })
    .await
}

/// The FTP users of a service, newest first.
///
/// Filter `q`: a case-insensitive prefix of the username. Cursor-paginated (`limit`,
/// `cursor`; a cursor is bound to its filter). Never a password or its hash.
/// Readable by whoever reaches the service: the owner, the accounts above it, grantees with
/// `view`; anyone else gets `404`. API keys need `hosting:read`.
#[utoipa::path(
    tag = "FTP users",
    params(("id" = String, Path, description = "The service's id"), ListFtpUsersQuery, PageQuery),
    responses((status = 200, description = "A page of FTP users", body = Page<FtpUserView>)),
)]
#[get("/services/{id}/ftp-users")]
pub async fn list_ftp_users(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    query: web::Query<ListFtpUsersQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadHosting)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    let q = search_prefix(query.q.as_deref())?;
    let page = paging.request(format!("q={}", q.as_deref().unwrap_or_default()))?;
    let filter = FtpUserFilter { q, before_id: page.before_id.clone() };
    let rows = hosting::page::<FtpUserRow>(&state, service, filter, page.fetch()).await?;
    let views = rows.iter().map(FtpUserView::from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Read one FTP user of a service.
///
/// `404` for an FTP user of another service. The `ETag` is what `If-Match` of PATCH and
/// DELETE compares with.
/// Readable by whoever reaches the service: the owner, the accounts above it, grantees with
/// `view`; anyone else gets `404`. API keys need `hosting:read`.
#[utoipa::path(
    tag = "FTP users",
    params(FtpUserPath),
    responses((status = 200, description = "The FTP user", body = FtpUserView, headers(("ETag" = String)))),
)]
#[get("/services/{id}/ftp-users/{ftp_user_id}")]
pub async fn get_ftp_user(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<FtpUserPath>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadHosting)?;
    let ftp_user = hosting::reach(&state, &principal.actor, authorized, &path.id, &path.ftp_user_id).await?;
    ftp_user_response(HttpResponse::Ok(), &ftp_user.row.1)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"directory": "public_html/shop", "password": "correct horse battery staple 42"}))]
pub struct UpdateFtpUser {
    /// A new password (8-128 characters, not a common one, no control characters); it
    /// cannot be cleared.
    #[schema(format = "service-password", min_length = 8, value_type = String, max_length = 128)]
    #[serde(default)]
    pub password: Patch<String>,
    /// A new home directory relative to the service's root; `null` is the root itself.
    #[schema(format = "relative-directory", value_type = Option<String>, max_length = 1024)]
    #[serde(default)]
    pub directory: Patch<String>,
}

/// Change an FTP user's password or home directory (JSON merge patch).
///
/// A new `password` follows the password policy (`422` at `/password`; it cannot be
/// cleared); `directory` is relative to the service's root (`null`: the root itself;
/// absolute paths and `..` are `422` at `/directory`). The provisioner is told. `409
/// service_not_active` when the service is not active; a stale `If-Match` is `412`.
/// The owner, an account above it, or a grantee with `manage`; refused while
/// `hosting.write` is disabled (`403 action_restricted`). API keys need `hosting:write`.
#[utoipa::path(
    tag = "FTP users",
    params(FtpUserPath, IfMatchHeader),
    request_body(content = UpdateFtpUser, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed FTP user", body = FtpUserView, headers(("ETag" = String))),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[patch("/services/{id}/ftp-users/{ftp_user_id}")]
pub async fn update_ftp_user(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<FtpUserPath>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteHosting)?;
    let ftp_user = hosting::reach(&state, &principal.actor, authorized, &path.id, &path.ftp_user_id).await?;
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
    let update = FtpUserUpdate { password, directory };
    let row = ftp::update(&state, &principal.actor, ftp_user, update, IfMatch::from_request(&request)).await?;
    ftp_user_response(HttpResponse::Ok(), &row)
}

/// Remove an FTP user of a service.
///
/// The provisioner is told and the username becomes free again. `409 service_not_active`
/// when the service is not active; a stale `If-Match` is `412`. The owner, an account
/// above it, or a grantee with `manage`; refused while `hosting.write` is disabled (`403
/// action_restricted`). API keys need `hosting:write`.
#[utoipa::path(
    tag = "FTP users",
    params(FtpUserPath, IfMatchHeader),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[delete("/services/{id}/ftp-users/{ftp_user_id}")]
pub async fn delete_ftp_user(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<FtpUserPath>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteHosting)?;
    let ftp_user =
        hosting::reach::<FtpUserRow>(&state, &principal.actor, authorized, &path.id, &path.ftp_user_id).await?;
    hosting::remove(&state, &principal.actor, ftp_user, IfMatch::from_request(&request)).await?;
    Ok(HttpResponse::NoContent().finish())
}
