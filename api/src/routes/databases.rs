//! `/v1/services/{id}/databases` (crate::app::hosting::databases): MySQL and
//! PostgreSQL databases of a hosting service, each with its own user, named
//! `<service number>_<given>`. Passwords are kept sealed and never returned.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::databases::{DatabaseEngine, DatabaseName, DatabaseUser};
use hostadmin_domain::passwords::service_password;
use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_persistence::databases::{DatabaseFilter, DatabaseRow};

use crate::app::access;
use crate::app::hosting;
use crate::app::hosting::databases::{self, NewDatabaseRequest};
use crate::app::provisioning_states::{self as states, Provisioning, Target};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch, IfMatchHeader};
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::merge_patch::Patch;
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;
use crate::views::provisioning::ProvisioningView;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "01938a73-7a8b-7c9d-8e0f-1a2b3c4d5e6f", "service_id": "01938a6e-5b7c-7d2e-9f10-4a5b6c7d8e9f", "engine": "mysql", "name": "1042_shop", "user": "1042_shop", "created_at": "2026-11-05T09:30:00Z", "updated_at": "2026-12-05T10:00:00Z", "provisioning": {"status": "ready", "error": null, "updated_at": "2026-12-05T10:00:00Z"}}))]
pub struct DatabaseView {
    pub id: String,
    pub service_id: String,
    pub engine: DatabaseEngine,
    /// The stored name: `<service number>_<given name>`.
    #[schema(example = "1042_shop")]
    pub name: String,
    /// The stored user name: `<service number>_<given user>`.
    #[schema(example = "1042_shop")]
    pub user: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Where the database stands on its engine's server.
    pub provisioning: ProvisioningView,
}

impl DatabaseView {
    fn from_row(row: &DatabaseRow, provisioning: &Provisioning) -> Result<Self, ApiError> {
        Ok(Self {
            id: row.id.clone(),
            service_id: row.service_id.clone(),
            engine: DatabaseEngine::parse(&row.engine)
                .ok_or_else(|| ApiError::internal(format!("stored engine of database {}", row.id)))?,
            name: row.name.clone(),
            user: row.db_user.clone(),
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
            provisioning: ProvisioningView::of(provisioning),
        })
    }
}

async fn database_response(
    state: &AppState,
    mut builder: actix_web::HttpResponseBuilder,
    row: &DatabaseRow,
) -> Result<HttpResponse, ApiError> {
    let provisioning = states::state_of(state, Target::Database, &row.id, row.updated_at).await?;
    Ok(builder.insert_header((header::ETAG, etag(row.version))).json(DatabaseView::from_row(row, &provisioning)?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "shop", "engine": "mysql", "user": "shop", "password": "a long passphrase of mine"}))]
pub struct CreateDatabase {
    /// 1 or more of `a-z 0-9 _`, starting with a letter; stored as
    /// `<service number>_<name>`, at most 32 characters in all.
    #[schema(min_length = 1, max_length = 30, pattern = "^[a-z][a-z0-9_]*$")]
    pub name: String,
    pub engine: DatabaseEngine,
    /// Same rule as `name`; stored as `<service number>_<user>`. Unique per engine.
    #[schema(min_length = 1, max_length = 30, pattern = "^[a-z][a-z0-9_]*$")]
    pub user: String,
    /// 8-128 characters, not a common password, no control characters. Never returned.
    #[schema(format = "service-password", min_length = 8, max_length = 128)]
    pub password: String,
}

/// The path of one database.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DatabasePath {
    /// The service's id
    id: String,
    /// The database's id
    database_id: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListDatabasesQuery {
    pub engine: Option<DatabaseEngine>,
    /// A case-insensitive prefix of the stored name (`1042_sh`).
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
}

/// Create a database of a service, with its user.
///
/// Needs an active service (`409 service_not_active`) and room in the service's quota
/// and every reseller package above its owner (`409 quota_exceeded`).
///
/// The owner, an account above it, or a grantee with `manage`; refused while
/// `hosting.write` is disabled (`403 action_restricted`). `409 database_taken` when the
/// engine has the stored name or user already. Takes `Idempotency-Key`. API keys need
/// `hosting:write`.
#[utoipa::path(
    tag = "Databases",
    request_body = CreateDatabase,
    params(("id" = String, Path, description = "The service's id"), IdempotencyKeyHeader),
    responses(
        (status = 201, description = "Created", body = DatabaseView, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "`database_taken`, `service_not_active`, `quota_exceeded` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/databases")]
pub async fn create_database(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteHosting)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateDatabase = body.parse()?;
        let number = service.row.number;
        let mut errors = Vec::new();
        let name = DatabaseName::new(number, &input.name).map_err(|e| errors.push(FieldError::new("/name", e)));
        let user = DatabaseUser::new(number, &input.user).map_err(|e| errors.push(FieldError::new("/user", e)));
        let password = service_password(&input.password).map_err(|e| errors.push(FieldError::new("/password", e)));
        let (Ok(name), Ok(user), Ok(password)) = (name, user, password) else {
            return Err(ApiError::fields(errors));
        };
        let new = NewDatabaseRequest { engine: input.engine, name, user, password };
        let row = databases::create(&state, &principal.actor, service.clone(), new).await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/services/{}/databases/{}", row.service_id, row.id)));
        database_response(&state, builder, &row).await
    })
    .await
}

