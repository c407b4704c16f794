//! `/v1/orders`: place, list, read and cancel orders (crate::app::billing::orders).

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::accounts::DisplayName;
use hostadmin_domain::billing::ledger::{OrderItemKind, OrderStatus};
use hostadmin_domain::catalog::BillingCycle;
use hostadmin_domain::money::Currency;
use hostadmin_domain::policy::Action;
use hostadmin_domain::validation::check_length;
use hostadmin_persistence::orders::OrderFilter;

use crate::app::billing::orders::{self as use_case, OrderRequest};
use crate::app::lifecycle::MAX_RENEW_CYCLES;
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;
use crate::views::billing::{order_response, OrderView};

/// One item of an order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OrderItemRequest {
    /// A new service on a plan the buyer is offered, created once the order is paid.
    NewService {
        plan_id: String,
        cycle: BillingCycle,
        #[schema(format = "line", max_length = 200)]
        name: String,
        /// Codes of the plan's add-ons.
        #[serde(default)]
        #[schema(max_items = 20)]
        addons: Vec<String>,
    },
    /// More cycles of a service of the buyer's (default 1).
    Renewal {
        service_id: String,
        #[schema(minimum = 1, maximum = 10)]
        cycles: Option<u32>,
    },
    /// A service of the buyer's moved to another plan, at the prorated quote of
    /// `/v1/services/{id}/change-plan` (a cheaper plan costs nothing now).
    ChangePlan {
        service_id: String,
        plan_id: String,
        /// Absent: the service keeps its add-ons.
        #[schema(max_items = 20)]
        addons: Option<Vec<String>>,
    },
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "currency": "EUR",
    "items": [{"type": "new_service", "plan_id": "0193a1b2-0000-7000-8000-0000000000e1", "cycle": "annual", "name": "Shop"}]
}))]
pub struct CreateOrder {
    /// A seller ordering for an account directly below it; absent: the caller orders for
    /// itself.
    pub customer_id: Option<String>,
    /// ISO 4217; every item must be sold in it.
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
    #[schema(min_items = 1, max_items = 20)]
    pub items: Vec<OrderItemRequest>,
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// The most items one order may hold.
const MAX_ITEMS: usize = 20;

impl CreateOrder {
    fn checked(self) -> Result<OrderRequest, ApiError> {
        let mut errors = Vec::new();
        let currency = Currency::parse(&self.currency).map_err(|e| errors.push(FieldError::new("/currency", e))).ok();
        if self.items.is_empty() || self.items.len() > MAX_ITEMS {
            errors.push(FieldError::new(
                "/items",
                hostadmin_domain::validation::Invalid::new("invalid_length", "order 1 to 20 items"),
            ));
        }
        if let Some(note) = &self.note {
            if let Err(invalid) = check_length(note, 0, 1000) {
                errors.push(FieldError::new("/note", invalid));
            }
        }
        let mut items = Vec::with_capacity(self.items.len());
        for (index, item) in self.items.into_iter().enumerate() {
            match item {
                OrderItemRequest::NewService { plan_id, cycle, name, addons } => match DisplayName::parse(&name) {
                    Ok(name) => {
                        items.push(OrderItemKind::NewService { plan_id, cycle, name: name.as_str().to_owned(), addons })
                    }
                    Err(invalid) => errors.push(FieldError::new(format!("/items/{index}/name"), invalid)),
                },
                OrderItemRequest::Renewal { service_id, cycles } => {
                    let cycles = cycles.unwrap_or(1);
                    if (1..=MAX_RENEW_CYCLES).contains(&cycles) {
                        items.push(OrderItemKind::Renewal { service_id, cycles });
                    } else {
                        errors.push(FieldError::new(
                            format!("/items/{index}/cycles"),
                            hostadmin_domain::validation::Invalid::new("out_of_range", "renew by 1 to 10 cycles"),
                        ));
                    }
                }
                OrderItemRequest::ChangePlan { service_id, plan_id, addons } => {
                    items.push(OrderItemKind::ChangePlan { service_id, plan_id, addons })
                }
            }
        }
        match currency {
            Some(currency) if errors.is_empty() => {
                Ok(OrderRequest { customer_id: self.customer_id, currency, items, note: self.note })
            }
            _ => Err(ApiError::fields(errors)),
        }
    }
}

/// Place an order.
///
/// A customer (or reseller) orders from its seller for itself; a seller may order for
/// an account directly below it (`customer_id`). Each item is priced from the plan
/// (add-ons included) or the service (renewals: its recurring price per cycle; plan
/// changes: the prorated quote), and checked as it will be fulfilled (plans the buyer
/// is offered, services the buyer owns, quotas and packages). The order's invoice is
/// issued in the same transaction, taxed by the seller's settings; once it is paid in
/// full the order is fulfilled (at once when it costs nothing). `403 ordering_blocked`
/// for an account marked as fraud (or below one); `409 billing_not_configured` until the
/// seller has set its billing settings; `422` with `cycle_not_offered` or
/// `currency_not_offered` for what the plan does not sell.
///
/// Any account; a grantee with `billing` may order renewals and plan changes of a granted
/// service. Takes `Idempotency-Key`: a retried order is placed once. API keys need
/// `billing:write`.
#[utoipa::path(
    tag = "Billing",
    request_body = CreateOrder,
    params(IdempotencyKeyHeader),
    responses(
        (status = 201, description = "Placed, with its invoice", body = OrderView, headers(("Location" = String), ("ETag" = String))),
        (status = 404, description = "`not_found`: `customer_id`, a plan or a service names nothing the caller reaches", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/orders")]
pub async fn create_order(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::PlaceOrder)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateOrder = body.parse()?;
        let order = input.checked()?;
        let row = use_case::place(&state, &principal.actor, authorized.clone(), order).await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/orders/{}", row.id)));
        Ok(order_response(builder, &row))
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListOrdersQuery {
    /// Orders of one buyer (an account below the caller).
    pub customer_id: Option<String>,
    pub status: Option<OrderStatus>,
}

/// The orders the caller bought, sold or was granted, newest first.
///
/// The caller's own orders; for resellers and operators also the orders of every account
/// below them; and orders about services granted to the caller with `billing`. Filters
/// `customer_id` (a buyer below the caller) and `status`. Cursor-paginated (`limit`,
/// `cursor`; a cursor is bound to its filters). API keys need `billing:read`.
#[utoipa::path(
    tag = "Billing",
    params(ListOrdersQuery, PageQuery),
    responses((status = 200, description = "A page of orders", body = Page<OrderView>)),
)]
#[get("/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListOrdersQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadBilling)?;
    let query = query.into_inner();
    let filters = format!(
        "customer={}&status={}",
        query.customer_id.as_deref().unwrap_or_default(),
        query.status.map(|s| s.as_str()).unwrap_or_default(),
    );
    let page = paging.request(filters)?;
    let filter = OrderFilter { buyer_id: query.customer_id, status: query.status, before_id: page.before_id.clone() };
    let rows = use_case::list(&state, &principal.actor, authorized, filter, page.fetch()).await?;
    let views = rows.iter().map(OrderView::from_row).collect::<Vec<_>>();
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Read one order.
///
/// Its buyer, every account above the buyer, and grantees with `billing` on the order's
/// service may read it; anyone else gets `404` (a grantee without `billing` `403
/// insufficient_grant`). `invoice_id` links the invoice issued with it; `failure` says
/// why a paid order could not be fulfilled. API keys need `billing:read`.
#[utoipa::path(
    tag = "Billing",
    params(("id" = String, Path, description = "The order's id")),
    responses((status = 200, description = "The order", body = OrderView, headers(("ETag" = String)))),
)]
#[get("/orders/{id}")]
pub async fn get_order(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadBilling)?;
    let order = use_case::reach(&state, &principal.actor, authorized, &id).await?;
    Ok(order_response(HttpResponse::Ok(), &order.row))
}

/// Cancel a pending order: its invoice becomes `void`.
///
/// The buyer, an account above it, or a grantee with `billing` on the order's service.
/// `409 invalid_transition` unless the order is `pending`, and also while part of its
/// invoice is paid (the seller settles that with a credit note). API keys need
/// `billing:write`.
#[utoipa::path(
    tag = "Billing",
    params(("id" = String, Path, description = "The order's id")),
    responses(
        (status = 200, description = "Cancelled", body = OrderView, headers(("ETag" = String))),
        (status = 409, description = "`invalid_transition`: the order is not `pending`, or part of its invoice is paid", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/orders/{id}/cancel")]
pub async fn cancel_order(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::CancelOrder)?;
    let order = use_case::reach(&state, &principal.actor, authorized, &id).await?;
    let row = use_case::cancel(&state, &principal.actor, order).await?;
    Ok(order_response(HttpResponse::Ok(), &row))
}
