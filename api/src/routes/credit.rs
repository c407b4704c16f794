//! Credit: `/v1/me/credit` and `/v1/customers/{id}/credit` (crate::app::billing::credit).

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use hostadmin_domain::money::Currency;
use hostadmin_domain::policy::Action;
use hostadmin_domain::validation::{Invalid, Reason};

use crate::app::access;
use crate::app::billing::credit as use_case;
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;
use crate::views::billing::{CreditTransactionView, CreditView};

/// The caller's credit with its seller, per currency.
///
/// Any account, for itself: the balances its seller keeps for it (from overpayments,
/// failed orders, credit notes and the seller's adjustments), which pay its invoices
/// through `POST /v1/invoices/{id}/apply-credit` and renewals automatically. API keys
/// need `billing:read`.
#[utoipa::path(
    tag = "Billing",
    responses((status = 200, description = "The balances", body = CreditView)),
)]
#[get("/me/credit")]
pub async fn get_own_credit(state: web::Data<AppState>, principal: Principal) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadBilling)?;
    let rows = use_case::own(&state, &principal.actor).await?;
    Ok(HttpResponse::Ok().json(CreditView::of(&rows)))
}

/// The credit of an account the caller sells to, per currency.
///
/// Only the account's seller keeps its credit: the account directly above it, or an
/// operator for a top-level account. Another account in reach (further down the
/// caller's subtree) is `403 forbidden`; one out of reach is `404`; customers get `403
/// forbidden`. API keys need `billing:read`.
#[utoipa::path(
    tag = "Billing",
    params(("id" = String, Path, description = "The account's id")),
    responses((status = 200, description = "The balances", body = CreditView)),
)]
#[get("/customers/{id}/credit")]
pub async fn get_customer_credit(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadCredit)?;
    let account = access::account(&state, &principal.actor, authorized, &id).await?;
    let rows = use_case::of_customer(&state, &principal.actor, account).await?;
    Ok(HttpResponse::Ok().json(CreditView::of(&rows)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount_minor": 2500, "currency": "EUR", "reason": "Goodwill for the outage of 3 December"}))]
pub struct AdjustCredit {
    /// Positive adds, negative takes; never below a balance of 0.
    pub amount_minor: i64,
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
    #[schema(format = "text", max_length = 1000)]
    pub reason: String,
}

/// Add to or take from the credit of an account the caller sells to.
///
/// A positive `amount_minor` adds, a negative one takes, in `currency`, with a `reason`
/// kept in the transaction log; `409 insufficient_credit` when the balance would go
/// below 0. Only the account's seller (the account directly above it, or an operator
/// for a top-level account; `403 forbidden` otherwise). Answers `201` with the new
/// balances. Takes `Idempotency-Key`, so a retried adjustment counts once. API keys
/// need `billing:write`.
#[utoipa::path(
    tag = "Billing",
    request_body = AdjustCredit,
    params(("id" = String, Path, description = "The account's id"), IdempotencyKeyHeader),
    responses((status = 201, description = "The new balances", body = CreditView)),
)]
#[post("/customers/{id}/credit")]
pub async fn adjust_customer_credit(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::AdjustCredit)?;
    let account = access::account(&state, &principal.actor, authorized, &id).await?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: AdjustCredit = body.parse()?;
        let mut errors = Vec::new();
        if input.amount_minor == 0 {
            errors.push(FieldError::new("/amount_minor", Invalid::new("out_of_range", "add or take more than 0")));
        }
        let currency = Currency::parse(&input.currency).map_err(|e| errors.push(FieldError::new("/currency", e))).ok();
        let reason = Reason::parse(&input.reason).map_err(|e| errors.push(FieldError::new("/reason", e))).ok();
        let (Some(currency), Some(reason), true) = (currency, reason, errors.is_empty()) else {
            return Err(ApiError::fields(errors));
        };
        let rows =
            use_case::adjust(&state, &principal.actor, account.clone(), input.amount_minor, currency, reason).await?;
        Ok(HttpResponse::Created().json(CreditView::of(&rows)))
    })
    .await
}

/// Every change of an account's credit with its reason, invoice or payment; newest first.
///
/// Only the account's seller (the account directly above it, or an operator for a
/// top-level account; `403 forbidden` otherwise). Cursor-paginated (`limit`, `cursor`).
/// API keys need `billing:read`.
#[utoipa::path(
    tag = "Billing",
    params(("id" = String, Path, description = "The account's id"), PageQuery),
    responses((status = 200, description = "A page of changes", body = Page<CreditTransactionView>)),
)]
#[get("/customers/{id}/credit/transactions")]
pub async fn list_credit_transactions(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadCredit)?;
    let account = access::account(&state, &principal.actor, authorized, &id).await?;
    let page = paging.request(String::new())?;
    let rows = use_case::transactions(&state, &principal.actor, account, page.before_id.clone(), page.fetch()).await?;
    let views = rows.iter().map(CreditTransactionView::from_row).collect::<Vec<_>>();
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}
