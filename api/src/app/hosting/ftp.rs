//! FTP users of a hosting service: a login for the installation's FTP server whose home
//! directory is confined to the service's root.
//!
//! Passwords are stored, and handed to the provisioner, only as the argon2id PHC string
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`): the form libsodium's
//! `crypto_pwhash_str_verify` checks, which Pure-FTPd's SQL back-ends use for the
//! `argon2` (and `any`) crypt setting; a driver for a server that wants a scheme tag
//! (Dovecot-style `{ARGON2ID}`) prepends it. The clear password is never stored,
//! logged, audited nor returned.

use hostadmin_domain::audit as actions;
use hostadmin_domain::catalog::QuotaKey;
use hostadmin_domain::ftp::{FtpUsername, HomeDirectory};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::policy::Actor;
use hostadmin_persistence::ftp_users::{self as ftp_store, FtpUserRow, NewFtpUser};
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::StoreError;

use crate::app::access::Reached;
use crate::app::hosting;
use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;
use crate::state::AppState;

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
    // A request that cannot succeed does not wait for a hashing slot.
    hosting::require_active(&service.row)?;
    let password_hash = state.hasher.hash(request.password).await?;
    let (username, directory) = (request.username.as_str().to_owned(), request.directory.as_str().to_owned());
    let id = new_id();
    hosting::add(state, actor, &service, actions::FTP_USER_CREATE, move |work| {
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
        Ok(new.id)
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
    hosting::refuse_early(&ftp_user, &if_match)?;
    let password_changed = update.password.is_some();
    let new_hash = match update.password {
        Some(password) => Some(state.hasher.hash(password).await?),
        None => None,
    };
    let directory = update.directory.map(|d| d.as_str().to_owned());
    hosting::update(state, actor, ftp_user, actions::FTP_USER_UPDATE, if_match, move |work, current: &FtpUserRow| {
        if new_hash.is_none() && directory.is_none() {
            return Ok(None);
        }
        let hash = new_hash.as_ref().unwrap_or(&current.password_hash);
        let dir = directory.as_ref().unwrap_or(&current.directory);
        hosting::applied(ftp_store::update(work.conn, &current.id, current.version, hash, dir, work.now)?)?;
        Ok(Some(serde_json::json!({ "password_changed": password_changed })))
    })
    .await
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
