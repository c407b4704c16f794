//! The status page: operators keep components and incidents; anyone reads the summary,
//! the incident history and its feed. The indicator is the domain's rule
//! (`hostadmin_domain::status`), applied to what is stored now.

use chrono::NaiveDateTime;

use hostadmin_domain::accounts::DisplayName;
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::policy::{Action, Actor, Authorized};
use hostadmin_domain::status::{
    effective_status, indicator, schedule_for, ComponentStatus, Impact, Incident as Rule, IncidentKind, Indicator,
    Progress, Text, Title,
};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::status_page::{self as store, ComponentChanges, ComponentRow, IncidentChanges};
use hostadmin_persistence::status_page::{IncidentRow, NewIncident, UpdateRow};
use hostadmin_persistence::DbConnection;

use crate::http::etag::IfMatch;
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// Components a page holds: a status page lists a provider's products, not its servers.
pub const MAX_COMPONENTS: i64 = 100;
/// Components one incident names.
pub const MAX_INCIDENT_COMPONENTS: usize = 50;
/// Updates posted on one incident.
pub const MAX_UPDATES: i64 = 200;
/// Unresolved incidents the summary shows.
const SUMMARY_INCIDENTS: i64 = 200;

fn expect(authorized: &Authorized, action: Action) -> Result<(), ApiError> {
    if authorized.action() == action {
        Ok(())
    } else {
        Err(ApiError::internal(format!("{action:?} was handed a proof for {:?}", authorized.action())))
    }
}

fn record(
    conn: &mut DbConnection,
    context: &AuditContext,
    event: (&str, &str, &str),
    details: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let (action, target_type, target_id) = event;
    audit::record(conn, context, NewEvent { action, target_type, target_id, account_id: None, details }, now)?;
    Ok(())
}

/// An incident with the components it affects and its updates (newest first).
#[derive(Debug, Clone)]
pub struct Incident {
    pub row: IncidentRow,
    pub component_ids: Vec<String>,
    pub updates: Vec<UpdateRow>,
}

impl Incident {
    fn rule(&self) -> Rule<'_> {
        let window = match (self.row.scheduled_start, self.row.scheduled_end) {
            (Some(start), Some(end)) => hostadmin_domain::status::Window::new(start, end).ok(),
            _ => None,
        };
        Rule {
            kind: self.row.kind,
            impact: self.row.impact,
            progress: self.row.progress,
            window,
            component_ids: &self.component_ids,
        }
    }
}

/// The incidents of `rows` with their components and updates, in the rows' order.
fn detailed(conn: &mut DbConnection, rows: Vec<IncidentRow>) -> Result<Vec<Incident>, ApiError> {
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let links = store::components_of(conn, &ids)?;
    let updates = store::updates_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| Incident {
            component_ids: links.iter().filter(|(incident, _)| *incident == row.id).map(|(_, c)| c.clone()).collect(),
            updates: updates.iter().filter(|update| update.incident_id == row.id).cloned().collect(),
            row,
        })
        .collect())
}

fn incident_in(conn: &mut DbConnection, id: &str) -> Result<Incident, ApiError> {
    let row = store::find_incident(conn, id)?.ok_or_else(ApiError::not_found)?;
    detailed(conn, vec![row])?.pop().ok_or_else(ApiError::not_found)
}

/// The page as it is now.
#[derive(Debug, Clone)]
pub struct Summary {
    pub indicator: Indicator,
    /// Every component with its status lowered by the incidents that last now.
    pub components: Vec<(ComponentRow, ComponentStatus)>,
    /// Unplanned incidents not resolved yet.
    pub incidents: Vec<Incident>,
    /// Planned work not completed yet.
    pub scheduled: Vec<Incident>,
}

