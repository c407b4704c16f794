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

#[cfg(test)]
mod tests {
    use hostadmin_domain::billing::document::InvoiceDocument;
    use roxmltree::{Document, Node};

    use super::*;
    use crate::documents::examples;

    fn ubl(document: &InvoiceDocument) -> String {
        String::from_utf8(render(document).unwrap()).unwrap()
    }

    /// The children of `node` named `cbc:name` or `cac:name`, in order.
    fn children<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Vec<Node<'a, 'i>> {
        let (prefix, local) = name.split_once(':').unwrap();
        let namespace = if prefix == "cac" { CAC_NAMESPACE } else { CBC_NAMESPACE };
        node.children().filter(|child| child.has_tag_name((namespace, local))).collect()
    }

    /// The one node at `path` (`cac:TaxTotal/cbc:TaxAmount`) below `node`.
    fn at<'a, 'i>(node: Node<'a, 'i>, path: &str) -> Node<'a, 'i> {
        path.split('/').fold(node, |node, name| {
            let found = children(node, name);
            assert_eq!(found.len(), 1, "{name} under {:?}", node.tag_name());
            found[0]
        })
    }

    fn text<'a>(node: Node<'a, '_>, path: &str) -> &'a str {
        at(node, path).text().unwrap_or_default()
    }

    /// An amount element's text, with its currency checked.
    fn amount(node: Node<'_, '_>, path: &str) -> String {
        let element = at(node, path);
        assert_eq!(element.attribute("currencyID"), Some("EUR"), "{path}");
        element.text().unwrap_or_default().to_owned()
    }

    fn eur(minor: i64) -> String {
        hostadmin_domain::money::Currency::parse("EUR").unwrap().decimal(minor)
    }

