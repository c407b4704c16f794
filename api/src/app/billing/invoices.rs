//! Invoices and credit notes: issued in the transaction that causes them, with copies of
//! seller, buyer and lines; afterwards only payments and the status change. A credit
//! note is the only correction.

use std::collections::HashMap;
use std::num::{NonZeroU32, NonZeroU64};

use chrono::NaiveDateTime;
use uuid::Uuid;

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::authorizations::Permission;
use hostadmin_domain::billing::document::{DocumentHeader, DocumentKind, InvoiceDocument, InvoiceStatus};
use hostadmin_domain::billing::ledger::InvoiceKind;
use hostadmin_domain::billing::numbering::InvoiceNumber;
use hostadmin_domain::billing::parties::{buyer_snapshot, tax_buyer};
use hostadmin_domain::billing::tax::decide_tax;
use hostadmin_domain::billing::totals::{InvoiceLine, Period, Totals, MAX_DESCRIPTION_CHARS};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::money::Currency;
use hostadmin_domain::policy::{Action, Actor, Authorized};
use hostadmin_domain::time;
use hostadmin_domain::validation::{Invalid, Reason};
use hostadmin_persistence::accounts::AccountRow;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::authorizations as grant_store;
use hostadmin_persistence::credit::{self as credit_store, CreditChange};
use hostadmin_persistence::invoices::{self as store, InvoiceFilter, InvoiceRow, NewInvoice};
use hostadmin_persistence::orders::{self as order_store, OrderChanges};
use hostadmin_persistence::{DbConnection, StoreError};

use super::{acts_as_seller, settings_of};
use crate::app::access::{self, Reached};
use crate::http::problem::ApiError;
use crate::state::AppState;

/// One line to bill: its text, its net amount, and the service and period it is for.
#[derive(Debug, Clone)]
pub struct Charge {
    pub description: String,
    pub amount_minor: i64,
    pub service_id: Option<String>,
    pub period: Option<(NaiveDateTime, NaiveDateTime)>,
}

/// An invoice to issue now.
#[derive(Debug, Clone)]
pub struct Issue<'a> {
    pub seller_id: Option<&'a str>,
    pub buyer: &'a AccountRow,
    pub service_id: Option<&'a str>,
    pub currency: &'a Currency,
    pub charges: &'a [Charge],
    pub order_id: Option<&'a str>,
    /// `None`: the seller's payment terms from now.
    pub due_at: Option<NaiveDateTime>,
    /// A renewal invoice: the start of the period it bills (one per service and period).
    pub renewal_period_start: Option<NaiveDateTime>,
    pub now: NaiveDateTime,
}

/// Issues an invoice in the caller's transaction: taxed by the seller's settings and the
/// buyer's profile as they are now, numbered from the seller's gapless sequence, audited.
pub fn issue(conn: &mut DbConnection, context: &AuditContext, issue: &Issue) -> Result<InvoiceRow, ApiError> {
    let settings = settings_of(conn, issue.seller_id)?;
    let decision = decide_tax(&settings.tax_settings(), &tax_buyer(&issue.buyer.profile));
    let lines = issue.charges.iter().map(|charge| line(charge, decision.rate)).collect::<Result<Vec<_>, ApiError>>()?;
    let totals = Totals::of(&lines, issue.currency).map_err(ApiError::internal)?;
    let due_at = match issue.due_at {
        Some(due_at) => due_at,
        None => issue.now + chrono::Duration::days(i64::from(settings.payment_terms_days)),
    };
    let paid = totals.total_minor == 0;
    let new = NewInvoice {
        id: &new_id(),
        kind: InvoiceKind::Invoice,
        prefix: settings.invoice_prefix.as_str(),
        status: if paid { InvoiceStatus::Paid } else { InvoiceStatus::Unpaid },
        seller_id: issue.seller_id,
        buyer_id: &issue.buyer.id,
        service_id: issue.service_id,
        currency: issue.currency,
        seller: &settings.snapshot(),
        buyer: &buyer_snapshot(&issue.buyer.name, &issue.buyer.email, &issue.buyer.profile),
        lines: &lines,
        reverse_charge: decision.reverse_charge,
        subtotal_minor: totals.subtotal_minor,
        tax_minor: totals.tax_minor,
        total_minor: totals.total_minor,
        amount_paid_minor: 0,
        order_id: issue.order_id,
        credit_note_for: None,
        renewal_period_start: issue.renewal_period_start,
        issued_at: issue.now,
        due_at,
        paid_at: paid.then_some(issue.now),
    };
    insert(conn, context, &new, &settings.invoice_prefix)
}

