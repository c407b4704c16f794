//! Invoices and credit notes: issued once with copies of the parties and lines, then
//! changed only in what was paid and their status. Numbers are gapless per seller.
//! Reached by the buyer, the accounts above it, and grantees with `billing` on the
//! invoice's service.

use chrono::NaiveDateTime;
use diesel::dsl::not;
use diesel::prelude::*;
use hostadmin_domain::billing::document::{BuyerSnapshot, InvoiceStatus, SellerSnapshot};
use hostadmin_domain::billing::ledger::InvoiceKind;
use hostadmin_domain::billing::totals::InvoiceLine;
use hostadmin_domain::money::Currency;
use hostadmin_domain::policy::{Reach, Relation};

use crate::accounts::escape_like;
use crate::authorizations::{self, GrantedServices};
use crate::columns::{Json, Text};
use crate::connection::DbConnection;
use crate::counters;
use crate::error::StoreError;
use crate::planning::PlanEachTime;
use crate::reach::reached;
use crate::schema::invoices;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invoices, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct InvoiceRow {
    pub id: String,
    #[diesel(deserialize_as = Text<InvoiceKind>)]
    pub kind: InvoiceKind,
    pub number: String,
    #[diesel(deserialize_as = Text<InvoiceStatus>)]
    pub status: InvoiceStatus,
    /// `None`: the provider.
    pub seller_id: Option<String>,
    pub buyer_id: String,
    pub service_id: Option<String>,
    #[diesel(deserialize_as = Text<Currency>)]
    pub currency: Currency,
    #[diesel(deserialize_as = Json<SellerSnapshot>)]
    pub seller: SellerSnapshot,
    #[diesel(deserialize_as = Json<BuyerSnapshot>)]
    pub buyer: BuyerSnapshot,
    #[diesel(deserialize_as = Json<Vec<InvoiceLine>>)]
    pub lines: Vec<InvoiceLine>,
    pub reverse_charge: bool,
    pub subtotal_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub amount_paid_minor: i64,
    pub payment_reference: String,
    pub order_id: Option<String>,
    pub credit_note_for: Option<String>,
    /// A renewal invoice: the start of the period it bills.
    pub renewal_period_start: Option<NaiveDateTime>,
    pub reminder_sent_at: Option<NaiveDateTime>,
    pub overdue_notice_sent_at: Option<NaiveDateTime>,
    pub issued_at: NaiveDateTime,
    pub due_at: NaiveDateTime,
    pub paid_at: Option<NaiveDateTime>,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

impl InvoiceRow {
    /// What is still to be paid (negative: still to be credited, on a credit note).
    pub fn amount_due_minor(&self) -> i64 {
        self.total_minor - self.amount_paid_minor
    }
}

/// An invoice being issued; its number is taken from the seller's sequence by
/// [`insert`].
#[derive(Debug, Clone)]
pub struct NewInvoice<'a> {
    pub id: &'a str,
    pub kind: InvoiceKind,
    pub prefix: &'a str,
    pub status: InvoiceStatus,
    pub seller_id: Option<&'a str>,
    pub buyer_id: &'a str,
    pub service_id: Option<&'a str>,
    pub currency: &'a Currency,
    pub seller: &'a SellerSnapshot,
    pub buyer: &'a BuyerSnapshot,
    pub lines: &'a [InvoiceLine],
    pub reverse_charge: bool,
    pub subtotal_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub amount_paid_minor: i64,
    pub order_id: Option<&'a str>,
    pub credit_note_for: Option<&'a str>,
    pub renewal_period_start: Option<NaiveDateTime>,
    pub issued_at: NaiveDateTime,
    pub due_at: NaiveDateTime,
    pub paid_at: Option<NaiveDateTime>,
}

/// The seller's next sequence value: gapless, as the counter row is taken in the issuing
/// transaction (crate::counters). Invoices and credit notes share it.
pub fn next_sequence(conn: &mut DbConnection, seller_id: Option<&str>) -> Result<i64, StoreError> {
    counters::next(conn, &counters::per_seller("invoice_number", seller_id))
}

