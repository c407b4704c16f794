//! `/v1/invoices`: invoices and credit notes in JSON, HTML, PDF and UBL, their payments,
//! apply-credit, void and credit notes (crate::app::billing).

use actix_web::http::header::{self, Accept, ContentDisposition, DispositionParam, DispositionType, Header};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::billing::document::InvoiceStatus;
use hostadmin_domain::billing::ledger::{InvoiceKind, PaymentMethod};
use hostadmin_domain::policy::Action;
use hostadmin_domain::validation::{check_length, Invalid, Reason};
use hostadmin_persistence::invoices::{InvoiceFilter, InvoiceRow};

use crate::app::billing::invoices as use_case;
use crate::app::billing::payments::{self, Received};
use crate::auth::Principal;
use crate::documents::{invoice_html, invoice_pdf, invoice_ubl};
use crate::http::body::JsonBody;
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;
use crate::views::billing::{InvoiceView, PaymentView};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListInvoicesQuery {
    pub status: Option<InvoiceStatus>,
    /// Invoices of one buyer (an account below the caller).
    pub buyer_id: Option<String>,
    pub kind: Option<InvoiceKind>,
    /// Due before this day (UTC midnight), e.g. `2026-12-31`.
    pub due_before: Option<NaiveDate>,
    /// A prefix of the number (`INV-0000`).
    #[param(min_length = 1, max_length = 40)]
    pub q: Option<String>,
}

/// The invoices and credit notes the caller received, issued or was granted, newest first.
///
/// The caller's own invoices; for resellers and operators also those of every account
/// below them; and those about services granted to the caller with `billing`. Filters
/// `status`, `buyer_id`, `kind`, `due_before` and `q` (a prefix of the number).
/// Cursor-paginated (`limit`, `cursor`; a cursor is bound to its filters). Always JSON;
/// `GET /v1/invoices/{id}` has the other formats. API keys need `billing:read`.
#[utoipa::path(
    tag = "Billing",
    params(ListInvoicesQuery, PageQuery),
    responses((status = 200, description = "A page of invoices", body = Page<InvoiceView>)),
)]
#[get("/invoices")]
pub async fn list_invoices(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListInvoicesQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadBilling)?;
    let query = query.into_inner();
    if let Some(q) = &query.q {
        check_length(q, 1, 40).map_err(|invalid| ApiError::field("/query/q", invalid))?;
    }
    let filters = format!(
        "status={}&buyer={}&kind={}&due={}&q={}",
        query.status.map(|s| s.as_str()).unwrap_or_default(),
        query.buyer_id.as_deref().unwrap_or_default(),
        query.kind.map(|k| k.as_str()).unwrap_or_default(),
        query.due_before.map(|d| d.to_string()).unwrap_or_default(),
        query.q.as_deref().unwrap_or_default(),
    );
    let page = paging.request(filters)?;
    let filter = InvoiceFilter {
        status: query.status,
        buyer_id: query.buyer_id,
        kind: query.kind,
        due_before: query.due_before.and_then(|day| day.and_hms_opt(0, 0, 0)),
        q: query.q,
        before_id: page.before_id.clone(),
    };
    let rows = use_case::list(&state, &principal.actor, authorized, filter, page.fetch()).await?;
    let mut views = Vec::with_capacity(rows.len());
    for (row, credited) in rows {
        views.push(InvoiceView::of(&row, &use_case::document(&row, credited.as_ref())?));
    }
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// An invoice document's bytes (PDF).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PdfContent(#[allow(dead_code)] Vec<u8>);

/// The formats an invoice is answered in, chosen by `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Html,
    Pdf,
    Xml,
}

