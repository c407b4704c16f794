//! `/v1/webhooks`: the caller's own webhook endpoints and their delivery logs
//! (crate::app::webhooks). docs/webhooks.md shows receivers that verify signatures.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::mailboxes::Description;
use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_domain::webhooks::{DeliveryStatus, EventFilters, WebhookUrl};
use hostadmin_persistence::webhook_deliveries::DeliveryRow;
use hostadmin_persistence::webhooks::WebhookRow;

use crate::app::access;
use crate::app::webhooks::{self as use_cases, NewWebhookRequest, WebhookUpdate};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch, IfMatchHeader};
use crate::http::idempotency;
use crate::http::merge_patch::Patch;
use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// The test vector of the Standard Webhooks specification: a well-known, harmless secret.
const WEBHOOK_SECRET_EXAMPLE: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// An endpoint as the examples of the endpoint and of the endpoint with its secret show it.
fn webhook_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0193a5c2-7f41-7c3e-9d1a-2b8f5e6c4d01", "url": "https://hooks.example.com/hostadmin",
        "events": ["service.*", "invoice.paid"], "description": "Billing sync", "enabled": true,
        "disabled_reason": null, "failing_since": null, "previous_secret_expires_at": null,
        "created_at": "2026-12-05T10:00:00Z", "updated_at": "2026-12-05T10:00:00Z"
    })
}

/// The example endpoint with the secret of its field's example.
fn webhook_with_secret_example() -> serde_json::Value {
    let mut example = webhook_example();
    example["secret"] = WEBHOOK_SECRET_EXAMPLE.into();
    example
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = webhook_example)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    /// Event types (`service.suspend`), areas (`service.*`) or `*`.
    pub events: Vec<String>,
    pub description: String,
    pub enabled: bool,
    /// `failing` when hostadmin disabled it after 5 days of failed deliveries; null when
    /// enabled or disabled by its owner.
    pub disabled_reason: Option<String>,
    /// The first failed attempt since the last delivered one.
    pub failing_since: Option<DateTime<Utc>>,
    /// After a rotation: until when the previous secret still signs (a second signature).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&WebhookRow> for WebhookView {
    fn from(row: &WebhookRow) -> Self {
        let now = time::now();
        Self {
            id: row.id.clone(),
            url: row.url.clone(),
            events: row.events.iter().map(ToString::to_string).collect(),
            description: row.description.clone(),
            enabled: row.enabled,
            disabled_reason: row.disabled_reason.clone(),
            failing_since: row.failing_since.map(time::to_utc),
            previous_secret_expires_at: row.previous_secret_until.filter(|until| *until > now).map(time::to_utc),
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
        }
    }
}