/// Issues the invoice with `sequence` as its number (`number` written from it).
pub fn insert(conn: &mut DbConnection, new: &NewInvoice, sequence: i64, number: &str) -> Result<(), StoreError> {
    diesel::insert_into(invoices::table)
        .values((
            invoices::id.eq(new.id),
            invoices::kind.eq(new.kind.as_str()),
            invoices::number.eq(number),
            invoices::sequence.eq(sequence),
            invoices::status.eq(new.status.as_str()),
            invoices::seller_id.eq(new.seller_id),
            invoices::buyer_id.eq(new.buyer_id),
            invoices::service_id.eq(new.service_id),
            invoices::currency.eq(new.currency.as_str()),
            invoices::seller.eq(json(new.seller)?),
            invoices::buyer.eq(json(new.buyer)?),
            invoices::lines.eq(json(new.lines)?),
            invoices::reverse_charge.eq(new.reverse_charge),
            invoices::subtotal_minor.eq(new.subtotal_minor),
            invoices::tax_minor.eq(new.tax_minor),
            invoices::total_minor.eq(new.total_minor),
            invoices::amount_paid_minor.eq(new.amount_paid_minor),
            invoices::payment_reference.eq(number),
            invoices::order_id.eq(new.order_id),
            invoices::credit_note_for.eq(new.credit_note_for),
            invoices::renewal_period_start.eq(new.renewal_period_start),
            invoices::issued_at.eq(new.issued_at),
            invoices::due_at.eq(new.due_at),
            invoices::paid_at.eq(new.paid_at),
            (invoices::version.eq(1_i64), invoices::updated_at.eq(new.issued_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// A stored copy (parties, lines) as its JSON column.
fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<InvoiceRow>, StoreError> {
    Ok(invoices::table.filter(invoices::id.eq(id)).select(InvoiceRow::as_select()).first(conn).optional()?)
}

/// The invoices with these ids, in one statement (a page's credited invoices).
pub fn find_many(conn: &mut DbConnection, ids: &[&str]) -> Result<Vec<InvoiceRow>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(invoices::table.filter(invoices::id.eq_any(ids)).select(InvoiceRow::as_select()).load(conn)?)
}

/// The invoice, read after locking its row until the transaction ends: payments, voids
/// and credit notes of one invoice take turns.
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> Result<Option<InvoiceRow>, StoreError> {
    diesel::update(invoices::table.filter(invoices::id.eq(id)))
        .set(invoices::version.eq(invoices::version))
        .execute(conn)?;
    find(conn, id)
}

/// The credit notes issued for an invoice.
pub fn credit_notes_for(conn: &mut DbConnection, invoice_id: &str) -> Result<Vec<InvoiceRow>, StoreError> {
    Ok(invoices::table.filter(invoices::credit_note_for.eq(invoice_id)).select(InvoiceRow::as_select()).load(conn)?)
}

/// Records what was paid and the status it leaves, if the invoice is still at `version`.
pub fn settle(
    conn: &mut DbConnection,
    row: &InvoiceRow,
    amount_paid_minor: i64,
    status: InvoiceStatus,
    paid_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let target = invoices::table.filter(invoices::id.eq(&row.id)).filter(invoices::version.eq(row.version));
    let updated = diesel::update(target)
        .set((
            invoices::amount_paid_minor.eq(amount_paid_minor),
            invoices::status.eq(status.as_str()),
            invoices::paid_at.eq(paid_at),
            invoices::version.eq(row.version + 1),
            invoices::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// The condition of `services_renewal_idx` (migration 000015), word for word, so that
/// the planner walks that partial index: services that renew and whose current period
/// was not handled yet. A constant: no value of a request reaches it.
const RENEWAL_PENDING: &str = "auto_renew AND cancellation IS NULL AND status IN ('active', 'suspended') \
     AND (renewal_handled_for IS NULL OR renewal_handled_for <> next_due_at)";

/// The services whose renewal of the period starting at their `next_due_at` is not
/// handled yet and falls due by `horizon`, soonest first: an index walk of
/// `services_renewal_idx`, stopped after `limit`. The caller checks each seller.
pub fn services_to_invoice(
    conn: &mut DbConnection,
    horizon: NaiveDateTime,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    use crate::schema::services;
    let invoiced = invoices::table
        .filter(invoices::service_id.eq(services::id.nullable()))
        .filter(invoices::renewal_period_start.eq(services::next_due_at.nullable()))
        .filter(invoices::status.ne(InvoiceStatus::Void.as_str()));
    Ok(services::table
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(RENEWAL_PENDING))
        .filter(services::next_due_at.le(horizon))
        .filter(not(diesel::dsl::exists(invoiced)))
        .order(services::next_due_at.asc())
        .limit(limit)
        .select(services::id)
        .load(conn)?)
}

/// Marks the service's period starting at `period_start` handled (invoiced, or passed
/// over because its seller keeps no billing settings): it leaves the renewal index until
/// `next_due_at` moves on. A moved `next_due_at` makes the mark stale on its own.
pub fn mark_renewal_handled(
    conn: &mut DbConnection,
    service_id: &str,
    period_start: Option<NaiveDateTime>,
) -> Result<(), StoreError> {
    use crate::schema::services;
    diesel::update(services::table.filter(services::id.eq(service_id)))
        .set(services::renewal_handled_for.eq(period_start))
        .execute(conn)?;
    Ok(())
}

/// Unpaid renewal invoices due before `before`, oldest due first: those a reminder,
/// an overdue notice, a suspension or an expiry may be due for.
pub fn unpaid_renewals_due_before(
    conn: &mut DbConnection,
    before: NaiveDateTime,
    after_id: Option<&str>,
    limit: i64,
) -> Result<Vec<InvoiceRow>, StoreError> {
    let mut query = invoices::table
        .filter(invoices::status.eq(InvoiceStatus::Unpaid.as_str()))
        .filter(invoices::due_at.lt(before))
        .filter(invoices::renewal_period_start.is_not_null())
        .into_boxed();
    if let Some(after) = after_id {
        query = query.filter(invoices::id.gt(after));
    }
    Ok(query.order(invoices::id.asc()).limit(limit).select(InvoiceRow::as_select()).planned_each_time().load(conn)?)
}

/// Whether the renewal invoice of the service's period starting at `period_start` exists.
pub fn renewal_issued(
    conn: &mut DbConnection,
    service_id: &str,
    period_start: NaiveDateTime,
) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        invoices::table
            .filter(invoices::service_id.eq(service_id))
            .filter(invoices::renewal_period_start.eq(period_start)),
    ))
    .get_result(conn)?)
}

/// Whether the service has an unpaid renewal invoice (its overdue handling, not the
/// plain expiry, decides what happens to it).
pub fn has_unpaid_renewal(conn: &mut DbConnection, service_id: &str) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        invoices::table
            .filter(invoices::service_id.eq(service_id))
            .filter(invoices::status.eq(InvoiceStatus::Unpaid.as_str()))
            .filter(invoices::renewal_period_start.is_not_null()),
    ))
    .get_result(conn)?)
}

