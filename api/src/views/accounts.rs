//! Accounts as the API shows them (customers, `/v1/me`, the hold actions).

use actix_web::http::header;
use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use hostadmin_domain::accounts::{AccountKind, AccountStatus, Profile};
use hostadmin_domain::time;
use hostadmin_persistence::accounts::AccountRow;

use crate::http::etag::etag;

/// An account as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-0000-7000-8000-0000000000c1", "kind": "customer", "login": "shop-owner",
    "email": "owner@shop.example", "pending_email": null, "name": "Shop Owner", "status": "active",
    "email_verified": true, "fraud": false, "two_factor_enabled": false,
    "profile": {
        "company": "Shop BV", "street": "Damrak 1", "postal_code": "1012 LG", "city": "Amsterdam", "country": "NL",
        "phone": "+31201234567"
    },
    "parent_id": "0193a1b2-0000-7000-8000-0000000000a1", "created_at": "2026-12-01T08:00:00Z",
    "updated_at": "2026-12-05T09:00:00Z"
}))]
pub struct AccountView {
    pub id: String,
    pub kind: AccountKind,
    pub login: String,
    pub email: String,
    /// A new address waiting for verification; `email` stays in use until then.
    pub pending_email: Option<String>,
    pub name: String,
    pub status: AccountStatus,
    pub email_verified: bool,
    pub fraud: bool,
    pub two_factor_enabled: bool,
    pub profile: Profile,
    /// The account directly above; null for operators and the provider's own accounts.
    pub parent_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AccountView {
    pub fn from_row(row: &AccountRow) -> Self {
        Self {
            id: row.id.clone(),
            kind: row.kind,
            login: row.login.clone(),
            email: row.email.clone(),
            pending_email: row.pending_email.clone(),
            name: row.name.clone(),
            status: row.status,
            email_verified: row.email_verified,
            fraud: row.fraud,
            two_factor_enabled: row.two_factor_enabled,
            profile: row.profile.clone(),
            parent_id: row.parent_id.clone(),
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
        }
    }
}

/// An answer with the account and its `ETag`.
pub fn account_response(mut builder: actix_web::HttpResponseBuilder, row: &AccountRow) -> HttpResponse {
    builder.insert_header((header::ETAG, etag(row.version))).json(AccountView::from_row(row))
}