/// The status page now: each component lowered by the incidents that last, the
/// indicator, the unresolved incidents and the planned work not yet finished.
pub async fn summary(state: &AppState) -> Result<Summary, ApiError> {
    state
        .db
        .run(|conn| {
            let now = time::now();
            let components = store::all_components(conn)?;
            let open = store::unresolved_incidents(conn, SUMMARY_INCIDENTS)?;
            let open = detailed(conn, open)?;
            let rules: Vec<Rule<'_>> = open.iter().map(Incident::rule).collect();
            let components: Vec<(ComponentRow, ComponentStatus)> = components
                .into_iter()
                .map(|row| {
                    let status = effective_status(&row.id, row.status, &rules, now);
                    (row, status)
                })
                .collect();
            let indicator = indicator(components.iter().map(|(_, status)| *status));
            let (scheduled, incidents) = open.into_iter().partition(|incident| incident.row.kind.is_planned());
            Ok(Summary { indicator, components, incidents, scheduled })
        })
        .await
}

/// One page of the incident history, newest first, optionally of one kind.
pub async fn incidents(
    state: &AppState,
    kind: Option<IncidentKind>,
    before_id: Option<String>,
    limit: i64,
) -> Result<Vec<Incident>, ApiError> {
    state
        .db
        .run(move |conn| {
            let rows = store::incidents(conn, kind, before_id.as_deref(), limit)?;
            detailed(conn, rows)
        })
        .await
}

/// One incident (404 for an unknown or malformed id).
pub async fn incident(state: &AppState, id: &str) -> Result<Incident, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    state.db.run(move |conn| incident_in(conn, &id)).await
}

/// A component as asked for (validated by the route).
#[derive(Debug, Clone)]
pub struct NewComponent {
    pub name: DisplayName,
    pub group: Option<DisplayName>,
    pub status: ComponentStatus,
}

/// Add a component; `409 quota_exceeded` beyond [`MAX_COMPONENTS`].
pub async fn create_component(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    new: NewComponent,
) -> Result<ComponentRow, ApiError> {
    expect(&authorized, Action::ManageStatus)?;
    let context = AuditContext::of(actor);
    state
        .db
        .write(move |conn| {
            if store::count_components(conn)? >= MAX_COMPONENTS {
                return Err(ApiError::conflict(
                    "quota_exceeded",
                    format!("a status page holds at most {MAX_COMPONENTS} components"),
                ));
            }
            let (id, now) = (new_id(), time::now());
            let group = new.group.as_ref().map(DisplayName::as_str);
            store::insert_component(conn, &id, new.name.as_str(), group, new.status, now)?;
            let details = serde_json::json!({ "name": new.name.as_str(), "group": group, "status": new.status });
            record(conn, &context, (actions::STATUS_COMPONENT_CREATE, target::STATUS_COMPONENT, &id), details, now)?;
            store::find_component(conn, &id)?.ok_or_else(|| ApiError::internal("the new component vanished"))
        })
        .await
}

/// One page of components as stored, newest first.
pub async fn components(
    state: &AppState,
    authorized: Authorized,
    before_id: Option<String>,
    limit: i64,
) -> Result<Vec<ComponentRow>, ApiError> {
    expect(&authorized, Action::ReadStatusComponents)?;
    state.db.run(move |conn| Ok(store::components(conn, before_id.as_deref(), limit)?)).await
}

/// One component as stored.
pub async fn component(state: &AppState, authorized: Authorized, id: &str) -> Result<ComponentRow, ApiError> {
    expect(&authorized, Action::ReadStatusComponents)?;
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    state.db.run(move |conn| store::find_component(conn, &id)?.ok_or_else(ApiError::not_found)).await
}

/// Change a component's name, group (`Some(None)` clears it) or status.
pub async fn update_component(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    id: &str,
    changes: ComponentChanges,
    if_match: IfMatch,
) -> Result<ComponentRow, ApiError> {
    expect(&authorized, Action::ManageStatus)?;
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let context = AuditContext::of(actor);
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = store::find_component(conn, &id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(row.version)?;
            if !store::update_component(conn, &row.id, row.version, &changes, now)? {
                return Err(ApiError::Busy("the component changed during the request".into()));
            }
            let details =
                serde_json::json!({ "name": changes.name, "group": changes.group_name, "status": changes.status });
            record(
                conn,
                &context,
                (actions::STATUS_COMPONENT_UPDATE, target::STATUS_COMPONENT, &row.id),
                details,
                now,
            )?;
            store::find_component(conn, &row.id)?.ok_or_else(ApiError::not_found)
        })
        .await
}