fn line(charge: &Charge, rate: hostadmin_domain::billing::tax::TaxRate) -> Result<InvoiceLine, ApiError> {
    let line = InvoiceLine::new(charge.description.clone(), NonZeroU32::MIN, charge.amount_minor, rate)
        .map_err(|invalid| ApiError::internal(format!("an invoice line was refused: {}", invalid.detail)))?;
    let Some(service_id) = charge.service_id.as_deref().and_then(|id| Uuid::try_parse(id).ok()) else {
        return Ok(line);
    };
    let period = charge.period.and_then(|(start, end)| Period::new(time::to_utc(start), time::to_utc(end)).ok());
    Ok(line.for_service(service_id, period))
}

/// Takes the seller's next number, checks the document can be built, inserts and audits.
fn insert(
    conn: &mut DbConnection,
    context: &AuditContext,
    new: &NewInvoice,
    prefix: &hostadmin_domain::billing::numbering::InvoicePrefix,
) -> Result<InvoiceRow, ApiError> {
    let sequence = store::next_sequence(conn, new.seller_id)?;
    let number = InvoiceNumber::new(
        prefix,
        NonZeroU64::new(u64::try_from(sequence).map_err(ApiError::internal)?)
            .ok_or_else(|| ApiError::internal("an invoice sequence of 0"))?,
    );
    store::insert(conn, new, sequence, number.as_str()).map_err(|error| match error {
        // Two workers issued one period's renewal at once: the loser's transaction is
        // tried again and finds the winner's invoice.
        StoreError::Unique(index) if index.contains("renewal_period") => {
            ApiError::Busy("the renewal invoice was issued meanwhile".into())
        }
        other => other.into(),
    })?;
    let row = store::find(conn, new.id)?.ok_or_else(|| ApiError::internal("the new invoice vanished"))?;
    let credits = match &row.credit_note_for {
        Some(id) => Some(store::find(conn, id)?.ok_or_else(|| ApiError::internal("the credited invoice vanished"))?),
        None => None,
    };
    // Refuses what no document could show (a taxed reverse charge, a date out of range).
    document(&row, credits.as_ref())?;
    audit::record(
        conn,
        context,
        NewEvent {
            action: if new.kind == InvoiceKind::Invoice {
                actions::INVOICE_ISSUE
            } else {
                actions::INVOICE_CREDIT_NOTE
            },
            target_type: target::INVOICE,
            target_id: &row.id,
            account_id: Some(&row.buyer_id),
            details: serde_json::json!({
                "number": row.number, "kind": row.kind, "total_minor": row.total_minor, "currency": row.currency,
                "order_id": row.order_id, "credit_note_for": row.credit_note_for,
            }),
        },
        new.issued_at,
    )?;
    Ok(row)
}

/// The stored invoice as the document the renderers read; `credits` is the invoice a
/// credit note corrects.
pub fn document(row: &InvoiceRow, credits: Option<&InvoiceRow>) -> Result<InvoiceDocument, ApiError> {
    let kind = match (row.kind, credits) {
        (InvoiceKind::Invoice, _) => DocumentKind::Invoice,
        (InvoiceKind::CreditNote, Some(credited)) => DocumentKind::CreditNote {
            credits: InvoiceNumber::parse(&credited.number).map_err(|e| ApiError::internal(e.detail))?,
        },
        (InvoiceKind::CreditNote, None) => return Err(ApiError::internal("a credit note without its invoice")),
    };
    let header = DocumentHeader {
        kind,
        number: InvoiceNumber::parse(&row.number).map_err(|e| ApiError::internal(e.detail))?,
        status: row.status,
        issued_at: time::to_utc(row.issued_at),
        due_at: time::to_utc(row.due_at),
        currency: row.currency.clone(),
        reverse_charge: row.reverse_charge,
        payment_reference: row.payment_reference.clone(),
        amount_paid_minor: row.amount_paid_minor,
    };
    InvoiceDocument::new(header, row.seller.clone(), row.buyer.clone(), row.lines.clone())
        .map_err(|e| ApiError::internal(format!("invoice {} cannot be shown: {e}", row.number)))
}

