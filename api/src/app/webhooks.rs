//! Webhook endpoints, each account's own: create (the secret is shown once), change,
//! remove, rotate the secret (the previous one signs along for 24 hours), send a test
//! event, read the delivery log and retry a delivery. The deliveries themselves are the
//! worker's (crate::app::webhook_delivery).
//!
//! URLs are checked when they are set, against the configuration's allowed hosts and
//! against what the host resolves to now (`422 webhook_url_refused`), and again at every
//! delivery on the address connected to.

use chrono::Duration;
use serde_json::json;

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::mailboxes::Description;
use hostadmin_domain::policy::{Action, Actor, Authorized};
use hostadmin_domain::time;
use hostadmin_domain::webhooks::signing::WebhookSecret;
use hostadmin_domain::webhooks::{DeliveryStatus, EventFilters, Host, WebhookUrl, TEST_EVENT};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::webhook_deliveries::{self as delivery_store, DeliveryRow};
use hostadmin_persistence::webhooks::{self as webhook_store, NewWebhook, WebhookChanges, WebhookRow};
use hostadmin_persistence::DbConnection;

use crate::app::access::Reached;
use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// Endpoints per account.
pub const MAX_PER_ACCOUNT: i64 = 20;
/// How long the previous secret signs along after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// An endpoint, as asked for (validated by the route).
pub struct NewWebhookRequest {
    pub url: WebhookUrl,
    pub events: EventFilters,
    pub description: Description,
    pub enabled: bool,
}

/// What a change sets; `None` leaves a field as it is.
#[derive(Default)]
pub struct WebhookUpdate {
    pub url: Option<WebhookUrl>,
    pub events: Option<EventFilters>,
    pub description: Option<Description>,
    pub enabled: Option<bool>,
}

/// The sealing context of an endpoint's secrets: a sealed secret copied to another
/// endpoint does not open.
pub fn secret_context(webhook_id: &str) -> String {
    format!("webhook:{webhook_id}")
}

/// `422 webhook_url_refused` at `/url` unless deliveries may go there now.
async fn check_url(state: &AppState, url: &WebhookUrl) -> Result<(), ApiError> {
    state
        .config
        .webhook_allow_hosts
        .check(url)
        .await
        .map_err(|refused| ApiError::invalid("webhook_url_refused", "/url", refused.0))
}

fn seal(state: &AppState, webhook_id: &str, secret: &WebhookSecret) -> Result<String, ApiError> {
    state.sealer.seal(&secret_context(webhook_id), secret.expose().as_bytes()).map_err(ApiError::internal)
}

/// What an audit entry (and so an event) says of an endpoint: never its secret, nor its
/// full URL, whose path or query may hold the receiver's own token.
fn described(row: &WebhookRow) -> serde_json::Value {
    let host = WebhookUrl::parse(&row.url).ok().map(|url| match url.host() {
        Host::Name(name) => name,
        Host::Address(address) => address.to_string(),
    });
    json!({ "host": host, "events": row.events, "enabled": row.enabled })
}

fn audited(
    conn: &mut DbConnection,
    actor: &Actor,
    action: &str,
    row: &WebhookRow,
    details: serde_json::Value,
) -> Result<String, ApiError> {
    let event = NewEvent {
        action,
        target_type: target::WEBHOOK,
        target_id: &row.id,
        account_id: Some(&row.account_id),
        details,
    };
    Ok(audit::append(conn, &AuditContext::of(actor), event, time::now())?)
}