impl Format {
    /// The first of the client's ranked media types that is offered; JSON without an
    /// `Accept` (or with `*/*`); `406 not_acceptable` when none is.
    fn chosen(request: &HttpRequest) -> Result<Self, ApiError> {
        let Ok(accept) = Accept::parse(request) else { return Ok(Self::Json) };
        if accept.is_empty() {
            return Ok(Self::Json);
        }
        for media in accept.ranked() {
            let format = match (media.type_().as_str(), media.subtype().as_str()) {
                ("*", "*") | ("application", "*") | ("application", "json") => Some(Self::Json),
                ("text", "html") | ("text", "*") => Some(Self::Html),
                ("application", "pdf") => Some(Self::Pdf),
                ("application", "xml") | ("text", "xml") => Some(Self::Xml),
                _ => None,
            };
            if let Some(format) = format {
                return Ok(format);
            }
        }
        Err(ApiError::new(
            actix_web::http::StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            "an invoice is answered as application/json, text/html, application/pdf or application/xml",
        ))
    }
}

/// Read one invoice or credit note, in the format `Accept` asks for.
///
/// `application/json` (the default), `text/html` (a printable page), `application/pdf`
/// (the same as a PDF file, as an attachment named after the number) or
/// `application/xml` (a UBL 2.1 Invoice or CreditNote following EN 16931 and Peppol BIS
/// Billing 3.0). Every format shows the invoice as it was issued.
///
/// Its buyer, every account above the buyer, and grantees with `billing` on its service
/// (`403 insufficient_grant` for a grant without it); anyone else gets `404`. API keys
/// need `billing:read`.
#[utoipa::path(
    tag = "Billing",
    params(("id" = String, Path, description = "The invoice's id")),
    responses(
        (status = 200, description = "The invoice", content(
            (InvoiceView = "application/json"),
            (String = "text/html"),
            (PdfContent = "application/pdf"),
            (String = "application/xml"),
        )),
        (status = 406, description = "`not_acceptable`: none of the formats in `Accept` is offered", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/invoices/{id}")]
pub async fn get_invoice(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadBilling)?;
    let format = Format::chosen(&request)?;
    let invoice = use_case::reach(&state, &principal.actor, authorized, &id).await?;
    let (row, credited) = use_case::with_credited(&state, invoice.row).await?;
    let document = use_case::document(&row, credited.as_ref())?;
    let mut builder = HttpResponse::Ok();
    builder.insert_header((header::VARY, "Accept"));
    Ok(match format {
        Format::Json => builder.json(InvoiceView::of(&row, &document)),
        Format::Html => {
            let html = invoice_html::render(&document)?;
            builder.content_type("text/html; charset=utf-8").body(html)
        }
        Format::Pdf => {
            let pdf = web::block(move || invoice_pdf::render(&document)).await.map_err(ApiError::internal)??;
            builder.insert_header(download_name(&row, "pdf")).content_type("application/pdf").body(pdf)
        }
        Format::Xml => {
            let xml = invoice_ubl::render(&document)?;
            builder.content_type("application/xml; charset=utf-8").body(xml)
        }
    })
}

/// `attachment; filename="INV-000001.pdf"` (a prefix's `/` would be a path).
fn download_name(row: &InvoiceRow, extension: &str) -> ContentDisposition {
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![DispositionParam::Filename(format!("{}.{extension}", row.number.replace('/', "-")))],
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount_minor": 14520, "method": "bank_transfer", "reference": "NL91ABNA 2026-12-06", "received_at": "2026-12-06T00:00:00Z"}))]
pub struct CreatePayment {
    /// What was received; what exceeds the amount due goes to the buyer's credit.
    #[schema(minimum = 1)]
    pub amount_minor: i64,
    /// `bank_transfer`, `cash`, `card` or `other` (`credit` is apply-credit's).
    pub method: PaymentMethod,
    /// 1-200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub reference: Option<String>,
    /// Default: now. Not in the future.
    pub received_at: Option<DateTime<Utc>>,
}

impl CreatePayment {
    fn checked(self) -> Result<Received, ApiError> {
        let mut errors = Vec::new();
        if self.amount_minor <= 0 {
            errors.push(FieldError::new("/amount_minor", Invalid::new("out_of_range", "a payment is more than 0")));
        }
        if self.method == PaymentMethod::Credit {
            errors.push(FieldError::new(
                "/method",
                Invalid::new("invalid_choice", "payments from credit are made with apply-credit"),
            ));
        }
        if let Some(reference) = &self.reference {
            if let Err(invalid) = check_length(reference, 1, 200) {
                errors.push(FieldError::new("/reference", invalid));
            }
        }
        if self.received_at.is_some_and(|at| at > Utc::now() + chrono::Duration::minutes(5)) {
            errors.push(FieldError::new("/received_at", Invalid::new("in_the_future", "a payment received later")));
        }
        if !errors.is_empty() {
            return Err(ApiError::fields(errors));
        }
        Ok(Received {
            amount_minor: self.amount_minor,
            method: self.method,
            reference: self.reference,
            received_at: self.received_at.map(|at| at.naive_utc()),
        })
    }
}

/// Record a payment of an invoice (its seller).
///
/// Partial payments add up; what exceeds the amount due goes to the buyer's credit in
/// the invoice's currency. Once the invoice is paid in full its order is fulfilled in
/// the same transaction. Send an `Idempotency-Key`: a retried request is counted once.
///
/// Only the seller that issued the invoice (the account directly above the buyer, or an
/// operator for the provider's invoices; `403 forbidden` for anyone else). `409
/// invoice_not_payable` for a void invoice or a credit note. API keys need
/// `billing:write`.
#[utoipa::path(
    tag = "Billing",
    request_body = CreatePayment,
    params(("id" = String, Path, description = "The invoice's id"), IdempotencyKeyHeader),
    responses((status = 201, description = "Recorded", body = PaymentView, headers(("Location" = String)))),
)]
#[post("/invoices/{id}/payments")]
pub async fn create_payment(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ManageInvoices)?;
    let invoice = use_case::reach(&state, &principal.actor, authorized, &id).await?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreatePayment = body.parse()?;
        let received = input.checked()?;
        let payment = payments::record(&state, &principal.actor, invoice.clone(), received).await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/invoices/{}/payments", payment.invoice_id)));
        Ok(builder.json(PaymentView::from_row(&payment)))
    })
    .await
}

