//! The invoice as a UBL 2.1 e-invoice (`Accept: application/xml`): an `Invoice` or a
//! `CreditNote` following EN 16931 in the Peppol BIS Billing 3.0 profile.
//!
//! UBL credit notes carry positive amounts (the document type says they are credits),
//! so a credit note's negative amounts are written as their magnitudes. An invoice line
//! with a negative amount (a discount) gets a negative quantity, since a price is never
//! negative (BR-27). `BuyerReference`, which Peppol requires, is the payment reference.

use std::io;

use hostadmin_domain::billing::document::InvoiceDocument;
use hostadmin_domain::billing::tax::TaxCategory;
use hostadmin_domain::billing::totals::InvoiceLine;
use hostadmin_domain::money::Currency;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::invoice_view::{printable, REVERSE_CHARGE_NOTE};
use super::RenderError;

pub const CUSTOMIZATION_ID: &str = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0";
pub const PROFILE_ID: &str = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0";
pub const INVOICE_NAMESPACE: &str = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
pub const CREDIT_NOTE_NAMESPACE: &str = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2";
pub const CAC_NAMESPACE: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
pub const CBC_NAMESPACE: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";

/// UN/ECE Recommendation 20 "one": hosting is billed per item.
const UNIT_CODE: &str = "C62";
/// UNCL 4461 "credit transfer".
const CREDIT_TRANSFER: &str = "30";

pub fn render(document: &InvoiceDocument) -> Result<Vec<u8>, RenderError> {
    let mut ubl = Ubl::new(document);
    ubl.document().map_err(|e| RenderError::Xml(e.to_string()))?;
    Ok(ubl.writer.into_inner())
}

/// Which of the two document types is written, and the names that differ between them.
struct Kind {
    root: &'static str,
    namespace: &'static str,
    type_code_element: &'static str,
    type_code: &'static str,
    line: &'static str,
    quantity: &'static str,
    /// -1 for credit notes: their amounts are written as magnitudes.
    sign: i64,
}

const INVOICE: Kind = Kind {
    root: "Invoice",
    namespace: INVOICE_NAMESPACE,
    type_code_element: "cbc:InvoiceTypeCode",
    type_code: "380",
    line: "cac:InvoiceLine",
    quantity: "cbc:InvoicedQuantity",
    sign: 1,
};

const CREDIT_NOTE: Kind = Kind {
    root: "CreditNote",
    namespace: CREDIT_NOTE_NAMESPACE,
    type_code_element: "cbc:CreditNoteTypeCode",
    type_code: "381",
    line: "cac:CreditNoteLine",
    quantity: "cbc:CreditedQuantity",
    sign: -1,
};

struct Ubl<'a> {
    writer: Writer<Vec<u8>>,
    document: &'a InvoiceDocument,
    kind: &'static Kind,
    currency: &'a Currency,
}

/// What the party blocks share.
struct PartyFields<'a> {
    endpoint: Option<&'a str>,
    name: &'a str,
    street: Option<&'a str>,
    city: Option<&'a str>,
    postal_code: Option<&'a str>,
    country: Option<String>,
    vat_id: Option<&'a str>,
}

impl<'a> Ubl<'a> {
    fn new(document: &'a InvoiceDocument) -> Self {
        Self {
            writer: Writer::new_with_indent(Vec::with_capacity(8 * 1024), b' ', 2),
            document,
            kind: if document.is_credit_note() { &CREDIT_NOTE } else { &INVOICE },
            currency: document.currency(),
        }
    }

    fn document(&mut self) -> io::Result<()> {
        self.writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let kind = self.kind;
        let root = BytesStart::new(kind.root).with_attributes([
            ("xmlns", kind.namespace),
            ("xmlns:cac", CAC_NAMESPACE),
            ("xmlns:cbc", CBC_NAMESPACE),
        ]);
        self.writer.write_event(Event::Start(root))?;
        self.body()?;
        self.writer.write_event(Event::End(BytesEnd::new(kind.root)))
    }

    fn body(&mut self) -> io::Result<()> {
        let document = self.document;
        self.text("cbc:CustomizationID", CUSTOMIZATION_ID)?;
        self.text("cbc:ProfileID", PROFILE_ID)?;
        self.text("cbc:ID", document.number().as_str())?;
        self.text("cbc:IssueDate", &document.issued_at().format("%Y-%m-%d").to_string())?;
        if !document.is_credit_note() {
            // UBL 2.1's CreditNote has no DueDate.
            self.text("cbc:DueDate", &document.due_at().format("%Y-%m-%d").to_string())?;
        }
        self.text(self.kind.type_code_element, self.kind.type_code)?;
        if document.reverse_charge() {
            self.text("cbc:Note", REVERSE_CHARGE_NOTE)?;
        }
        self.text("cbc:DocumentCurrencyCode", self.currency.as_str())?;
        self.text("cbc:BuyerReference", &printable(document.payment_reference()))?;
        if let Some(credited) = document.credit_note_for() {
            self.parent("cac:BillingReference", |ubl| {
                ubl.parent("cac:InvoiceDocumentReference", |ubl| ubl.text("cbc:ID", credited.as_str()))
            })?;
        }
        self.seller()?;
        self.buyer()?;
        self.payment_means()?;
        self.tax_total()?;
        self.monetary_total()?;
        for (index, line) in document.lines().iter().enumerate() {
            self.line(index + 1, line)?;
        }
        Ok(())
    }