/// The invoice `id` as the actor reaches it (the buyer, above it, or a grantee with
/// `billing` on its service); 404 outside that.
pub async fn reach(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    id: &str,
) -> Result<Reached<InvoiceRow>, ApiError> {
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

/// One page of the invoices the actor reaches, newest first.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    _: Authorized,
    filter: InvoiceFilter,
    limit: i64,
) -> Result<Vec<(InvoiceRow, Option<InvoiceRow>)>, ApiError> {
    let reach = actor.reach();
    state
        .db
        .run(move |conn| {
            let granted = grant_store::granted_services(conn, &reach, Permission::Billing)?;
            let rows = store::list_in_reach(conn, &reach, &granted, &filter, limit)?;
            // The invoices the page's credit notes correct, in one statement, not one each.
            let ids: Vec<&str> = rows.iter().filter_map(|row| row.credit_note_for.as_deref()).collect();
            let credited: HashMap<String, InvoiceRow> =
                store::find_many(conn, &ids)?.into_iter().map(|row| (row.id.clone(), row)).collect();
            Ok(rows
                .into_iter()
                .map(|row| {
                    let credits = row.credit_note_for.as_ref().and_then(|id| credited.get(id).cloned());
                    (row, credits)
                })
                .collect())
        })
        .await
}

/// An invoice with what its documents need: the invoice a credit note corrects.
pub async fn with_credited(state: &AppState, row: InvoiceRow) -> Result<(InvoiceRow, Option<InvoiceRow>), ApiError> {
    let Some(credited) = row.credit_note_for.clone() else { return Ok((row, None)) };
    let credited = state.db.run(move |conn| Ok(store::find(conn, &credited)?)).await?;
    Ok((row, credited))
}

/// `403 forbidden` unless the actor is the seller that issued the invoice.
pub fn require_seller(actor: &Actor, row: &InvoiceRow) -> Result<(), ApiError> {
    if acts_as_seller(actor, row.seller_id.as_deref()) {
        Ok(())
    } else {
        Err(ApiError::forbidden("only the seller that issued the invoice records its payments, voids or credits it"))
    }
}

/// Voids an unpaid invoice without payments; its pending order is cancelled.
pub async fn void(state: &AppState, actor: &Actor, invoice: Reached<InvoiceRow>) -> Result<InvoiceRow, ApiError> {
    invoice.expect(Action::ManageInvoices)?;
    require_seller(actor, &invoice.row)?;
    let context = AuditContext::of(actor);
    let id = invoice.row.id;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = store::find_for_update(conn, &id)?.ok_or_else(ApiError::not_found)?;
            if row.status != InvoiceStatus::Unpaid || row.amount_paid_minor != 0 || row.kind != InvoiceKind::Invoice {
                return Err(ApiError::conflict(
                    "invalid_transition",
                    format!(
                        "only an unpaid invoice without payments can be voided; this one is {}",
                        row.status.as_str()
                    ),
                ));
            }
            if !store::settle(conn, &row, 0, InvoiceStatus::Void, None, now)? {
                return Err(ApiError::Busy("the invoice changed during the request".into()));
            }
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::INVOICE_VOID,
                    target_type: target::INVOICE,
                    target_id: &row.id,
                    account_id: Some(&row.buyer_id),
                    details: serde_json::json!({ "number": row.number, "order_id": row.order_id }),
                },
                now,
            )?;
            if let Some(order_id) = &row.order_id {
                super::orders::cancel_in(conn, &context, order_id, now)?;
            }
            store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)
        })
        .await
}

