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

/// The caller's billing settings as a seller.
///
/// A reseller reads its own, an operator the provider's (shared by every operator).
/// `404` until they are set with PUT; until then the seller cannot issue invoices
/// (orders answer `409 billing_not_configured`). Customers get `403 forbidden`. API
/// keys need `billing:read`.
#[utoipa::path(
    tag = "Billing",
    responses((status = 200, description = "The settings", body = BillingSettingsView, headers(("ETag" = String)))),
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
    request_body = BillingSettingsView,
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
