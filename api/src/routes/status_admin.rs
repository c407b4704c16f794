//! The operators' side of the status page: components, incidents and their updates
//! (crate::app::status). Every change drops the shared summary of this server at once.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use hostadmin_domain::accounts::DisplayName;
use hostadmin_domain::policy::Action;
use hostadmin_domain::status::{ComponentStatus, Impact, IncidentKind, Progress, Text, Title};
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::status_page::ComponentChanges;

use crate::app::status::{self as use_case, IncidentPatch, NewComponent, NewIncidentRequest};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{IfMatch, IfMatchHeader};
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::merge_patch::Patch;
use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;
use crate::views::status::{component_response, incident_response, ComponentView, IncidentView, UpdateView};

fn take<T>(result: Result<T, Invalid>, pointer: &str, errors: &mut Vec<FieldError>) -> Option<T> {
    result.map_err(|invalid| errors.push(FieldError::new(pointer, invalid))).ok()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Webmail", "group": "Mail", "status": "operational"}))]
pub struct CreateComponent {
    #[schema(format = "line", max_length = 200)]
    pub name: String,
    /// Components with the same group are shown together.
    #[schema(format = "line", max_length = 200)]
    pub group: Option<String>,
    pub status: ComponentStatus,
}

/// Add a component to the status page (at most 100: `409 quota_exceeded`).
///
/// A component is a part of the service people care about (`name`, an optional `group`
/// to show it with others, and its own `status`). Operators only (`403 forbidden` for
/// anyone else). Takes `Idempotency-Key`. API keys need `support:write`.
#[utoipa::path(
    tag = "Status page",
    request_body = CreateComponent,
    params(IdempotencyKeyHeader),
    responses((status = 201, description = "Added", body = ComponentView, headers(("Location" = String), ("ETag" = String)))),
)]
#[post("/status/components")]
pub async fn create_component(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ManageStatus)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateComponent = body.parse()?;
        let mut errors = Vec::new();
        let name = take(DisplayName::parse(&input.name), "/name", &mut errors);
        let group = input.group.as_deref().map(|group| take(DisplayName::parse(group), "/group", &mut errors));
        let (Some(name), None | Some(Some(_))) = (name, &group) else { return Err(ApiError::fields(errors)) };
        let new = NewComponent { name, group: group.flatten(), status: input.status };
        let row = use_case::create_component(&state, &principal.actor, authorized.clone(), new).await?;
        state.status_page.invalidate();
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/status/components/{}", row.id)));
        Ok(component_response(builder, &row))
    })
    .await
}

/// The components as stored (their own status, not lowered by incidents), newest first.
///
/// The public `GET /v1/status` shows them as incidents lower them. Cursor-paginated
/// (`limit`, `cursor`). Operators only (`403 forbidden` for anyone else). API keys need
/// `support:read`.
#[utoipa::path(
    tag = "Status page",
    params(PageQuery),
    responses((status = 200, description = "A page of components", body = Page<ComponentView>)),
)]
#[get("/status/components")]
pub async fn list_components(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadStatusComponents)?;
    let page = paging.request(String::new())?;
    let rows = use_case::components(&state, authorized, page.before_id.clone(), page.fetch()).await?;
    let views = rows.iter().map(ComponentView::from_row).collect::<Vec<_>>();
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// One component as stored.
///
/// Its own status, not lowered by incidents. Operators only (`403 forbidden` for anyone
/// else). API keys need `support:read`.
#[utoipa::path(
    tag = "Status page",
    params(("id" = String, Path, description = "The component's id")),
    responses((status = 200, description = "The component", body = ComponentView, headers(("ETag" = String)))),
)]
#[get("/status/components/{id}")]
pub async fn get_component(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadStatusComponents)?;
    let row = use_case::component(&state, authorized, &id).await?;
    Ok(component_response(HttpResponse::Ok(), &row))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "degraded"}))]
pub struct UpdateComponent {
    #[schema(format = "line", value_type = String, max_length = 200)]
    #[serde(default)]
    pub name: Patch<String>,
    /// `null` removes it from its group.
    #[schema(format = "line", value_type = Option<String>, max_length = 200)]
    #[serde(default)]
    pub group: Patch<String>,
    #[schema(value_type = ComponentStatus)]
    #[serde(default)]
    pub status: Patch<ComponentStatus>,
}

