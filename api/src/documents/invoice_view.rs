//! What an invoice shows to people, worded and formatted once for the HTML page and the
//! PDF.

use chrono::{DateTime, Utc};
use hostadmin_domain::billing::document::{InvoiceDocument, InvoiceStatus};
use hostadmin_domain::billing::tax::TaxCategory;
use serde::Serialize;

/// The note a reverse-charged document carries (EU VAT Directive, Art. 196 and 226(11a)).
pub const REVERSE_CHARGE_NOTE: &str =
    "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC).";

/// An invoice or credit note as text, ready to be laid out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceView {
    /// "Invoice" or "Credit note".
    pub title: &'static str,
    pub number: String,
    /// The status, for a stamp on anything that is not simply issued: "Paid", "Void".
    pub stamp: Option<&'static str>,
    /// "Credit note for invoice INV-000001".
    pub credits: Option<String>,
    pub issued_on: String,
    pub due_on: String,
    pub seller: PartyView,
    pub buyer: PartyView,
    pub currency: String,
    pub lines: Vec<LineView>,
    pub tax_breakdown: Vec<TaxView>,
    pub subtotal: String,
    pub tax: String,
    pub total: String,
    /// Shown when something was paid: the amount paid and what remains due.
    pub paid: Option<String>,
    pub due: String,
    pub reverse_charge_note: Option<&'static str>,
    pub payment_reference: String,
    /// How to pay what is due, or what happens to a credit.
    pub payment_instruction: Option<String>,
}

/// A seller or buyer block: the name, the address lines, then labelled details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyView {
    pub name: String,
    pub address: Vec<String>,
    /// ("VAT ID", "DE136695976"), ("IBAN", ...), ("Email", ...).
    pub details: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineView {
    pub description: String,
    /// "2026-01-01 – 2027-01-01".
    pub period: Option<String>,
    pub quantity: String,
    pub unit_amount: String,
    pub tax_rate: String,
    pub amount: String,
}

/// One row of the tax per rate: "VAT 21 %" on 10.00, 2.10.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxView {
    pub label: String,
    pub taxable: String,
    pub tax: String,
}

impl InvoiceView {
    pub fn of(document: &InvoiceDocument) -> Self {
        let currency = document.currency();
        let amount = |minor: i64| currency.decimal(minor);
        let seller = document.seller();
        let buyer = document.buyer();
        let seller_view = PartyView {
            name: printable(&seller.legal_name),
            address: non_empty([
                printable(&seller.address.street),
                printable(&format!("{} {}", seller.address.postal_code, seller.address.city)),
                seller.address.country.to_string(),
            ]),
            details: [
                seller.vat_id.as_deref().map(|id| ("VAT ID", printable(id))),
                seller.iban.as_ref().map(|iban| ("IBAN", iban.to_string())),
                seller.email.as_deref().map(|email| ("Email", printable(email))),
            ]
            .into_iter()
            .flatten()
            .collect(),
        };
        let buyer_view = PartyView {
            name: printable(&buyer.legal_name),
            address: non_empty([
                buyer.address.street.as_deref().map(printable).unwrap_or_default(),
                printable(&format!(
                    "{} {}",
                    buyer.address.postal_code.as_deref().unwrap_or_default(),
                    buyer.address.city.as_deref().unwrap_or_default()
                )),
                buyer.address.country.map(|c| c.to_string()).unwrap_or_default(),
            ]),
            details: buyer.vat_id.as_deref().map(|id| ("VAT ID", printable(id))).into_iter().collect(),
        };
        Self {
            title: if document.is_credit_note() { "Credit note" } else { "Invoice" },
            number: document.number().to_string(),
            stamp: match document.status() {
                InvoiceStatus::Unpaid => None,
                InvoiceStatus::Paid => Some("Paid"),
                InvoiceStatus::Void => Some("Void"),
            },
            credits: document.credit_note_for().map(|number| format!("Credit note for invoice {number}")),
            issued_on: day(document.issued_at()),
            due_on: day(document.due_at()),
            seller: seller_view,
            buyer: buyer_view,
            currency: currency.to_string(),
            lines: document
                .lines()
                .iter()
                .map(|line| LineView {
                    description: printable(line.description()),
                    period: line.period().map(|p| format!("{} – {}", day(p.start()), day(p.end()))),
                    quantity: line.quantity().to_string(),
                    unit_amount: amount(line.unit_amount_minor()),
                    tax_rate: format!("{} %", line.tax_rate()),
                    amount: amount(line.amount_minor()),
                })
                .collect(),
            tax_breakdown: document
                .tax_breakdown()
                .iter()
                .map(|entry| TaxView {
                    label: tax_label(document.tax_category(entry), &entry.rate.to_string()),
                    taxable: amount(entry.taxable_minor),
                    tax: amount(entry.tax_minor),
                })
                .collect(),
            subtotal: amount(document.subtotal_minor()),
            tax: amount(document.tax_minor()),
            total: amount(document.total_minor()),
            paid: (document.amount_paid_minor() != 0).then(|| amount(document.amount_paid_minor())),
            due: amount(document.amount_due_minor()),
            reverse_charge_note: document.reverse_charge().then_some(REVERSE_CHARGE_NOTE),
            payment_reference: printable(document.payment_reference()),
            payment_instruction: payment_instruction(document),
        }
    }
}

fn payment_instruction(document: &InvoiceDocument) -> Option<String> {
    let due = document.amount_due_minor();
    let currency = document.currency();
    if document.status() == InvoiceStatus::Void {
        return None;
    }
    if document.is_credit_note() {
        return Some("The amount of this credit note is added to your credit balance.".to_owned());
    }
    if due <= 0 {
        return None;
    }
    let to = match &document.seller().iban {
        Some(iban) => format!(" to IBAN {iban}"),
        None => String::new(),
    };
    Some(format!(
        "Please pay {} {currency} by {}{to}, quoting the payment reference.",
        currency.decimal(due),
        day(document.due_at())
    ))
}

fn tax_label(category: TaxCategory, rate: &str) -> String {
    match category {
        TaxCategory::Standard | TaxCategory::ZeroRated => format!("VAT {rate} %"),
        TaxCategory::ReverseCharge => "VAT 0 %, reverse charge".to_owned(),
        TaxCategory::NotSubjectToVat => "Not subject to VAT".to_owned(),
    }
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

fn non_empty<const N: usize>(lines: [String; N]) -> Vec<String> {
    lines.into_iter().map(|line| line.trim().to_owned()).filter(|line| !line.is_empty()).collect()
}

/// User text as it can be shown: control characters (which neither XML nor a printed
/// page can carry) become a space when they are line breaks or tabs and U+FFFD
/// otherwise, like the noncharacters U+FFFE and U+FFFF that XML also refuses.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}
