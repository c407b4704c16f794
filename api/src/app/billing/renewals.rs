//! Recurring billing, done by the worker each round (API.md "Recurring billing"):
//!
//! 1. a renewal invoice for each service that renews automatically, once its
//!    `next_due_at` is within its seller's `renewal_invoice_days`: one per service and
//!    period (a unique index, whatever the number of workers), paid at once from the
//!    buyer's credit where that suffices;
//! 2. a reminder 3 days before due and a notice the day after, each once;
//! 3. an unpaid renewal `overdue_suspend_days` after due suspends the service (reason
//!    `overdue`), `overdue_expire_days` after due expires it; a renewal of a service that
//!    is being cancelled, cancelled or terminated is voided instead.
//!
//! Paying a renewal invoice, by any route, extends `next_due_at` by one cycle from the
//! period's start, lifts only the `overdue` suspension and makes an expired service
//! active again ([`renewal_paid`]).

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::billing::document::InvoiceStatus;
use hostadmin_domain::billing::ledger::PaymentMethod;
use hostadmin_domain::billing::renewal::{self as rules, Overdue, ServiceTerms, OVERDUE};
use hostadmin_domain::billing::settings::BillingSettings;
use hostadmin_domain::provisioning::Provisioner;
use hostadmin_domain::services::{transition, ServiceAction, ServiceStatus};
use hostadmin_domain::time;
use hostadmin_domain::validation::Reason;
use hostadmin_persistence::accounts as account_store;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::billing_settings as settings_store;
use hostadmin_persistence::credit as credit_store;
use hostadmin_persistence::invoices::{self as invoice_store, InvoiceRow, Notice};
use hostadmin_persistence::services::{self as service_store, ServiceRow, ServiceState};
use hostadmin_persistence::DbConnection;

use super::invoices::{self, Charge, Issue};
use super::notify;
use super::payments::{self, Payment};
use crate::app::lifecycle::{self, Change};
use crate::config::Config;
use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// The reminder goes this long before due.
const REMINDER_BEFORE: Duration = Duration::days(3);
/// The overdue notice goes this long after due.
const NOTICE_AFTER: Duration = Duration::days(1);
/// Services or invoices looked at per batch.
const BATCH: i64 = 200;

/// What one round did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Round {
    pub invoiced: usize,
    pub handled: usize,
}

/// Issues the renewal invoices that are due, then handles unpaid ones.
pub async fn run(state: &AppState) -> Result<Round, ApiError> {
    Ok(Round { invoiced: issue_due(state).await?, handled: handle_unpaid(state).await? })
}

/// The worker acts on nobody's behalf.
fn worker_context() -> AuditContext {
    AuditContext::default()
}

async fn issue_due(state: &AppState) -> Result<usize, ApiError> {
    let (due, unbilled) = state
        .db
        .run(|conn| {
            let now = time::now();
            let all = settings_store::all(conn)?;
            let Some(longest) = all.iter().map(|(_, settings)| settings.renewal_invoice_days).max() else {
                return Ok((Vec::new(), Vec::new()));
            };
            // Soonest first within the longest window; a seller with a shorter one waits
            // for its services to come into it (checked below).
            let horizon = now + Duration::days(i64::from(longest));
            let ids = invoice_store::services_to_invoice(conn, horizon, BATCH)?;
            let mut sellers = Sellers(all.into_iter().map(|(seller, settings)| (seller, Some(settings))).collect());
            let (mut due, mut unbilled) = (Vec::new(), Vec::new());
            for id in ids {
                let Some(service) = service_store::find(conn, &id)? else { continue };
                match sellers.window(conn, &service, now)? {
                    Window::Open => due.push(id),
                    Window::NotYet => {}
                    Window::NoSettings => unbilled.push((id, service.next_due_at)),
                }
            }
            Ok((due, unbilled))
        })
        .await?;
    // A seller without settings invoices nothing: its services leave the scan until
    // their next period (settings set meanwhile apply from then on).
    if !unbilled.is_empty() {
        state
            .db
            .write(move |conn| {
                for (id, period_start) in &unbilled {
                    invoice_store::mark_renewal_handled(conn, id, Some(*period_start))?;
                }
                Ok(())
            })
            .await?;
    }
    let mut issued = 0;
    for id in due {
        let (config, provisioner) = (state.config.clone(), state.provisioner.clone());
        let service = id.clone();
        match state.db.write(move |conn| issue_for(conn, &config, provisioner.as_ref(), &service, time::now())).await {
            Ok(true) => issued += 1,
            Ok(false) => {}
            Err(error) => tracing::warn!(service = %id, error = %error, "issuing a renewal invoice failed"),
        }
    }
    Ok(issued)
}

/// Where a service stands to its seller's renewal window.
enum Window {
    Open,
    NotYet,
    NoSettings,
}

/// The sellers' settings, read once per round.
#[derive(Default)]
struct Sellers(HashMap<Option<String>, Option<BillingSettings>>);

