//! API keys of the actor's own account, for integrations and scripts: `hk_` and 128+
//! random bits, shown once, stored as a SHA-256 digest with a visible prefix, with
//! scopes, an expiry and the last use; revoked, never deleted.

use chrono::{DateTime, Utc};

use hostadmin_domain::accounts::DisplayName;
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::credentials::{self, SecretKind};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::policy::{Actor, Authorized};
use hostadmin_domain::scopes::ScopeSet;
use hostadmin_domain::time;
use hostadmin_persistence::api_keys::{self as store, ApiKeyRow, NewApiKey};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};

use crate::http::problem::ApiError;
use crate::state::AppState;

/// A key to create, its fields checked.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: DisplayName,
    pub scopes: ScopeSet,
    /// When it stops working; `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A new key: as stored, and the key itself, to be shown this once.
pub struct CreatedKey {
    pub row: ApiKeyRow,
    pub key: String,
}

/// Create a key of the actor's own account.
pub async fn create(state: &AppState, actor: &Actor, _: Authorized, new: NewKey) -> Result<CreatedKey, ApiError> {
    let key = credentials::new_secret(SecretKind::ApiKey).map_err(ApiError::internal)?;
    let id = new_id();
    let prefix = credentials::visible_prefix(&key);
    let digest = credentials::digest(&key);
    let context = AuditContext::of(actor);
    let account_id = actor.account_id.clone();
    let row = state
        .db
        .write(move |conn| {
            let now = time::now();
            let stored = NewApiKey {
                id: &id,
                account_id: &account_id,
                name: new.name.as_str(),
                prefix: &prefix,
                key_hash: &digest,
                scopes: &new.scopes,
                expires_at: new.expires_at.map(|at| at.naive_utc()),
                now,
            };
            store::insert(conn, &stored)?;
            let details = serde_json::json!({
                "name": new.name.as_str(), "scopes": new.scopes.to_storage(), "prefix": prefix,
            });
            record(conn, &context, actions::API_KEY_CREATE, &id, &account_id, details, now)?;
            store::find(conn, &id)?.ok_or_else(|| ApiError::internal("the new key vanished"))
        })
        .await?;
    Ok(CreatedKey { row, key })
}

/// One page of the actor's keys that are not revoked, newest first.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    _: Authorized,
    before_id: Option<String>,
    limit: i64,
) -> Result<Vec<ApiKeyRow>, ApiError> {
    let account_id = actor.account_id.clone();
    state.db.run(move |conn| Ok(store::list_for_account(conn, &account_id, before_id.as_deref(), limit)?)).await
}

/// One of the actor's keys that is not revoked; any other is 404.
pub async fn find(state: &AppState, actor: &Actor, _: Authorized, id: &str) -> Result<ApiKeyRow, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let owner = actor.account_id.clone();
    state
        .db
        .run(move |conn| {
            store::find(conn, &id)?
                .filter(|key| key.account_id == owner && key.revoked_at.is_none())
                .ok_or_else(ApiError::not_found)
        })
        .await
}

/// Revoke one of the actor's keys: it stops working at once.
pub async fn revoke(state: &AppState, actor: &Actor, authorized: Authorized, id: &str) -> Result<(), ApiError> {
    let key = find(state, actor, authorized, id).await?;
    let context = AuditContext::of(actor);
    let account_id = actor.account_id.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            if !store::revoke(conn, &account_id, &key.id, now)? {
                return Err(ApiError::not_found());
            }
            let details = serde_json::json!({ "prefix": key.prefix });
            record(conn, &context, actions::API_KEY_REVOKE, &key.id, &account_id, details, now)
        })
        .await
}

fn record(
    conn: &mut hostadmin_persistence::DbConnection,
    context: &AuditContext,
    action: &'static str,
    key_id: &str,
    account_id: &str,
    details: serde_json::Value,
    now: chrono::NaiveDateTime,
) -> Result<(), ApiError> {
    let event =
        NewEvent { action, target_type: target::API_KEY, target_id: key_id, account_id: Some(account_id), details };
    Ok(audit::record(conn, context, event, now)?)
}
