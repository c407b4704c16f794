//! The status page as the API shows it: the public summary, incidents with their
//! updates, the Atom feed (RFC 4287), and components as operators keep them.

use actix_web::http::header;
use actix_web::HttpResponse;
use atom_syndication::{Content, Entry, Feed, Link, Person, Text};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use hostadmin_domain::status::{ComponentStatus, Impact, IncidentKind, Indicator, Progress};
use hostadmin_domain::time;
use hostadmin_persistence::status_page::{ComponentRow, UpdateRow};

use crate::app::status::{Incident, Summary};
use crate::http::etag::etag;
use crate::http::problem::ApiError;

/// A component as operators keep it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-0000-7000-8000-00000000c001", "name": "Webmail", "group": "Mail",
    "status": "operational", "created_at": "2026-12-05T08:00:00Z", "updated_at": "2026-12-05T08:00:00Z"
}))]
pub struct ComponentView {
    pub id: String,
    pub name: String,
    pub group: Option<String>,
    /// Its own status; the public page lowers it while an incident on it lasts.
    pub status: ComponentStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ComponentView {
    pub fn from_row(row: &ComponentRow) -> Self {
        Self {
            id: row.id.clone(),
            name: row.name.clone(),
            group: row.group_name.clone(),
            status: row.status,
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
        }
    }
}

/// An answer with the component and its `ETag`.
pub fn component_response(mut builder: actix_web::HttpResponseBuilder, row: &ComponentRow) -> HttpResponse {
    builder.insert_header((header::ETAG, etag(row.version))).json(ComponentView::from_row(row))
}

/// A component on the public page.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicComponentView {
    pub id: String,
    pub name: String,
    pub group: Option<String>,
    /// Its status now: its own, lowered by the incidents on it that last.
    pub status: ComponentStatus,
}

/// An update of the example fault (`fault_example`).
fn update_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0193a1b2-0000-7000-8000-00000000e001", "incident_id": "0193a1b2-0000-7000-8000-00000000d002",
        "status": "identified", "body": "A failed disk; the array is rebuilding.", "created_at": "2026-12-05T09:40:00Z"
    })
}

/// Planned work on the example component, as the incident's example and the summary's show it.
fn maintenance_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0193a1b2-0000-7000-8000-00000000d001", "kind": "maintenance", "title": "Mail server upgrade",
        "body": "Mail is delayed for up to 30 minutes.", "impact": "maintenance", "status": "scheduled",
        "component_ids": ["0193a1b2-0000-7000-8000-00000000c001"],
        "scheduled_start": "2026-12-10T22:00:00Z", "scheduled_end": "2026-12-10T23:00:00Z", "resolved_at": null,
        "updates": [], "created_at": "2026-12-05T08:00:00Z", "updated_at": "2026-12-05T08:00:00Z"
    })
}

/// An unplanned incident that lowers the example component now, with one update.
fn fault_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0193a1b2-0000-7000-8000-00000000d002", "kind": "fault", "title": "Webmail is slow",
        "body": "Logging in to webmail takes up to a minute.", "impact": "degraded", "status": "identified",
        "component_ids": ["0193a1b2-0000-7000-8000-00000000c001"],
        "scheduled_start": null, "scheduled_end": null, "resolved_at": null,
        "updates": [update_example()], "created_at": "2026-12-05T09:15:00Z", "updated_at": "2026-12-05T09:40:00Z"
    })
}

