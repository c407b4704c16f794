//! Delivering webhooks: the worker's side of the outbox (persistence::webhook_deliveries).
//!
//! Each round takes the enabled endpoints that have a delivery due and nobody holding
//! them, several at once; for each it holds the endpoint with a lease and sends its due
//! deliveries one at a time, oldest first: a POST of `{id, type, timestamp, data}` signed
//! per Standard Webhooks with every secret in force, 10 seconds for the whole exchange,
//! no redirects, to a checked address (crate::outgoing). A 2xx is `delivered`; anything
//! else is tried again on the schedule (hostadmin_domain::webhooks::schedule), then
//! `failed`. An endpoint that has failed everything for 5 days is disabled and its
//! owner mailed. The HTTP call runs outside any transaction; each result is recorded in
//! its own, only while the worker still holds the endpoint.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{json, Value};

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::time;
use hostadmin_domain::webhooks::events::{payload_details, EventData, Payload};
use hostadmin_domain::webhooks::schedule::{after_failure, should_disable, AfterFailure};
use hostadmin_domain::webhooks::signing::{
    signature_header, WebhookSecret, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use hostadmin_domain::webhooks::{DeliveryStatus, WebhookUrl};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::webhook_deliveries::{self as store, Attempt, Outgoing, Recorded};
use hostadmin_persistence::webhooks::{self as webhook_store, WebhookRow};
use hostadmin_persistence::{accounts, login_links, DbConnection};

use crate::app::webhooks::secret_context;
use crate::config::Config;
use crate::http::problem::ApiError;
use crate::mail::{self, Outgoing as Mail, Template};
use crate::outgoing::{self, Destinations};
use crate::state::AppState;

/// The whole exchange with a receiver: connect, send, answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a receiver's answer is kept in the delivery log.
pub const MAX_RESPONSE_BODY: usize = 1024;
/// How long a worker holds an endpoint without recording a result.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);
/// A worker stops taking deliveries of one endpoint after this long (well within its
/// lease) or this many, and lets go of it.
const HOLD_FOR: Duration = Duration::from_secs(30);
const MAX_PER_HOLD: usize = 200;
/// Endpoints served at once by one worker.
const ENDPOINTS_AT_ONCE: i64 = 8;
/// How long delivery logs and spent login links are kept.
const KEEP_DELIVERIES: chrono::Duration = chrono::Duration::days(30);
const KEEP_LOGIN_LINKS: chrono::Duration = chrono::Duration::days(1);

/// The HTTP client and where it may go.
#[derive(Debug)]
pub struct Deliverer {
    client: reqwest::Client,
    destinations: Arc<Destinations>,
}

impl Deliverer {
    pub fn from_config(config: &Config) -> Result<Self, reqwest::Error> {
        let destinations = Arc::new(config.webhook_allow_hosts.clone());
        Ok(Self { client: outgoing::client(destinations.clone(), TIMEOUT)?, destinations })
    }
}

/// One round: every endpoint found due is served, several at once. Answers how many
/// attempts were made.
pub async fn deliver_due(state: &Arc<AppState>, deliverer: &Arc<Deliverer>, worker: &str) -> Result<usize, ApiError> {
    let due = state.db.run(|conn| Ok(store::due_endpoints(conn, time::now(), ENDPOINTS_AT_ONCE)?)).await?;
    let mut serving = tokio::task::JoinSet::new();
    for webhook_id in due {
        let (state, deliverer, worker) = (state.clone(), deliverer.clone(), worker.to_owned());
        serving.spawn(async move { serve_endpoint(&state, &deliverer, &worker, &webhook_id).await });
    }
    let mut attempts = 0;
    while let Some(served) = serving.join_next().await {
        match served {
            Ok(Ok(count)) => attempts += count,
            Ok(Err(error)) => tracing::warn!(error = %error, "serving a webhook endpoint failed"),
            Err(error) => tracing::error!(error = %error, "a webhook task failed"),
        }
    }
    Ok(attempts)
}

/// Holds one endpoint and sends its due deliveries in order.
async fn serve_endpoint(
    state: &AppState,
    deliverer: &Deliverer,
    worker: &str,
    webhook_id: &str,
) -> Result<usize, ApiError> {
    let (id, holder) = (webhook_id.to_owned(), worker.to_owned());
    let claimed = state
        .db
        .write(move |conn| {
            let now = time::now();
            Ok(store::claim_endpoint(conn, &id, &holder, now, now + LEASE)?)
        })
        .await?;
    let Some(endpoint) = claimed else { return Ok(0) };
    let served = deliver_held(state, deliverer, worker, &endpoint).await;
    let (id, holder) = (webhook_id.to_owned(), worker.to_owned());
    state.db.write(move |conn| Ok(store::release_endpoint(conn, &id, &holder)?)).await?;
    served
}

async fn deliver_held(
    state: &AppState,
    deliverer: &Deliverer,
    worker: &str,
    endpoint: &WebhookRow,
) -> Result<usize, ApiError> {
    let secrets = secrets_in_force(state, endpoint)?;
    let url = WebhookUrl::parse(&endpoint.url);
    let started = Instant::now();
    let mut attempts = 0;
    while attempts < MAX_PER_HOLD && started.elapsed() < HOLD_FOR {
        let (id, version) = (endpoint.id.clone(), endpoint.version);
        let next = state.db.run(move |conn| Ok(store::next_due(conn, &id, version, time::now())?)).await?;
        let Some(delivery) = next else { break };
        let outcome = match &url {
            Ok(url) => deliverer.send(url, &secrets, &delivery).await,
            Err(_) => Outcome::failed("the stored URL cannot be read"),
        };
        attempts += 1;
        match record(state, worker, endpoint, &delivery, outcome).await? {
            Recorded::Failed { failing_since } if should_disable(failing_since, time::now()) => {
                disable(state, &endpoint.id).await?;
                break;
            }
            Recorded::Delivered | Recorded::Failed { .. } => {}
            Recorded::LostEndpoint => break,
        }
    }
    Ok(attempts)
}

/// The secrets that sign: the current one, and the previous one during a rotation.
fn secrets_in_force(state: &AppState, endpoint: &WebhookRow) -> Result<Vec<WebhookSecret>, ApiError> {
    let context = secret_context(&endpoint.id);
    let open = |sealed: &str| {
        let text = state.sealer.open(&context, sealed).map_err(ApiError::internal)?;
        let text = String::from_utf8(text).map_err(ApiError::internal)?;
        WebhookSecret::parse(&text).ok_or_else(|| ApiError::internal(format!("webhook {} has no secret", endpoint.id)))
    };
    let mut secrets = vec![open(&endpoint.secret_sealed)?];
    if let Some(previous) = endpoint.previous_secret_at(time::now()) {
        secrets.push(open(previous)?);
    }
    Ok(secrets)
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub delivered: bool,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub response_body: Option<String>,
}

impl Outcome {
    fn failed(error: &str) -> Self {
        Self { delivered: false, status_code: None, error: Some(error.to_owned()), response_body: None }
    }
}

/// The body of a delivery: always the same bytes for one event.
pub fn payload(delivery: &Outgoing) -> Payload {
    let details: Value = serde_json::from_str(&delivery.details).unwrap_or_else(|_| json!({}));
    Payload {
        id: delivery.event_id.clone(),
        event_type: delivery.event_type.clone(),
        timestamp: time::to_utc(delivery.at),
        data: EventData {
            target_type: delivery.target_type.clone(),
            target_id: delivery.target_id.clone(),
            account_id: delivery.account_id.clone(),
            actor_id: delivery.actor_id.clone(),
            on_behalf_of: delivery.on_behalf_of.clone(),
            api_key_id: delivery.api_key_id.clone(),
            details: payload_details(&details),
        },
    }
}

impl Deliverer {
    /// One attempt: the POST, its answer (the start of its body), or why it failed.
    pub async fn send(&self, url: &WebhookUrl, secrets: &[WebhookSecret], delivery: &Outgoing) -> Outcome {
        if let Some(refused) = self.destinations.refusal(url) {
            return Outcome::failed(&format!("refused: {refused}"));
        }
        let Ok(body) = serde_json::to_vec(&payload(delivery)) else {
            return Outcome::failed("the event cannot be encoded");
        };
        let timestamp = Utc::now().timestamp();
        let signature = signature_header(secrets, &delivery.event_id, timestamp, &body);
        let sent = self
            .client
            .post(url.as_str())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(ID_HEADER, &delivery.event_id)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(error) => return Outcome::failed(&describe(&error)),
        };
        let status = response.status();
        let mut kept = Vec::new();
        // Only the start of the answer is read and kept; the rest is never downloaded.
        while kept.len() < MAX_RESPONSE_BODY {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk[..chunk.len().min(MAX_RESPONSE_BODY - kept.len())]),
                Ok(None) | Err(_) => break,
            }
        }
        Outcome {
            delivered: status.is_success(),
            status_code: Some(status.as_u16()),
            error: (!status.is_success()).then(|| format!("the receiver answered {status}")),
            response_body: Some(String::from_utf8_lossy(&kept).into_owned()),
        }
    }
}

