//! Plans as the API shows them.

use actix_web::http::header;
use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use hostadmin_domain::catalog::{Addon, Price, Quotas, ServiceKind};
use hostadmin_domain::time;
use hostadmin_persistence::plans::PlanRow;

use crate::http::etag::etag;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = plan_example)]
pub struct PlanView {
    pub id: String,
    /// The reseller selling the plan; null for the provider's own plans.
    pub owner_id: Option<String>,
    pub name: String,
    pub service_kind: ServiceKind,
    /// Absent or null keys are unlimited; 0 means none.
    pub quotas: Quotas,
    pub prices: Vec<Price>,
    pub addons: Vec<Addon>,
    /// Visible to the accounts directly below the owner.
    pub public: bool,
    /// Archived plans are not sold any more; services on them keep them.
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PlanView {
    pub fn from_row(row: &PlanRow) -> Self {
        Self {
            id: row.id.clone(),
            owner_id: row.owner_id.clone(),
            name: row.name.clone(),
            service_kind: row.service_kind,
            quotas: row.quotas.clone(),
            prices: row.prices.clone(),
            addons: row.addons.clone(),
            public: row.public,
            archived_at: row.archived_at.map(time::to_utc),
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
        }
    }
}

pub fn plan_response(mut builder: actix_web::HttpResponseBuilder, row: &PlanRow) -> HttpResponse {
    builder.insert_header((header::ETAG, etag(row.version))).json(PlanView::from_row(row))
}

/// What the reference shows as an answer.
fn plan_example() -> serde_json::Value {
    serde_json::json!({"id": "01938a6e-2b3c-7d4e-9f5a-6b7c8d9e0f1a", "name": "Web S", "service_kind": "web_hosting", "owner_id": null, "quotas": {"databases": 2, "disk_mb": 10240, "mailbox_default_mb": 1024, "mailboxes": 10}, "prices": [{"cycle": "monthly", "amount_minor": 499, "currency": "EUR"}, {"cycle": "annual", "amount_minor": 4990, "currency": "EUR"}], "addons": [{"code": "extra-disk", "name": "10 GB extra disk", "prices": [{"cycle": "monthly", "amount_minor": 200, "currency": "EUR"}], "quota_delta": {"disk_mb": 10240}}], "public": true, "archived_at": null, "created_at": "2026-11-05T09:30:00Z", "updated_at": "2026-12-05T10:00:00Z"})
}
