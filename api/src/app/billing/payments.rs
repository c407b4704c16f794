//! Payments settle invoices: recorded by the seller (what exceeds the amount due goes to
//! the buyer's credit), or taken from the buyer's credit (apply-credit). An invoice paid
//! in full fulfils its order in the same transaction.

use chrono::NaiveDateTime;

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::billing::document::InvoiceStatus;
use hostadmin_domain::billing::ledger::{InvoiceKind, PaymentMethod, Settlement};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::policy::{Action, Actor};
use hostadmin_domain::provisioning::Provisioner;
use hostadmin_domain::time;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::credit::{self as credit_store, CreditChange};
use hostadmin_persistence::invoices::{self as invoice_store, InvoiceRow};
use hostadmin_persistence::payments::{self as store, NewPayment, PaymentRow};
use hostadmin_persistence::DbConnection;

use super::invoices::require_seller;
use super::{fulfilment, notify, renewals};
use crate::app::access::Reached;
use crate::config::Config;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// A payment as the seller records it (validated by the route).
#[derive(Debug, Clone)]
pub struct Received {
    pub amount_minor: i64,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    /// `None`: now.
    pub received_at: Option<NaiveDateTime>,
}

/// Records a payment of the invoice (its seller only).
pub async fn record(
    state: &AppState,
    actor: &Actor,
    invoice: Reached<InvoiceRow>,
    received: Received,
) -> Result<PaymentRow, ApiError> {
    invoice.expect(Action::ManageInvoices)?;
    require_seller(actor, &invoice.row)?;
    let context = AuditContext::of(actor);
    let provisioner = state.provisioner.clone();
    let config = state.config.clone();
    let me = actor.account_id.clone();
    let id = invoice.row.id;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = payable(conn, &id)?;
            let payment = Payment {
                amount_minor: received.amount_minor,
                method: received.method,
                reference: received.reference.as_deref(),
                received_at: received.received_at.unwrap_or(now),
                recorded_by: Some(&me),
            };
            let (payment, _) = pay(conn, &config, provisioner.as_ref(), &context, row, &payment, now)?;
            Ok(payment)
        })
        .await
}

/// Pays what is due from the buyer's credit in the invoice's currency, as far as it
/// goes (the buyer, a seller above it, or a grantee with `billing`): `409
/// insufficient_credit` when there is none.
pub async fn apply_credit(
    state: &AppState,
    actor: &Actor,
    invoice: Reached<InvoiceRow>,
) -> Result<InvoiceRow, ApiError> {
    invoice.expect(Action::ApplyCredit)?;
    let context = AuditContext::of(actor);
    let provisioner = state.provisioner.clone();
    let config = state.config.clone();
    let me = actor.account_id.clone();
    let id = invoice.row.id;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = payable(conn, &id)?;
            let balance = credit_store::balance(conn, &row.buyer_id, &row.currency)?;
            let amount = balance.min(row.amount_due_minor());
            if amount <= 0 {
                return Err(insufficient_credit(&row));
            }
            let payment = Payment {
                amount_minor: amount,
                method: PaymentMethod::Credit,
                reference: None,
                received_at: now,
                recorded_by: Some(&me),
            };
            let (_, invoice) = pay(conn, &config, provisioner.as_ref(), &context, row, &payment, now)?;
            Ok(invoice)
        })
        .await
}

fn insufficient_credit(row: &InvoiceRow) -> ApiError {
    ApiError::conflict(
        "insufficient_credit",
        format!("the buyer has no credit in {} to pay with", row.currency.as_str()),
    )
}

/// The invoice, locked, if it takes payments (`409 invoice_not_payable` otherwise): an
/// invoice that is not void.
fn payable(conn: &mut DbConnection, id: &str) -> Result<InvoiceRow, ApiError> {
    let row = invoice_store::find_for_update(conn, id)?.ok_or_else(ApiError::not_found)?;
    if row.kind == InvoiceKind::CreditNote {
        return Err(ApiError::conflict("invoice_not_payable", "a credit note is settled by crediting, not paid"));
    }
    if row.status == InvoiceStatus::Void {
        return Err(ApiError::conflict("invoice_not_payable", "the invoice is void and takes no payments"));
    }
    Ok(row)
}

