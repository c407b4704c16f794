//! Databases of a hosting service: a MySQL or PostgreSQL database with its own user.
//!
//! The stored name and user are `<service number>_<given>` (`1042_shop`), at most 32
//! characters, unique per engine (`409 database_taken`; with the number as prefix only
//! another database of the same service can collide). The provisioner must create the
//! user with its password, so the password is kept sealed with the installation's
//! encryption key under the context `database:<id>` (never hashed, never returned, never
//! audited); the provisioner gets only the sealed text and opens it.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::QuotaKey;
use hostadmin_domain::databases::{password_context, DatabaseEngine, DatabaseName, DatabaseUser};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::passwords::service_password;
use hostadmin_domain::policy::Action;
use hostadmin_domain::provisioning::{ResourceAction, ResourceKind};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{self, NewEvent};
use hostadmin_persistence::databases::{
    self as database_store, DatabaseFilter, DatabaseRow, DatabaseTaken, NewDatabase,
};
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
}

impl DatabaseView {
    fn from_row(row: &DatabaseRow) -> Result<Self, ApiError> {
        Ok(Self {
            id: row.id.clone(),
            service_id: row.service_id.clone(),
            engine: DatabaseEngine::parse(&row.engine)
                .ok_or_else(|| ApiError::internal(format!("stored engine of database {}", row.id)))?,
            name: row.name.clone(),
            user: row.db_user.clone(),
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
        })
    }
}

fn database_response(mut builder: actix_web::HttpResponseBuilder, row: &DatabaseRow) -> Result<HttpResponse, ApiError> {
    Ok(builder.insert_header((header::ETAG, etag(row.version))).json(DatabaseView::from_row(row)?))
}

/// What the provisioner gets: the database after the change; the password only sealed
/// (the driver opens it with the context `database:<id>`).
fn spec_of(engine: &str, name: &str, user: &str, password_sealed: Option<&str>) -> serde_json::Value {
    let mut spec = serde_json::json!({ "engine": engine, "name": name, "user": user });
    if let Some(sealed) = password_sealed {
        spec["password_sealed"] = serde_json::Value::String(sealed.to_owned());
    }
    spec
}

fn taken_error(taken: DatabaseTaken, engine: &str) -> ApiError {
    match taken {
        DatabaseTaken::Name => {
            ApiError::conflict("database_taken", format!("another {engine} database already has this name"))
        }
        DatabaseTaken::User => {
            ApiError::conflict("database_taken", format!("another {engine} database already has this user"))
        }
    }
}

/// A unique violation on insert: another request took the name or user meanwhile.
fn insert_error(error: StoreError, engine: &str) -> ApiError {
    match error {
        StoreError::Unique(constraint) => match DatabaseTaken::from_violation(&constraint) {
            Some(taken) => taken_error(taken, engine),
            None => ApiError::internal(format!("unexpected unique violation: {constraint}")),
        },
        other => other.into(),
    }
}

fn seal(state: &AppState, database_id: &str, password: &str) -> Result<String, ApiError> {
    state.sealer.seal(&password_context(database_id), password.as_bytes()).map_err(ApiError::internal)
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
    #[schema(min_length = 8, max_length = 128, format = Password)]
    pub password: String,
}