/// Create an endpoint of the actor's own account; answers it with its secret, which is
/// shown this once. `409 quota_exceeded` beyond [`MAX_PER_ACCOUNT`].
pub async fn create(
    state: &AppState,
    actor: &Actor,
    _: Authorized,
    request: NewWebhookRequest,
) -> Result<(WebhookRow, WebhookSecret), ApiError> {
    check_url(state, &request.url).await?;
    let secret = WebhookSecret::generate().map_err(ApiError::internal)?;
    let id = new_id();
    let sealed = seal(state, &id, &secret)?;
    let owner = actor.clone();
    let row = state
        .db
        .write(move |conn| {
            let now = time::now();
            webhook_store::lock_owner(conn, &owner.account_id)?;
            if webhook_store::count_of(conn, &owner.account_id)? >= MAX_PER_ACCOUNT {
                return Err(ApiError::conflict(
                    "quota_exceeded",
                    format!("an account has at most {MAX_PER_ACCOUNT} webhook endpoints"),
                ));
            }
            let new = NewWebhook {
                id: &id,
                account_id: &owner.account_id,
                sees_all: owner.kind == hostadmin_domain::accounts::AccountKind::Operator,
                url: request.url.as_str(),
                events: &request.events,
                description: request.description.as_str(),
                enabled: request.enabled,
                secret_sealed: &sealed,
            };
            webhook_store::insert(conn, &new, now)?;
            let row = webhook_store::find(conn, &id)?.ok_or_else(|| ApiError::internal("the new webhook vanished"))?;
            audited(conn, &owner, actions::WEBHOOK_CREATE, &row, described(&row))?;
            Ok(row)
        })
        .await?;
    Ok((row, secret))
}

/// The endpoint as it is now, at the version `If-Match` asks for.
fn current(conn: &mut DbConnection, found: &WebhookRow, if_match: &IfMatch) -> Result<WebhookRow, ApiError> {
    let row = webhook_store::find_own(conn, &found.account_id, &found.id)?.ok_or_else(ApiError::not_found)?;
    if_match.check(row.version)?;
    Ok(row)
}

/// A row that moved between its read and its conditional write: the transaction is
/// tried again.
fn raced() -> ApiError {
    ApiError::Busy("a webhook changed during the request".into())
}

/// Change an endpoint's URL, filters, description or whether it is enabled. Enabling it
/// forgets its past failures.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    webhook: Reached<WebhookRow>,
    update: WebhookUpdate,
    if_match: IfMatch,
) -> Result<WebhookRow, ApiError> {
    webhook.expect(Action::WriteWebhooks)?;
    if let Some(url) = &update.url {
        check_url(state, url).await?;
    }
    let changes = WebhookChanges {
        url: update.url.map(|url| url.as_str().to_owned()),
        events: update.events,
        description: update.description.map(|d| d.as_str().to_owned()),
        enabled: update.enabled,
    };
    let (actor, found) = (actor.clone(), webhook.row);
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let before = current(conn, &found, &if_match)?;
            if !webhook_store::update(conn, &before.id, before.version, &changes, now)? {
                return Err(raced());
            }
            let row = webhook_store::find(conn, &before.id)?.ok_or_else(ApiError::not_found)?;
            let mut details = described(&row);
            details["url_changed"] = json!(changes.url.is_some());
            audited(conn, &actor, actions::WEBHOOK_UPDATE, &row, details)?;
            Ok(row)
        })
        .await
}

/// Remove an endpoint with its delivery log; nothing more is sent to it.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    webhook: Reached<WebhookRow>,
    if_match: IfMatch,
) -> Result<(), ApiError> {
    webhook.expect(Action::WriteWebhooks)?;
    let (actor, found) = (actor.clone(), webhook.row);
    state
        .db
        .write(move |conn| {
            let row = current(conn, &found, &if_match)?;
            if !webhook_store::delete(conn, &row.id, row.version)? {
                return Err(raced());
            }
            audited(conn, &actor, actions::WEBHOOK_DELETE, &row, described(&row))?;
            Ok(())
        })
        .await
}

/// Put a new secret in force; the previous one keeps signing (a second signature) for
/// [`ROTATION_OVERLAP`]. Answers the endpoint and the new secret, shown this once.
pub async fn rotate_secret(
    state: &AppState,
    actor: &Actor,
    webhook: Reached<WebhookRow>,
    if_match: IfMatch,
) -> Result<(WebhookRow, WebhookSecret), ApiError> {
    webhook.expect(Action::WriteWebhooks)?;
    let secret = WebhookSecret::generate().map_err(ApiError::internal)?;
    let sealed = seal(state, &webhook.row.id, &secret)?;
    let (actor, found) = (actor.clone(), webhook.row);
    let row = state
        .db
        .write(move |conn| {
            let now = time::now();
            let before = current(conn, &found, &if_match)?;
            let until = now + ROTATION_OVERLAP;
            if !webhook_store::rotate_secret(conn, &before.id, before.version, &sealed, until, now)? {
                return Err(raced());
            }
            let row = webhook_store::find(conn, &before.id)?.ok_or_else(ApiError::not_found)?;
            audited(conn, &actor, actions::WEBHOOK_ROTATE_SECRET, &row, json!({ "previous_valid_until": until }))?;
            Ok(row)
        })
        .await?;
    Ok((row, secret))
}

