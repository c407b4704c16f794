//! `/v1/audit-events`: reading the audit log. Nothing changes it: there is no route to
//! (crate::app::audit).

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{EventFilter, EventRow};

use crate::app::audit as use_case;
use crate::auth::Principal;
use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-0000-7000-8000-000000000e01", "at": "2026-12-27T09:30:00Z", "action": "customer.suspend",
    "actor_id": "0193a1b2-0000-7000-8000-0000000000a1", "on_behalf_of": null, "api_key_id": null,
    "ip": "203.0.113.7", "request_id": "0193a1b2-0000-7000-8000-000000000f01",
    "target_type": "account", "target_id": "0193a1b2-0000-7000-8000-0000000000c1",
    "details": {
        "reason": "Invoice INV-000001 is overdue", "fraud": false,
        "hold_id": "0193a1b2-0000-7000-8000-000000000b01", "accounts_changed": 1, "services_changed": 1,
        "sessions_ended": 0, "api_keys_revoked": 0
    }
}))]
pub struct AuditEventView {
    pub id: String,
    pub at: DateTime<Utc>,
    /// `<area>.<verb>`, e.g. `customer.create` (the enum lists every one; webhooks carry
    /// the same names as their event types).
    pub action: String,
    /// The person who acted (the real actor under impersonation).
    pub actor_id: Option<String>,
    /// The account acted as, when someone impersonated it.
    pub on_behalf_of: Option<String>,
    pub api_key_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub target_type: String,
    pub target_id: String,
    /// What the action changed, as the action's own fields (never a secret).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<EventRow> for AuditEventView {
    fn from(row: EventRow) -> Self {
        Self {
            details: row.details,
            id: row.id,
            at: time::to_utc(row.at),
            action: row.action,
            actor_id: row.actor_id,
            on_behalf_of: row.on_behalf_of,
            api_key_id: row.api_key_id,
            ip: row.ip,
            request_id: row.request_id,
            target_type: row.target_type,
            target_id: row.target_id,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    #[param(max_length = 64)]
    pub actor_id: Option<String>,
    #[param(max_length = 64)]
    pub target_type: Option<String>,
    #[param(max_length = 64)]
    pub target_id: Option<String>,
    #[param(max_length = 64)]
    pub action: Option<String>,
    /// Events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Events before this time.
    pub until: Option<DateTime<Utc>>,
}

fn bounded(value: Option<String>, name: &str) -> Result<Option<String>, ApiError> {
    match value {
        Some(text) if text.chars().count() > 64 => Err(ApiError::field(
            format!("/query/{name}"),
            Invalid::new("invalid_length", format!("{name} is at most 64 characters")),
        )),
        other => Ok(other),
    }
}

/// Audit events the caller may see, newest first.
///
/// Operators see every event; resellers those of their own account and of every account
/// below it; customers those of their own account (its services included). Events of
/// services shared with the caller through grants are not included. Filters combine;
/// `since` is inclusive, `until` exclusive, and a text filter longer than 64 characters
/// is `422` with its pointer (`/query/actor_id`, ...). Cursor-paginated (`limit`,
/// `cursor`). API keys need `account:read`. The log is read-only: no route changes it.
#[utoipa::path(
    tag = "Audit log",
    params(AuditQuery, PageQuery),
    responses((status = 200, description = "A page of events", body = Page<AuditEventView>)),
)]
#[get("/audit-events")]
pub async fn list_audit_events(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<AuditQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadAuditLog)?;
    let query = query.into_inner();
    let mut filter = EventFilter {
        actor_id: bounded(query.actor_id, "actor_id")?,
        target_type: bounded(query.target_type, "target_type")?,
        target_id: bounded(query.target_id, "target_id")?,
        action: bounded(query.action, "action")?,
        since: query.since.map(|at| at.naive_utc()),
        until: query.until.map(|at| at.naive_utc()),
        before_id: None,
    };
    let filters = format!(
        "{:?}",
        (&filter.actor_id, &filter.target_type, &filter.target_id, &filter.action, filter.since, filter.until)
    );
    let page = paging.request(filters)?;
    filter.before_id = page.before_id.clone();
    let rows = use_case::list(&state, &principal.actor, authorized, filter, page.fetch()).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |row| &row.id, AuditEventView::from)))
}
