//! An issued invoice or credit note as it is shown: the single input of the HTML, PDF
//! and UBL renderers.
//!
//! The use case that issues or loads an invoice fills it from stored rows; its totals
//! are computed here from the lines, so a document cannot show a total its lines do not
//! add up to.

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

use super::country::Country;
use super::iban::Iban;
use super::numbering::InvoiceNumber;
use super::tax::TaxCategory;
use super::totals::{InvoiceLine, TaxSubtotal, Totals};
use crate::money::{Currency, MoneyError};

/// An invoice, or a credit note that corrects one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentKind {
    Invoice,
    /// Its amounts are negative; `credits` is the number of the invoice it corrects.
    CreditNote {
        credits: InvoiceNumber,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Unpaid,
    Paid,
    Void,
}

impl InvoiceStatus {
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Unpaid, Self::Paid, Self::Void].into_iter().find(|s| s.as_str() == text)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Unpaid => "unpaid",
            Self::Paid => "paid",
            Self::Void => "void",
        }
    }
}

/// The seller's address: complete, as billing settings require it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub country: Country,
}

/// The seller as it was when the document was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerSnapshot {
    pub legal_name: String,
    pub address: PostalAddress,
    /// As set in the billing settings (a seller outside the EU may have another kind of
    /// tax number).
    pub vat_id: Option<String>,
    pub email: Option<String>,
    pub iban: Option<Iban>,
}

/// The buyer's address: whatever its profile held, every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerAddress {
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<Country>,
}

/// The buyer as it was when the document was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerSnapshot {
    /// The company, else the account's name.
    pub legal_name: String,
    pub address: BuyerAddress,
    /// As the profile held it; whether it was valid is what `reverse_charge` says.
    pub vat_id: Option<String>,
    /// Where the invoice was sent; the buyer's electronic address in an e-invoice.
    pub email: Option<String>,
}

/// What is known of a document before its lines are added up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentHeader {
    pub kind: DocumentKind,
    pub number: InvoiceNumber,
    pub status: InvoiceStatus,
    pub issued_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub currency: Currency,
    pub reverse_charge: bool,
    /// What the buyer writes on a transfer (usually the number).
    pub payment_reference: String,
    /// Negative on a credit note.
    pub amount_paid_minor: i64,
}

/// Why the parts given do not make a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("a document has at least one line")]
    NoLines,
    #[error("a document is due on or after the day it is issued")]
    DueBeforeIssued,
    #[error("dates are within the years 1 to 9999")]
    DateOutOfRange,
    #[error("a reverse-charged document taxes every line at 0 %")]
    TaxedReverseCharge,
    #[error("an invoice's total is not negative, a credit note's not positive")]
    WrongSign,
    #[error("the amount paid is between 0 and the total")]
    PaidOutOfRange,
    #[error("the amounts are out of range")]
    Overflow,
}

impl DocumentError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoLines => "no_lines",
            Self::DueBeforeIssued => "due_before_issued",
            Self::DateOutOfRange => "date_out_of_range",
            Self::TaxedReverseCharge => "taxed_reverse_charge",
            Self::WrongSign => "wrong_sign",
            Self::PaidOutOfRange => "paid_out_of_range",
            Self::Overflow => "amount_out_of_range",
        }
    }
}

impl From<MoneyError> for DocumentError {
    fn from(_: MoneyError) -> Self {
        // Lines share the document's currency, so only overflow can happen.
        Self::Overflow
    }
}

/// Everything an issued invoice or credit note shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDocument {
    header: DocumentHeader,
    seller: SellerSnapshot,
    buyer: BuyerSnapshot,
    lines: Vec<InvoiceLine>,
    totals: Totals,
    amount_due_minor: i64,
}

