//! Carrying out a paid order: each item through the use case a seller would call (a
//! sale, a renewal, a plan change), all or nothing. An order that cannot be carried out
//! (the service was terminated meanwhile, a package is full) is `failed`: what was paid
//! goes to the buyer's credit, and `failure` says why.

use chrono::NaiveDateTime;
use diesel::Connection;

use hostadmin_domain::accounts::DisplayName;
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::billing::ledger::{OrderItemKind, OrderStatus};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::provisioning::Provisioner;
use hostadmin_domain::services::ServiceStatus;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::credit::{self as credit_store, CreditChange};
use hostadmin_persistence::invoices as invoice_store;
use hostadmin_persistence::orders::{self as store, OrderChanges, OrderRow};
use hostadmin_persistence::plans as plan_store;
use hostadmin_persistence::services::{NewService, PlanChange};
use hostadmin_persistence::DbConnection;

use crate::app::lifecycle::{self, Cycles};
use crate::app::plan_changes::{self, NewPlan};
use crate::app::services::create_in;
use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;

/// Fulfils the pending order in the caller's transaction (the one that paid it).
pub fn fulfil(
    conn: &mut DbConnection,
    provisioner: &dyn Provisioner,
    context: &AuditContext,
    order_id: &str,
    now: NaiveDateTime,
) -> Result<OrderRow, ApiError> {
    let order = store::find_for_update(conn, order_id)?.ok_or_else(ApiError::not_found)?;
    if order.status != OrderStatus::Pending {
        return Ok(order);
    }
    // A savepoint: a refused item undoes the items before it, not the payment.
    let outcome = conn.transaction(|conn| carry_out(conn, provisioner, context, &order, now));
    match outcome {
        Ok(created) => {
            let changes = OrderChanges {
                status: Some(OrderStatus::Fulfilled),
                service_id: created.as_deref(),
                ..OrderChanges::default()
            };
            let details = serde_json::json!({ "number": order.number, "service_id": created });
            finish(conn, context, &order, &changes, actions::ORDER_FULFIL, details, now)
        }
        Err(refused @ (ApiError::Status { .. } | ApiError::Validation { .. })) => {
            let failure = failure_of(&refused);
            credit_back(conn, context, &order, &failure, now)?;
            let changes =
                OrderChanges { status: Some(OrderStatus::Failed), failure: Some(&failure), ..OrderChanges::default() };
            let details = serde_json::json!({ "number": order.number, "failure": failure });
            finish(conn, context, &order, &changes, actions::ORDER_FAIL, details, now)
        }
        // Contention or a fault of ours: the whole payment is tried again or refused.
        Err(other) => Err(other),
    }
}

fn finish(
    conn: &mut DbConnection,
    context: &AuditContext,
    order: &OrderRow,
    changes: &OrderChanges,
    action: &'static str,
    details: serde_json::Value,
    now: NaiveDateTime,
) -> Result<OrderRow, ApiError> {
    if !store::update(conn, &order.id, order.version, changes, now)? {
        return Err(ApiError::Busy("the order changed during the request".into()));
    }
    let event = NewEvent {
        action,
        target_type: target::ORDER,
        target_id: &order.id,
        account_id: Some(&order.buyer_id),
        details,
    };
    audit::record(conn, context, event, now)?;
    store::find(conn, &order.id)?.ok_or_else(ApiError::not_found)
}

/// Why an item was refused, in words for the buyer.
fn failure_of(error: &ApiError) -> String {
    match error {
        ApiError::Status { code, detail, .. } => format!("{code}: {detail}"),
        ApiError::Validation { errors, .. } => {
            errors.iter().map(|e| format!("{}: {}", e.code, e.detail)).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
    }
}

/// What the buyer paid for a failed order goes to its credit.
fn credit_back(
    conn: &mut DbConnection,
    context: &AuditContext,
    order: &OrderRow,
    failure: &str,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let Some(invoice_id) = &order.invoice_id else { return Ok(()) };
    let invoice = invoice_store::find(conn, invoice_id)?.ok_or_else(ApiError::not_found)?;
    if invoice.amount_paid_minor == 0 {
        return Ok(());
    }
    let change = CreditChange {
        id: &new_id(),
        account_id: &order.buyer_id,
        currency: &invoice.currency,
        amount_minor: invoice.amount_paid_minor,
        reason: &format!("order {} could not be fulfilled: {failure}", order.number),
        invoice_id: Some(&invoice.id),
        payment_id: None,
        created_by: context.actor_id.as_deref(),
        now,
    };
    credit_store::change(conn, &change)?.ok_or_else(|| ApiError::internal("crediting a failed order was refused"))?;
    Ok(())
}

/// Carries out every item; answers the service a single new-service item created.
fn carry_out(
    conn: &mut DbConnection,
    provisioner: &dyn Provisioner,
    context: &AuditContext,
    order: &OrderRow,
    now: NaiveDateTime,
) -> Result<Option<String>, ApiError> {
    let mut created = Vec::new();
    for item in &order.items {
        match &item.kind {
            OrderItemKind::NewService { plan_id, cycle, name, addons } => {
                let plan = plan_store::find_for_update(conn, plan_id)?
                    .ok_or_else(|| ApiError::conflict("invalid_transition", "the plan no longer exists"))?;
                let sale = plan.offer().sale(*cycle, addons).map_err(crate::app::services::refused_fields)?;
                let name = DisplayName::parse(name).map_err(|invalid| ApiError::field("/name", invalid))?;
                let next_due_at = cycle.advance(now, 1).ok_or_else(|| {
                    ApiError::field("/cycle", Invalid::new("out_of_range", "the due date is out of range"))
                })?;
                let new = NewService {
                    id: new_id(),
                    number: 0,
                    owner_id: order.buyer_id.clone(),
                    plan_id: plan.id.clone(),
                    name: name.as_str().to_owned(),
                    kind: plan.service_kind,
                    status: ServiceStatus::Pending,
                    cycle: *cycle,
                    addons: addons.clone(),
                    quotas: sale.quotas,
                    next_due_at,
                    price: sale.price,
                    now,
                };
                let row = create_in(conn, provisioner, context, &order.buyer_id, new)?;
                created.push(row.id);
            }
            OrderItemKind::Renewal { service_id, cycles } => {
                let cycles = Cycles::try_from(*cycles).map_err(|invalid| ApiError::field("/cycles", invalid))?;
                let change = lifecycle::renewal(cycles, "/cycles");
                lifecycle::apply_in(
                    conn,
                    provisioner,
                    context,
                    service_id,
                    &IfMatch::Absent,
                    actions::SERVICE_RENEW,
                    &change,
                    now,
                )?;
            }
            OrderItemKind::ChangePlan { service_id, plan_id, addons } => {
                let row = lifecycle::current(conn, service_id, &IfMatch::Absent)?;
                let plan = NewPlan { plan_id: plan_id.clone(), addons: addons.clone() };
                let (plan_row, sale, addons, _) = plan_changes::offered_to_owner(conn, &row, &plan, now)?;
                let change =
                    PlanChange { plan_id: plan_row.id, addons, quotas: sale.quotas.clone(), price: sale.price.clone() };
                plan_changes::change_in(conn, provisioner, context, service_id, &IfMatch::Absent, &change, &sale, now)?;
            }
        }
    }
    Ok(if created.len() == 1 { created.pop() } else { None })
}