/// The public summary while the fault lasts and the maintenance waits.
fn summary_example() -> serde_json::Value {
    serde_json::json!({
        "indicator": "degraded",
        "components": [
            {"id": "0193a1b2-0000-7000-8000-00000000c001", "name": "Webmail", "group": "Mail", "status": "degraded"},
            {
                "id": "0193a1b2-0000-7000-8000-00000000c002", "name": "Control panel", "group": null,
                "status": "operational"
            }
        ],
        "incidents": [fault_example()],
        "scheduled": [maintenance_example()]
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = update_example)]
pub struct UpdateView {
    pub id: String,
    pub incident_id: String,
    /// The stage the incident took with this update.
    pub status: Progress,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl UpdateView {
    pub fn from_row(row: &UpdateRow) -> Self {
        Self {
            id: row.id.clone(),
            incident_id: row.incident_id.clone(),
            status: row.progress,
            body: row.body.clone(),
            created_at: time::to_utc(row.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = maintenance_example)]
pub struct IncidentView {
    pub id: String,
    /// `outage` and `fault` are unplanned, `maintenance` and `change` planned.
    pub kind: IncidentKind,
    pub title: String,
    pub body: String,
    /// What it does to its components while it lasts.
    pub impact: Impact,
    /// Its stage, as its last update set it.
    pub status: Progress,
    pub component_ids: Vec<String>,
    /// Planned work only: its window (it affects its components only within it).
    pub scheduled_start: Option<DateTime<Utc>>,
    pub scheduled_end: Option<DateTime<Utc>>,
    /// When it was resolved or completed.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Newest first.
    pub updates: Vec<UpdateView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl IncidentView {
    pub fn from_incident(incident: &Incident) -> Self {
        let row = &incident.row;
        Self {
            id: row.id.clone(),
            kind: row.kind,
            title: row.title.clone(),
            body: row.body.clone(),
            impact: row.impact,
            status: row.progress,
            component_ids: incident.component_ids.clone(),
            scheduled_start: row.scheduled_start.map(time::to_utc),
            scheduled_end: row.scheduled_end.map(time::to_utc),
            resolved_at: row.resolved_at.map(time::to_utc),
            updates: incident.updates.iter().map(UpdateView::from_row).collect(),
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
        }
    }
}

/// An answer with the incident and its `ETag`.
pub fn incident_response(mut builder: actix_web::HttpResponseBuilder, incident: &Incident) -> HttpResponse {
    builder.insert_header((header::ETAG, etag(incident.row.version))).json(IncidentView::from_incident(incident))
}

/// `GET /v1/status`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = summary_example)]
pub struct SummaryView {
    /// The worst status of the components now (`operational` without components).
    pub indicator: Indicator,
    pub components: Vec<PublicComponentView>,
    /// Unplanned incidents not resolved yet, newest first.
    pub incidents: Vec<IncidentView>,
    /// Planned work not completed yet, newest first.
    pub scheduled: Vec<IncidentView>,
}

impl SummaryView {
    pub fn from_summary(summary: &Summary) -> Self {
        Self {
            indicator: summary.indicator,
            components: summary
                .components
                .iter()
                .map(|(row, status)| PublicComponentView {
                    id: row.id.clone(),
                    name: row.name.clone(),
                    group: row.group_name.clone(),
                    status: *status,
                })
                .collect(),
            incidents: summary.incidents.iter().map(IncidentView::from_incident).collect(),
            scheduled: summary.scheduled.iter().map(IncidentView::from_incident).collect(),
        }
    }
}

fn fixed(at: NaiveDateTime) -> atom_syndication::FixedDateTime {
    time::to_utc(at).fixed_offset()
}

/// An incident's text in the feed: its body and its updates, oldest first.
fn entry_text(incident: &Incident) -> String {
    let mut text = incident.row.body.clone();
    for update in incident.updates.iter().rev() {
        let at = time::to_utc(update.created_at).format("%Y-%m-%d %H:%M UTC");
        text.push_str(&format!("\n\n[{at}] {}: {}", update.progress.as_str(), update.body));
    }
    text
}

/// The incidents as an Atom feed (RFC 4287); `site` is the installation's public URL.
pub fn atom_feed(incidents: &[Incident], site: &str) -> Result<Vec<u8>, ApiError> {
    let feed_url = format!("{site}/v1/status/feed.atom");
    let page = format!("{site}/status");
    let updated = incidents.iter().map(|i| i.row.updated_at).max().map(fixed).unwrap_or_default();
    let entries = incidents
        .iter()
        .map(|incident| Entry {
            title: Text::plain(format!("[{}] {}", incident.row.kind.as_str(), incident.row.title)),
            id: format!("urn:uuid:{}", incident.row.id),
            updated: fixed(incident.row.updated_at),
            published: Some(fixed(incident.row.created_at)),
            links: vec![Link { href: format!("{page}/incidents/{}", incident.row.id), ..Link::default() }],
            summary: Some(Text::plain(format!(
                "{}, impact {}, {}",
                incident.row.kind.as_str(),
                incident.row.impact.as_str(),
                incident.row.progress.as_str()
            ))),
            content: Some(Content {
                value: Some(entry_text(incident)),
                content_type: Some("text".into()),
                ..Content::default()
            }),
            ..Entry::default()
        })
        .collect();
    let feed = Feed {
        title: Text::plain("Status"),
        id: feed_url.clone(),
        updated,
        authors: vec![Person { name: site.to_owned(), uri: Some(site.to_owned()), ..Person::default() }],
        links: vec![
            Link {
                href: feed_url,
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Link::default()
            },
            Link { href: page, ..Link::default() },
        ],
        entries,
        ..Feed::default()
    };
    feed.write_to(Vec::new()).map_err(|error| ApiError::internal(format!("writing the Atom feed: {error}")))
}