/// One payment of a locked invoice.
pub struct Payment<'a> {
    pub amount_minor: i64,
    pub method: PaymentMethod,
    pub reference: Option<&'a str>,
    pub received_at: NaiveDateTime,
    /// `None`: the worker (a renewal paid from credit).
    pub recorded_by: Option<&'a str>,
}

/// Stores the payment, settles what it pays, credits the rest to the buyer, and fulfils
/// the order when the invoice is paid in full; a payment from credit takes it first.
pub fn pay(
    conn: &mut DbConnection,
    config: &Config,
    provisioner: &dyn Provisioner,
    context: &AuditContext,
    row: InvoiceRow,
    payment: &Payment,
    now: NaiveDateTime,
) -> Result<(PaymentRow, InvoiceRow), ApiError> {
    let settlement = Settlement::of(payment.amount_minor, row.amount_due_minor());
    let payment_id = new_id();
    store::insert(
        conn,
        &NewPayment {
            id: &payment_id,
            invoice_id: &row.id,
            amount_minor: payment.amount_minor,
            currency: &row.currency,
            method: payment.method,
            reference: payment.reference,
            received_at: payment.received_at,
            recorded_by: payment.recorded_by,
            now,
        },
    )?;
    if payment.method == PaymentMethod::Credit {
        let taken = CreditChange {
            id: &new_id(),
            account_id: &row.buyer_id,
            currency: &row.currency,
            amount_minor: -settlement.applied_minor,
            reason: &format!("paid invoice {}", row.number),
            invoice_id: Some(&row.id),
            payment_id: Some(&payment_id),
            created_by: payment.recorded_by,
            now,
        };
        credit_store::change(conn, &taken)?.ok_or_else(|| insufficient_credit(&row))?;
    }
    if settlement.excess_minor > 0 {
        let excess = CreditChange {
            id: &new_id(),
            account_id: &row.buyer_id,
            currency: &row.currency,
            amount_minor: settlement.excess_minor,
            reason: &format!("overpayment of invoice {}", row.number),
            invoice_id: Some(&row.id),
            payment_id: Some(&payment_id),
            created_by: payment.recorded_by,
            now,
        };
        credit_store::change(conn, &excess)?
            .ok_or_else(|| ApiError::internal("crediting an overpayment was refused"))?;
    }
    let paid = row.amount_paid_minor + settlement.applied_minor;
    let paid_in_full = paid == row.total_minor && row.status == InvoiceStatus::Unpaid;
    let (status, paid_at) = if paid_in_full { (InvoiceStatus::Paid, Some(now)) } else { (row.status, row.paid_at) };
    if !invoice_store::settle(conn, &row, paid, status, paid_at, now)? {
        return Err(ApiError::Busy("the invoice changed during the request".into()));
    }
    audit::record(
        conn,
        context,
        NewEvent {
            action: actions::INVOICE_PAYMENT,
            target_type: target::INVOICE,
            target_id: &row.id,
            account_id: Some(&row.buyer_id),
            details: serde_json::json!({
                "payment_id": payment_id, "number": row.number, "amount_minor": payment.amount_minor,
                "method": payment.method, "applied_minor": settlement.applied_minor,
                "credited_minor": settlement.excess_minor, "status": status,
            }),
        },
        now,
    )?;
    if paid_in_full {
        if let Some(order_id) = &row.order_id {
            fulfilment::fulfil(conn, provisioner, context, order_id, now)?;
        }
        renewals::renewal_paid(conn, provisioner, context, &row, now)?;
    }
    let payment = store::find(conn, &payment_id)?.ok_or_else(|| ApiError::internal("the payment vanished"))?;
    let invoice = invoice_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)?;
    if paid_in_full {
        notify::payment_received(conn, config, &invoice, now)?;
    }
    Ok((payment, invoice))
}

/// Every payment of the invoice, oldest first.
pub async fn list(state: &AppState, invoice: Reached<InvoiceRow>) -> Result<Vec<PaymentRow>, ApiError> {
    invoice.expect(Action::ReadBilling)?;
    let id = invoice.row.id;
    state.db.run(move |conn| Ok(store::of_invoice(conn, &id)?)).await
}