/// `409 webhook_disabled`: nothing is sent to a disabled endpoint.
fn require_enabled(row: &WebhookRow) -> Result<(), ApiError> {
    if row.enabled {
        Ok(())
    } else {
        Err(ApiError::conflict("webhook_disabled", "the endpoint is disabled: enable it first"))
    }
}

/// Send a `webhook.test` event to this endpoint alone, whatever its filters; answers the
/// queued delivery.
pub async fn send_test(state: &AppState, actor: &Actor, webhook: Reached<WebhookRow>) -> Result<DeliveryRow, ApiError> {
    webhook.expect(Action::WriteWebhooks)?;
    let (actor, found) = (actor.clone(), webhook.row);
    state
        .db
        .write(move |conn| {
            let row = current(conn, &found, &IfMatch::Absent)?;
            require_enabled(&row)?;
            let details = json!({ "webhook_id": row.id, "message": "a test event sent from hostadmin" });
            let event_id = audited(conn, &actor, TEST_EVENT, &row, details)?;
            let delivery_id = webhook_store::queue(conn, &row.id, &event_id, TEST_EVENT, time::now())?;
            delivery_store::find(conn, &row.id, &delivery_id)?
                .ok_or_else(|| ApiError::internal("the delivery vanished"))
        })
        .await
}

/// Queue a delivery again, due now (a delivered one is sent once more).
pub async fn retry(
    state: &AppState,
    actor: &Actor,
    webhook: Reached<WebhookRow>,
    delivery_id: &str,
) -> Result<DeliveryRow, ApiError> {
    webhook.expect(Action::WriteWebhooks)?;
    let delivery_id = parse_id(delivery_id).ok_or_else(ApiError::not_found)?;
    let (actor, found) = (actor.clone(), webhook.row);
    state
        .db
        .write(move |conn| {
            let row = current(conn, &found, &IfMatch::Absent)?;
            let delivery = delivery_store::find(conn, &row.id, &delivery_id)?.ok_or_else(ApiError::not_found)?;
            require_enabled(&row)?;
            delivery_store::retry_now(conn, &delivery.id, time::now())?;
            let details = json!({ "delivery_id": delivery.id, "event_id": delivery.event_id, "webhook_id": row.id });
            let event = NewEvent {
                action: actions::WEBHOOK_DELIVERY_RETRY,
                target_type: target::WEBHOOK_DELIVERY,
                target_id: &delivery.id,
                account_id: Some(&row.account_id),
                details,
            };
            audit::record(conn, &AuditContext::of(&actor), event, time::now())?;
            delivery_store::find(conn, &row.id, &delivery.id)?.ok_or_else(ApiError::not_found)
        })
        .await
}

/// A page of the actor's endpoints, newest first.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    _: Authorized,
    before_id: Option<String>,
    limit: i64,
) -> Result<Vec<WebhookRow>, ApiError> {
    let owner = actor.account_id.clone();
    state.db.run(move |conn| Ok(webhook_store::list_own(conn, &owner, before_id.as_deref(), limit)?)).await
}

/// A page of an endpoint's delivery log, newest first.
pub async fn deliveries(
    state: &AppState,
    webhook: Reached<WebhookRow>,
    status: Option<DeliveryStatus>,
    before_id: Option<String>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, ApiError> {
    webhook.expect(Action::ReadWebhooks)?;
    let id = webhook.row.id;
    state.db.run(move |conn| Ok(delivery_store::list(conn, &id, status, before_id.as_deref(), limit)?)).await
}