/// The payments of an invoice, oldest first.
///
/// Every payment recorded by the seller and every payment from credit, in one answer
/// (not paged). Whoever may read the invoice: its buyer, the accounts above the buyer,
/// grantees with `billing` on its service. API keys need `billing:read`.
#[utoipa::path(
    tag = "Billing",
    params(("id" = String, Path, description = "The invoice's id")),
    responses((
        status = 200, description = "The payments", body = Vec<PaymentView>,
        example = json!([crate::views::billing::payment_example()])
    )),
)]
#[get("/invoices/{id}/payments")]
pub async fn list_payments(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadBilling)?;
    let invoice = use_case::reach(&state, &principal.actor, authorized, &id).await?;
    let rows = payments::list(&state, invoice).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(PaymentView::from_row).collect::<Vec<_>>()))
}

/// Pay an invoice from the buyer's credit, as far as the credit goes.
///
/// Pays what is due from the buyer's credit in the invoice's currency, up to the amount
/// due; paid in full, the invoice's order is fulfilled in the same transaction. The
/// buyer, an account above it, or a grantee with `billing` on its service. `409
/// insufficient_credit` when there is no credit in that currency (or nothing is due);
/// `409 invoice_not_payable` for a void invoice or a credit note. API keys need
/// `billing:write`.
#[utoipa::path(
    tag = "Billing",
    params(("id" = String, Path, description = "The invoice's id")),
    responses(
        (status = 200, description = "The invoice", body = InvoiceView),
        (status = 409, description = "`insufficient_credit`: no credit in the invoice's currency, or nothing is due; `invoice_not_payable`: a void invoice or a credit note", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/invoices/{id}/apply-credit")]
pub async fn apply_credit(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ApplyCredit)?;
    let invoice = use_case::reach(&state, &principal.actor, authorized, &id).await?;
    let row = payments::apply_credit(&state, &principal.actor, invoice).await?;
    invoice_json(&state, row).await
}

/// Void an unpaid invoice without payments; its order is cancelled.
///
/// Only the seller that issued it (the account directly above the buyer, or an operator
/// for the provider's invoices; `403 forbidden` for anyone else, customers included).
/// `409 invalid_transition` for a paid, part-paid or void invoice and for a credit note:
/// a paid invoice is corrected with a credit note. API keys need `billing:write`.
#[utoipa::path(
    tag = "Billing",
    params(("id" = String, Path, description = "The invoice's id")),
    responses(
        (status = 200, description = "The invoice", body = InvoiceView),
        (status = 409, description = "`invalid_transition`: a paid, part-paid or void invoice, or a credit note", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/invoices/{id}/void")]
pub async fn void_invoice(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ManageInvoices)?;
    let invoice = use_case::reach(&state, &principal.actor, authorized, &id).await?;
    let row = use_case::void(&state, &principal.actor, invoice).await?;
    invoice_json(&state, row).await
}

/// The most one credit note credits, in minor units (as much as a plan's price).
const MAX_CREDIT_NOTE_MINOR: i64 = 1_000_000_000_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Service cancelled within the first month", "amount_minor": 1000}))]
pub struct CreateCreditNote {
    #[schema(format = "text", max_length = 1000)]
    pub reason: String,
    /// Net amount to credit (the invoice's tax rate is added); absent: all of the
    /// invoice that is not credited yet.
    #[schema(minimum = 1)]
    pub amount_minor: Option<i64>,
}

/// Issue a credit note for a paid invoice.
///
/// The note has negative amounts, takes its number from the seller's invoice sequence
/// and names the invoice in `credit_note_for`; the credited total goes to the buyer's
/// credit. Without `amount_minor` it credits all that is not credited yet; more than
/// that is `422` at `/amount_minor`. Only the seller that issued the invoice (`403
/// forbidden` for anyone else); `409 invalid_transition` unless the invoice is a paid
/// invoice. Takes `Idempotency-Key`, so a retry issues one note. API keys need
/// `billing:write`.
#[utoipa::path(
    tag = "Billing",
    request_body = CreateCreditNote,
    params(("id" = String, Path, description = "The invoice's id"), IdempotencyKeyHeader),
    responses((status = 201, description = "Issued", body = InvoiceView, headers(("Location" = String)))),
)]
#[post("/invoices/{id}/credit-note")]
pub async fn create_credit_note(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ManageInvoices)?;
    let invoice = use_case::reach(&state, &principal.actor, authorized, &id).await?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateCreditNote = body.parse()?;
        let mut errors = Vec::new();
        let reason = Reason::parse(&input.reason).map_err(|e| errors.push(FieldError::new("/reason", e))).ok();
        if input.amount_minor.is_some_and(|amount| !(1..=MAX_CREDIT_NOTE_MINOR).contains(&amount)) {
            errors.push(FieldError::new(
                "/amount_minor",
                Invalid::new("out_of_range", format!("credit 1 to {MAX_CREDIT_NOTE_MINOR}")),
            ));
        }
        let Some(reason) = reason.filter(|_| errors.is_empty()) else { return Err(ApiError::fields(errors)) };
        let note = use_case::credit_note(&state, &principal.actor, invoice.clone(), reason, input.amount_minor).await?;
        let location = format!("/v1/invoices/{}", note.id);
        let (note, credited) = use_case::with_credited(&state, note).await?;
        let view = InvoiceView::of(&note, &use_case::document(&note, credited.as_ref())?);
        Ok(HttpResponse::Created().insert_header((header::LOCATION, location)).json(view))
    })
    .await
}

async fn invoice_json(state: &AppState, row: InvoiceRow) -> Result<HttpResponse, ApiError> {
    let (row, credited) = use_case::with_credited(state, row).await?;
    Ok(HttpResponse::Ok().json(InvoiceView::of(&row, &use_case::document(&row, credited.as_ref())?)))
}