impl Sellers {
    fn of(&mut self, conn: &mut DbConnection, seller_id: Option<String>) -> Result<Option<&BillingSettings>, ApiError> {
        if !self.0.contains_key(&seller_id) {
            let settings = settings_store::find(conn, seller_id.as_deref())?.map(|row| row.settings);
            self.0.insert(seller_id.clone(), settings);
        }
        Ok(self.0.get(&seller_id).and_then(Option::as_ref))
    }

    /// Whether the service's seller invoices it by now.
    fn window(
        &mut self,
        conn: &mut DbConnection,
        service: &ServiceRow,
        now: NaiveDateTime,
    ) -> Result<Window, ApiError> {
        let Some(owner) = account_store::find(conn, &service.owner_id)? else { return Ok(Window::NotYet) };
        Ok(match self.of(conn, owner.parent_id)? {
            None => Window::NoSettings,
            Some(settings) if rules::invoice_due(service.next_due_at, settings.renewal_invoice_days, now) => {
                Window::Open
            }
            Some(_) => Window::NotYet,
        })
    }
}

/// Issues the renewal invoice of one service if it is still due (checked again inside
/// the transaction); answers whether it did.
fn issue_for(
    conn: &mut DbConnection,
    config: &Config,
    provisioner: &dyn Provisioner,
    id: &str,
    now: NaiveDateTime,
) -> Result<bool, ApiError> {
    let Some(service) = service_store::find(conn, id)? else { return Ok(false) };
    if !rules::renews(service.status, service.auto_renew, service.has_pending_cancellation())
        || !matches!(Sellers::default().window(conn, &service, now)?, Window::Open)
        || invoice_store::renewal_issued(conn, &service.id, service.next_due_at)?
    {
        return Ok(false);
    }
    let Some(period_end) = service.cycle.advance(service.next_due_at, 1) else { return Ok(false) };
    let owner = account_store::find(conn, &service.owner_id)?.ok_or_else(ApiError::not_found)?;
    let charge = Charge {
        description: format!("Renewal of service {} ({}), {}", service.number, service.name, service.cycle.as_str()),
        amount_minor: service.recurring_amount_minor,
        service_id: Some(service.id.clone()),
        period: Some((service.next_due_at, period_end)),
    };
    let context = worker_context();
    let invoice = invoices::issue(
        conn,
        &context,
        &Issue {
            seller_id: owner.parent_id.as_deref(),
            buyer: &owner,
            service_id: Some(&service.id),
            currency: &service.currency,
            charges: std::slice::from_ref(&charge),
            order_id: None,
            // Never before the invoice itself (a service billed late is due at once).
            due_at: Some(service.next_due_at.max(now)),
            renewal_period_start: Some(service.next_due_at),
            now,
        },
    )?;
    invoice_store::mark_renewal_handled(conn, &service.id, Some(service.next_due_at))?;
    if invoice.status == InvoiceStatus::Paid {
        renewal_paid(conn, provisioner, &context, &invoice, now)?;
        return Ok(true);
    }
    let balance = credit_store::balance(conn, &invoice.buyer_id, &invoice.currency)?;
    if balance >= invoice.amount_due_minor() {
        let payment = Payment {
            amount_minor: invoice.amount_due_minor(),
            method: PaymentMethod::Credit,
            reference: None,
            received_at: now,
            recorded_by: None,
        };
        payments::pay(conn, config, provisioner, &context, invoice, &payment, now)?;
    } else {
        notify::invoice_issued(conn, config, &invoice, now)?;
    }
    Ok(true)
}

/// Reminders, notices, suspensions, expiries and voids of unpaid renewal invoices.
async fn handle_unpaid(state: &AppState) -> Result<usize, ApiError> {
    let mut after: Option<String> = None;
    let mut handled = 0;
    loop {
        let cursor = after.clone();
        let batch = state
            .db
            .run(move |conn| {
                let horizon = time::now() + REMINDER_BEFORE;
                Ok(invoice_store::unpaid_renewals_due_before(conn, horizon, cursor.as_deref(), BATCH)?)
            })
            .await?;
        let Some(last) = batch.last() else { return Ok(handled) };
        after = Some(last.id.clone());
        for invoice in batch {
            let (config, provisioner) = (state.config.clone(), state.provisioner.clone());
            let id = invoice.id.clone();
            match state.db.write(move |conn| handle(conn, &config, provisioner.as_ref(), &id, time::now())).await {
                Ok(true) => handled += 1,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(invoice = %invoice.id, error = %error, "handling an unpaid renewal failed")
                }
            }
        }
    }
}