/// Voids the service's unpaid renewal invoices that nothing was paid on (its renewal
/// stopped: cancelled, terminated, or cancelling at the end of the period); answers them
/// as they were.
pub fn void_unpaid_renewals(
    conn: &mut DbConnection,
    service_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<InvoiceRow>, StoreError> {
    let unpaid = invoices::table
        .filter(invoices::service_id.eq(service_id))
        .filter(invoices::status.eq(InvoiceStatus::Unpaid.as_str()))
        .filter(invoices::renewal_period_start.is_not_null())
        .filter(invoices::amount_paid_minor.eq(0_i64));
    let rows: Vec<InvoiceRow> = unpaid.select(InvoiceRow::as_select()).load(conn)?;
    if !rows.is_empty() {
        // The period is no longer handled: a withdrawn cancellation invoices it again.
        mark_renewal_handled(conn, service_id, None)?;
    }
    diesel::update(unpaid)
        .set((
            invoices::status.eq(InvoiceStatus::Void.as_str()),
            invoices::version.eq(invoices::version + 1),
            invoices::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(rows)
}

/// Which of an invoice's mails a conditional update claims, so each is sent once.
#[derive(Debug, Clone, Copy)]
pub enum Notice {
    Reminder,
    Overdue,
}

/// Marks the notice sent if it was not yet; answers whether this call marked it.
pub fn claim_notice(conn: &mut DbConnection, id: &str, notice: Notice, now: NaiveDateTime) -> Result<bool, StoreError> {
    let target = invoices::table.filter(invoices::id.eq(id));
    let updated = match notice {
        Notice::Reminder => diesel::update(target.filter(invoices::reminder_sent_at.is_null()))
            .set(invoices::reminder_sent_at.eq(now))
            .execute(conn)?,
        Notice::Overdue => diesel::update(target.filter(invoices::overdue_notice_sent_at.is_null()))
            .set(invoices::overdue_notice_sent_at.eq(now))
            .execute(conn)?,
    };
    Ok(updated == 1)
}

#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub status: Option<InvoiceStatus>,
    pub buyer_id: Option<String>,
    pub kind: Option<InvoiceKind>,
    pub due_before: Option<NaiveDateTime>,
    /// A prefix of the number.
    pub q: Option<String>,
    pub before_id: Option<String>,
}

/// The invoice with the actor's relation to its buyer, if the actor reaches it.
pub fn find_in_reach(
    conn: &mut DbConnection,
    reach: &Reach,
    id: &str,
) -> Result<Option<(InvoiceRow, Relation)>, StoreError> {
    let Some(row) = find(conn, id)? else { return Ok(None) };
    let relation = authorizations::relation_to(conn, reach, &row.buyer_id, row.service_id.as_deref())?;
    Ok(relation.map(|relation| (row, relation)))
}

/// One page of the invoices the actor reaches, newest first.
pub fn list_in_reach(
    conn: &mut DbConnection,
    reach: &Reach,
    granted: &GrantedServices,
    filter: &InvoiceFilter,
    limit: i64,
) -> Result<Vec<InvoiceRow>, StoreError> {
    let mut query = invoices::table.filter(reached!(invoices, buyer_id, service_id, reach, granted)).into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(invoices::status.eq(status.as_str()));
    }
    if let Some(buyer) = &filter.buyer_id {
        query = query.filter(invoices::buyer_id.eq(buyer));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(invoices::kind.eq(kind.as_str()));
    }
    if let Some(due_before) = filter.due_before {
        query = query.filter(invoices::due_at.lt(due_before));
    }
    if let Some(q) = &filter.q {
        query = query.filter(invoices::number.like(format!("{}%", escape_like(q))).escape('\\'));
    }
    if let Some(before) = &filter.before_id {
        query = query.filter(invoices::id.lt(before));
    }
    Ok(query.order(invoices::id.desc()).limit(limit).select(InvoiceRow::as_select()).planned_each_time().load(conn)?)
}
