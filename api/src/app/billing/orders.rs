//! Orders: a buyer (or its seller for it) asks for new services, renewals and plan
//! changes; the order is priced, numbered and invoiced in one transaction, and carried
//! out once its invoice is paid in full (at once when it costs nothing).

use chrono::NaiveDateTime;

use hostadmin_domain::accounts::{AccountKind, AccountStatus};
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::authorizations::Permission;
use hostadmin_domain::billing::document::InvoiceStatus;
use hostadmin_domain::billing::ledger::{OrderItemKind, OrderStatus, PricedItem};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::money::Currency;
use hostadmin_domain::policy::{Action, Actor, Authorized, Below, Reach, Relation};
use hostadmin_domain::services::{transition, ServiceAction};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::accounts::{self as account_store, AccountRow};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::authorizations as grant_store;
use hostadmin_persistence::invoices as invoice_store;
use hostadmin_persistence::orders::{self as store, NewOrder, OrderChanges, OrderFilter, OrderRow};
use hostadmin_persistence::plans::{self as plan_store, PlanVisibility};
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::DbConnection;

use super::invoices::{self, Charge, Issue};
use super::{fulfilment, notify, seller_of, settings_of};
use crate::app::access::{self, Reached};
use crate::app::lifecycle::MAX_RENEW_CYCLES;
use crate::app::plan_changes::{self, NewPlan};
use crate::app::resellers;
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// An order as asked for (shapes checked by the route).
#[derive(Debug, Clone)]
pub struct OrderRequest {
    /// A seller ordering for an account directly below it.
    pub customer_id: Option<String>,
    pub currency: Currency,
    pub items: Vec<OrderItemKind>,
    pub note: Option<String>,
}

/// Places the order: the buyer, its seller's settings, each item priced (and checked as
/// it would be fulfilled), then the order and its invoice in one transaction. An order
/// that costs nothing is fulfilled at once.
pub async fn place(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    request: OrderRequest,
) -> Result<OrderRow, ApiError> {
    if authorized.action() != Action::PlaceOrder {
        return Err(ApiError::internal("placing an order with another proof"));
    }
    match (&request.customer_id, actor.kind) {
        (Some(_), AccountKind::Customer) => {
            return Err(ApiError::forbidden("only resellers and operators order for the accounts below them"))
        }
        (None, AccountKind::Operator) => {
            return Err(ApiError::forbidden(
                "operators are the provider: they order for an account below (customer_id)",
            ))
        }
        _ => {}
    }
    let reach = actor.reach();
    let context = AuditContext::of(actor);
    let provisioner = state.provisioner.clone();
    let config = state.config.clone();
    let me = actor.account_id.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let buyer = match &request.customer_id {
                Some(id) => directly_below(conn, &reach, id)?,
                None => {
                    let owner = granted_owner(conn, &reach, &authorized, &request.items)?;
                    account_store::find(conn, owner.as_deref().unwrap_or(&me))?.ok_or_else(ApiError::not_found)?
                }
            };
            refuse_blocked_buyer(conn, &buyer)?;
            let seller_id = seller_of(&buyer);
            settings_of(conn, seller_id.as_deref())?;
            let priced = price(conn, &reach, &authorized, &buyer, &request, now)?;
            let total = priced.iter().try_fold(0_i64, |sum, item| sum.checked_add(item.item.amount_minor));
            let total = total
                .ok_or_else(|| ApiError::field("/items", Invalid::new("out_of_range", "the total is too large")))?;
            let items: Vec<PricedItem> = priced.iter().map(|p| p.item.clone()).collect();
            let service_id = one_service(&priced);
            let id = new_id();
            let new = NewOrder {
                id: &id,
                seller_id: seller_id.as_deref(),
                buyer_id: &buyer.id,
                service_id: service_id.as_deref(),
                currency: &request.currency,
                items: &items,
                total_minor: total,
                note: request.note.as_deref(),
                created_by: &me,
                now,
            };
            let number = store::insert(conn, &new)?;
            let charges: Vec<Charge> = priced.into_iter().map(|p| p.charge).collect();
            let invoice = invoices::issue(
                conn,
                &context,
                &Issue {
                    seller_id: seller_id.as_deref(),
                    buyer: &buyer,
                    service_id: service_id.as_deref(),
                    currency: &request.currency,
                    charges: &charges,
                    order_id: Some(&id),
                    due_at: None,
                    renewal_period_start: None,
                    now,
                },
            )?;
            invoices::link_order(conn, &id, 1, &invoice.id)?;
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::ORDER_CREATE,
                    target_type: target::ORDER,
                    target_id: &id,
                    account_id: Some(&buyer.id),
                    details: serde_json::json!({
                        "number": number, "total_minor": total, "currency": request.currency,
                        "invoice_id": invoice.id, "items": items.len(),
                    }),
                },
                now,
            )?;
            if invoice.status == InvoiceStatus::Paid {
                fulfilment::fulfil(conn, provisioner.as_ref(), &context, &id, now)?;
            } else {
                notify::invoice_issued(conn, &config, &invoice, now)?;
            }
            store::find(conn, &id)?.ok_or_else(|| ApiError::internal("the new order vanished"))
        })
        .await
}

