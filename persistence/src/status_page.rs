//! The status page: components, incidents with the components they affect, and the
//! updates posted on incidents.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hostadmin_domain::status::{ComponentStatus, Impact, IncidentKind, Progress};

use crate::columns::Text;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{status_components, status_incident_components, status_incident_updates, status_incidents};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = status_components, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ComponentRow {
    pub id: String,
    pub name: String,
    pub group_name: Option<String>,
    /// Its own status, as an operator set it (incidents lower it on the page).
    #[diesel(deserialize_as = Text<ComponentStatus>)]
    pub status: ComponentStatus,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert_component(
    conn: &mut DbConnection,
    id: &str,
    name: &str,
    group_name: Option<&str>,
    status: ComponentStatus,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(status_components::table)
        .values((
            status_components::id.eq(id),
            status_components::name.eq(name),
            status_components::group_name.eq(group_name),
            status_components::status.eq(status.as_str()),
            status_components::version.eq(1_i64),
            status_components::created_at.eq(now),
            status_components::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find_component(conn: &mut DbConnection, id: &str) -> Result<Option<ComponentRow>, StoreError> {
    Ok(status_components::table
        .filter(status_components::id.eq(id))
        .select(ComponentRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every component, oldest first (the page shows them in the order they were added).
pub fn all_components(conn: &mut DbConnection) -> Result<Vec<ComponentRow>, StoreError> {
    Ok(status_components::table.order(status_components::id.asc()).select(ComponentRow::as_select()).load(conn)?)
}

pub fn count_components(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(status_components::table.count().get_result(conn)?)
}

/// One page of components, newest first.
pub fn components(
    conn: &mut DbConnection,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<ComponentRow>, StoreError> {
    let mut query = status_components::table.into_boxed();
    if let Some(before) = before_id {
        query = query.filter(status_components::id.lt(before));
    }
    Ok(query.order(status_components::id.desc()).limit(limit).select(ComponentRow::as_select()).load(conn)?)
}

/// Which of `ids` name components.
pub fn existing_components(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<String>, StoreError> {
    Ok(status_components::table.filter(status_components::id.eq_any(ids)).select(status_components::id).load(conn)?)
}

#[derive(Debug, Clone, Default)]
pub struct ComponentChanges {
    pub name: Option<String>,
    /// `Some(None)` clears the group.
    pub group_name: Option<Option<String>>,
    pub status: Option<ComponentStatus>,
}

/// Applies the changes if the component is still at `version`; answers whether it did.
pub fn update_component(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
    changes: &ComponentChanges,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let target =
        status_components::table.filter(status_components::id.eq(id)).filter(status_components::version.eq(version));
    let updated = diesel::update(target)
        .set((status_components::version.eq(version + 1), status_components::updated_at.eq(now)))
        .execute(conn)?;
    if updated != 1 {
        return Ok(false);
    }
    let target = status_components::table.filter(status_components::id.eq(id));
    if let Some(name) = &changes.name {
        diesel::update(target).set(status_components::name.eq(name)).execute(conn)?;
    }
    if let Some(group) = &changes.group_name {
        diesel::update(target).set(status_components::group_name.eq(group)).execute(conn)?;
    }
    if let Some(status) = changes.status {
        diesel::update(target).set(status_components::status.eq(status.as_str())).execute(conn)?;
    }
    Ok(true)
}

/// Removes the component (and its place in incidents) if it is still at `version`.
pub fn delete_component(conn: &mut DbConnection, id: &str, version: i64) -> Result<bool, StoreError> {
    diesel::delete(status_incident_components::table.filter(status_incident_components::component_id.eq(id)))
        .execute(conn)?;
    let deleted = diesel::delete(
        status_components::table.filter(status_components::id.eq(id)).filter(status_components::version.eq(version)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = status_incidents, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct IncidentRow {
    pub id: String,
    #[diesel(deserialize_as = Text<IncidentKind>)]
    pub kind: IncidentKind,
    pub title: String,
    pub body: String,
    #[diesel(deserialize_as = Text<Impact>)]
    pub impact: Impact,
    /// The stage its last update set.
    #[diesel(deserialize_as = Text<Progress>)]
    pub progress: Progress,
    pub scheduled_start: Option<NaiveDateTime>,
    pub scheduled_end: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct NewIncident<'a> {
    pub id: &'a str,
    pub kind: IncidentKind,
    pub title: &'a str,
    pub body: &'a str,
    pub impact: Impact,
    pub scheduled_start: Option<NaiveDateTime>,
    pub scheduled_end: Option<NaiveDateTime>,
    pub now: NaiveDateTime,
}

pub fn insert_incident(conn: &mut DbConnection, new: &NewIncident<'_>) -> Result<(), StoreError> {
    diesel::insert_into(status_incidents::table)
        .values((
            status_incidents::id.eq(new.id),
            status_incidents::kind.eq(new.kind.as_str()),
            status_incidents::title.eq(new.title),
            status_incidents::body.eq(new.body),
            status_incidents::impact.eq(new.impact.as_str()),
            status_incidents::progress.eq(new.kind.initial_progress().as_str()),
            status_incidents::scheduled_start.eq(new.scheduled_start),
            status_incidents::scheduled_end.eq(new.scheduled_end),
            status_incidents::version.eq(1_i64),
            status_incidents::created_at.eq(new.now),
            status_incidents::updated_at.eq(new.now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces the components an incident affects.
pub fn set_incident_components(
    conn: &mut DbConnection,
    incident_id: &str,
    component_ids: &[String],
) -> Result<(), StoreError> {
    diesel::delete(status_incident_components::table.filter(status_incident_components::incident_id.eq(incident_id)))
        .execute(conn)?;
    // One insert a row: batch inserts are not available through MultiConnection.
    for component_id in component_ids {
        diesel::insert_into(status_incident_components::table)
            .values((
                status_incident_components::incident_id.eq(incident_id),
                status_incident_components::component_id.eq(component_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// (incident id, component id) for the given incidents.
pub fn components_of(conn: &mut DbConnection, incident_ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
    if incident_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(status_incident_components::table
        .filter(status_incident_components::incident_id.eq_any(incident_ids))
        .order(status_incident_components::component_id.asc())
        .select((status_incident_components::incident_id, status_incident_components::component_id))
        .load(conn)?)
}

pub fn find_incident(conn: &mut DbConnection, id: &str) -> Result<Option<IncidentRow>, StoreError> {
    Ok(status_incidents::table
        .filter(status_incidents::id.eq(id))
        .select(IncidentRow::as_select())
        .first(conn)
        .optional()?)
}

/// One page of incidents, newest first, optionally of one kind.
pub fn incidents(
    conn: &mut DbConnection,
    kind: Option<IncidentKind>,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<IncidentRow>, StoreError> {
    let mut query = status_incidents::table.into_boxed();
    if let Some(kind) = kind {
        query = query.filter(status_incidents::kind.eq(kind.as_str()));
    }
    if let Some(before) = before_id {
        query = query.filter(status_incidents::id.lt(before));
    }
    Ok(query.order(status_incidents::id.desc()).limit(limit).select(IncidentRow::as_select()).load(conn)?)
}

/// Incidents neither resolved nor completed, newest first, at most `limit`.
pub fn unresolved_incidents(conn: &mut DbConnection, limit: i64) -> Result<Vec<IncidentRow>, StoreError> {
    Ok(status_incidents::table
        .filter(status_incidents::resolved_at.is_null())
        .order(status_incidents::id.desc())
        .limit(limit)
        .select(IncidentRow::as_select())
        .load(conn)?)
}

#[derive(Debug, Clone, Default)]
pub struct IncidentChanges {
    pub title: Option<String>,
    pub body: Option<String>,
    pub impact: Option<Impact>,
    /// The whole window, checked against the kind: `Some((None, None))` for none.
    pub window: Option<(Option<NaiveDateTime>, Option<NaiveDateTime>)>,
    /// A new stage, with when it finished (`None` when it is not finished).
    pub progress: Option<(Progress, Option<NaiveDateTime>)>,
}

/// Applies the changes if the incident is still at `version`; answers whether it did.
pub fn update_incident(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
    changes: &IncidentChanges,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let target =
        status_incidents::table.filter(status_incidents::id.eq(id)).filter(status_incidents::version.eq(version));
    let updated = diesel::update(target)
        .set((status_incidents::version.eq(version + 1), status_incidents::updated_at.eq(now)))
        .execute(conn)?;
    if updated != 1 {
        return Ok(false);
    }
    let target = status_incidents::table.filter(status_incidents::id.eq(id));
    if let Some(title) = &changes.title {
        diesel::update(target).set(status_incidents::title.eq(title)).execute(conn)?;
    }
    if let Some(body) = &changes.body {
        diesel::update(target).set(status_incidents::body.eq(body)).execute(conn)?;
    }
    if let Some(impact) = changes.impact {
        diesel::update(target).set(status_incidents::impact.eq(impact.as_str())).execute(conn)?;
    }
    if let Some((start, end)) = changes.window {
        diesel::update(target)
            .set((status_incidents::scheduled_start.eq(start), status_incidents::scheduled_end.eq(end)))
            .execute(conn)?;
    }
    if let Some((progress, resolved_at)) = changes.progress {
        diesel::update(target)
            .set((status_incidents::progress.eq(progress.as_str()), status_incidents::resolved_at.eq(resolved_at)))
            .execute(conn)?;
    }
    Ok(true)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = status_incident_updates, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct UpdateRow {
    pub id: String,
    pub incident_id: String,
    #[diesel(deserialize_as = Text<Progress>)]
    pub progress: Progress,
    pub body: String,
    pub created_at: NaiveDateTime,
}

pub fn insert_update(
    conn: &mut DbConnection,
    id: &str,
    incident_id: &str,
    progress: Progress,
    body: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(status_incident_updates::table)
        .values((
            status_incident_updates::id.eq(id),
            status_incident_updates::incident_id.eq(incident_id),
            status_incident_updates::progress.eq(progress.as_str()),
            status_incident_updates::body.eq(body),
            status_incident_updates::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The updates of the given incidents, newest first.
pub fn updates_of(conn: &mut DbConnection, incident_ids: &[String]) -> Result<Vec<UpdateRow>, StoreError> {
    if incident_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(status_incident_updates::table
        .filter(status_incident_updates::incident_id.eq_any(incident_ids))
        .order(status_incident_updates::id.desc())
        .select(UpdateRow::as_select())
        .load(conn)?)
}

pub fn count_updates(conn: &mut DbConnection, incident_id: &str) -> Result<i64, StoreError> {
    Ok(status_incident_updates::table
        .filter(status_incident_updates::incident_id.eq(incident_id))
        .count()
        .get_result(conn)?)
}
