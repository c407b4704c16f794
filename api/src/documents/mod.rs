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
        for (name, document) in [
            ("reverse_charged", super::examples::reverse_charged().unwrap()),
            ("dutch_consumer", super::examples::dutch_consumer().unwrap()),
            ("credit_note", super::examples::credit_note().unwrap()),
        ] {
            std::fs::write(format!("{dir}/{name}.html"), super::invoice_html::render(&document).unwrap()).unwrap();
            std::fs::write(format!("{dir}/{name}.pdf"), super::invoice_pdf::render(&document).unwrap()).unwrap();
            std::fs::write(format!("{dir}/{name}.xml"), super::invoice_ubl::render(&document).unwrap()).unwrap();
        }
    }
}