/// Why a request failed, in words safe for the owner's log (no URL, no secret).
fn describe(error: &reqwest::Error) -> String {
    if let Some(refused) = outgoing::refusal_of(error) {
        format!("refused: {refused}")
    } else if error.is_timeout() {
        format!("no answer within {} seconds", TIMEOUT.as_secs())
    } else if error.is_connect() {
        "the connection failed".to_owned()
    } else {
        "the request failed".to_owned()
    }
}

/// Records the outcome; a failure schedules the retry or ends the delivery.
async fn record(
    state: &AppState,
    worker: &str,
    endpoint: &WebhookRow,
    delivery: &Outgoing,
    outcome: Outcome,
) -> Result<Recorded, ApiError> {
    let (webhook_id, delivery_id, worker) = (endpoint.id.clone(), delivery.id.clone(), worker.to_owned());
    let attempts = u32::try_from(delivery.attempts).unwrap_or(u32::MAX).saturating_add(1);
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let (status, next_attempt_at) = match (outcome.delivered, after_failure(attempts, now)) {
                (true, _) => (DeliveryStatus::Delivered, None),
                (false, AfterFailure::RetryAt(at)) => (DeliveryStatus::Pending, Some(at)),
                (false, AfterFailure::GiveUp) => (DeliveryStatus::Failed, None),
            };
            let attempt = Attempt {
                delivery_id: &delivery_id,
                webhook_id: &webhook_id,
                worker: &worker,
                status,
                next_attempt_at,
                status_code: outcome.status_code.map(i32::from),
                error: outcome.error.as_deref(),
                response_body: outcome.response_body.as_deref(),
                now,
                lease_until: now + LEASE,
            };
            Ok(store::record(conn, &attempt)?)
        })
        .await
}

