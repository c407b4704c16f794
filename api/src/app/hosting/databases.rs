//! Databases of a hosting service: a MySQL or PostgreSQL database with its own user.
//!
//! The stored name and user are `<service number>_<given>` (`1042_shop`), at most 32
//! characters, unique per engine (`409 database_taken`; with the number as prefix only
//! another database of the same service can collide). The provisioner must create the
//! user with its password, so the password is kept sealed with the installation's
//! encryption key under the context `database:<id>` (never hashed, never returned, never
//! audited); the provisioner gets only the sealed text and opens it.

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::QuotaKey;
use hostadmin_domain::databases::{password_context, DatabaseEngine, DatabaseName, DatabaseUser};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::policy::{Action, Actor};
use hostadmin_domain::provisioning::{ResourceAction, ResourceKind};
use hostadmin_persistence::databases::{
    self as database_store, DatabaseFilter, DatabaseRow, DatabaseTaken, NewDatabase,
};
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::{DbConnection, StoreError};

use crate::app::access::Reached;
use crate::app::hosting::{self, Changed, OfService};
use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;
use crate::state::AppState;

impl OfService for DatabaseRow {
    fn find(conn: &mut DbConnection, service_id: &str, id: &str) -> Result<Option<Self>, StoreError> {
        database_store::find_in_service(conn, service_id, id)
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }
}

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
    service.expect(Action::WriteHosting)?;
    hosting::require_active(&service.row)?;
    let id = new_id();
    let password_sealed = seal(state, &id, &request.password)?;
    let engine = request.engine.as_str();
    let (name, user) = (request.name.as_str().to_owned(), request.user.as_str().to_owned());
    hosting::write(state, actor, &service.row.id, move |work| {
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
        let row: DatabaseRow = work.written(&id)?;
        work.changed(Changed {
            kind: ResourceKind::Database,
            action: ResourceAction::Create,
            id: &row.id,
            spec: spec(&row, true),
            audited: actions::DATABASE_CREATE,
            target_type: target::DATABASE,
            details: serde_json::json!({
                "service_id": row.service_id, "engine": row.engine, "name": row.name, "user": row.db_user,
            }),
        })?;
        Ok(row)
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
    let (service, found) = &database.row;
    if_match.check(found.version)?;
    hosting::require_active(service)?;
    let sealed = password.map(|password| seal(state, &found.id, &password)).transpose()?;
    hosting::change(state, actor, database, Action::WriteHosting, if_match, move |work, current: DatabaseRow| {
        let Some(sealed) = &sealed else { return Ok(current) };
        hosting::applied(database_store::set_password(work.conn, &current.id, current.version, sealed, work.now)?)?;
        let row: DatabaseRow = work.written(&current.id)?;
        work.changed(Changed {
            kind: ResourceKind::Database,
            action: ResourceAction::Update,
            id: &row.id,
            spec: spec(&row, true),
            audited: actions::DATABASE_UPDATE,
            target_type: target::DATABASE,
            details: serde_json::json!({ "service_id": row.service_id, "name": row.name, "password_changed": true }),
        })?;
        Ok(row)
    })
    .await
}

/// Remove a database with its user.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    database: Reached<(ServiceRow, DatabaseRow)>,
    if_match: IfMatch,
) -> Result<(), ApiError> {
    hosting::change(state, actor, database, Action::WriteHosting, if_match, |work, row: DatabaseRow| {
        hosting::applied(database_store::delete(work.conn, &row.id, row.version)?)?;
        work.changed(Changed {
            kind: ResourceKind::Database,
            action: ResourceAction::Delete,
            id: &row.id,
            spec: spec(&row, false),
            audited: actions::DATABASE_DELETE,
            target_type: target::DATABASE,
            details: serde_json::json!({ "service_id": row.service_id, "engine": row.engine, "name": row.name }),
        })?;
        Ok(())
    })
    .await
}

/// A page of the service's databases, newest first.
pub async fn list(
    state: &AppState,
    service: Reached<ServiceRow>,
    filter: DatabaseFilter,
    limit: i64,
) -> Result<Vec<DatabaseRow>, ApiError> {
    service.expect(Action::ReadHosting)?;
    let service_id = service.row.id;
    state.db.run(move |conn| Ok(database_store::list(conn, &service_id, &filter, limit)?)).await
}

/// What the provisioner gets: the database as it is; the password only sealed (the driver
/// opens it with the context `database:<id>`), and only while the database stays.
fn spec(row: &DatabaseRow, with_password: bool) -> serde_json::Value {
    let mut spec = serde_json::json!({ "engine": row.engine, "name": row.name, "user": row.db_user });
    if with_password {
        spec["password_sealed"] = row.password_sealed.clone().into();
    }
    spec
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