/// A seller's customer: directly below it (for operators, a top-level account); 404
/// outside its reach, 422 further down.
fn directly_below(conn: &mut DbConnection, reach: &Reach, id: &str) -> Result<AccountRow, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let account = account_store::find_in_reach(conn, reach, &id)?.ok_or_else(ApiError::not_found)?;
    let directly = match reach.below {
        Below::AllButOperators => account.parent_id.is_none(),
        _ => account.parent_id.as_deref() == Some(reach.account_id.as_str()),
    };
    if directly {
        Ok(account)
    } else {
        Err(ApiError::field(
            "/customer_id",
            Invalid::new("not_directly_below", "a seller orders only for the accounts directly below it"),
        ))
    }
}

/// The owner a grantee orders for: a user granted `billing` on a service orders its
/// renewal or plan change for the service's owner, never new services on the owner's
/// account. `None` when the actor orders for itself.
fn granted_owner(
    conn: &mut DbConnection,
    reach: &Reach,
    authorized: &Authorized,
    items: &[OrderItemKind],
) -> Result<Option<String>, ApiError> {
    let mut owner: Option<String> = None;
    for (index, item) in items.iter().enumerate() {
        let service_id = match item {
            OrderItemKind::Renewal { service_id, .. } | OrderItemKind::ChangePlan { service_id, .. } => service_id,
            OrderItemKind::NewService { .. } => continue,
        };
        let id = parse_id(service_id).ok_or_else(ApiError::not_found)?;
        let service = access::service_in(conn, reach, authorized.clone(), &id)?;
        if !matches!(service.relation, Relation::Grantee(_)) {
            continue;
        }
        match &owner {
            Some(first) if *first != service.row.owner_id => {
                return Err(ApiError::field(
                    format!("/items/{index}/service_id"),
                    Invalid::new("not_the_buyers", "one order is for the services of one account"),
                ))
            }
            _ => owner = Some(service.row.owner_id),
        }
    }
    if owner.is_some() {
        if let Some(index) = items.iter().position(|item| matches!(item, OrderItemKind::NewService { .. })) {
            return Err(ApiError::field(
                format!("/items/{index}"),
                Invalid::new("not_granted", "a grant covers services of its owner, not new ones"),
            ));
        }
    }
    Ok(owner)
}

/// `403 ordering_blocked` for an account marked as fraud or below one; `409
/// account_blocked` for a blocked one.
fn refuse_blocked_buyer(conn: &mut DbConnection, buyer: &AccountRow) -> Result<(), ApiError> {
    if account_store::fraud_in_chain(conn, &buyer.id)? {
        return Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "ordering_blocked",
            "this account cannot place orders; contact your provider",
        ));
    }
    if buyer.status == AccountStatus::Blocked {
        return Err(ApiError::conflict("account_blocked", "the account is blocked and can no longer order"));
    }
    Ok(())
}

/// An item with its price and the invoice line that bills it.
struct Priced {
    item: PricedItem,
    charge: Charge,
    /// The existing service it is about.
    service_id: Option<String>,
}

/// The service every item is about, when they are all about one existing service.
fn one_service(priced: &[Priced]) -> Option<String> {
    let first = priced.first()?.service_id.clone()?;
    priced.iter().all(|p| p.service_id.as_deref() == Some(first.as_str())).then_some(first)
}

fn price(
    conn: &mut DbConnection,
    reach: &Reach,
    authorized: &Authorized,
    buyer: &AccountRow,
    request: &OrderRequest,
    now: NaiveDateTime,
) -> Result<Vec<Priced>, ApiError> {
    let mut priced = Vec::with_capacity(request.items.len());
    for (index, item) in request.items.iter().enumerate() {
        let item = match item {
            OrderItemKind::NewService { .. } => new_service(conn, buyer, item, &request.currency, index)?,
            OrderItemKind::Renewal { service_id, cycles } => {
                let service = buyers_service(conn, reach, authorized, buyer, service_id, index)?;
                renewal(service.row, *cycles, &request.currency, index)?
            }
            OrderItemKind::ChangePlan { service_id, plan_id, addons } => {
                let service = buyers_service(conn, reach, authorized, buyer, service_id, index)?;
                let plan = NewPlan { plan_id: plan_id.clone(), addons: addons.clone() };
                change_plan(conn, service.row, plan, &request.currency, index, now)?
            }
        };
        priced.push(item);
    }
    Ok(priced)
}

