//! The printable invoice page (`Accept: text/html`): one self-contained HTML document
//! with inline CSS, laid out for A4 when printed.

use std::sync::LazyLock;

use hostadmin_domain::billing::document::InvoiceDocument;
use minijinja::Environment;

use super::{InvoiceView, RenderError};

const TEMPLATE: &str = "invoice.html";

/// The `.html` name turns on minijinja's HTML auto-escaping: every value is escaped, so
/// a customer's `<script>` in a company name prints as text.
static TEMPLATES: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template(TEMPLATE, include_str!("templates/invoice.html")).map_err(|e| e.to_string())?;
    Ok(env)
});

pub fn render(document: &InvoiceDocument) -> Result<String, RenderError> {
    let env = TEMPLATES.as_ref().map_err(|e| RenderError::Html(e.clone()))?;
    env.get_template(TEMPLATE)
        .and_then(|template| template.render(InvoiceView::of(document)))
        .map_err(|e| RenderError::Html(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::examples;

    #[test]
    fn the_page_shows_parties_number_dates_lines_tax_totals_and_payment() {
        let html = render(&examples::reverse_charged().unwrap()).unwrap();
        for shown in [
            "<title>Invoice INV-000042</title>",
            "Hosting B.V.",
            "NL004495445B01",
            "NL91 ABNA 0417 1643 00",
            "Dvořák s.r.o.",
            "CZ25123891",
            "2026-01-05",
            "2026-01-19",
            "Web hosting Business for Αθηνά Παπαδοπούλου",
            "2026-01-05 – 2027-01-05",
            "Domain dvorak.cz for Иван Петров",
            "119.88",
            "VAT 0 %, reverse charge of 144.88",
            "144.88 EUR",
            "Reverse charge: VAT to be accounted for by the recipient",
            "Payment reference: INV-000042",
            "Please pay 144.88 EUR by 2026-01-19 to IBAN NL91 ABNA 0417 1643 00",
        ] {
            assert!(html.contains(shown), "the page lacks {shown:?}");
        }
    }

    #[test]
    fn paid_amounts_and_credit_notes_are_shown() {
        let html = render(&examples::dutch_consumer().unwrap()).unwrap();
        for shown in ["VAT 21 % of 17.49", "3.67 EUR", "21.16 EUR", "Paid", "5.00 EUR", "Amount due", "16.16 EUR"] {
            assert!(html.contains(shown), "the page lacks {shown:?}");
        }
        assert!(!html.contains("Reverse charge"));
        let credit = render(&examples::credit_note().unwrap()).unwrap();
        for shown in ["Credit note", "INV-000008", "Credit note for invoice INV-000007", "-12.09 EUR", "credit balance"]
        {
            assert!(credit.contains(shown), "the credit note lacks {shown:?}");
        }
    }

    #[test]
    fn user_text_is_escaped() {
        let buyer = examples::buyer("<script>alert(\"x\")</script> & 'Co'", "NL", Some("<b>NL</b>")).unwrap();
        let document = examples::invoice(buyer, &[("<img src=x onerror=alert(1)>", 1, 100)]).unwrap();
        let html = render(&document).unwrap();
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>NL"));
        assert!(html.contains("&lt;script&gt;alert("), "{html}");
        assert!(html.contains("&amp; &#x27;Co&#x27;") || html.contains("&amp; &#39;Co&#39;"), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    }
}