/// A credit note for a paid invoice: all of what is not yet credited, or `amount_minor`
/// of it (net, taxed at the invoice's rate); the credited total goes to the buyer's
/// credit.
pub async fn credit_note(
    state: &AppState,
    actor: &Actor,
    invoice: Reached<InvoiceRow>,
    reason: Reason,
    amount_minor: Option<i64>,
) -> Result<InvoiceRow, ApiError> {
    invoice.expect(Action::ManageInvoices)?;
    require_seller(actor, &invoice.row)?;
    let context = AuditContext::of(actor);
    let me = actor.account_id.clone();
    let id = invoice.row.id;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = store::find_for_update(conn, &id)?.ok_or_else(ApiError::not_found)?;
            if row.kind != InvoiceKind::Invoice || row.status != InvoiceStatus::Paid {
                return Err(ApiError::conflict(
                    "invalid_transition",
                    "a credit note corrects a paid invoice; void an unpaid one instead",
                ));
            }
            let credited: i64 = store::credit_notes_for(conn, &row.id)?.iter().map(|note| -note.total_minor).sum();
            let lines = credit_lines(&row, reason.as_str(), amount_minor, credited)?;
            let left = row.total_minor - credited;
            let too_much = || {
                ApiError::field(
                    "/amount_minor",
                    Invalid::new("exceeds_creditable", format!("at most {left} of the invoice is not yet credited")),
                )
            };
            // An amount whose tax does not fit the arithmetic is more than any invoice.
            let totals = Totals::of(&lines, &row.currency).map_err(|_| too_much())?;
            if -totals.total_minor > left {
                return Err(too_much());
            }
            let settings = settings_of(conn, row.seller_id.as_deref())?;
            let new = NewInvoice {
                id: &new_id(),
                kind: InvoiceKind::CreditNote,
                prefix: settings.invoice_prefix.as_str(),
                status: InvoiceStatus::Paid,
                seller_id: row.seller_id.as_deref(),
                buyer_id: &row.buyer_id,
                service_id: row.service_id.as_deref(),
                currency: &row.currency,
                seller: &row.seller,
                buyer: &row.buyer,
                lines: &lines,
                reverse_charge: row.reverse_charge,
                subtotal_minor: totals.subtotal_minor,
                tax_minor: totals.tax_minor,
                total_minor: totals.total_minor,
                amount_paid_minor: totals.total_minor,
                order_id: None,
                credit_note_for: Some(&row.id),
                renewal_period_start: None,
                issued_at: now,
                due_at: now,
                paid_at: Some(now),
            };
            let note = insert(conn, &context, &new, &settings.invoice_prefix)?;
            let change = CreditChange {
                id: &new_id(),
                account_id: &row.buyer_id,
                currency: &row.currency,
                amount_minor: -note.total_minor,
                reason: &format!("credit note {} for {}: {}", note.number, row.number, reason.as_str()),
                invoice_id: Some(&note.id),
                payment_id: None,
                created_by: Some(&me),
                now,
            };
            credit_store::change(conn, &change)?.ok_or_else(|| ApiError::internal("crediting a buyer was refused"))?;
            Ok(note)
        })
        .await
}

/// The lines of a credit note: every line negated when the rest of the invoice is
/// credited at once; otherwise one line of `amount_minor` at the invoice's single rate.
fn credit_lines(
    row: &InvoiceRow,
    reason: &str,
    amount_minor: Option<i64>,
    credited: i64,
) -> Result<Vec<InvoiceLine>, ApiError> {
    let whole = amount_minor.is_none() && credited == 0;
    if whole {
        return row
            .lines
            .iter()
            .map(|line| {
                let negated =
                    InvoiceLine::new(line.description(), line.quantity(), -line.unit_amount_minor(), line.tax_rate())
                        .map_err(|e| ApiError::internal(e.detail))?;
                Ok(match line.service_id() {
                    Some(service_id) => negated.for_service(service_id, line.period()),
                    None => negated,
                })
            })
            .collect();
    }
    let Some(amount) = amount_minor else {
        return Err(ApiError::field(
            "/amount_minor",
            Invalid::new("required", "part of the invoice is credited already: say how much more to credit"),
        ));
    };
    let mut rates = row.lines.iter().map(InvoiceLine::tax_rate);
    let rate = rates.next().ok_or_else(|| ApiError::internal("an invoice without lines"))?;
    if rates.any(|other| other != rate) {
        return Err(ApiError::field(
            "/amount_minor",
            Invalid::new("several_tax_rates", "an invoice with several tax rates is credited as a whole"),
        ));
    }
    // The reason may use all of its 1000 characters: the line keeps what fits.
    let description = format!("Credit for {}: {reason}", row.number);
    let description = if description.chars().count() > MAX_DESCRIPTION_CHARS {
        let mut cut: String = description.chars().take(MAX_DESCRIPTION_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        description
    };
    let line = InvoiceLine::new(description, NonZeroU32::MIN, -amount, rate)
        .map_err(|invalid| ApiError::field("/reason", invalid))?;
    Ok(vec![line])
}

/// Marks an order's invoice: the order knows its invoice once both exist.
pub fn link_order(conn: &mut DbConnection, order_id: &str, version: i64, invoice_id: &str) -> Result<(), ApiError> {
    let changes = OrderChanges { invoice_id: Some(invoice_id), ..OrderChanges::default() };
    if order_store::update(conn, order_id, version, &changes, time::now())? {
        Ok(())
    } else {
        Err(ApiError::Busy("the order changed during the request".into()))
    }
}