/// A plan the buyer is offered, sold in the cycle and currency asked for; the packages
/// above the buyer must allow one more service.
fn new_service(
    conn: &mut DbConnection,
    buyer: &AccountRow,
    item: &OrderItemKind,
    currency: &Currency,
    index: usize,
) -> Result<Priced, ApiError> {
    let OrderItemKind::NewService { plan_id, cycle, name, addons } = item else {
        return Err(ApiError::internal("pricing another item as a new service"));
    };
    let id = parse_id(plan_id).ok_or_else(ApiError::not_found)?;
    let visibility = PlanVisibility::OwnAndPublicOf { owner: None, seller: buyer.parent_id.clone() };
    let plan = plan_store::find_visible(conn, &visibility, &id)?.ok_or_else(ApiError::not_found)?;
    let sale = plan.offer().sale(*cycle, addons).map_err(|refused| {
        ApiError::fields(
            refused
                .into_iter()
                .map(|(pointer, mut invalid)| {
                    if pointer == "/cycle" {
                        invalid.code = "cycle_not_offered";
                    }
                    FieldError::new(format!("/items/{index}{pointer}"), invalid)
                })
                .collect(),
        )
    })?;
    same_currency(&sale.price.currency, currency)?;
    resellers::enforce(conn, &buyer.id, false, hostadmin_domain::catalog::QuotaKey::Services)?;
    let mut description = format!("{} ({}): {name}", plan.name, cycle.as_str());
    if !addons.is_empty() {
        description.push_str(&format!(", with {}", addons.join(", ")));
    }
    Ok(Priced {
        item: PricedItem {
            kind: item.clone(),
            description: description.clone(),
            amount_minor: sale.price.amount_minor,
        },
        charge: Charge { description, amount_minor: sale.price.amount_minor, service_id: None, period: None },
        service_id: None,
    })
}

/// A service the order is about: reached by the actor for ordering (the buyer's own, from
/// above it, or granted with `billing`) and owned by the buyer.
fn buyers_service(
    conn: &mut DbConnection,
    reach: &Reach,
    authorized: &Authorized,
    buyer: &AccountRow,
    service_id: &str,
    index: usize,
) -> Result<Reached<ServiceRow>, ApiError> {
    let id = parse_id(service_id).ok_or_else(ApiError::not_found)?;
    let service = access::service_in(conn, reach, authorized.clone(), &id)?;
    if service.row.owner_id != buyer.id {
        return Err(ApiError::field(
            format!("/items/{index}/service_id"),
            Invalid::new("not_the_buyers", "the service must belong to the account the order is for"),
        ));
    }
    Ok(service)
}

/// Whole cycles more at the service's recurring price.
fn renewal(row: ServiceRow, cycles: u32, currency: &Currency, index: usize) -> Result<Priced, ApiError> {
    if !(1..=MAX_RENEW_CYCLES).contains(&cycles) {
        return Err(ApiError::field(
            format!("/items/{index}/cycles"),
            Invalid::new("out_of_range", format!("renew by 1 to {MAX_RENEW_CYCLES} cycles")),
        ));
    }
    transition(row.status, ServiceAction::Renew, row.has_pending_cancellation())
        .map_err(|refused| ApiError::conflict(refused.code(), refused.detail()))?;
    same_currency(&row.currency, currency)?;
    let out_of_range = || {
        ApiError::field(
            format!("/items/{index}/cycles"),
            Invalid::new("out_of_range", "the due date would be out of range"),
        )
    };
    let amount = row.recurring_amount_minor.checked_mul(i64::from(cycles)).ok_or_else(out_of_range)?;
    let until = row.cycle.advance(row.next_due_at, cycles).ok_or_else(out_of_range)?;
    let description = format!("Renewal of service {} ({}), {cycles} × {}", row.number, row.name, row.cycle.as_str());
    let kind = OrderItemKind::Renewal { service_id: row.id.clone(), cycles };
    Ok(Priced {
        item: PricedItem { kind, description: description.clone(), amount_minor: amount },
        charge: Charge {
            description,
            amount_minor: amount,
            service_id: Some(row.id.clone()),
            period: Some((row.next_due_at, until)),
        },
        service_id: Some(row.id),
    })
}