/// An endpoint with its signing secret, shown in this answer only.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = webhook_with_secret_example)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_` and the base64 of 32 random bytes: the Standard Webhooks secret receivers
    /// verify signatures with. Shown this once.
    #[schema(example = json!(WEBHOOK_SECRET_EXAMPLE))]
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5c3-1a22-7b9e-8f00-5c6d7e8f9a0b", "webhook_id": "0193a5c2-7f41-7c3e-9d1a-2b8f5e6c4d01",
    "event_id": "0193a5c3-19f0-7d2a-a1b2-c3d4e5f6a7b8", "event_type": "service.suspend", "status": "pending",
    "attempts": 1, "last_status_code": 500, "last_error": "the receiver answered 500 Internal Server Error",
    "last_response_body": "upstream down", "next_attempt_at": "2026-12-05T10:00:10Z",
    "last_attempt_at": "2026-12-05T10:00:05Z", "delivered_at": null, "created_at": "2026-12-05T10:00:05Z"
}))]
pub struct DeliveryView {
    pub id: String,
    pub webhook_id: String,
    /// The event's id, also sent as `webhook-id`: the same on every attempt.
    pub event_id: String,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed, in words.
    pub last_error: Option<String>,
    /// The first 1,024 bytes of the receiver's last answer.
    pub last_response_body: Option<String>,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&DeliveryRow> for DeliveryView {
    fn from(row: &DeliveryRow) -> Self {
        Self {
            id: row.id.clone(),
            webhook_id: row.webhook_id.clone(),
            event_id: row.event_id.clone(),
            event_type: row.event_type.clone(),
            status: row.status,
            attempts: row.attempts,
            last_status_code: row.last_status_code,
            last_error: row.last_error.clone(),
            last_response_body: row.last_response_body.clone(),
            next_attempt_at: row.next_attempt_at.map(time::to_utc),
            last_attempt_at: row.last_attempt_at.map(time::to_utc),
            delivered_at: row.delivered_at.map(time::to_utc),
            created_at: time::to_utc(row.created_at),
        }
    }
}

fn webhook_response(mut builder: actix_web::HttpResponseBuilder, row: &WebhookRow) -> HttpResponse {
    builder.insert_header((header::ETAG, etag(row.version))).json(WebhookView::from(row))
}

fn take<T>(result: Result<T, Invalid>, pointer: &str, errors: &mut Vec<FieldError>) -> Option<T> {
    result.map_err(|invalid| errors.push(FieldError::new(pointer, invalid))).ok()
}

fn filters(entries: &[String], errors: &mut Vec<FieldError>) -> Option<EventFilters> {
    EventFilters::parse(entries)
        .map_err(|refused| {
            for (index, invalid) in refused {
                let pointer = index.map_or_else(|| "/events".to_owned(), |index| format!("/events/{index}"));
                errors.push(FieldError::new(pointer, invalid));
            }
        })
        .ok()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://hooks.example.com/hostadmin", "events": ["service.*", "invoice.paid"], "description": "Billing sync"}))]
pub struct CreateWebhook {
    /// `https` (plain `http` only for hosts the provider allowed), at most 2,048
    /// characters, no credentials. Its host must resolve to public addresses only
    /// (`422 webhook_url_refused`).
    #[schema(format = "webhook-url", max_length = 2048)]
    pub url: String,
    /// 1-50 of: an event type (`service.suspend`), an area (`invoice.*`) or `*`.
    #[schema(min_items = 1, max_items = 50)]
    pub events: Vec<String>,
    #[schema(format = "optional-text", max_length = 10000)]
    pub description: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
}

/// Create a webhook endpoint of the caller's account.
///
/// The answer holds the signing secret, shown this once (so `Idempotency-Key` is not
/// taken). Every audited change the caller may read (its own account's, those of the
/// accounts below it) whose type matches `events` is then POSTed to `url`, signed per
/// Standard Webhooks. `409 quota_exceeded` beyond 20 endpoints.
///
/// Any account, for itself. API keys need `webhooks:write`.
#[utoipa::path(
    tag = "Webhooks",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "Created; `secret` is shown this once", body = WebhookWithSecret, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "`quota_exceeded`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteWebhooks)?;
    idempotency::refuse(&request)?;
    let input: CreateWebhook = body.parse()?;
    let mut errors = Vec::new();
    let url = take(WebhookUrl::parse(&input.url), "/url", &mut errors);
    let events = filters(&input.events, &mut errors);
    let description =
        take(Description::parse(input.description.as_deref().unwrap_or_default()), "/description", &mut errors);
    let (Some(url), Some(events), Some(description)) = (url, events, description) else {
        return Err(ApiError::fields(errors));
    };
    let new = NewWebhookRequest { url, events, description, enabled: input.enabled.unwrap_or(true) };
    let (row, secret) = use_cases::create(&state, &principal.actor, authorized, new).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/webhooks/{}", row.id)))
        .insert_header((header::ETAG, etag(row.version)))
        .json(WebhookWithSecret { webhook: WebhookView::from(&row), secret: secret.expose() }))
}

/// The caller's webhook endpoints, newest first.
///
/// Any account, its own endpoints only (never another account's, not even one below
/// it). Never a secret. Cursor-paginated (`limit`, `cursor`). API keys need
/// `webhooks:read`.
#[utoipa::path(
    tag = "Webhooks",
    params(PageQuery),
    responses((status = 200, description = "A page of endpoints", body = Page<WebhookView>)),
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadWebhooks)?;
    let page = paging.request(String::new())?;
    let rows = use_cases::list(&state, &principal.actor, authorized, page.before_id.clone(), page.fetch()).await?;
    let views: Vec<WebhookView> = rows.iter().map(WebhookView::from).collect();
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Read one endpoint (never its secret).
///
/// `enabled`, `disabled_reason` and `failing_since` tell whether deliveries go out. Another
/// account's endpoint, and a malformed id, is `404`. API keys need `webhooks:read`.
#[utoipa::path(
    tag = "Webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, description = "The endpoint", body = WebhookView, headers(("ETag" = String)))),
)]
#[get("/webhooks/{id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadWebhooks)?;
    let webhook = access::webhook(&state, &principal.actor, authorized, &id).await?;
    Ok(webhook_response(HttpResponse::Ok(), &webhook.row))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"events": ["*"], "enabled": true}))]
