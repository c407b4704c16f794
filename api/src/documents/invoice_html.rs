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