/// Change a component's name, group or status (JSON merge patch).
///
/// The public summary shows the change at once. A stale `If-Match` is `412`. Operators
/// only (`403 forbidden` for anyone else). API keys need `support:write`.
#[utoipa::path(
    tag = "Status page",
    params(("id" = String, Path, description = "The component's id"), IfMatchHeader),
    request_body(content = UpdateComponent, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The component", body = ComponentView, headers(("ETag" = String)))),
)]
#[patch("/status/components/{id}")]
pub async fn update_component(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ManageStatus)?;
    let input: UpdateComponent = body.parse()?;
    let name = input.name.required("/name")?;
    let name = name.map(|n| DisplayName::parse(&n).map_err(|invalid| ApiError::field("/name", invalid))).transpose()?;
    let group = match input.group {
        Patch::Absent => None,
        Patch::Null => Some(None),
        Patch::Value(group) => {
            Some(Some(DisplayName::parse(&group).map_err(|invalid| ApiError::field("/group", invalid))?))
        }
    };
    let changes = ComponentChanges {
        name: name.map(|n| n.as_str().to_owned()),
        group_name: group.map(|g| g.map(|g| g.as_str().to_owned())),
        status: input.status.required("/status")?,
    };
    let if_match = IfMatch::from_request(&request);
    let row = use_case::update_component(&state, &principal.actor, authorized, &id, changes, if_match).await?;
    state.status_page.invalidate();
    Ok(component_response(HttpResponse::Ok(), &row))
}

/// Remove a component; incidents that named it no longer do.
///
/// A stale `If-Match` is `412`. Operators only (`403 forbidden` for anyone else). API
/// keys need `support:write`.
#[utoipa::path(
    tag = "Status page",
    params(("id" = String, Path, description = "The component's id"), IfMatchHeader),
    responses((status = 204, description = "Removed")),
)]
#[delete("/status/components/{id}")]
pub async fn delete_component(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ManageStatus)?;
    use_case::delete_component(&state, &principal.actor, authorized, &id, IfMatch::from_request(&request)).await?;
    state.status_page.invalidate();
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "maintenance", "title": "Mail server upgrade", "body": "Mail is delayed for up to 30 minutes.",
    "component_ids": ["0193a1b2-0000-7000-8000-00000000c001"], "impact": "maintenance",
    "scheduled_start": "2026-12-10T22:00:00Z", "scheduled_end": "2026-12-10T23:00:00Z"
}))]
pub struct CreateIncident {
    pub kind: IncidentKind,
    #[schema(format = "line", max_length = 200)]
    pub title: String,
    #[schema(format = "optional-text", max_length = 10000)]
    pub body: String,
    /// The components it affects (at most 50); may be empty.
    #[schema(max_items = 50)]
    pub component_ids: Vec<String>,
    pub impact: Impact,
    /// Required for `maintenance` and `change`, refused for `outage` and `fault`.
    pub scheduled_start: Option<DateTime<Utc>>,
    /// After `scheduled_start`; required with it.
    pub scheduled_end: Option<DateTime<Utc>>,
}

/// Open an incident or announce planned work.
///
/// An `outage` or `fault` starts `investigating` and lowers its components to its
/// `impact` until it is resolved; `maintenance` or `change` starts `scheduled` and needs
/// `scheduled_start` and `scheduled_end` (refused for unplanned kinds), lowering its
/// components only inside that window. A component id that names nothing is `404`.
/// Operators only (`403 forbidden` for anyone else). Takes `Idempotency-Key`. API keys
/// need `support:write`.
#[utoipa::path(
    tag = "Status page",
    request_body = CreateIncident,
    params(IdempotencyKeyHeader),
    responses(
        (status = 201, description = "Opened", body = IncidentView, headers(("Location" = String), ("ETag" = String))),
        (status = 404, description = "`not_found`: a component id names nothing", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/status/incidents")]
pub async fn create_incident(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ManageStatus)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateIncident = body.parse()?;
        let mut errors = Vec::new();
        let title = take(Title::parse(&input.title), "/title", &mut errors);
        let text = take(Text::parse(&input.body), "/body", &mut errors);
        let (Some(title), Some(body)) = (title, text) else { return Err(ApiError::fields(errors)) };
        let new = NewIncidentRequest {
            kind: input.kind,
            title,
            body,
            impact: input.impact,
            component_ids: input.component_ids,
            scheduled_start: input.scheduled_start.map(|at| at.naive_utc()),
            scheduled_end: input.scheduled_end.map(|at| at.naive_utc()),
        };
        let incident = use_case::create_incident(&state, &principal.actor, authorized.clone(), new).await?;
        state.status_page.invalidate();
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/status/incidents/{}", incident.row.id)));
        Ok(incident_response(builder, &incident))
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"impact": "partial_outage"}))]
pub struct UpdateIncident {
    #[schema(format = "line", value_type = String, max_length = 200)]
    #[serde(default)]
    pub title: Patch<String>,
    #[schema(format = "optional-text", value_type = Option<String>, max_length = 10000)]
    #[serde(default)]
    pub body: Patch<String>,
    #[schema(value_type = Impact)]
    #[serde(default)]
    pub impact: Patch<Impact>,
    #[schema(value_type = Vec<String>, max_items = 50)]
    #[serde(default)]
    pub component_ids: Patch<Vec<String>>,
    /// Planned work only; checked with `scheduled_end` and the kind.
    #[schema(value_type = Option<DateTime<Utc>>)]
    #[serde(default)]
    pub scheduled_start: Patch<DateTime<Utc>>,
    #[schema(value_type = Option<DateTime<Utc>>)]
    #[serde(default)]
    pub scheduled_end: Patch<DateTime<Utc>>,
}