    /// Whether VAT ids may appear: EN 16931 forbids them with category O (BR-O-02).
    fn vat_ids_allowed(&self) -> bool {
        self.document
            .tax_breakdown()
            .iter()
            .all(|entry| self.document.tax_category(entry) != TaxCategory::NotSubjectToVat)
    }

    fn seller(&mut self) -> io::Result<()> {
        let seller = self.document.seller();
        let vat_id = seller.vat_id.as_deref().filter(|_| self.vat_ids_allowed());
        let fields = PartyFields {
            endpoint: seller.email.as_deref(),
            name: &seller.legal_name,
            street: Some(&seller.address.street),
            city: Some(&seller.address.city),
            postal_code: Some(&seller.address.postal_code),
            country: Some(seller.address.country.to_string()),
            vat_id,
        };
        self.parent("cac:AccountingSupplierParty", |ubl| ubl.party(&fields))
    }

    fn buyer(&mut self) -> io::Result<()> {
        let buyer = self.document.buyer();
        let address = &buyer.address;
        let vat_id = buyer.vat_id.as_deref().filter(|_| self.vat_ids_allowed());
        let fields = PartyFields {
            endpoint: buyer.email.as_deref(),
            name: &buyer.legal_name,
            street: address.street.as_deref(),
            city: address.city.as_deref(),
            postal_code: address.postal_code.as_deref(),
            country: address.country.map(|country| country.to_string()),
            vat_id,
        };
        self.parent("cac:AccountingCustomerParty", |ubl| ubl.party(&fields))
    }

    fn party(&mut self, fields: &PartyFields<'_>) -> io::Result<()> {
        self.parent("cac:Party", |ubl| {
            if let Some(email) = fields.endpoint {
                // EAS code EM: an email address as the electronic address.
                ubl.writer
                    .create_element("cbc:EndpointID")
                    .with_attribute(("schemeID", "EM"))
                    .write_text_content(BytesText::new(&printable(email)))?;
            }
            ubl.parent("cac:PartyName", |ubl| ubl.text("cbc:Name", &printable(fields.name)))?;
            ubl.parent("cac:PostalAddress", |ubl| {
                ubl.optional_text("cbc:StreetName", fields.street)?;
                ubl.optional_text("cbc:CityName", fields.city)?;
                ubl.optional_text("cbc:PostalZone", fields.postal_code)?;
                if let Some(country) = &fields.country {
                    ubl.parent("cac:Country", |ubl| ubl.text("cbc:IdentificationCode", country))?;
                }
                Ok(())
            })?;
            if let Some(vat_id) = fields.vat_id {
                ubl.parent("cac:PartyTaxScheme", |ubl| {
                    ubl.text("cbc:CompanyID", &printable(vat_id))?;
                    ubl.tax_scheme()
                })?;
            }
            ubl.parent("cac:PartyLegalEntity", |ubl| ubl.text("cbc:RegistrationName", &printable(fields.name)))
        })
    }

    /// A transfer to the seller's IBAN, when there is one and something is due.
    fn payment_means(&mut self) -> io::Result<()> {
        let document = self.document;
        let Some(iban) = document.seller().iban.as_ref().filter(|_| !document.is_credit_note()) else {
            return Ok(());
        };
        self.parent("cac:PaymentMeans", |ubl| {
            ubl.text("cbc:PaymentMeansCode", CREDIT_TRANSFER)?;
            ubl.text("cbc:PaymentID", &printable(document.payment_reference()))?;
            ubl.parent("cac:PayeeFinancialAccount", |ubl| ubl.text("cbc:ID", iban.electronic()))
        })
    }

    fn tax_total(&mut self) -> io::Result<()> {
        let document = self.document;
        self.parent("cac:TaxTotal", |ubl| {
            ubl.amount("cbc:TaxAmount", document.tax_minor())?;
            for entry in document.tax_breakdown() {
                let category = document.tax_category(entry);
                ubl.parent("cac:TaxSubtotal", |ubl| {
                    ubl.amount("cbc:TaxableAmount", entry.taxable_minor)?;
                    ubl.amount("cbc:TaxAmount", entry.tax_minor)?;
                    ubl.tax_category("cac:TaxCategory", category, &entry.rate.to_string(), true)
                })?;
            }
            Ok(())
        })
    }