impl InvoiceDocument {
    pub fn new(
        header: DocumentHeader,
        seller: SellerSnapshot,
        buyer: BuyerSnapshot,
        lines: Vec<InvoiceLine>,
    ) -> Result<Self, DocumentError> {
        if lines.is_empty() {
            return Err(DocumentError::NoLines);
        }
        let dates = std::iter::once(header.issued_at)
            .chain([header.due_at])
            .chain(lines.iter().filter_map(InvoiceLine::period).flat_map(|p| [p.start(), p.end()]));
        if !dates.into_iter().all(|date| (1..=9999).contains(&date.year())) {
            return Err(DocumentError::DateOutOfRange);
        }
        if header.due_at < header.issued_at {
            return Err(DocumentError::DueBeforeIssued);
        }
        if header.reverse_charge && lines.iter().any(|line| !line.tax_rate().is_zero()) {
            return Err(DocumentError::TaxedReverseCharge);
        }
        let totals = Totals::of(&lines, &header.currency)?;
        let total = totals.total_minor;
        let sign_fits = match header.kind {
            DocumentKind::Invoice => total >= 0,
            DocumentKind::CreditNote { .. } => total <= 0,
        };
        if !sign_fits {
            return Err(DocumentError::WrongSign);
        }
        let paid = header.amount_paid_minor;
        if !(paid.signum() * total.signum() >= 0 && paid.unsigned_abs() <= total.unsigned_abs()) {
            return Err(DocumentError::PaidOutOfRange);
        }
        let amount_due_minor = total.checked_sub(paid).ok_or(DocumentError::Overflow)?;
        Ok(Self { header, seller, buyer, lines, totals, amount_due_minor })
    }

    pub fn kind(&self) -> &DocumentKind {
        &self.header.kind
    }

    pub fn is_credit_note(&self) -> bool {
        matches!(self.header.kind, DocumentKind::CreditNote { .. })
    }

    /// The invoice a credit note corrects.
    pub fn credit_note_for(&self) -> Option<&InvoiceNumber> {
        match &self.header.kind {
            DocumentKind::Invoice => None,
            DocumentKind::CreditNote { credits } => Some(credits),
        }
    }

    pub fn number(&self) -> &InvoiceNumber {
        &self.header.number
    }

    pub fn status(&self) -> InvoiceStatus {
        self.header.status
    }

    pub fn issued_at(&self) -> DateTime<Utc> {
        self.header.issued_at
    }

    pub fn due_at(&self) -> DateTime<Utc> {
        self.header.due_at
    }

    pub fn currency(&self) -> &Currency {
        &self.header.currency
    }

    pub fn reverse_charge(&self) -> bool {
        self.header.reverse_charge
    }

    pub fn payment_reference(&self) -> &str {
        &self.header.payment_reference
    }

    pub fn seller(&self) -> &SellerSnapshot {
        &self.seller
    }

    pub fn buyer(&self) -> &BuyerSnapshot {
        &self.buyer
    }

    pub fn lines(&self) -> &[InvoiceLine] {
        &self.lines
    }

    pub fn tax_breakdown(&self) -> &[TaxSubtotal] {
        &self.totals.tax_breakdown
    }

    pub fn subtotal_minor(&self) -> i64 {
        self.totals.subtotal_minor
    }

    pub fn tax_minor(&self) -> i64 {
        self.totals.tax_minor
    }

    pub fn total_minor(&self) -> i64 {
        self.totals.total_minor
    }

    pub fn amount_paid_minor(&self) -> i64 {
        self.header.amount_paid_minor
    }

    pub fn amount_due_minor(&self) -> i64 {
        self.amount_due_minor
    }

    /// The VAT category of the amounts at `entry`'s rate.
    pub fn tax_category(&self, entry: &TaxSubtotal) -> TaxCategory {
        TaxCategory::of(entry.rate, self.header.reverse_charge, self.seller.vat_id.is_some())
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::billing::numbering::InvoicePrefix;
    use crate::billing::tax::TaxRate;

    fn at(timestamp: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(timestamp, 0).unwrap()
    }

    fn header(kind: DocumentKind, paid: i64) -> DocumentHeader {
        DocumentHeader {
            kind,
            number: InvoiceNumber::new(&InvoicePrefix::default(), std::num::NonZeroU64::MIN),
            status: InvoiceStatus::Unpaid,
            issued_at: at(1_767_225_600),
            due_at: at(1_767_225_600 + 14 * 86_400),
            currency: Currency::parse("EUR").unwrap(),
            reverse_charge: false,
            payment_reference: "INV-000001".into(),
            amount_paid_minor: paid,
        }
    }

    fn seller() -> SellerSnapshot {
        SellerSnapshot {
            legal_name: "Hosting B.V.".into(),
            address: PostalAddress {
                street: "Keizersgracht 1".into(),
                postal_code: "1015 CJ".into(),
                city: "Amsterdam".into(),
                country: Country::parse("NL").unwrap(),
            },
            vat_id: Some("NL004495445B01".into()),
            email: None,
            iban: None,
        }
    }

    fn buyer() -> BuyerSnapshot {
        BuyerSnapshot {
            legal_name: "Dvořák s.r.o.".into(),
            address: BuyerAddress::default(),
            vat_id: None,
            email: None,
        }
    }

    fn line(unit: i64, rate: &str) -> InvoiceLine {
        InvoiceLine::new("Web hosting", NonZeroU32::MIN, unit, TaxRate::parse(rate).unwrap()).unwrap()
    }

    fn credit_note() -> DocumentKind {
        DocumentKind::CreditNote { credits: InvoiceNumber::parse("INV-000001").unwrap() }
    }

    fn document(header: DocumentHeader, lines: Vec<InvoiceLine>) -> Result<InvoiceDocument, &'static str> {
        InvoiceDocument::new(header, seller(), buyer(), lines).map_err(|e| e.code())
    }

