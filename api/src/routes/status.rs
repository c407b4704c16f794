//! The public status page: `/v1/status` (the summary), the incident history and its
//! Atom feed. No authentication; answers carry `Cache-Control` and an `ETag`, and a
//! client that holds the current version gets `304` (crate::app::status).

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use hostadmin_domain::status::IncidentKind;

use crate::app::status as use_case;
use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::ApiError;
use crate::http::published::Rendered;
use crate::state::AppState;
use crate::views::status::{atom_feed, IncidentView, SummaryView};

/// Entries in the feed: the newest incidents.
const FEED_ENTRIES: i64 = 50;

/// The conditional request header of the public answers.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfNoneMatchHeader {
    /// The `ETag` of the version the client holds: `304 Not Modified` while it is current.
    #[param(rename = "If-None-Match", value_type = Option<String>)]
    pub if_none_match: Option<String>,
}

/// The status page now.
///
/// `indicator` is the worst `status` of the components, each lowered to the `impact` of
/// the incidents on it that last (unplanned ones until resolved; planned ones between
/// their scheduled start and end, until completed). Best to worst: `operational`,
/// `maintenance`, `degraded`, `partial_outage`, `major_outage`. Shared by every client
/// for up to 5 seconds on each server and cacheable for 30.
#[utoipa::path(
    tag = "Status page",
    params(IfNoneMatchHeader),
    responses(
        (status = 200, description = "The summary", body = SummaryView, headers(("ETag" = String), ("Cache-Control" = String, description = "`public, max-age=30`"))),
        (status = 304, description = "The version the client holds is current", headers(("ETag" = String))),
    ),
    security(()),
)]
#[get("/status")]
pub async fn status_summary(state: web::Data<AppState>, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let page = state
        .status_page
        .get(|| async {
            let summary = use_case::summary(&state).await?;
            serde_json::to_vec(&SummaryView::from_summary(&summary)).map_err(ApiError::internal)
        })
        .await?;
    Ok(page.respond(&request, "application/json", 30))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListIncidentsQuery {
    pub kind: Option<IncidentKind>,
}

/// Every incident and planned change, newest first, with its updates.
///
/// The status page's history: resolved and open incidents, completed and upcoming
/// planned work. Filter `kind` (`outage`, `fault`, `maintenance`, `change`).
/// Cursor-paginated (`limit`, `cursor`; a cursor is bound to its filter). Public: no
/// authentication.
#[utoipa::path(
    tag = "Status page",
    params(ListIncidentsQuery, PageQuery),
    responses((status = 200, description = "A page of incidents", body = Page<IncidentView>)),
    security(()),
)]
#[get("/status/incidents")]
pub async fn list_incidents(
    state: web::Data<AppState>,
    query: web::Query<ListIncidentsQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let kind = query.kind;
    let page = paging.request(format!("kind={}", kind.map(IncidentKind::as_str).unwrap_or_default()))?;
    let incidents = use_case::incidents(&state, kind, page.before_id.clone(), page.fetch()).await?;
    let views = incidents.iter().map(IncidentView::from_incident).collect::<Vec<_>>();
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// One incident with its updates.
///
/// `404` for an unknown or malformed id. The `ETag` is what `If-Match` of the operators'
/// PATCH compares with. Public: no authentication.
#[utoipa::path(
    tag = "Status page",
    params(("id" = String, Path, description = "The incident's id")),
    responses((status = 200, description = "The incident", body = IncidentView, headers(("ETag" = String)))),
    security(()),
)]
#[get("/status/incidents/{id}")]
pub async fn get_incident(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let incident = use_case::incident(&state, &id).await?;
    Ok(crate::views::status::incident_response(HttpResponse::Ok(), &incident))
}

/// The newest 50 incidents as an Atom feed (RFC 4287), for feed readers.
///
/// One entry per incident or planned change. Sends an `ETag` and `Cache-Control: public,
/// max-age=60`; a client that sends the current `ETag` in `If-None-Match` gets `304`
/// without a body. Public: no authentication.
#[utoipa::path(
    tag = "Status page",
    params(IfNoneMatchHeader),
    responses(
        (status = 200, description = "The feed", body = String, content_type = "application/atom+xml", headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "The version the client holds is current", headers(("ETag" = String))),
    ),
    security(()),
)]
#[get("/status/feed.atom")]
pub async fn status_feed(state: web::Data<AppState>, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let incidents = use_case::incidents(&state, None, None, FEED_ENTRIES).await?;
    let feed = Rendered::new(atom_feed(&incidents, &state.config.public_url)?);
    Ok(feed.respond(&request, "application/atom+xml", 60))
}