/// The prorated quote of `change-plan` for the rest of the period; a cheaper plan costs
/// nothing now (the lower price applies from the next period, no refund).
fn change_plan(
    conn: &mut DbConnection,
    row: ServiceRow,
    plan: NewPlan,
    currency: &Currency,
    index: usize,
    now: NaiveDateTime,
) -> Result<Priced, ApiError> {
    crate::app::lifecycle::require_active(&row, "a plan change")?;
    let (plan_row, _, addons, quote) =
        plan_changes::offered_to_owner(conn, &row, &plan, now).map_err(|error| within_item(error, index))?;
    same_currency(&quote.currency, currency)?;
    let amount = quote.amount_minor.max(0);
    let description = format!("Change of service {} ({}) to {}", row.number, row.name, plan_row.name);
    let kind =
        OrderItemKind::ChangePlan { service_id: row.id.clone(), plan_id: plan_row.id.clone(), addons: Some(addons) };
    Ok(Priced {
        item: PricedItem { kind, description: description.clone(), amount_minor: amount },
        charge: Charge {
            description,
            amount_minor: amount,
            service_id: Some(row.id.clone()),
            period: (now < row.next_due_at).then_some((now, row.next_due_at)),
        },
        service_id: Some(row.id),
    })
}

/// Field errors of a plan change, pointed into the order's item.
fn within_item(error: ApiError, index: usize) -> ApiError {
    match error {
        ApiError::Validation { code, errors } => ApiError::Validation {
            code,
            errors: errors
                .into_iter()
                .map(|mut e| {
                    e.pointer = format!("/items/{index}{}", e.pointer);
                    e
                })
                .collect(),
        },
        other => other,
    }
}

fn same_currency(priced_in: &Currency, ordered_in: &Currency) -> Result<(), ApiError> {
    if priced_in == ordered_in {
        Ok(())
    } else {
        Err(ApiError::field(
            "/currency",
            Invalid::new(
                "currency_not_offered",
                format!("this is sold in {}, not {}", priced_in.as_str(), ordered_in.as_str()),
            ),
        ))
    }
}

/// The order `id` as the actor reaches it; 404 outside that.
pub async fn reach(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    id: &str,
) -> Result<Reached<OrderRow>, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let reach = actor.reach();
    state
        .db
        .run(move |conn| {
            let (row, relation) = store::find_in_reach(conn, &reach, &id)?.ok_or_else(ApiError::not_found)?;
            let buyer_id = row.buyer_id.clone();
            access::checked_in(conn, row, relation, &buyer_id, authorized)
        })
        .await
}

/// One page of the orders the actor reaches, newest first.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    _: Authorized,
    filter: OrderFilter,
    limit: i64,
) -> Result<Vec<OrderRow>, ApiError> {
    let reach = actor.reach();
    state
        .db
        .run(move |conn| {
            let granted = grant_store::granted_services(conn, &reach, Permission::Billing)?;
            Ok(store::list_in_reach(conn, &reach, &granted, &filter, limit)?)
        })
        .await
}

/// Cancels a pending order (its buyer's side or its seller's); its invoice becomes void.
pub async fn cancel(state: &AppState, actor: &Actor, order: Reached<OrderRow>) -> Result<OrderRow, ApiError> {
    order.expect(Action::CancelOrder)?;
    let context = AuditContext::of(actor);
    let id = order.row.id;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = cancel_in(conn, &context, &id, now)?;
            if let Some(invoice_id) = &row.invoice_id {
                let invoice = invoice_store::find_for_update(conn, invoice_id)?.ok_or_else(ApiError::not_found)?;
                if invoice.amount_paid_minor != 0 {
                    return Err(ApiError::conflict(
                        "invalid_transition",
                        "part of the order's invoice is paid: the seller settles it with a credit note",
                    ));
                }
                if invoice.status == InvoiceStatus::Unpaid
                    && !invoice_store::settle(conn, &invoice, 0, InvoiceStatus::Void, None, now)?
                {
                    return Err(ApiError::Busy("the invoice changed during the request".into()));
                }
            }
            Ok(row)
        })
        .await
}

/// Cancels the order in the caller's transaction if it is pending (`409
/// invalid_transition` otherwise); audited.
pub fn cancel_in(
    conn: &mut DbConnection,
    context: &AuditContext,
    id: &str,
    now: NaiveDateTime,
) -> Result<OrderRow, ApiError> {
    let row = store::find_for_update(conn, id)?.ok_or_else(ApiError::not_found)?;
    if row.status != OrderStatus::Pending {
        return Err(ApiError::conflict(
            "invalid_transition",
            format!("only a pending order can be cancelled; this one is {}", row.status.as_str()),
        ));
    }
    let changes = OrderChanges { status: Some(OrderStatus::Cancelled), ..OrderChanges::default() };
    if !store::update(conn, &row.id, row.version, &changes, now)? {
        return Err(ApiError::Busy("the order changed during the request".into()));
    }
    audit::record(
        conn,
        context,
        NewEvent {
            action: actions::ORDER_CANCEL,
            target_type: target::ORDER,
            target_id: &row.id,
            account_id: Some(&row.buyer_id),
            details: serde_json::json!({ "number": row.number, "invoice_id": row.invoice_id }),
        },
        now,
    )?;
    store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)
}
