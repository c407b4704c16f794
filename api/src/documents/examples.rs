//! Sample invoices for the renderers' tests and the PDF benchmark, built the way the
//! issuing use case will build them: through the domain's tax rule.

use std::num::{NonZeroU32, NonZeroU64};

use chrono::{DateTime, Duration, TimeZone, Utc};
use hostadmin_domain::billing::country::Country;
use hostadmin_domain::billing::document::{
    BuyerAddress, BuyerSnapshot, DocumentHeader, DocumentKind, InvoiceDocument, InvoiceStatus, PostalAddress,
    SellerSnapshot,
};
use hostadmin_domain::billing::iban::Iban;
use hostadmin_domain::billing::numbering::{InvoiceNumber, InvoicePrefix};
use hostadmin_domain::billing::tax::{decide_tax, SellerTaxSettings, TaxBuyer, TaxDecision, TaxRate};
use hostadmin_domain::billing::totals::{InvoiceLine, Period};
use hostadmin_domain::billing::vat_ids::VatId;
use hostadmin_domain::money::Currency;
use uuid::Uuid;

/// Every example is built from valid parts; an error names the part that was not.
pub type Example<T> = Result<T, String>;

fn text_error(error: impl std::fmt::Display) -> String {
    error.to_string()
}

fn country(code: &str) -> Example<Country> {
    Country::parse(code).map_err(text_error)
}

/// A Dutch seller with a VAT id, an email address and an IBAN.
pub fn seller() -> Example<SellerSnapshot> {
    Ok(SellerSnapshot {
        legal_name: "Hosting B.V.".to_owned(),
        address: PostalAddress {
            street: "Keizersgracht 1".to_owned(),
            postal_code: "1015 CJ".to_owned(),
            city: "Amsterdam".to_owned(),
            country: country("NL")?,
        },
        vat_id: Some("NL004495445B01".to_owned()),
        email: Some("billing@hosting.example".to_owned()),
        iban: Some(Iban::parse("NL91ABNA0417164300").map_err(text_error)?),
    })
}

/// The seller's tax settings: Dutch and German rates, 0 % elsewhere, reverse charge on.
fn seller_tax() -> Example<SellerTaxSettings> {
    let rate = |text: &str| TaxRate::parse(text).map_err(text_error);
    Ok(SellerTaxSettings {
        country: country("NL")?,
        tax_rates: [(country("NL")?, rate("21")?), (country("DE")?, rate("19")?)].into_iter().collect(),
        default_tax_rate: TaxRate::ZERO,
        reverse_charge: true,
    })
}

/// A buyer in `country_code`, optionally with a VAT id.
pub fn buyer(name: &str, country_code: &str, vat_id: Option<&str>) -> Example<BuyerSnapshot> {
    Ok(BuyerSnapshot {
        legal_name: name.to_owned(),
        address: BuyerAddress {
            street: Some("Národní 1".to_owned()),
            postal_code: Some("110 00".to_owned()),
            city: Some("Praha".to_owned()),
            country: Some(country(country_code)?),
        },
        vat_id: vat_id.map(str::to_owned),
        email: Some("accounts@buyer.example".to_owned()),
    })
}

/// The tax the rule decides for this buyer.
pub fn tax_for(buyer: &BuyerSnapshot) -> Example<TaxDecision> {
    let vat_id = buyer.vat_id.as_deref().and_then(|id| VatId::parse(id).ok());
    Ok(decide_tax(&seller_tax()?, &TaxBuyer { country: buyer.address.country, vat_id }))
}

pub fn issued_at() -> Example<DateTime<Utc>> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 30, 0).single().ok_or_else(|| "no such time".to_owned())
}

fn number(sequence: u64) -> Example<InvoiceNumber> {
    let sequence = NonZeroU64::new(sequence).ok_or("sequences start at 1")?;
    Ok(InvoiceNumber::new(&InvoicePrefix::default(), sequence))
}

/// An unpaid EUR document, issued on 2026-01-05 and due 14 days later.
pub fn header(kind: DocumentKind, sequence: u64, reverse_charge: bool, paid: i64) -> Example<DocumentHeader> {
    let number = number(sequence)?;
    Ok(DocumentHeader {
        kind,
        payment_reference: number.to_string(),
        number,
        status: InvoiceStatus::Unpaid,
        issued_at: issued_at()?,
        due_at: issued_at()? + Duration::days(14),
        currency: Currency::parse("EUR").map_err(text_error)?,
        reverse_charge,
        amount_paid_minor: paid,
    })
}

/// A line of `quantity` × `unit` cents at the decided rate.
pub fn line(description: &str, quantity: u32, unit: i64, tax: TaxDecision) -> Example<InvoiceLine> {
    let quantity = NonZeroU32::new(quantity).ok_or("quantities start at 1")?;
    InvoiceLine::new(description, quantity, unit, tax.rate).map_err(text_error)
}

/// An unpaid invoice to `buyer` of `lines` (description, quantity, unit cents), taxed by
/// the rule.
pub fn invoice(buyer: BuyerSnapshot, lines: &[(&str, u32, i64)]) -> Example<InvoiceDocument> {
    let tax = tax_for(&buyer)?;
    let lines = lines.iter().map(|(d, q, u)| line(d, *q, *u, tax)).collect::<Example<Vec<_>>>()?;
    InvoiceDocument::new(header(DocumentKind::Invoice, 1, tax.reverse_charge, 0)?, seller()?, buyer, lines)
        .map_err(text_error)
}

/// A year of hosting and two domains for a Czech company with a VAT id: reverse charged.
pub fn reverse_charged() -> Example<InvoiceDocument> {
    let buyer = buyer("Dvořák s.r.o.", "CZ", Some("CZ25123891"))?;
    let tax = tax_for(&buyer)?;
    let start = issued_at()?;
    let period = Period::new(start, start + Duration::days(365)).map_err(text_error)?;
    let lines = vec![
        line("Web hosting Business for Αθηνά Παπαδοπούλου", 1, 11_988, tax)?.for_service(Uuid::nil(), Some(period)),
        line("Domain dvorak.cz for Иван Петров", 2, 1_250, tax)?,
    ];
    let header = header(DocumentKind::Invoice, 42, tax.reverse_charge, 0)?;
    InvoiceDocument::new(header, seller()?, buyer, lines).map_err(text_error)
}

/// A Dutch consumer's invoice, 5.00 of it paid.
pub fn dutch_consumer() -> Example<InvoiceDocument> {
    let buyer = BuyerSnapshot { vat_id: None, ..buyer("Jan de Vries", "NL", None)? };
    let tax = tax_for(&buyer)?;
    let lines = vec![line("Web hosting Starter", 1, 999, tax)?, line("Mailbox extra", 3, 250, tax)?];
    InvoiceDocument::new(header(DocumentKind::Invoice, 7, false, 500)?, seller()?, buyer, lines).map_err(text_error)
}

/// A credit note for the first line of [`dutch_consumer`]'s invoice.
pub fn credit_note() -> Example<InvoiceDocument> {
    let buyer = buyer("Jan de Vries", "NL", None)?;
    let tax = tax_for(&buyer)?;
    let kind = DocumentKind::CreditNote { credits: number(7)? };
    let lines = vec![line("Web hosting Starter (refund)", 1, -999, tax)?];
    InvoiceDocument::new(header(kind, 8, false, 0)?, seller()?, buyer, lines).map_err(text_error)
}
