//! `/v1/tickets`: open, list, read, close and answer support tickets
//! (crate::app::support).

use actix_web::http::header;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::policy::Action;
use hostadmin_domain::support::{MessageBody, Priority, Subject, TicketStatus};
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::tickets::TicketFilter;

use crate::app::access;
use crate::app::support::{self as use_case, NewTicketRequest, ReplyRequest, TicketUpdate};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{IfMatch, IfMatchHeader};
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::merge_patch::Patch;
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;
use crate::views::support::{ticket_response, MessageView, TicketView};

fn take<T>(result: Result<T, Invalid>, pointer: &str, errors: &mut Vec<FieldError>) -> Option<T> {
    result.map_err(|invalid| errors.push(FieldError::new(pointer, invalid))).ok()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"subject": "Mail does not arrive", "body": "Since this morning no mail reaches info@example.com.", "service_id": "0193a1b2-0000-7000-8000-0000000000b1", "priority": "high"}))]
pub struct CreateTicket {
    /// A seller writing to an account directly below it (an outgoing ticket); without
    /// it the caller writes to its own seller.
    pub customer_id: Option<String>,
    #[schema(format = "line", max_length = 200)]
    pub subject: String,
    /// The first message.
    #[schema(format = "text", max_length = 10000)]
    pub body: String,
    /// A service of the caller's, or one granted to it with `support` (the ticket is
    /// then the owner's); for an outgoing ticket a service of `customer_id`'s.
    pub service_id: Option<String>,
    /// Default `normal`.
    pub priority: Option<Priority>,
}

/// Open a ticket.
///
/// Without `customer_id`, the caller writes to its seller (the account above it, or
/// the provider): the ticket is `open` and the seller is mailed. With `service_id` the
/// ticket is about that service; a grantee with `support` on it opens the ticket for its
/// owner (`403 insufficient_grant` without that permission). With `customer_id`, a
/// reseller or operator writes to an account directly below it (`422
/// not_directly_below` for one further down; another tenant's account is 404): the
/// ticket is `answered` (waiting for the customer), who is mailed.
///
/// Refused while `support.write` is disabled (`403 action_restricted`). Takes
/// `Idempotency-Key`: a retry opens one ticket. API keys need `support:write`.
#[utoipa::path(
    tag = "Support",
    request_body = CreateTicket,
    params(IdempotencyKeyHeader),
    responses(
        (status = 201, description = "Opened", body = TicketView, headers(("Location" = String), ("ETag" = String))),
        (status = 404, description = "`not_found`: `customer_id` or `service_id` names nothing the caller reaches", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/tickets")]
pub async fn create_ticket(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteTickets)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateTicket = body.parse()?;
        let mut errors = Vec::new();
        let subject = take(Subject::parse(&input.subject), "/subject", &mut errors);
        let message = take(MessageBody::parse(&input.body), "/body", &mut errors);
        let (Some(subject), Some(body)) = (subject, message) else { return Err(ApiError::fields(errors)) };
        let new = NewTicketRequest {
            customer_id: input.customer_id,
            service_id: input.service_id,
            subject,
            body,
            priority: input.priority.unwrap_or_default(),
        };
        let row = use_case::open(&state, &principal.actor, authorized.clone(), new).await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/tickets/{}", row.id)));
        Ok(ticket_response(builder, &row))
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListTicketsQuery {
    pub status: Option<TicketStatus>,
    pub customer_id: Option<String>,
    pub service_id: Option<String>,
    /// A case-insensitive prefix of the subject; all digits also match the number.
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
}

/// The tickets the caller opened, received or was granted, newest first.
///
/// Tickets whose customer is the caller; for resellers and operators also those of every
/// account below them (the tickets they received as sellers among them); and those about
/// services granted to the caller with `support`. Filters `status`, `customer_id`,
/// `service_id` and `q` (a case-insensitive prefix of the subject; all digits also match
/// the number). Cursor-paginated (`limit`, `cursor`; a cursor is bound to its filters).
/// API keys need `support:read`.
#[utoipa::path(
    tag = "Support",
    params(ListTicketsQuery, PageQuery),
    responses((status = 200, description = "A page of tickets", body = Page<TicketView>)),
)]
#[get("/tickets")]
pub async fn list_tickets(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListTicketsQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadTickets)?;
    let query = query.into_inner();
    let q = search_prefix(query.q.as_deref())?;
    let filters = format!(
        "status={}&customer={}&service={}&q={}",
        query.status.map(TicketStatus::as_str).unwrap_or_default(),
        query.customer_id.as_deref().unwrap_or_default(),
        query.service_id.as_deref().unwrap_or_default(),
        q.as_deref().unwrap_or_default(),
    );
    let page = paging.request(filters)?;
    let filter = TicketFilter {
        status: query.status,
        customer_id: query.customer_id,
        service_id: query.service_id,
        q,
        before_id: page.before_id.clone(),
    };
    let rows = use_case::list(&state, &principal.actor, authorized, filter, page.fetch()).await?;
    let views = rows.iter().map(TicketView::from_row).collect::<Vec<_>>();
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Read one ticket.
///
/// Its customer, the ticket's seller and every account above the customer, and grantees
/// with `support` on the ticket's service (`403 insufficient_grant` for a grant without
/// it); anyone else gets `404`. The messages are at `GET /v1/tickets/{id}/messages`.
/// API keys need `support:read`.
#[utoipa::path(
    tag = "Support",
    params(("id" = String, Path, description = "The ticket's id")),
    responses((status = 200, description = "The ticket", body = TicketView, headers(("ETag" = String)))),
)]
#[get("/tickets/{id}")]
pub async fn get_ticket(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadTickets)?;
    let ticket = access::ticket(&state, &principal.actor, authorized, &id).await?;
    Ok(ticket_response(HttpResponse::Ok(), &ticket.row))
}

