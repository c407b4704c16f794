//! `/v1/billing/settings`: a seller's billing settings (crate::app::billing::settings).

use actix_web::{get, put, web, HttpRequest, HttpResponse};

use hostadmin_domain::billing::settings::BillingSettings;
use hostadmin_domain::policy::Action;

use crate::app::billing::settings as use_case;
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{IfMatch, IfMatchHeader};
use crate::http::problem::ApiError;
use crate::state::AppState;
use crate::views::billing::{settings_response, BillingSettingsView};

/// The body of `PUT /v1/billing/settings` as the server reads it
/// (hostadmin_domain::billing::settings::BillingSettings): only `legal_name` and
/// `address` are required, the rest has API.md's defaults. Documentation only.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = crate::views::billing::settings_example)]
#[allow(dead_code)]
pub struct PutBillingSettings {
    /// Not blank, no control characters.
    #[schema(format = "not-blank-no-controls", min_length = 1, max_length = 200)]
    legal_name: String,
    address: SellerAddressInput,
    /// An EU seller: a VAT id of its address's country, in that country's format and with
    /// valid check digits; elsewhere 1-40 characters of free text.
    #[schema(format = "not-blank-no-controls", min_length = 1, max_length = 40)]
    vat_id: Option<String>,
    /// On the seller's invoices, and where its support tickets are mailed (new tickets and
    /// its customers' answers); without it, the seller account's own address.
    #[schema(format = Email, max_length = 254)]
    email: Option<String>,
    /// An IBAN with valid ISO 13616 check digits; spaces allowed, letters in any case.
    #[schema(max_length = 64, pattern = "^ *[A-Za-z] *[A-Za-z] *[0-9] *[0-9](?: *[A-Za-z0-9]){11,30} *$")]
    iban: Option<String>,
    /// 1-20 of `A-Z a-z 0-9 - _ /`; default `INV-`.
    #[schema(pattern = "^[A-Za-z0-9_/-]{1,20}$")]
    #[serde(default)]
    invoice_prefix: String,
    /// Default 14.
    #[schema(minimum = 0, maximum = 365)]
    #[serde(default)]
    payment_terms_days: u16,
    /// The rate for buyers in each country (ISO 3166-1 alpha-2 keys); default none.
    #[serde(default)]
    tax_rates: std::collections::BTreeMap<
        hostadmin_domain::billing::country::Country,
        hostadmin_domain::billing::tax::TaxRate,
    >,
    /// Default `"0"`.
    #[serde(default)]
    default_tax_rate: hostadmin_domain::billing::tax::TaxRate,
    /// Default true.
    #[serde(default)]
    reverse_charge: bool,
    /// Default 14.
    #[schema(minimum = 1, maximum = 365)]
    #[serde(default)]
    renewal_invoice_days: u16,
    /// Default 7; null: never suspend for an unpaid renewal.
    #[schema(minimum = 0, maximum = 365)]
    overdue_suspend_days: Option<u16>,
    /// Default 30; null: never expire for an unpaid renewal. Not below
    /// `overdue_suspend_days`.
    #[schema(minimum = 0, maximum = 365)]
    overdue_expire_days: Option<u16>,
}

#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SellerAddressInput {
    #[schema(format = "not-blank-no-controls", min_length = 1, max_length = 200)]
    street: String,
    #[schema(format = "not-blank-no-controls", min_length = 1, max_length = 20)]
    postal_code: String,
    #[schema(format = "not-blank-no-controls", min_length = 1, max_length = 200)]
    city: String,
    country: hostadmin_domain::billing::country::Country,
}

/// The caller's billing settings as a seller.
///
/// A reseller reads its own, an operator the provider's (shared by every operator).
/// `404` until they are set with PUT; until then the seller cannot issue invoices
/// (orders answer `409 billing_not_configured`). Customers get `403 forbidden`. API
/// keys need `billing:read`.
#[utoipa::path(
    tag = "Billing",
    responses(
        (status = 200, description = "The settings", body = BillingSettingsView, headers(("ETag" = String))),
        (status = 404, description = "`not_found`: not set yet", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/billing/settings")]
pub async fn get_billing_settings(state: web::Data<AppState>, principal: Principal) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadBillingSettings)?;
    let row = use_case::read(&state, &principal.actor, authorized).await?;
    Ok(settings_response(HttpResponse::Ok(), &row))
}

/// Set the caller's billing settings (all of them; what is left out takes its default).
///
/// Invoices copy the seller as it is when they are issued: a change applies to invoices
/// issued afterwards. Countries are ISO 3166-1 alpha-2, rates decimal strings with at most
/// two decimals (`"21"`, `"8.1"`), the IBAN is checked by its check digits and an EU
/// seller's VAT id by its country's format and check digits.
///
/// A reseller sets its own, an operator the provider's; customers get `403 forbidden`.
/// Each refused field is `422` with its pointer; a stale `If-Match` is `412`. API keys
/// need `billing:write`.
#[utoipa::path(
    tag = "Billing",
    params(IfMatchHeader),
    request_body = PutBillingSettings,
    responses((status = 200, description = "The settings", body = BillingSettingsView, headers(("ETag" = String)))),
)]
#[put("/billing/settings")]
pub async fn put_billing_settings(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::UpdateBillingSettings)?;
    let settings: BillingSettings = body.parse()?;
    let row = use_case::put(&state, &principal.actor, authorized, settings, IfMatch::from_request(&request)).await?;
    Ok(settings_response(HttpResponse::Ok(), &row))
}