/// The databases of a service, newest first.
///
/// Filter `q`: a case-insensitive prefix of the stored name (`1042_sh`).
/// Cursor-paginated (`limit`, `cursor`; a cursor is bound to its filter). Never a
/// password.
/// Readable by whoever reaches the service: the owner, the accounts above it, grantees with
/// `view`; anyone else gets `404`. API keys need `hosting:read`.
#[utoipa::path(
    tag = "Databases",
    params(("id" = String, Path, description = "The service's id"), ListDatabasesQuery, PageQuery),
    responses((status = 200, description = "A page of databases", body = Page<DatabaseView>)),
)]
#[get("/services/{id}/databases")]
pub async fn list_databases(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    query: web::Query<ListDatabasesQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadHosting)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    let q = search_prefix(query.q.as_deref())?;
    let engine = query.engine.map(|e| e.as_str().to_owned());
    let filters = format!("engine={}&q={}", engine.as_deref().unwrap_or_default(), q.as_deref().unwrap_or_default());
    let page = paging.request(filters)?;
    let filter = DatabaseFilter { engine, q, before_id: page.before_id.clone() };
    let rows = hosting::page::<DatabaseRow>(&state, service, filter, page.fetch()).await?;
    let resources = rows.iter().map(|row| (row.id.clone(), row.updated_at)).collect();
    let states = states::states_of(&state, Target::Database, resources).await?;
    let views = rows
        .iter()
        .zip(&states)
        .map(|(row, state)| DatabaseView::from_row(row, state))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Read one database of a service (never its password).
///
/// `provisioning` tells where it stands on its engine's server. `404` for a database of
/// another service. The `ETag` is what `If-Match` of PATCH and DELETE compares with.
/// Readable by whoever reaches the service: the owner, the accounts above it, grantees with
/// `view`; anyone else gets `404`. API keys need `hosting:read`.
#[utoipa::path(
    tag = "Databases",
    params(DatabasePath),
    responses((status = 200, description = "The database", body = DatabaseView, headers(("ETag" = String)))),
)]
#[get("/services/{id}/databases/{database_id}")]
pub async fn get_database(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<DatabasePath>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadHosting)?;
    let database = hosting::reach(&state, &principal.actor, authorized, &path.id, &path.database_id).await?;
    database_response(&state, HttpResponse::Ok(), &database.row.1).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"password": "correct horse battery staple 42"}))]
pub struct UpdateDatabase {
    /// A new password for the database's user (8-128 characters, not a common one, no
    /// control characters); it cannot be cleared.
    #[schema(format = "service-password", min_length = 8, value_type = String, max_length = 128)]
    #[serde(default)]
    pub password: Patch<String>,
}

/// Change the password of a database's user (JSON merge patch).
///
/// The new `password` follows the password policy (`422` at `/password`; it cannot be
/// cleared) and is kept sealed for the engine's server, never returned. `409
/// service_not_active` when the service is not active; a stale `If-Match` is `412`.
/// The owner, an account above it, or a grantee with `manage`; refused while
/// `hosting.write` is disabled (`403 action_restricted`). API keys need `hosting:write`.
#[utoipa::path(
    tag = "Databases",
    params(DatabasePath, IfMatchHeader),
    request_body(content = UpdateDatabase, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed database", body = DatabaseView, headers(("ETag" = String))),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[patch("/services/{id}/databases/{database_id}")]
pub async fn update_database(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<DatabasePath>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteHosting)?;
    let database = hosting::reach(&state, &principal.actor, authorized, &path.id, &path.database_id).await?;
    let input: UpdateDatabase = body.parse()?;
    let password = match input.password.required("/password")? {
        None => None,
        Some(text) => Some(service_password(&text).map_err(|e| ApiError::field("/password", e))?),
    };
    let if_match = IfMatch::from_request(&request);
    let row = databases::update(&state, &principal.actor, database, password, if_match).await?;
    database_response(&state, HttpResponse::Ok(), &row).await
}

/// Remove a database of a service, with its user.
///
/// The driver drops the database, its data and its user on the engine's server. `409
/// service_not_active` when the service is not active; a stale `If-Match` is `412`.
/// The owner, an account above it, or a grantee with `manage`; refused while
/// `hosting.write` is disabled (`403 action_restricted`). API keys need `hosting:write`.
#[utoipa::path(
    tag = "Databases",
    params(DatabasePath, IfMatchHeader),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[delete("/services/{id}/databases/{database_id}")]
pub async fn delete_database(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<DatabasePath>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteHosting)?;
    let database =
        hosting::reach::<DatabaseRow>(&state, &principal.actor, authorized, &path.id, &path.database_id).await?;
    hosting::remove(&state, &principal.actor, database, IfMatch::from_request(&request)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Try a failed database again on its engine's server.
///
/// `202`: the worker makes the server hold the database, its user and password as they
/// are now (`provisioning` is `pending` until then); `409 not_failed` unless its
/// provisioning failed.
///
/// The owner, an account above it, or a grantee with `manage`; refused while
/// `hosting.write` is disabled. API keys need `hosting:write`.
#[utoipa::path(
    tag = "Databases",
    params(DatabasePath),
    responses(
        (status = 202, description = "Queued", body = DatabaseView, headers(("ETag" = String))),
        (status = 409, description = "`not_failed` or `service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/databases/{database_id}/retry-provisioning")]
pub async fn retry_database_provisioning(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<DatabasePath>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteHosting)?;
    let database = hosting::reach(&state, &principal.actor, authorized, &path.id, &path.database_id).await?;
    let row = databases::retry_provisioning(&state, &principal.actor, database).await?;
    database_response(&state, HttpResponse::Accepted(), &row).await
}