/// The status a ticket may be set to: closed (replies reopen it).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettableStatus {
    Closed,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "closed"}))]
pub struct UpdateTicket {
    /// Only `closed`; a reply reopens the ticket.
    #[schema(value_type = SettableStatus)]
    #[serde(default)]
    pub status: Patch<SettableStatus>,
    #[schema(value_type = Priority)]
    #[serde(default)]
    pub priority: Patch<Priority>,
}

/// Close a ticket or change its priority (either side; JSON merge patch).
///
/// `status` takes only `closed`; a later reply reopens the ticket. Asking for what
/// already holds changes nothing. Whoever may answer the ticket may change it (grantees
/// need `support`); refused while `support.write` is disabled (`403
/// action_restricted`). A stale `If-Match` is `412`. API keys need `support:write`.
#[utoipa::path(
    tag = "Support",
    params(("id" = String, Path, description = "The ticket's id"), IfMatchHeader),
    request_body(content = UpdateTicket, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The ticket", body = TicketView, headers(("ETag" = String)))),
)]
#[patch("/tickets/{id}")]
pub async fn update_ticket(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteTickets)?;
    let ticket = access::ticket(&state, &principal.actor, authorized, &id).await?;
    let input: UpdateTicket = body.parse()?;
    let update = TicketUpdate {
        close: input.status.required("/status")?.is_some(),
        priority: input.priority.required("/priority")?,
    };
    let row = use_case::update(&state, &principal.actor, ticket, update, IfMatch::from_request(&request)).await?;
    Ok(ticket_response(HttpResponse::Ok(), &row))
}

/// The messages of a ticket, newest first, each with its attachments.
///
/// The customer's side (the customer and grantees with `support`) never sees the seller's
/// internal notes; the seller's side sees every message. Cursor-paginated (`limit`,
/// `cursor`). Whoever may read the ticket. API keys need `support:read`.
#[utoipa::path(
    tag = "Support",
    params(("id" = String, Path, description = "The ticket's id"), PageQuery),
    responses((status = 200, description = "A page of messages", body = Page<MessageView>)),
)]
#[get("/tickets/{id}/messages")]
pub async fn list_messages(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadTickets)?;
    let ticket = access::ticket(&state, &principal.actor, authorized, &id).await?;
    let page = paging.request(String::new())?;
    let messages = use_case::messages(&state, ticket, page.before_id.clone(), page.fetch()).await?;
    let views = messages.iter().map(MessageView::from_message).collect::<Vec<_>>();
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Here is the screenshot.", "attachment_ids": ["0193a1b2-0000-7000-8000-0000000000f1"]}))]
pub struct CreateMessage {
    #[schema(format = "text", max_length = 10000)]
    pub body: String,
    /// A note for the seller's side only (`403 forbidden` from the customer's side): it
    /// changes neither the status nor `last_reply_at` and mails nobody.
    #[serde(default)]
    pub internal: bool,
    /// Files the caller uploaded to this ticket that no message carries yet.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub attachment_ids: Vec<String>,
}

/// Answer a ticket.
///
/// From the customer's side the ticket becomes `open`, from the seller's side
/// `answered`; a closed ticket reopens. The other side is mailed unless it switched
/// `ticket_replies` off (`/v1/me/notifications`). `404` for an attachment id that is not
/// the caller's pending upload on this ticket; `409 attachment_in_use` for one a message
/// already carries.
///
/// `internal` notes are the seller's side's only (`403 forbidden` from the customer's
/// side). Whoever may read the ticket may answer it (grantees need `support`); refused
/// while `support.write` is disabled. Takes `Idempotency-Key`: a retry sends one message.
/// API keys need `support:write`.
#[utoipa::path(
    tag = "Support",
    request_body = CreateMessage,
    params(("id" = String, Path, description = "The ticket's id"), IdempotencyKeyHeader),
    responses(
        (status = 201, description = "Sent", body = MessageView, headers(("Location" = String))),
        (status = 409, description = "`attachment_in_use` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/tickets/{id}/messages")]
pub async fn create_message(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteTickets)?;
    let ticket = access::ticket(&state, &principal.actor, authorized, &id).await?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateMessage = body.parse()?;
        let text = MessageBody::parse(&input.body).map_err(|invalid| ApiError::field("/body", invalid))?;
        let reply = ReplyRequest { body: text, internal: input.internal, attachment_ids: input.attachment_ids };
        let message = use_case::reply(&state, &principal.actor, ticket.clone(), reply).await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/tickets/{}/messages", message.row.ticket_id)));
        Ok(builder.json(MessageView::from_message(&message)))
    })
    .await
}
