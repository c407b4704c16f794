//! Mails about invoices, through the outbox in the transaction that issues or settles
//! them, each with the invoice attached as a PDF when it is delivered.

use chrono::NaiveDateTime;
use serde_json::json;

use hostadmin_persistence::accounts as account_store;
use hostadmin_persistence::invoices::InvoiceRow;
use hostadmin_persistence::DbConnection;

use crate::config::Config;
use crate::http::problem::ApiError;
use crate::mail::{self, Outgoing, Template};

/// To the buyer: the invoice was issued.
pub fn invoice_issued(
    conn: &mut DbConnection,
    config: &Config,
    invoice: &InvoiceRow,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    send(conn, config, Template::InvoiceIssued, invoice, now)
}

/// To the buyer: the invoice is paid in full.
pub fn payment_received(
    conn: &mut DbConnection,
    config: &Config,
    invoice: &InvoiceRow,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    send(conn, config, Template::PaymentReceived, invoice, now)
}

/// To the buyer: a renewal invoice is due in 3 days.
pub fn renewal_reminder(
    conn: &mut DbConnection,
    config: &Config,
    invoice: &InvoiceRow,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    send(conn, config, Template::InvoiceReminder, invoice, now)
}

/// To the buyer: a renewal invoice was due yesterday.
pub fn renewal_overdue(
    conn: &mut DbConnection,
    config: &Config,
    invoice: &InvoiceRow,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    send(conn, config, Template::InvoiceOverdue, invoice, now)
}

fn send(
    conn: &mut DbConnection,
    config: &Config,
    template: Template,
    invoice: &InvoiceRow,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let buyer = account_store::find(conn, &invoice.buyer_id)?
        .ok_or_else(|| ApiError::internal(format!("the buyer of invoice {} vanished", invoice.number)))?;
    let context = json!({
        "name": buyer.name,
        "seller": invoice.seller.legal_name,
        "number": invoice.number,
        "total": invoice.currency.decimal(invoice.total_minor),
        "currency": invoice.currency,
        "due_on": invoice.due_at.date().to_string(),
        "reverse_charge": invoice.reverse_charge,
        "reference": invoice.payment_reference,
        "iban": invoice.seller.iban.as_ref().map(|iban| iban.to_string()),
        "link": format!("{}/invoices/{}", config.public_url, invoice.id),
    });
    let mail = Outgoing {
        template,
        recipient: &buyer.email,
        account_id: Some(&buyer.id),
        client_ip: None,
        context,
        invoice_id: Some(&invoice.id),
    };
    mail::queue(conn, config, mail, now)
}
