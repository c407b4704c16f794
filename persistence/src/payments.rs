//! Payments of invoices: what a seller received (or the buyer's credit paid), one row
//! each, never changed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hostadmin_domain::billing::ledger::PaymentMethod;
use hostadmin_domain::money::Currency;

use crate::columns::Text;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::payments;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payments, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct PaymentRow {
    pub id: String,
    pub invoice_id: String,
    pub amount_minor: i64,
    #[diesel(deserialize_as = Text<Currency>)]
    pub currency: Currency,
    #[diesel(deserialize_as = Text<PaymentMethod>)]
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub received_at: NaiveDateTime,
    pub recorded_by: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct NewPayment<'a> {
    pub id: &'a str,
    pub invoice_id: &'a str,
    pub amount_minor: i64,
    pub currency: &'a Currency,
    pub method: PaymentMethod,
    pub reference: Option<&'a str>,
    pub received_at: NaiveDateTime,
    pub recorded_by: Option<&'a str>,
    pub now: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewPayment) -> Result<(), StoreError> {
    diesel::insert_into(payments::table)
        .values((
            payments::id.eq(new.id),
            payments::invoice_id.eq(new.invoice_id),
            payments::amount_minor.eq(new.amount_minor),
            payments::currency.eq(new.currency.as_str()),
            payments::method.eq(new.method.as_str()),
            payments::reference.eq(new.reference),
            payments::received_at.eq(new.received_at),
            payments::recorded_by.eq(new.recorded_by),
            payments::created_at.eq(new.now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<PaymentRow>, StoreError> {
    Ok(payments::table.filter(payments::id.eq(id)).select(PaymentRow::as_select()).first(conn).optional()?)
}

/// Every payment of an invoice, oldest first.
pub fn of_invoice(conn: &mut DbConnection, invoice_id: &str) -> Result<Vec<PaymentRow>, StoreError> {
    Ok(payments::table
        .filter(payments::invoice_id.eq(invoice_id))
        .order(payments::id.asc())
        .select(PaymentRow::as_select())
        .load(conn)?)
}
