//! Databases of a hosting service: a MySQL or PostgreSQL database with its own user.
//!
//! The stored name and user are `<service number>_<given>` (`1042_shop`), at most 32
//! characters, unique per engine (`409 database_taken`; with the number as prefix only
//! another database of the same service can collide). The provisioner must create the
//! user with its password, so the password is kept sealed with the installation's
//! encryption key under the context `database:<id>` (never hashed, never returned, never
//! audited); the provisioner gets only the sealed text and opens it.

use hostadmin_domain::audit as actions;
use hostadmin_domain::catalog::QuotaKey;
use hostadmin_domain::databases::{password_context, DatabaseEngine, DatabaseName, DatabaseUser};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::policy::Actor;
use hostadmin_persistence::databases::{self as database_store, DatabaseRow, DatabaseTaken, NewDatabase};
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::StoreError;

use crate::app::access::Reached;
use crate::app::hosting;
use crate::app::provisioning_states::{self, Target};
use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// A database, as asked for (validated by the route).
pub struct NewDatabaseRequest {
    pub engine: DatabaseEngine,
    pub name: DatabaseName,
    pub user: DatabaseUser,
    pub password: NewPassword,
}

/// Create a database with its user: `409 quota_exceeded` when the plan's `databases` (or
/// a reseller package above) is full; `409 database_taken` when another database of the
/// engine has the name or the user.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    request: NewDatabaseRequest,
) -> Result<DatabaseRow, ApiError> {
    hosting::require_active(&service.row)?;
    let id = new_id();
    let password_sealed = seal(state, &id, &request.password)?;
    let engine = request.engine.as_str();
    let (name, user) = (request.name.as_str().to_owned(), request.user.as_str().to_owned());
    hosting::add(state, actor, &service, actions::DATABASE_CREATE, move |work| {
        work.reserve(QuotaKey::Databases)?;
        let new = NewDatabase {
            id: id.clone(),
            service_id: work.service.id.clone(),
            engine: engine.to_owned(),
            name: name.clone(),
            db_user: user.clone(),
            password_sealed: password_sealed.clone(),
            now: work.now,
        };
        // The unique indexes alone decide, so parallel requests cannot both pass a check
        // made before the insert.
        database_store::insert(work.conn, &new).map_err(|e| insert_error(e, engine))?;
        Ok(new.id)
    })
    .await
}

/// Give a database's user a new password; without one nothing changes: no new version,
/// no provisioning, no event.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    database: Reached<(ServiceRow, DatabaseRow)>,
    password: Option<NewPassword>,
    if_match: IfMatch,
) -> Result<DatabaseRow, ApiError> {
    hosting::refuse_early(&database, &if_match)?;
    let sealed = password.map(|password| seal(state, &database.row.1.id, &password)).transpose()?;
    hosting::update(state, actor, database, actions::DATABASE_UPDATE, if_match, move |work, current: &DatabaseRow| {
        let Some(sealed) = &sealed else { return Ok(None) };
        hosting::applied(database_store::set_password(work.conn, &current.id, current.version, sealed, work.now)?)?;
        Ok(Some(serde_json::json!({ "password_changed": true })))
    })
    .await
}

/// Try a failed database again: `409 not_failed` unless its last change failed; the
/// worker then makes the server hold it as it is now.
pub async fn retry_provisioning(
    state: &AppState,
    actor: &Actor,
    database: Reached<(ServiceRow, DatabaseRow)>,
) -> Result<DatabaseRow, ApiError> {
    let audited = actions::DATABASE_RETRY_PROVISIONING;
    hosting::update(state, actor, database, audited, IfMatch::Absent, move |work, current: &DatabaseRow| {
        provisioning_states::require_failed(work.conn, Target::Database, &current.id)?;
        Ok(Some(serde_json::json!({ "retry_provisioning": true })))
    })
    .await
}

fn seal(state: &AppState, database_id: &str, password: &NewPassword) -> Result<String, ApiError> {
    state.sealer.seal(&password_context(database_id), password.as_str().as_bytes()).map_err(ApiError::internal)
}

/// A unique violation on insert: another request took the name or user meanwhile.
fn insert_error(error: StoreError, engine: &str) -> ApiError {
    let StoreError::Unique(constraint) = error else { return error.into() };
    match DatabaseTaken::from_violation(&constraint) {
        Some(DatabaseTaken::Name) => {
            ApiError::conflict("database_taken", format!("another {engine} database already has this name"))
        }
        Some(DatabaseTaken::User) => {
            ApiError::conflict("database_taken", format!("another {engine} database already has this user"))
        }
        None => ApiError::internal(format!("unexpected unique violation: {constraint}")),
    }
}