    fn monetary_total(&mut self) -> io::Result<()> {
        let document = self.document;
        self.parent("cac:LegalMonetaryTotal", |ubl| {
            ubl.amount("cbc:LineExtensionAmount", document.subtotal_minor())?;
            ubl.amount("cbc:TaxExclusiveAmount", document.subtotal_minor())?;
            ubl.amount("cbc:TaxInclusiveAmount", document.total_minor())?;
            if document.amount_paid_minor() != 0 {
                ubl.amount("cbc:PrepaidAmount", document.amount_paid_minor())?;
            }
            ubl.amount("cbc:PayableAmount", document.amount_due_minor())
        })
    }

    fn line(&mut self, number: usize, line: &InvoiceLine) -> io::Result<()> {
        let kind = self.kind;
        // Written amounts are positive for credit notes; a negative price becomes a
        // negative quantity.
        let unit = line.unit_amount_minor().saturating_mul(kind.sign);
        let quantity = i64::from(line.quantity().get()) * if unit < 0 { -1 } else { 1 };
        let category =
            TaxCategory::of(line.tax_rate(), self.document.reverse_charge(), self.document.seller().vat_id.is_some());
        self.parent(kind.line, |ubl| {
            ubl.text("cbc:ID", &number.to_string())?;
            ubl.writer
                .create_element(kind.quantity)
                .with_attribute(("unitCode", UNIT_CODE))
                .write_text_content(BytesText::new(&quantity.to_string()))?;
            ubl.amount("cbc:LineExtensionAmount", line.amount_minor())?;
            if let Some(period) = line.period() {
                ubl.parent("cac:InvoicePeriod", |ubl| {
                    ubl.text("cbc:StartDate", &period.start().format("%Y-%m-%d").to_string())?;
                    ubl.text("cbc:EndDate", &period.end().format("%Y-%m-%d").to_string())
                })?;
            }
            ubl.parent("cac:Item", |ubl| {
                ubl.text("cbc:Name", &printable(line.description()))?;
                ubl.tax_category("cac:ClassifiedTaxCategory", category, &line.tax_rate().to_string(), false)
            })?;
            ubl.parent("cac:Price", |ubl| {
                ubl.writer
                    .create_element("cbc:PriceAmount")
                    .with_attribute(("currencyID", ubl.currency.as_str()))
                    .write_text_content(BytesText::new(&ubl.currency.decimal(unit.saturating_abs())))?;
                Ok(())
            })
        })
    }

    /// `with_reason`: the exemption reason belongs to the document's tax subtotals, not
    /// to each line's category.
    fn tax_category(&mut self, element: &str, category: TaxCategory, rate: &str, with_reason: bool) -> io::Result<()> {
        self.parent(element, |ubl| {
            ubl.text("cbc:ID", category.code())?;
            if category != TaxCategory::NotSubjectToVat {
                // Category O has no rate at all (BR-O-05, BR-O-06).
                ubl.text("cbc:Percent", rate)?;
            }
            if let Some((code, reason)) = category.exemption_reason().filter(|_| with_reason) {
                ubl.text("cbc:TaxExemptionReasonCode", code)?;
                ubl.text("cbc:TaxExemptionReason", reason)?;
            }
            ubl.tax_scheme()
        })
    }

    fn tax_scheme(&mut self) -> io::Result<()> {
        self.parent("cac:TaxScheme", |ubl| ubl.text("cbc:ID", "VAT"))
    }

    /// An amount of the document, its sign turned for credit notes.
    fn amount(&mut self, element: &str, minor: i64) -> io::Result<()> {
        let shown = self.currency.decimal(minor.saturating_mul(self.kind.sign));
        self.writer
            .create_element(element)
            .with_attribute(("currencyID", self.currency.as_str()))
            .write_text_content(BytesText::new(&shown))?;
        Ok(())
    }

    /// An element with text, escaped by the writer.
    fn text(&mut self, element: &str, text: &str) -> io::Result<()> {
        self.writer.create_element(element).write_text_content(BytesText::new(text))?;
        Ok(())
    }

    fn optional_text(&mut self, element: &str, text: Option<&str>) -> io::Result<()> {
        match text.map(printable).filter(|text| !text.trim().is_empty()) {
            Some(text) => self.text(element, &text),
            None => Ok(()),
        }
    }

    fn parent(&mut self, element: &str, content: impl FnOnce(&mut Self) -> io::Result<()>) -> io::Result<()> {
        self.writer.write_event(Event::Start(BytesStart::new(element)))?;
        content(self)?;
        self.writer.write_event(Event::End(BytesEnd::new(element)))
    }
}