/// Create a database of a service, with its user.
///
/// Needs an active service (`409 service_not_active`) and room in the service's quota
/// and every reseller package above its owner (`409 quota_exceeded`).
#[utoipa::path(
    tag = "Databases",
    request_body = CreateDatabase,
    params(
        ("id" = String, Path, description = "The service's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours."),
    ),
    responses(
        (status = 201, description = "Created", body = DatabaseView, headers(("Location" = String), ("ETag" = String))),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`database_taken`, `service_not_active`, `quota_exceeded` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/services/{id}/databases")]
pub async fn create_database(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteHosting)?;
    let service = access::service(&state, &principal.actor, principal.authorize(Action::WriteHosting)?, &id).await?.row;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateDatabase = body.parse()?;
        let mut errors = Vec::new();
        let name = DatabaseName::new(service.number, &input.name).map_err(|e| errors.push(FieldError::new("/name", e)));
        let user = DatabaseUser::new(service.number, &input.user).map_err(|e| errors.push(FieldError::new("/user", e)));
        let password = service_password(&input.password).map_err(|e| errors.push(FieldError::new("/password", e)));
        let (Ok(name), Ok(user), Ok(password)) = (name, user, password) else {
            return Err(ApiError::fields(errors));
        };
        hosting::require_active(&service)?;
        let id = new_id();
        let new = NewDatabase {
            password_sealed: seal(&state, &id, password.as_str())?,
            id,
            service_id: service.id.clone(),
            engine: input.engine.as_str().to_owned(),
            name: name.as_str().to_owned(),
            db_user: user.as_str().to_owned(),
            now: time::now(),
        };
        let context = principal.audit();
        let requested_by = principal.id().to_owned();
        let state_for_write = state.clone();
        let row = state
            .db
            .write(move |conn| {
                let service = hosting::lock_active(conn, &new.service_id)?;
                hosting::reserve(conn, &service, QuotaKey::Databases)?;
                // The unique indexes alone decide, so parallel requests cannot both pass a
                // check made before the insert.
                database_store::insert(conn, &new).map_err(|e| insert_error(e, &new.engine))?;
                hosting::provision(
                    conn,
                    &state_for_write,
                    &service,
                    (ResourceKind::Database, ResourceAction::Create, &new.id),
                    spec_of(&new.engine, &new.name, &new.db_user, Some(&new.password_sealed)),
                    &requested_by,
                    new.now,
                )?;
                audit::record(
                    conn,
                    &context,
                    NewEvent {
                        action: actions::DATABASE_CREATE,
                        target_type: target::DATABASE,
                        target_id: &new.id,
                        account_id: Some(&service.owner_id),
                        details: serde_json::json!({
                            "service_id": service.id, "engine": new.engine, "name": new.name, "user": new.db_user,
                        }),
                    },
                    new.now,
                )?;
                database_store::find_in_service(conn, &service.id, &new.id)?
                    .ok_or_else(|| ApiError::internal("the new database vanished"))
            })
            .await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/services/{}/databases/{}", row.service_id, row.id)));
        database_response(builder, &row)
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListDatabasesQuery {
    pub engine: Option<DatabaseEngine>,
    /// A case-insensitive prefix of the stored name (`1042_sh`).
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
}

/// The databases of a service, newest first.
#[utoipa::path(
    tag = "Databases",
    params(("id" = String, Path, description = "The service's id"), ListDatabasesQuery, PageQuery),
    responses(
        (status = 200, description = "A page of databases", body = Page<DatabaseView>),
        (status = 404, description = "No such service for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/services/{id}/databases")]
pub async fn list_databases(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    query: web::Query<ListDatabasesQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadHosting)?;
    let service = access::service(&state, &principal.actor, principal.authorize(Action::ReadHosting)?, &id).await?.row;
    let q = search_prefix(query.q.as_deref())?;
    let engine = query.engine.map(|e| e.as_str().to_owned());
    let page = paging.request(format!(
        "engine={}&q={}",
        engine.as_deref().unwrap_or_default(),
        q.as_deref().unwrap_or_default()
    ))?;
    let filter = DatabaseFilter { engine, q, before_id: page.before_id.clone() };
    let fetch = page.fetch();
    let rows = state.db.run(move |conn| Ok(database_store::list(conn, &service.id, &filter, fetch)?)).await?;
    let views = rows.iter().map(DatabaseView::from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// The service (reached for `action`) and its database `database_id`, or 404.
async fn find_database(
    state: &AppState,
    principal: &Principal,
    service_id: &str,
    database_id: &str,
    action: Action,
) -> Result<(ServiceRow, DatabaseRow), ApiError> {
    let service = access::service(state, &principal.actor, principal.authorize(action)?, service_id).await?.row;
    let database_id = parse_id(database_id).ok_or_else(ApiError::not_found)?;
    let service_id = service.id.clone();
    let row = state
        .db
        .run(move |conn| {
            database_store::find_in_service(conn, &service_id, &database_id)?.ok_or_else(ApiError::not_found)
        })
        .await?;
    Ok((service, row))
}

/// Read one database of a service (never its password).
#[utoipa::path(
    tag = "Databases",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("database_id" = String, Path, description = "The database's id"),
    ),
    responses(
        (status = 200, description = "The database", body = DatabaseView, headers(("ETag" = String))),
        (status = 404, description = "No such service or database for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/services/{id}/databases/{database_id}")]
pub async fn get_database(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadHosting)?;
    let (service_id, database_id) = path.into_inner();
    let (_, row) = find_database(&state, &principal, &service_id, &database_id, Action::ReadHosting).await?;
    database_response(HttpResponse::Ok(), &row)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDatabase {
    /// A new password for the database's user (8-128 characters, not a common one, no
    /// control characters); it cannot be cleared.
    #[schema(value_type = Option<String>, min_length = 8, max_length = 128, format = Password)]
    #[serde(default)]
    pub password: Patch<String>,
}

/// Change the password of a database's user (JSON merge patch).
#[utoipa::path(
    tag = "Databases",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("database_id" = String, Path, description = "The database's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body(content = UpdateDatabase, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed database", body = DatabaseView, headers(("ETag" = String))),
        (status = 404, description = "No such service or database for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[patch("/services/{id}/databases/{database_id}")]
pub async fn update_database(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteHosting)?;
    let (service_id, database_id) = path.into_inner();
    let (service, row) = find_database(&state, &principal, &service_id, &database_id, Action::WriteHosting).await?;
    let input: UpdateDatabase = body.parse()?;
    let password = match &input.password {
        Patch::Absent => None,
        Patch::Null => return Err(ApiError::field("/password", Invalid::new("required", "cannot be cleared"))),
        Patch::Value(text) => Some(service_password(text).map_err(|e| ApiError::field("/password", e))?),
    };
    let if_match = IfMatch::from_request(&request);
    if_match.check(row.version)?;
    hosting::require_active(&service)?;
    let sealed = password.map(|p| seal(&state, &row.id, p.as_str())).transpose()?;
    let context = principal.audit();
    let requested_by = principal.id().to_owned();
    let state_for_write = state.clone();
    let row = state
        .db
        .write(move |conn| {
            let now = time::now();
            let service = hosting::lock_active(conn, &row.service_id)?;
            let current =
                database_store::find_in_service(conn, &service.id, &row.id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(current.version)?;
            // An empty patch changes nothing: no new version, no provisioning, no event.
            let Some(sealed) = &sealed else { return Ok(current) };
            if !database_store::set_password(conn, &current.id, current.version, sealed, now)? {
                return Err(precondition_failed());
            }
            hosting::provision(
                conn,
                &state_for_write,
                &service,
                (ResourceKind::Database, ResourceAction::Update, &current.id),
                spec_of(&current.engine, &current.name, &current.db_user, Some(sealed)),
                &requested_by,
                now,
            )?;
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::DATABASE_UPDATE,
                    target_type: target::DATABASE,
                    target_id: &current.id,
                    account_id: Some(&service.owner_id),
                    details: serde_json::json!({
                        "service_id": service.id, "name": current.name, "password_changed": true,
                    }),
                },
                now,
            )?;
            database_store::find_in_service(conn, &service.id, &current.id)?.ok_or_else(ApiError::not_found)
        })
        .await?;
    database_response(HttpResponse::Ok(), &row)
}

/// Remove a database of a service, with its user.
#[utoipa::path(
    tag = "Databases",
    params(
        ("id" = String, Path, description = "The service's id"),
        ("database_id" = String, Path, description = "The database's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such service or database for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[delete("/services/{id}/databases/{database_id}")]
pub async fn delete_database(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteHosting)?;
    let (service_id, database_id) = path.into_inner();
    let (service, row) = find_database(&state, &principal, &service_id, &database_id, Action::WriteHosting).await?;
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
            let current =
                database_store::find_in_service(conn, &service.id, &row.id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(current.version)?;
            if !database_store::delete(conn, &current.id, current.version)? {
                return Err(precondition_failed());
            }
            hosting::provision(
                conn,
                &state_for_write,
                &service,
                (ResourceKind::Database, ResourceAction::Delete, &current.id),
                spec_of(&current.engine, &current.name, &current.db_user, None),
                &requested_by,
                now,
            )?;
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::DATABASE_DELETE,
                    target_type: target::DATABASE,
                    target_id: &current.id,
                    account_id: Some(&service.owner_id),
                    details: serde_json::json!({ "service_id": service.id, "engine": current.engine, "name": current.name }),
                },
                now,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