pub struct UpdateWebhook {
    /// A new URL, checked as on creation; `null` is refused.
    #[schema(format = "webhook-url", value_type = String, max_length = 2048)]
    #[serde(default)]
    pub url: Patch<String>,
    /// New filters, replacing the old; `null` is refused.
    #[schema(value_type = Vec<String>, min_items = 1, max_items = 50)]
    #[serde(default)]
    pub events: Patch<Vec<String>>,
    /// `null` clears it.
    #[schema(format = "optional-text", value_type = Option<String>, max_length = 10000)]
    #[serde(default)]
    pub description: Patch<String>,
    /// `true` also ends a disabling for failures (and forgets them); `null` is refused.
    #[schema(value_type = bool)]
    #[serde(default)]
    pub enabled: Patch<bool>,
}

/// Change an endpoint's URL, events, description, or switch it on or off (JSON merge
/// patch).
///
/// A disabled endpoint is sent nothing; events of its time are not queued for it.
///
/// A new `url` is checked as on creation (`422 webhook_url_refused`). The endpoint's own
/// account only; a stale `If-Match` is `412`. API keys need `webhooks:write`.
#[utoipa::path(
    tag = "Webhooks",
    params(("id" = String, Path, description = "The endpoint's id"), IfMatchHeader),
    request_body(content = UpdateWebhook, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The changed endpoint", body = WebhookView, headers(("ETag" = String)))),
)]
#[patch("/webhooks/{id}")]
pub async fn update_webhook(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteWebhooks)?;
    let webhook = access::webhook(&state, &principal.actor, authorized, &id).await?;
    let input: UpdateWebhook = body.parse()?;
    let mut errors = Vec::new();
    let required = Invalid::new("required", "cannot be cleared");
    let url = match &input.url {
        Patch::Absent => None,
        Patch::Null => take(Err(required.clone()), "/url", &mut errors),
        Patch::Value(text) => take(WebhookUrl::parse(text), "/url", &mut errors),
    };
    let events = match &input.events {
        Patch::Absent => None,
        Patch::Null => take(Err(required.clone()), "/events", &mut errors),
        Patch::Value(entries) => filters(entries, &mut errors),
    };
    let description = match &input.description {
        Patch::Absent => None,
        Patch::Null => Some(Description::default()),
        Patch::Value(text) => take(Description::parse(text), "/description", &mut errors),
    };
    let enabled = match input.enabled {
        Patch::Absent => None,
        Patch::Null => take(Err(required), "/enabled", &mut errors),
        Patch::Value(enabled) => Some(enabled),
    };
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    let update = WebhookUpdate { url, events, description, enabled };
    let row = use_cases::update(&state, &principal.actor, webhook, update, IfMatch::from_request(&request)).await?;
    Ok(webhook_response(HttpResponse::Ok(), &row))
}

