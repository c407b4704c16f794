//! FTP users of a hosting service: a login for the installation's FTP server whose home
//! directory is confined to the service's root.
//!
//! Passwords are stored, and handed to the provisioner, only as the argon2id PHC string
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`): the form libsodium's
//! `crypto_pwhash_str_verify` checks, which Pure-FTPd's SQL back-ends use for the
//! `argon2` (and `any`) crypt setting; a driver for a server that wants a scheme tag
//! (Dovecot-style `{ARGON2ID}`) prepends it. The clear password is never stored,
//! logged, audited nor returned.

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::QuotaKey;
use hostadmin_domain::ftp::{FtpUsername, HomeDirectory};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::policy::{Action, Actor};
use hostadmin_domain::provisioning::{ResourceAction, ResourceKind};
use hostadmin_persistence::ftp_users::{self as ftp_store, FtpUserFilter, FtpUserRow, NewFtpUser};
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::{DbConnection, StoreError};

use crate::app::access::Reached;
use crate::app::hosting::{self, Changed, OfService};
use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;
use crate::state::AppState;

impl OfService for FtpUserRow {
    fn find(conn: &mut DbConnection, service_id: &str, id: &str) -> Result<Option<Self>, StoreError> {
        ftp_store::find_in_service(conn, service_id, id)
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }
}

/// An FTP user, as asked for (validated by the route).
pub struct NewFtpUserRequest {
    pub username: FtpUsername,
    pub password: NewPassword,
    pub directory: HomeDirectory,
}

/// What an FTP user's change sets; `None` leaves a field as it is.
pub struct FtpUserUpdate {
    pub password: Option<NewPassword>,
    pub directory: Option<HomeDirectory>,
}

/// Create an FTP user: `409 quota_exceeded` when the plan's `ftp_users` (or a reseller
/// package above) is full; `409 username_taken` when any FTP user has the username.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    request: NewFtpUserRequest,
) -> Result<FtpUserRow, ApiError> {
    service.expect(Action::WriteHosting)?;
    // A request that cannot succeed does not wait for a hashing slot.
    hosting::require_active(&service.row)?;
    let password_hash = state.hasher.hash(request.password).await?;
    let (username, directory) = (request.username.as_str().to_owned(), request.directory.as_str().to_owned());
    let id = new_id();
    hosting::write(state, actor, &service.row.id, move |work| {
        work.reserve(QuotaKey::FtpUsers)?;
        let new = NewFtpUser {
            id: id.clone(),
            service_id: work.service.id.clone(),
            username: username.clone(),
            password_hash: password_hash.clone(),
            directory: directory.clone(),
            now: work.now,
        };
        // The unique index alone decides, so parallel requests cannot both pass a check
        // made before the insert.
        ftp_store::insert(work.conn, &new).map_err(insert_error)?;
        let row: FtpUserRow = work.written(&id)?;
        work.changed(Changed {
            kind: ResourceKind::FtpUser,
            action: ResourceAction::Create,
            id: &row.id,
            spec: spec(&row, true),
            audited: actions::FTP_USER_CREATE,
            target_type: target::FTP_USER,
            details: serde_json::json!({
                "service_id": row.service_id, "username": row.username, "directory": row.directory,
            }),
        })?;
        Ok(row)
    })
    .await
}

/// Change an FTP user's password or home directory. An empty change changes nothing: no
/// new version, no provisioning, no event.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    ftp_user: Reached<(ServiceRow, FtpUserRow)>,
    update: FtpUserUpdate,
    if_match: IfMatch,
) -> Result<FtpUserRow, ApiError> {
    let (service, found) = &ftp_user.row;
    // Refused before the slow hash when it cannot succeed.
    if_match.check(found.version)?;
    hosting::require_active(service)?;
    let password_changed = update.password.is_some();
    let new_hash = match update.password {
        Some(password) => Some(state.hasher.hash(password).await?),
        None => None,
    };
    let directory = update.directory.map(|d| d.as_str().to_owned());
    hosting::change(state, actor, ftp_user, Action::WriteHosting, if_match, move |work, current: FtpUserRow| {
        if new_hash.is_none() && directory.is_none() {
            return Ok(current);
        }
        let hash = new_hash.as_ref().unwrap_or(&current.password_hash);
        let dir = directory.as_ref().unwrap_or(&current.directory);
        hosting::applied(ftp_store::update(work.conn, &current.id, current.version, hash, dir, work.now)?)?;
        let row: FtpUserRow = work.written(&current.id)?;
        work.changed(Changed {
            kind: ResourceKind::FtpUser,
            action: ResourceAction::Update,
            id: &row.id,
            spec: spec(&row, true),
            audited: actions::FTP_USER_UPDATE,
            target_type: target::FTP_USER,
            details: serde_json::json!({
                "service_id": row.service_id, "username": row.username,
                "password_changed": password_changed, "directory": row.directory,
            }),
        })?;
        Ok(row)
    })
    .await
}

/// Remove an FTP user: its username becomes free again.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    ftp_user: Reached<(ServiceRow, FtpUserRow)>,
    if_match: IfMatch,
) -> Result<(), ApiError> {
    hosting::change(state, actor, ftp_user, Action::WriteHosting, if_match, |work, row: FtpUserRow| {
        hosting::applied(ftp_store::delete(work.conn, &row.id, row.version)?)?;
        work.changed(Changed {
            kind: ResourceKind::FtpUser,
            action: ResourceAction::Delete,
            id: &row.id,
            spec: spec(&row, false),
            audited: actions::FTP_USER_DELETE,
            target_type: target::FTP_USER,
            details: serde_json::json!({ "service_id": row.service_id, "username": row.username }),
        })?;
        Ok(())
    })
    .await
}

/// A page of the service's FTP users, newest first.
pub async fn list(
    state: &AppState,
    service: Reached<ServiceRow>,
    filter: FtpUserFilter,
    limit: i64,
) -> Result<Vec<FtpUserRow>, ApiError> {
    service.expect(Action::ReadHosting)?;
    let service_id = service.row.id;
    state.db.run(move |conn| Ok(ftp_store::list(conn, &service_id, &filter, limit)?)).await
}

/// What the provisioner gets: the user as it is, its password only as the hash (and
/// only while the user stays).
fn spec(row: &FtpUserRow, with_hash: bool) -> serde_json::Value {
    let mut spec = serde_json::json!({ "username": row.username, "directory": row.directory });
    if with_hash {
        spec["password_hash"] = row.password_hash.clone().into();
    }
    spec
}

/// A unique violation on insert is the username's (another request won the race).
fn insert_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Unique(constraint) if ftp_store::is_username_violation(&constraint) => {
            ApiError::conflict("username_taken", "another FTP user of the installation has this username")
        }
        other => other.into(),
    }
}
