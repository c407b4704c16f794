//! Invoices and credit notes as documents: a printable HTML page, a PDF and a UBL 2.1
//! e-invoice, each rendered from one [`InvoiceDocument`] and nothing else.
//!
//! HTML and PDF show the same [`InvoiceView`]: the same labels, values and notes, so
//! the page and the file cannot drift apart. Every text a user wrote goes through the
//! renderer's own escaping (minijinja's HTML auto-escape, quick-xml's writer) or is drawn
//! as glyphs (PDF), never spliced into markup.
//!
//! [`InvoiceDocument`]: hostadmin_domain::billing::document::InvoiceDocument

pub mod examples;
pub mod invoice_html;
pub mod invoice_pdf;
pub mod invoice_ubl;
mod invoice_view;

pub use invoice_view::InvoiceView;

use crate::http::problem::ApiError;

/// A renderer failed. Documents are checked when they are built, so this is a bug or
/// an exhausted resource, answered as `500`.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("rendering the invoice page: {0}")]
    Html(String),
    #[error("rendering the invoice PDF: {0}")]
    Pdf(String),
    #[error("writing the UBL invoice: {0}")]
    Xml(String),
}

impl From<RenderError> for ApiError {
    fn from(error: RenderError) -> Self {
        ApiError::internal(error)
    }
}

#[cfg(test)]
mod samples {
    /// Writes the example documents to $HOSTADMIN_INVOICE_SAMPLES to look at.
    #[test]
    fn write_samples_when_asked() {
        let Ok(dir) = std::env::var("HOSTADMIN_INVOICE_SAMPLES") else { return };
        use hostadmin_domain::billing::document::{DocumentKind, InvoiceDocument, SellerSnapshot};
        let us_buyer = super::examples::buyer("Acme <Inc> & \"Co\"", "US", None).unwrap();
        let zero_rated =
            super::examples::invoice(us_buyer.clone(), &[("Hosting", 12, 999), ("Discount", 1, -500)]).unwrap();
        let unregistered = InvoiceDocument::new(
            super::examples::header(DocumentKind::Invoice, 3, false, 0).unwrap(),
            SellerSnapshot { vat_id: None, ..super::examples::seller().unwrap() },
            us_buyer,
            zero_rated.lines().to_vec(),
        )
        .unwrap();
        for (name, document) in [
            ("reverse_charged", super::examples::reverse_charged().unwrap()),
            ("dutch_consumer", super::examples::dutch_consumer().unwrap()),
            ("credit_note", super::examples::credit_note().unwrap()),
            ("zero_rated", zero_rated),
            ("not_subject_to_vat", unregistered),
        ] {
            std::fs::write(format!("{dir}/{name}.html"), super::invoice_html::render(&document).unwrap()).unwrap();
            std::fs::write(format!("{dir}/{name}.pdf"), super::invoice_pdf::render(&document).unwrap()).unwrap();
            std::fs::write(format!("{dir}/{name}.xml"), super::invoice_ubl::render(&document).unwrap()).unwrap();
        }
    }
}

#[cfg(test)]
mod hostile_text {
    //! Whatever users type into names, addresses and descriptions, every renderer
    //! answers a document, and the HTML carries none of it as markup.

    use hostadmin_domain::billing::document::SellerSnapshot;
    use proptest::prelude::*;

    use super::invoice_view::printable;
    use super::{examples, invoice_html, invoice_pdf, invoice_ubl};

    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,40}",
            "[<>&\"'/=a-z ]{0,30}",
            Just("<script>alert('x')</script>".to_owned()),
            Just("<img src=x onerror=alert(1)>".to_owned()),
            Just("]]><!--&amp;&#0;".to_owned()),
            "[\u{0600}-\u{06FF} ]{1,30}",
            "[\u{0590}-\u{05FF} ]{1,30}",
            "[\u{0370}-\u{03FF}\u{0400}-\u{04FF} ]{1,30}",
            "[\u{4E00}-\u{4FFF}]{1,20}",
            "[\u{0}-\u{1F}\u{7F}-\u{9F}\u{FFFE}\u{FFFF}\u{200E}\u{202E}a]{1,20}",
            "[a\u{0300}-\u{036F}]{1,30}",
            "[a-zA-Z]{150,400}",
            "\u{1F600}{1,10}",
        ]
    }

    fn user_text() -> impl Strategy<Value = String> {
        prop::collection::vec(fragment(), 1..4).prop_map(|parts| parts.concat())
    }

    /// A valid line description: at most 1,000 characters, not only spaces.
    fn description() -> impl Strategy<Value = String> {
        user_text().prop_map(|text| {
            let text: String = text.chars().take(990).collect();
            format!("x{text}")
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn renderers_never_fail_and_never_pass_markup_through(
            seller_name in user_text(),
            buyer_name in user_text(),
            street in user_text(),
            vat_id in user_text(),
            descriptions in prop::collection::vec(description(), 1..4),
        ) {
            let buyer = examples::buyer(&buyer_name, "DE", Some(&vat_id)).unwrap();
            let buyer = hostadmin_domain::billing::document::BuyerSnapshot {
                address: hostadmin_domain::billing::document::BuyerAddress { street: Some(street.clone()), ..buyer.address.clone() },
                ..buyer
            };
            let lines: Vec<_> = descriptions.iter().map(|d| (d.as_str(), 2, 1234)).collect();
            let document = examples::invoice(buyer, &lines).unwrap();
            let seller = SellerSnapshot { legal_name: seller_name.clone(), ..document.seller().clone() };
            let header = examples::header(document.kind().clone(), 1, document.reverse_charge(), 0).unwrap();
            let document = hostadmin_domain::billing::document::InvoiceDocument::new(
                header, seller, document.buyer().clone(), document.lines().to_vec(),
            ).unwrap();

            let html = invoice_html::render(&document).unwrap();
            prop_assert!(!html.contains("<script"));
            prop_assert!(!html.contains("<img"));
            prop_assert!(!html.contains("<!--"));

            let pdf = invoice_pdf::render(&document).unwrap();
            prop_assert!(pdf.starts_with(b"%PDF-"));

            let xml = String::from_utf8(invoice_ubl::render(&document).unwrap()).unwrap();
            let parsed = roxmltree::Document::parse(&xml).unwrap();
            let names: Vec<_> = parsed.descendants().filter(|n| n.has_tag_name((invoice_ubl::CBC_NAMESPACE, "RegistrationName"))).map(|n| n.text().unwrap_or_default().to_owned()).collect();
            prop_assert_eq!(names, vec![printable(&seller_name), printable(&buyer_name)]);
        }
    }
}