    #[test]
    fn an_invoice_is_a_well_formed_ubl_invoice_with_the_peppol_ids() {
        let xml = ubl(&examples::dutch_consumer().unwrap());
        let parsed = Document::parse(&xml).unwrap();
        let root = parsed.root_element();
        assert!(root.has_tag_name((INVOICE_NAMESPACE, "Invoice")));
        assert_eq!(text(root, "cbc:CustomizationID"), CUSTOMIZATION_ID);
        assert_eq!(text(root, "cbc:ProfileID"), PROFILE_ID);
        assert_eq!(text(root, "cbc:ID"), "INV-000007");
        assert_eq!(text(root, "cbc:IssueDate"), "2026-01-05");
        assert_eq!(text(root, "cbc:DueDate"), "2026-01-19");
        assert_eq!(text(root, "cbc:InvoiceTypeCode"), "380");
        assert_eq!(text(root, "cbc:DocumentCurrencyCode"), "EUR");
        assert_eq!(text(root, "cbc:BuyerReference"), "INV-000007");
        let seller = at(root, "cac:AccountingSupplierParty/cac:Party");
        assert_eq!(text(seller, "cac:PartyLegalEntity/cbc:RegistrationName"), "Hosting B.V.");
        assert_eq!(text(seller, "cac:PostalAddress/cac:Country/cbc:IdentificationCode"), "NL");
        assert_eq!(text(seller, "cac:PartyTaxScheme/cbc:CompanyID"), "NL004495445B01");
        assert_eq!(text(seller, "cbc:EndpointID"), "billing@hosting.example");
        let buyer = at(root, "cac:AccountingCustomerParty/cac:Party");
        assert_eq!(text(buyer, "cac:PartyName/cbc:Name"), "Jan de Vries");
        assert!(children(buyer, "cac:PartyTaxScheme").is_empty());
        assert_eq!(text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID"), "NL91ABNA0417164300");
        assert_eq!(text(root, "cac:PaymentMeans/cbc:PaymentID"), "INV-000007");
    }

    /// The UBL totals, element by element, against the document's.
    fn assert_totals_match(document: &InvoiceDocument, root: Node<'_, '_>, sign: i64) {
        let tax_total = at(root, "cac:TaxTotal");
        assert_eq!(amount(tax_total, "cbc:TaxAmount"), eur(sign * document.tax_minor()));
        let subtotals = children(tax_total, "cac:TaxSubtotal");
        assert_eq!(subtotals.len(), document.tax_breakdown().len());
        for (subtotal, entry) in subtotals.into_iter().zip(document.tax_breakdown()) {
            assert_eq!(amount(subtotal, "cbc:TaxableAmount"), eur(sign * entry.taxable_minor));
            assert_eq!(amount(subtotal, "cbc:TaxAmount"), eur(sign * entry.tax_minor));
            assert_eq!(text(subtotal, "cac:TaxCategory/cbc:Percent"), entry.rate.to_string());
            assert_eq!(text(subtotal, "cac:TaxCategory/cbc:ID"), document.tax_category(entry).code());
            assert_eq!(text(subtotal, "cac:TaxCategory/cac:TaxScheme/cbc:ID"), "VAT");
        }
        let totals = at(root, "cac:LegalMonetaryTotal");
        assert_eq!(amount(totals, "cbc:LineExtensionAmount"), eur(sign * document.subtotal_minor()));
        assert_eq!(amount(totals, "cbc:TaxExclusiveAmount"), eur(sign * document.subtotal_minor()));
        assert_eq!(amount(totals, "cbc:TaxInclusiveAmount"), eur(sign * document.total_minor()));
        assert_eq!(amount(totals, "cbc:PayableAmount"), eur(sign * document.amount_due_minor()));
        if document.amount_paid_minor() != 0 {
            assert_eq!(amount(totals, "cbc:PrepaidAmount"), eur(sign * document.amount_paid_minor()));
        }
        let line_name = if sign < 0 { "cac:CreditNoteLine" } else { "cac:InvoiceLine" };
        let quantity_name = if sign < 0 { "cbc:CreditedQuantity" } else { "cbc:InvoicedQuantity" };
        let lines = children(root, line_name);
        assert_eq!(lines.len(), document.lines().len());
        for (index, (element, line)) in lines.into_iter().zip(document.lines()).enumerate() {
            assert_eq!(text(element, "cbc:ID"), (index + 1).to_string());
            assert_eq!(amount(element, "cbc:LineExtensionAmount"), eur(sign * line.amount_minor()));
            assert_eq!(text(element, quantity_name), line.quantity().to_string());
            assert_eq!(at(element, quantity_name).attribute("unitCode"), Some("C62"));
            assert_eq!(amount(element, "cac:Price/cbc:PriceAmount"), eur(sign * line.unit_amount_minor()));
            assert_eq!(text(element, "cac:Item/cbc:Name"), line.description());
            assert_eq!(text(element, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent"), line.tax_rate().to_string());
        }
    }

    #[test]
    fn the_totals_equal_the_documents_element_by_element() {
        for document in [examples::dutch_consumer().unwrap(), examples::reverse_charged().unwrap()] {
            let xml = ubl(&document);
            assert_totals_match(&document, Document::parse(&xml).unwrap().root_element(), 1);
        }
    }

    #[test]
    fn per_rate_rounding_is_what_the_e_invoice_states() {
        // Two lines of 0.12 at 21 %: rounded per line 2 × 0.03 = 0.06, but BR-CO-17
        // takes the rate's sum: 0.24 × 21 % = 0.0504 -> 0.05.
        let buyer = examples::buyer("Jan de Vries", "NL", None).unwrap();
        let document = examples::invoice(buyer, &[("a", 1, 12), ("b", 1, 12)]).unwrap();
        assert_eq!(document.tax_minor(), 5);
        let xml = ubl(&document);
        let parsed = Document::parse(&xml).unwrap();
        assert_eq!(amount(parsed.root_element(), "cac:TaxTotal/cbc:TaxAmount"), "0.05");
        assert_totals_match(&document, parsed.root_element(), 1);
    }

    #[test]
    fn reverse_charge_is_category_ae_with_its_exemption_reason_and_both_vat_ids() {
        let xml = ubl(&examples::reverse_charged().unwrap());
        let parsed = Document::parse(&xml).unwrap();
        let root = parsed.root_element();
        let category = at(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory");
        assert_eq!(text(category, "cbc:ID"), "AE");
        assert_eq!(text(category, "cbc:Percent"), "0");
        assert_eq!(text(category, "cbc:TaxExemptionReasonCode"), "VATEX-EU-AE");
        assert_eq!(text(root, "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID"), "CZ25123891");
        assert_eq!(
            text(root, "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID"),
            "NL004495445B01"
        );
        assert!(text(root, "cbc:Note").starts_with("Reverse charge"));
        let first_line = children(root, "cac:InvoiceLine")[0];
        assert_eq!(text(first_line, "cac:InvoicePeriod/cbc:StartDate"), "2026-01-05");
        assert_eq!(text(first_line, "cac:InvoicePeriod/cbc:EndDate"), "2027-01-05");
    }

    #[test]
    fn a_credit_note_is_a_ubl_credit_note_with_positive_amounts_referencing_its_invoice() {
        let document = examples::credit_note().unwrap();
        let xml = ubl(&document);
        let parsed = Document::parse(&xml).unwrap();
        let root = parsed.root_element();
        assert!(root.has_tag_name((CREDIT_NOTE_NAMESPACE, "CreditNote")));
        assert_eq!(text(root, "cbc:CustomizationID"), CUSTOMIZATION_ID);
        assert_eq!(text(root, "cbc:CreditNoteTypeCode"), "381");
        assert_eq!(text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"), "INV-000007");
        assert!(children(root, "cbc:DueDate").is_empty());
        assert!(children(root, "cac:InvoiceLine").is_empty());
        assert_eq!(amount(root, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount"), "12.09");
        assert_totals_match(&document, root, -1);
    }

    #[test]
    fn a_discount_line_has_a_negative_quantity_and_a_positive_price() {
        let buyer = examples::buyer("Jan de Vries", "NL", None).unwrap();
        let document = examples::invoice(buyer, &[("Hosting", 1, 1000), ("Loyalty discount", 1, -200)]).unwrap();
        let xml = ubl(&document);
        let parsed = Document::parse(&xml).unwrap();
        let discount = children(parsed.root_element(), "cac:InvoiceLine")[1];
        assert_eq!(text(discount, "cbc:InvoicedQuantity"), "-1");
        assert_eq!(text(discount, "cac:Price/cbc:PriceAmount"), "2.00");
        assert_eq!(text(discount, "cbc:LineExtensionAmount"), "-2.00");
    }

    #[test]
    fn a_seller_without_a_vat_id_charges_outside_vat_and_no_vat_id_appears() {
        let buyer = examples::buyer("Acme Inc.", "US", Some("US-EIN 12-3456789")).unwrap();
        let tax = examples::tax_for(&buyer).unwrap();
        let seller =
            hostadmin_domain::billing::document::SellerSnapshot { vat_id: None, ..examples::seller().unwrap() };
        let header = examples::header(hostadmin_domain::billing::document::DocumentKind::Invoice, 3, false, 0).unwrap();
        let lines = vec![examples::line("Hosting", 1, 1000, tax).unwrap()];
        let document = InvoiceDocument::new(header, seller, buyer, lines).unwrap();
        let xml = ubl(&document);
        let parsed = Document::parse(&xml).unwrap();
        let root = parsed.root_element();
        let category = at(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory");
        assert_eq!(text(category, "cbc:ID"), "O");
        assert!(children(category, "cbc:Percent").is_empty());
        assert_eq!(text(category, "cbc:TaxExemptionReasonCode"), "VATEX-EU-O");
        assert!(!xml.contains("PartyTaxScheme"));
    }

    #[test]
    fn user_text_is_escaped_and_reads_back_as_written() {
        let name = "<Invoice> & \"Co\" 'Ltd' ]]> Dvořák";
        let buyer = examples::buyer(name, "NL", None).unwrap();
        let document = examples::invoice(buyer, &[("</cbc:Name><evil/>", 1, 100)]).unwrap();
        let xml = ubl(&document);
        assert!(!xml.contains("<evil/>"));
        let parsed = Document::parse(&xml).unwrap();
        let root = parsed.root_element();
        assert_eq!(text(root, "cac:AccountingCustomerParty/cac:Party/cac:PartyName/cbc:Name"), name);
        assert_eq!(text(root, "cac:InvoiceLine/cac:Item/cbc:Name"), "</cbc:Name><evil/>");
    }
}
