//! Services as the API shows them (the service routes, the lifecycle actions, plan
//! changes).

use actix_web::http::header;
use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use hostadmin_domain::catalog::{BillingCycle, Quotas, ServiceKind};
use hostadmin_domain::services::{Cancellation, ServiceStatus};
use hostadmin_domain::time;
use hostadmin_persistence::services::ServiceRow;

use crate::http::etag::etag;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = service_example)]
pub struct ServiceView {
    pub id: String,
    /// The human service number, unique across the installation.
    pub number: i64,
    pub name: String,
    pub kind: ServiceKind,
    pub status: ServiceStatus,
    pub owner_id: String,
    pub plan_id: String,
    pub cycle: BillingCycle,
    /// Codes of the plan's add-ons the service has.
    pub addons: Vec<String>,
    pub registered_at: DateTime<Utc>,
    pub next_due_at: DateTime<Utc>,
    pub recurring_amount_minor: i64,
    pub currency: String,
    pub auto_renew: bool,
    pub cancellation: Option<Cancellation>,
    pub suspension_reason: Option<String>,
    /// `true` while the service is suspended only because its owner's account (or one
    /// above it) is suspended or blocked: it becomes `active` again when that hold is
    /// lifted, and `POST /v1/services/{id}/unsuspend` answers `409 invalid_transition`
    /// meanwhile. `false` for a service suspended for a reason of its own, which lifting
    /// the owner's hold leaves suspended. Without it a client cannot tell the two apart.
    pub held: bool,
    /// The plan's quotas and the add-ons', as sold.
    pub quotas: Quotas,
    /// Operators only may set it: a reseller package that may be oversold.
    pub allow_overselling: bool,
}

impl ServiceView {
    pub fn from_row(row: &ServiceRow) -> Self {
        Self {
            id: row.id.clone(),
            number: row.number,
            name: row.name.clone(),
            kind: row.kind,
            status: row.status,
            owner_id: row.owner_id.clone(),
            plan_id: row.plan_id.clone(),
            cycle: row.cycle,
            addons: row.addons.clone(),
            registered_at: time::to_utc(row.registered_at),
            next_due_at: time::to_utc(row.next_due_at),
            recurring_amount_minor: row.recurring_amount_minor,
            currency: row.currency.as_str().to_owned(),
            auto_renew: row.auto_renew,
            cancellation: row.cancellation.clone(),
            suspension_reason: row.suspension_reason.clone(),
            held: row.held,
            quotas: row.quotas.clone(),
            allow_overselling: row.allow_overselling,
        }
    }
}

/// An answer with the service and its `ETag`.
pub fn service_response(mut builder: actix_web::HttpResponseBuilder, row: &ServiceRow) -> HttpResponse {
    builder.insert_header((header::ETAG, etag(row.version))).json(ServiceView::from_row(row))
}

/// What the reference shows as an answer.
fn service_example() -> serde_json::Value {
    serde_json::json!({"id": "01938a6e-5b7c-7d2e-9f10-4a5b6c7d8e9f", "number": 1042, "name": "Shop", "kind": "web_hosting", "status": "active", "owner_id": "01938a6e-1a2b-7c3d-8e4f-5a6b7c8d9e0f", "plan_id": "01938a6e-2b3c-7d4e-9f5a-6b7c8d9e0f1a", "cycle": "monthly", "addons": ["extra-disk"], "registered_at": "2026-11-05T09:30:00Z", "next_due_at": "2027-01-05T09:30:00Z", "recurring_amount_minor": 699, "currency": "EUR", "auto_renew": true, "held": false, "quotas": {"disk_mb": 20480, "mailboxes": 10, "mailbox_default_mb": 1024, "databases": 2, "domains": 5}, "allow_overselling": false, "cancellation": null, "suspension_reason": null})
}