/// Remove an endpoint and its delivery log; nothing more is sent to it.
///
/// Deliveries still waiting are dropped with it. A stale `If-Match` is `412`. The
/// endpoint's own account only. API keys need `webhooks:write`.
#[utoipa::path(
    tag = "Webhooks",
    params(("id" = String, Path, description = "The endpoint's id"), IfMatchHeader),
    responses((status = 204, description = "Removed")),
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteWebhooks)?;
    let webhook = access::webhook(&state, &principal.actor, authorized, &id).await?;
    use_cases::delete(&state, &principal.actor, webhook, IfMatch::from_request(&request)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Give the endpoint a new signing secret, shown in this answer only.
///
/// For 24 hours every delivery carries two signatures in `webhook-signature`, one per
/// secret, so receivers can switch to the new one without missing a delivery. A second
/// rotation within that time drops the oldest secret at once.
///
/// The answer holds the new secret, so `Idempotency-Key` is refused (`400
/// idempotency_not_supported`); a stale `If-Match` is `412`. The endpoint's own account
/// only. API keys need `webhooks:write`.
#[utoipa::path(
    tag = "Webhooks",
    params(("id" = String, Path, description = "The endpoint's id"), IfMatchHeader),
    responses((status = 200, description = "The endpoint with its new secret", body = WebhookWithSecret, headers(("ETag" = String)))),
)]
#[post("/webhooks/{id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteWebhooks)?;
    let webhook = access::webhook(&state, &principal.actor, authorized, &id).await?;
    idempotency::refuse(&request)?;
    let (row, secret) =
        use_cases::rotate_secret(&state, &principal.actor, webhook, IfMatch::from_request(&request)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(row.version)))
        .json(WebhookWithSecret { webhook: WebhookView::from(&row), secret: secret.expose() }))
}

/// Send a `webhook.test` event to this endpoint (whatever its `events`).
///
/// Answers the queued delivery; the worker sends it within moments. `409
/// webhook_disabled` when the endpoint is disabled.
///
/// The endpoint's own account only. API keys need `webhooks:write`.
#[utoipa::path(
    tag = "Webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses(
        (status = 202, description = "Queued", body = DeliveryView),
        (status = 409, description = "`webhook_disabled`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/webhooks/{id}/test")]
pub async fn test_webhook(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteWebhooks)?;
    let webhook = access::webhook(&state, &principal.actor, authorized, &id).await?;
    let delivery = use_cases::send_test(&state, &principal.actor, webhook).await?;
    Ok(HttpResponse::Accepted().json(DeliveryView::from(&delivery)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListDeliveriesQuery {
    /// Only deliveries in this state.
    pub status: Option<DeliveryStatus>,
}

/// The endpoint's delivery log, newest first (kept 30 days).
///
/// Each delivery with its event, `status` (`pending`, `delivered`, `failed`), attempts,
/// the last answer's status code and error, and when the next attempt is due. Filter
/// `status`. Cursor-paginated (`limit`, `cursor`; a cursor is bound to its filter). The
/// endpoint's own account only. API keys need `webhooks:read`.
#[utoipa::path(
    tag = "Webhooks",
    params(("id" = String, Path, description = "The endpoint's id"), ListDeliveriesQuery, PageQuery),
    responses((status = 200, description = "A page of deliveries", body = Page<DeliveryView>)),
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    query: web::Query<ListDeliveriesQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadWebhooks)?;
    let webhook = access::webhook(&state, &principal.actor, authorized, &id).await?;
    let status = query.status;
    let page = paging.request(format!("status={}", status.map(DeliveryStatus::as_str).unwrap_or_default()))?;
    let rows = use_cases::deliveries(&state, webhook, status, page.before_id.clone(), page.fetch()).await?;
    let views: Vec<DeliveryView> = rows.iter().map(DeliveryView::from).collect();
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Send a delivery again now, whatever its state (a delivered one once more).
///
/// Its attempts keep counting: when it fails again it goes on with the retry schedule,
/// or ends `failed` if the schedule is spent. `409 webhook_disabled` when the endpoint
/// is disabled.
///
/// The endpoint's own account only. API keys need `webhooks:write`.
#[utoipa::path(
    tag = "Webhooks",
    params(
        ("id" = String, Path, description = "The endpoint's id"),
        ("delivery_id" = String, Path, description = "The delivery's id"),
    ),
    responses(
        (status = 202, description = "Queued", body = DeliveryView),
        (status = 409, description = "`webhook_disabled`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/retry")]
pub async fn retry_delivery(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (webhook_id, delivery_id) = path.into_inner();
    let authorized = principal.authorize(Action::WriteWebhooks)?;
    let webhook = access::webhook(&state, &principal.actor, authorized, &webhook_id).await?;
    let delivery = use_cases::retry(&state, &principal.actor, webhook, &delivery_id).await?;
    Ok(HttpResponse::Accepted().json(DeliveryView::from(&delivery)))
}