/// Remove a component; the incidents that named it no longer do.
pub async fn delete_component(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    id: &str,
    if_match: IfMatch,
) -> Result<(), ApiError> {
    expect(&authorized, Action::ManageStatus)?;
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let context = AuditContext::of(actor);
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = store::find_component(conn, &id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(row.version)?;
            if !store::delete_component(conn, &row.id, row.version)? {
                return Err(ApiError::Busy("the component changed during the request".into()));
            }
            let details = serde_json::json!({ "name": row.name });
            record(conn, &context, (actions::STATUS_COMPONENT_DELETE, target::STATUS_COMPONENT, &row.id), details, now)
        })
        .await
}

/// The component ids of a request: at most [`MAX_INCIDENT_COMPONENTS`], each once, each
/// naming a component (404 otherwise, as for any id in a body).
fn component_ids(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<String>, ApiError> {
    if ids.len() > MAX_INCIDENT_COMPONENTS {
        return Err(ApiError::field(
            "/component_ids",
            Invalid::new("too_many", format!("at most {MAX_INCIDENT_COMPONENTS} components")),
        ));
    }
    let mut wanted: Vec<String> = Vec::with_capacity(ids.len());
    for (index, id) in ids.iter().enumerate() {
        if wanted.contains(id) {
            return Err(ApiError::field(format!("/component_ids/{index}"), Invalid::new("duplicate", "listed twice")));
        }
        wanted.push(parse_id(id).ok_or_else(ApiError::not_found)?);
    }
    let existing = store::existing_components(conn, &wanted)?;
    if existing.len() != wanted.len() {
        return Err(ApiError::not_found());
    }
    Ok(wanted)
}

/// An incident as asked for (validated by the route, but for its schedule, which
/// depends on its kind).
#[derive(Debug, Clone)]
pub struct NewIncidentRequest {
    pub kind: IncidentKind,
    pub title: Title,
    pub body: Text,
    pub impact: Impact,
    pub component_ids: Vec<String>,
    pub scheduled_start: Option<NaiveDateTime>,
    pub scheduled_end: Option<NaiveDateTime>,
}

fn schedule_refused((pointer, invalid): (&'static str, Invalid)) -> ApiError {
    ApiError::fields(vec![FieldError::new(pointer, invalid)])
}

/// Open an incident or announce planned work (which needs its window).
pub async fn create_incident(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    request: NewIncidentRequest,
) -> Result<Incident, ApiError> {
    expect(&authorized, Action::ManageStatus)?;
    schedule_for(request.kind, request.scheduled_start, request.scheduled_end).map_err(schedule_refused)?;
    let context = AuditContext::of(actor);
    state
        .db
        .write(move |conn| {
            let component_ids = component_ids(conn, &request.component_ids)?;
            let (id, now) = (new_id(), time::now());
            let new = NewIncident {
                id: &id,
                kind: request.kind,
                title: request.title.as_str(),
                body: request.body.as_str(),
                impact: request.impact,
                scheduled_start: request.scheduled_start,
                scheduled_end: request.scheduled_end,
                now,
            };
            store::insert_incident(conn, &new)?;
            store::set_incident_components(conn, &id, &component_ids)?;
            let details = serde_json::json!({
                "kind": request.kind, "title": request.title.as_str(), "impact": request.impact,
                "component_ids": component_ids,
            });
            record(conn, &context, (actions::STATUS_INCIDENT_CREATE, target::STATUS_INCIDENT, &id), details, now)?;
            incident_in(conn, &id)
        })
        .await
}

/// What a change of an incident sets; `None` leaves a field as it is. The window's ends
/// are patched one by one (`Some(None)` clears one) and checked together with the kind.
#[derive(Debug, Clone, Default)]
pub struct IncidentPatch {
    pub title: Option<Title>,
    pub body: Option<Text>,
    pub impact: Option<Impact>,
    pub component_ids: Option<Vec<String>>,
    pub scheduled_start: Option<Option<NaiveDateTime>>,
    pub scheduled_end: Option<Option<NaiveDateTime>>,
}

/// Change an incident's title, text, impact, components or window. Its stage moves by
/// updates ([`post_update`]).
pub async fn update_incident(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    id: &str,
    patch: IncidentPatch,
    if_match: IfMatch,
) -> Result<Incident, ApiError> {
    expect(&authorized, Action::ManageStatus)?;
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let context = AuditContext::of(actor);
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = store::find_incident(conn, &id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(row.version)?;
            let window = if patch.scheduled_start.is_some() || patch.scheduled_end.is_some() {
                let start = patch.scheduled_start.unwrap_or(row.scheduled_start);
                let end = patch.scheduled_end.unwrap_or(row.scheduled_end);
                schedule_for(row.kind, start, end).map_err(schedule_refused)?;
                Some((start, end))
            } else {
                None
            };
            let components = patch.component_ids.as_deref().map(|ids| component_ids(conn, ids)).transpose()?;
            let changes = IncidentChanges {
                title: patch.title.as_ref().map(|t| t.as_str().to_owned()),
                body: patch.body.as_ref().map(|b| b.as_str().to_owned()),
                impact: patch.impact,
                window,
                progress: None,
            };
            if !store::update_incident(conn, &row.id, row.version, &changes, now)? {
                return Err(ApiError::Busy("the incident changed during the request".into()));
            }
            if let Some(components) = &components {
                store::set_incident_components(conn, &row.id, components)?;
            }
            let details = serde_json::json!({
                "title": changes.title, "impact": changes.impact, "component_ids": components,
                "body_changed": changes.body.is_some(), "window_changed": window.is_some(),
            });
            record(conn, &context, (actions::STATUS_INCIDENT_UPDATE, target::STATUS_INCIDENT, &row.id), details, now)?;
            incident_in(conn, &row.id)
        })
        .await
}

/// Post an update on an incident: its stage (one that fits its kind; a finished
/// incident can be reopened) and a text. The incident takes the stage.
pub async fn post_update(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    id: &str,
    progress: Progress,
    body: Text,
) -> Result<(Incident, UpdateRow), ApiError> {
    expect(&authorized, Action::ManageStatus)?;
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let context = AuditContext::of(actor);
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = store::find_incident(conn, &id)?.ok_or_else(ApiError::not_found)?;
            let progress = progress.for_kind(row.kind).map_err(|invalid| ApiError::field("/status", invalid))?;
            if store::count_updates(conn, &row.id)? >= MAX_UPDATES {
                return Err(ApiError::conflict(
                    "quota_exceeded",
                    format!("an incident takes at most {MAX_UPDATES} updates; open a new one"),
                ));
            }
            let resolved_at = match (progress.is_finished(), row.resolved_at) {
                (true, Some(at)) => Some(at),
                (true, None) => Some(now),
                (false, _) => None,
            };
            let changes = IncidentChanges { progress: Some((progress, resolved_at)), ..IncidentChanges::default() };
            if !store::update_incident(conn, &row.id, row.version, &changes, now)? {
                return Err(ApiError::Busy("the incident changed during the request".into()));
            }
            let update_id = new_id();
            store::insert_update(conn, &update_id, &row.id, progress, body.as_str(), now)?;
            let details = serde_json::json!({ "update_id": update_id, "status": progress });
            record(
                conn,
                &context,
                (actions::STATUS_INCIDENT_PROGRESS, target::STATUS_INCIDENT, &row.id),
                details,
                now,
            )?;
            let incident = incident_in(conn, &row.id)?;
            let update = incident
                .updates
                .iter()
                .find(|update| update.id == update_id)
                .cloned()
                .ok_or_else(|| ApiError::internal("the new update vanished"))?;
            Ok((incident, update))
        })
        .await
}