    #[test]
    fn totals_and_amount_due_come_from_the_lines() {
        let doc = document(header(DocumentKind::Invoice, 210), vec![line(1000, "21"), line(500, "9")]).unwrap();
        assert_eq!((doc.subtotal_minor(), doc.tax_minor(), doc.total_minor()), (1500, 255, 1755));
        assert_eq!(doc.amount_due_minor(), 1545);
        assert_eq!(doc.tax_breakdown().len(), 2);
        assert_eq!(doc.tax_category(&doc.tax_breakdown()[0]), TaxCategory::Standard);
        assert_eq!(doc.credit_note_for(), None);
    }

    #[test]
    fn a_credit_note_is_negative_and_names_its_invoice() {
        let doc = document(header(credit_note(), -1210), vec![line(-1000, "21")]).unwrap();
        assert_eq!((doc.total_minor(), doc.amount_due_minor()), (-1210, 0));
        assert_eq!(doc.credit_note_for().map(InvoiceNumber::as_str), Some("INV-000001"));
        assert!(doc.is_credit_note());
        assert_eq!(document(header(credit_note(), 0), vec![line(1000, "21")]), Err("wrong_sign"));
        assert_eq!(document(header(DocumentKind::Invoice, 0), vec![line(-1000, "21")]), Err("wrong_sign"));
    }

    #[test]
    fn inconsistent_parts_are_refused() {
        assert_eq!(document(header(DocumentKind::Invoice, 0), vec![]), Err("no_lines"));
        let reverse = DocumentHeader { reverse_charge: true, ..header(DocumentKind::Invoice, 0) };
        assert_eq!(document(reverse.clone(), vec![line(1000, "21")]), Err("taxed_reverse_charge"));
        assert!(document(reverse, vec![line(1000, "0")]).is_ok());
        let early = DocumentHeader { due_at: at(0), ..header(DocumentKind::Invoice, 0) };
        assert_eq!(document(early, vec![line(1000, "21")]), Err("due_before_issued"));
        assert_eq!(document(header(DocumentKind::Invoice, 1211), vec![line(1000, "21")]), Err("paid_out_of_range"));
        assert_eq!(document(header(DocumentKind::Invoice, -1), vec![line(1000, "21")]), Err("paid_out_of_range"));
        assert_eq!(document(header(credit_note(), 5), vec![line(-1000, "21")]), Err("paid_out_of_range"));
        let far = DocumentHeader { due_at: at(253_402_300_800), ..header(DocumentKind::Invoice, 0) }; // year 10000
        assert_eq!(document(far, vec![line(1000, "21")]), Err("date_out_of_range"));
        assert_eq!(document(header(DocumentKind::Invoice, 0), vec![line(i64::MAX, "21")]), Err("amount_out_of_range"));
    }

    #[test]
    fn zero_rates_are_zero_rated_or_reverse_charged_or_outside_vat() {
        let zero = document(header(DocumentKind::Invoice, 0), vec![line(1000, "0")]).unwrap();
        assert_eq!(zero.tax_category(&zero.tax_breakdown()[0]), TaxCategory::ZeroRated);
        let reverse = DocumentHeader { reverse_charge: true, ..header(DocumentKind::Invoice, 0) };
        let reverse = document(reverse, vec![line(1000, "0")]).unwrap();
        assert_eq!(reverse.tax_category(&reverse.tax_breakdown()[0]), TaxCategory::ReverseCharge);
        let unregistered = SellerSnapshot { vat_id: None, ..seller() };
        let doc = InvoiceDocument::new(header(DocumentKind::Invoice, 0), unregistered, buyer(), vec![line(1000, "0")])
            .unwrap();
        assert_eq!(doc.tax_category(&doc.tax_breakdown()[0]), TaxCategory::NotSubjectToVat);
    }
}