/// One unpaid renewal invoice, read again under its lock: void it if its service no
/// longer renews, else send what is due and suspend or expire the service by the
/// seller's settings. Answers whether anything changed.
fn handle(
    conn: &mut DbConnection,
    config: &Config,
    provisioner: &dyn Provisioner,
    id: &str,
    now: NaiveDateTime,
) -> Result<bool, ApiError> {
    let Some(invoice) = invoice_store::find_for_update(conn, id)? else { return Ok(false) };
    let (Some(service_id), Some(_)) = (invoice.service_id.clone(), invoice.renewal_period_start) else {
        return Ok(false);
    };
    if invoice.status != InvoiceStatus::Unpaid {
        return Ok(false);
    }
    let Some(service) = service_store::find(conn, &service_id)? else { return Ok(false) };
    let context = worker_context();
    let ended = matches!(service.status, ServiceStatus::Cancelled | ServiceStatus::Terminated);
    if (ended || service.has_pending_cancellation()) && invoice.amount_paid_minor == 0 {
        return void(conn, &context, &invoice, now);
    }
    let mut changed = false;
    if invoice.due_at - REMINDER_BEFORE <= now && invoice.due_at > now {
        changed |= send_once(conn, config, &invoice, Notice::Reminder, now)?;
    }
    if invoice.due_at + NOTICE_AFTER <= now {
        changed |= send_once(conn, config, &invoice, Notice::Overdue, now)?;
    }
    let Some(settings) = settings_store::find(conn, invoice.seller_id.as_deref())?.map(|row| row.settings) else {
        return Ok(changed);
    };
    let overdue = rules::overdue(
        service.status,
        invoice.due_at,
        settings.overdue_suspend_days,
        settings.overdue_expire_days,
        now,
    );
    let (action, change) = match overdue {
        None => return Ok(changed),
        Some(Overdue::Expire) => (actions::SERVICE_EXPIRE, expiry()),
        Some(Overdue::Suspend) => {
            let reason = Reason::parse(OVERDUE).map_err(|e| ApiError::internal(e.detail))?;
            (actions::SERVICE_SUSPEND, lifecycle::suspension(reason))
        }
    };
    lifecycle::apply_in(conn, provisioner, &context, &service.id, &IfMatch::Absent, action, &change, now)?;
    Ok(true)
}

/// An unpaid renewal expires its service: the suspension reason goes with it, as when a
/// period ends unrenewed.
fn expiry() -> Change {
    Box::new(|row, _| {
        let status = transition(row.status, ServiceAction::PeriodEndedUnrenewed, row.has_pending_cancellation())
            .map_err(|refused| ApiError::conflict(refused.code(), refused.detail()))?;
        let next = ServiceState { status, suspension_reason: None, ..ServiceState::of(row) };
        Ok((next, serde_json::json!({ "reason": "unpaid renewal" })))
    })
}

fn send_once(
    conn: &mut DbConnection,
    config: &Config,
    invoice: &InvoiceRow,
    notice: Notice,
    now: NaiveDateTime,
) -> Result<bool, ApiError> {
    if !invoice_store::claim_notice(conn, &invoice.id, notice, now)? {
        return Ok(false);
    }
    match notice {
        Notice::Reminder => notify::renewal_reminder(conn, config, invoice, now)?,
        Notice::Overdue => notify::renewal_overdue(conn, config, invoice, now)?,
    }
    Ok(true)
}

fn void(
    conn: &mut DbConnection,
    context: &AuditContext,
    invoice: &InvoiceRow,
    now: NaiveDateTime,
) -> Result<bool, ApiError> {
    if !invoice_store::settle(conn, invoice, 0, InvoiceStatus::Void, None, now)? {
        return Err(ApiError::Busy("the invoice changed during the round".into()));
    }
    audit::record(
        conn,
        context,
        NewEvent {
            action: actions::INVOICE_VOID,
            target_type: target::INVOICE,
            target_id: &invoice.id,
            account_id: Some(&invoice.buyer_id),
            details: serde_json::json!({ "number": invoice.number, "reason": "the service no longer renews" }),
        },
        now,
    )?;
    Ok(true)
}

/// A renewal invoice was paid in full: one cycle more from the period's start (never
/// less than the service already has), the `overdue` suspension lifted, an expired
/// service active again. A service that ended meanwhile keeps its state.
pub fn renewal_paid(
    conn: &mut DbConnection,
    provisioner: &dyn Provisioner,
    context: &AuditContext,
    invoice: &InvoiceRow,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let (Some(service_id), Some(period_start)) = (invoice.service_id.as_deref(), invoice.renewal_period_start) else {
        return Ok(());
    };
    let Some(service) = service_store::find(conn, service_id)? else { return Ok(()) };
    if !matches!(service.status, ServiceStatus::Active | ServiceStatus::Suspended | ServiceStatus::Expired) {
        return Ok(());
    }
    let number = invoice.number.clone();
    let change: Change = Box::new(move |row, _| {
        let until = row.cycle.advance(period_start, 1).ok_or_else(|| ApiError::internal("a period out of range"))?;
        let terms = ServiceTerms {
            status: row.status,
            suspension_reason: row.suspension_reason.clone(),
            next_due_at: row.next_due_at,
        };
        let paid = rules::after_payment(&terms, until).unwrap_or(terms);
        let next = ServiceState {
            status: paid.status,
            suspension_reason: paid.suspension_reason,
            next_due_at: paid.next_due_at,
            ..ServiceState::of(row)
        };
        let details = serde_json::json!({
            "invoice": number, "from": time::to_utc(row.next_due_at), "to": time::to_utc(next.next_due_at),
            "status": next.status.as_str(),
        });
        Ok((next, details))
    });
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
    Ok(())
}