fn window_end(patch: Patch<DateTime<Utc>>) -> Option<Option<chrono::NaiveDateTime>> {
    match patch {
        Patch::Absent => None,
        Patch::Null => Some(None),
        Patch::Value(at) => Some(Some(at.naive_utc())),
    }
}

/// Change an incident's title, text, impact, components or window (JSON merge patch).
///
/// Its stage moves only with updates (`POST .../updates`). The window is for planned
/// work only and is checked with the kind. A stale `If-Match` is `412`. Operators only
/// (`403 forbidden` for anyone else). API keys need `support:write`.
#[utoipa::path(
    tag = "Status page",
    params(("id" = String, Path, description = "The incident's id"), IfMatchHeader),
    request_body(content = UpdateIncident, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The incident", body = IncidentView, headers(("ETag" = String)))),
)]
#[patch("/status/incidents/{id}")]
pub async fn update_incident(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ManageStatus)?;
    let input: UpdateIncident = body.parse()?;
    let mut errors = Vec::new();
    let title = input.title.required("/title")?.and_then(|t| take(Title::parse(&t), "/title", &mut errors));
    let text = match input.body {
        Patch::Absent => None,
        Patch::Null => Some(Text::default()),
        Patch::Value(text) => take(Text::parse(&text), "/body", &mut errors),
    };
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    let patch = IncidentPatch {
        title,
        body: text,
        impact: input.impact.required("/impact")?,
        component_ids: input.component_ids.required("/component_ids")?,
        scheduled_start: window_end(input.scheduled_start),
        scheduled_end: window_end(input.scheduled_end),
    };
    let if_match = IfMatch::from_request(&request);
    let incident = use_case::update_incident(&state, &principal.actor, authorized, &id, patch, if_match).await?;
    state.status_page.invalidate();
    Ok(incident_response(HttpResponse::Ok(), &incident))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "identified", "body": "A failed disk; the array is rebuilding."}))]
pub struct CreateUpdate {
    /// `investigating`, `identified`, `monitoring`, `resolved` for outages and faults;
    /// `scheduled`, `in_progress`, `completed` for maintenance and changes.
    pub status: Progress,
    #[schema(format = "optional-text", max_length = 10000)]
    pub body: String,
}

/// Post an update: the incident takes its stage.
///
/// `investigating`, `identified`, `monitoring` and `resolved` are the stages of outages
/// and faults; `scheduled`, `in_progress` and `completed` those of planned work.
/// `resolved` and `completed` end the incident; a later update of another stage reopens
/// it. At most 200 updates per incident (`409 quota_exceeded`). Operators only (`403
/// forbidden` for anyone else). Takes `Idempotency-Key`. API keys need `support:write`.
#[utoipa::path(
    tag = "Status page",
    request_body = CreateUpdate,
    params(("id" = String, Path, description = "The incident's id"), IdempotencyKeyHeader),
    responses(
        (status = 201, description = "Posted", body = UpdateView, headers(("Location" = String))),
        (status = 409, description = "`quota_exceeded` (200 updates) or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/status/incidents/{id}/updates")]
pub async fn create_update(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ManageStatus)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateUpdate = body.parse()?;
        let text = Text::parse(&input.body).map_err(|invalid| ApiError::field("/body", invalid))?;
        let posted = use_case::post_update(&state, &principal.actor, authorized.clone(), &id, input.status, text);
        let (incident, update) = posted.await?;
        state.status_page.invalidate();
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/status/incidents/{}", incident.row.id)));
        Ok(builder.json(UpdateView::from_row(&update)))
    })
    .await
}