/// Disables an endpoint that has failed everything for 5 days, with an audit entry and
/// a mail to its owner in the same transaction (once, if several workers get here).
async fn disable(state: &AppState, webhook_id: &str) -> Result<(), ApiError> {
    let id = webhook_id.to_owned();
    let config = state.config.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            if webhook_store::disable_failing(conn, &id, now)? {
                let row = webhook_store::find(conn, &id)?.ok_or_else(ApiError::not_found)?;
                disabled(conn, &config, &row, now)?;
            }
            Ok(())
        })
        .await
}

/// The audit entry and the owner's mail of an endpoint the worker disabled.
fn disabled(
    conn: &mut DbConnection,
    config: &Config,
    row: &WebhookRow,
    now: chrono::NaiveDateTime,
) -> Result<(), ApiError> {
    let event = NewEvent {
        action: actions::WEBHOOK_DISABLE,
        target_type: target::WEBHOOK,
        target_id: &row.id,
        account_id: Some(&row.account_id),
        details: json!({ "reason": "failing", "failing_since": row.failing_since.map(time::to_utc) }),
    };
    audit::record(conn, &AuditContext::default(), event, now)?;
    let owner = accounts::find(conn, &row.account_id)?
        .ok_or_else(|| ApiError::internal(format!("the owner of webhook {} vanished", row.id)))?;
    let context = json!({
        "name": owner.name, "login": owner.login, "url": row.url,
        "since": row.failing_since.map(|since| time::to_utc(since).format("%Y-%m-%d %H:%M UTC").to_string()),
    });
    let mail = Mail {
        template: Template::WebhookDisabled,
        recipient: &owner.email,
        account_id: Some(&owner.id),
        client_ip: None,
        context,
        invoice_id: None,
    };
    mail::queue(conn, config, mail, now)
}

/// Deletes delivery logs older than 30 days and login links expired a day ago
/// (set-based: safe from any number of workers).
pub async fn prune(state: &AppState) -> Result<(usize, usize), ApiError> {
    state
        .db
        .write(|conn| {
            let now = time::now();
            let deliveries = store::prune(conn, now - KEEP_DELIVERIES)?;
            let links = login_links::prune(conn, now - KEEP_LOGIN_LINKS)?;
            Ok((deliveries, links))
        })
        .await
}
