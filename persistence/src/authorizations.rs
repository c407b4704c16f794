//! Authorized users: grants of permissions on a grantor's services to a grantee. A grant
//! is read only by its two parties; what it covers is looked up on every request (no
//! caching), so a change takes effect on the next one.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hostadmin_domain::authorizations::{GrantStatus, PermissionSet};

use crate::columns::{Listed, Text};
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::planning::PlanEachTime;
use crate::schema::{authorization_services, authorizations, services};

/// A grant as stored, its columns read into their domain types.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = authorizations, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct AuthorizationRow {
    pub id: String,
    pub grantor_id: String,
    pub grantee_id: String,
    #[diesel(deserialize_as = Listed<PermissionSet>)]
    pub permissions: PermissionSet,
    /// Every service the grantor owns, now and later; else the selected ones.
    pub all_services: bool,
    #[diesel(deserialize_as = Text<GrantStatus>)]
    pub status: GrantStatus,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub accepted_at: Option<NaiveDateTime>,
}

/// A new grant: pending until the grantee accepts. `service_ids` None covers every
/// service the grantor owns, now and later.
#[derive(Debug, Clone)]
pub struct NewAuthorization {
    pub id: String,
    pub grantor_id: String,
    pub grantee_id: String,
    pub permissions: PermissionSet,
    pub service_ids: Option<Vec<String>>,
    pub now: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewAuthorization) -> Result<(), StoreError> {
    diesel::insert_into(authorizations::table)
        .values((
            authorizations::id.eq(&new.id),
            authorizations::grantor_id.eq(&new.grantor_id),
            authorizations::grantee_id.eq(&new.grantee_id),
            authorizations::permissions.eq(new.permissions.to_storage()),
            authorizations::all_services.eq(new.service_ids.is_none()),
            authorizations::status.eq(GrantStatus::Pending.as_str()),
            authorizations::version.eq(1_i64),
            authorizations::created_at.eq(new.now),
            authorizations::updated_at.eq(new.now),
        ))
        .execute(conn)?;
    insert_services(conn, &new.id, new.service_ids.as_deref().unwrap_or_default())
}

// Batch `values(&vec)` does not compile through the MultiConnection enum: one insert a
// row, inside the caller's transaction.
fn insert_services(conn: &mut DbConnection, id: &str, service_ids: &[String]) -> Result<(), StoreError> {
    for service_id in service_ids {
        diesel::insert_into(authorization_services::table)
            .values((
                authorization_services::authorization_id.eq(id),
                authorization_services::service_id.eq(service_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The grant with this id, if `account_id` is its grantor or its grantee.
pub fn find_for_party(
    conn: &mut DbConnection,
    id: &str,
    account_id: &str,
) -> Result<Option<AuthorizationRow>, StoreError> {
    Ok(authorizations::table
        .filter(authorizations::id.eq(id))
        .filter(authorizations::grantor_id.eq(account_id).or(authorizations::grantee_id.eq(account_id)))
        .select(AuthorizationRow::as_select())
        .first(conn)
        .optional()?)
}

/// The grant, if `account_id` is a party of it, read after locking its row until the
/// transaction ends: changes of one grant are applied one after the other, each to the
/// version the one before left.
pub fn find_for_update(
    conn: &mut DbConnection,
    id: &str,
    account_id: &str,
) -> Result<Option<AuthorizationRow>, StoreError> {
    diesel::update(authorizations::table.filter(authorizations::id.eq(id)))
        .set(authorizations::version.eq(authorizations::version))
        .execute(conn)?;
    find_for_party(conn, id, account_id)
}

/// Which side of the grants a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Given,
    Received,
}

/// One page of the grants `account_id` gave or received, newest first.
pub fn list(
    conn: &mut DbConnection,
    side: Side,
    account_id: &str,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<AuthorizationRow>, StoreError> {
    let mut query = authorizations::table.into_boxed();
    query = match side {
        Side::Given => query.filter(authorizations::grantor_id.eq(account_id)),
        Side::Received => query.filter(authorizations::grantee_id.eq(account_id)),
    };
    if let Some(before) = before_id {
        query = query.filter(authorizations::id.lt(before));
    }
    Ok(query
        .order(authorizations::id.desc())
        .limit(limit)
        .select(AuthorizationRow::as_select())
        .planned_each_time()
        .load(conn)?)
}

/// The selected services of these grants, as (grant id, service id), in service order.
pub fn selected_services(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
    Ok(authorization_services::table
        .filter(authorization_services::authorization_id.eq_any(ids))
        .order((authorization_services::authorization_id.asc(), authorization_services::service_id.asc()))
        .select((authorization_services::authorization_id, authorization_services::service_id))
        .load(conn)?)
}

/// Which of `ids` are services `owner_id` owns.
pub fn owned_services(conn: &mut DbConnection, owner_id: &str, ids: &[String]) -> Result<Vec<String>, StoreError> {
    Ok(services::table
        .filter(services::owner_id.eq(owner_id))
        .filter(services::id.eq_any(ids))
        .select(services::id)
        .load(conn)?)
}

/// The grantor's change: new permissions and/or a new selection (`Some(None)`: every
/// service). Applied only if the grant is still at `version`; answers whether it was.
#[derive(Debug, Clone, Default)]
pub struct AuthorizationChanges {
    pub permissions: Option<PermissionSet>,
    pub service_ids: Option<Option<Vec<String>>>,
}

pub fn update(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
    changes: &AuthorizationChanges,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let target = authorizations::table.filter(authorizations::id.eq(id)).filter(authorizations::version.eq(version));
    let updated = diesel::update(target)
        .set((authorizations::version.eq(version + 1), authorizations::updated_at.eq(now)))
        .execute(conn)?;
    if updated != 1 {
        return Ok(false);
    }
    let target = authorizations::table.filter(authorizations::id.eq(id));
    if let Some(permissions) = &changes.permissions {
        diesel::update(target).set(authorizations::permissions.eq(permissions.to_storage())).execute(conn)?;
    }
    if let Some(selection) = &changes.service_ids {
        diesel::update(target).set(authorizations::all_services.eq(selection.is_none())).execute(conn)?;
        diesel::delete(authorization_services::table.filter(authorization_services::authorization_id.eq(id)))
            .execute(conn)?;
        insert_services(conn, id, selection.as_deref().unwrap_or_default())?;
    }
    Ok(true)
}

/// Makes a pending grant active if it is still pending at `version`; answers whether it
/// did.
pub fn accept(conn: &mut DbConnection, id: &str, version: i64, now: NaiveDateTime) -> Result<bool, StoreError> {
    let target = authorizations::table
        .filter(authorizations::id.eq(id))
        .filter(authorizations::version.eq(version))
        .filter(authorizations::status.eq(GrantStatus::Pending.as_str()));
    let updated = diesel::update(target)
        .set((
            authorizations::status.eq(GrantStatus::Active.as_str()),
            authorizations::accepted_at.eq(now),
            authorizations::version.eq(version + 1),
            authorizations::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Ends a grant if it is still at `version`; answers whether it did.
pub fn delete(conn: &mut DbConnection, id: &str, version: i64) -> Result<bool, StoreError> {
    let exists = authorizations::table
        .filter(authorizations::id.eq(id))
        .filter(authorizations::version.eq(version))
        .count()
        .get_result::<i64>(conn)?;
    if exists != 1 {
        return Ok(false);
    }
    diesel::delete(authorization_services::table.filter(authorization_services::authorization_id.eq(id)))
        .execute(conn)?;
    let deleted = diesel::delete(
        authorizations::table.filter(authorizations::id.eq(id)).filter(authorizations::version.eq(version)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

// ---------------------------------------------------------------------------------
// What a grantee reaches through its active grants.
// ---------------------------------------------------------------------------------

/// The services a grantee reaches through its active grants, in the form a list query
/// filters by: grantors whose every service it reaches, and selected services (checked
/// to still belong to the grantor that selected them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    pub every_service_of: Vec<String>,
    pub selected: Vec<String>,
}

impl Received {
    pub fn is_empty(&self) -> bool {
        self.every_service_of.is_empty() && self.selected.is_empty()
    }
}

fn active_to(grantee_id: &str) -> authorizations::BoxedQuery<'_, <DbConnection as diesel::Connection>::Backend> {
    authorizations::table
        .filter(authorizations::grantee_id.eq(grantee_id))
        .filter(authorizations::status.eq(GrantStatus::Active.as_str()))
        .into_boxed()
}

pub fn received(conn: &mut DbConnection, grantee_id: &str) -> Result<Received, StoreError> {
    let every_service_of: Vec<String> = active_to(grantee_id)
        .filter(authorizations::all_services.eq(true))
        .select(authorizations::grantor_id)
        .load(conn)?;
    // One join, whatever the number of grants: each selected service counts only while
    // it still belongs to the grantor that selected it.
    let selected: Vec<String> = authorization_services::table
        .inner_join(authorizations::table)
        .inner_join(services::table)
        .filter(authorizations::grantee_id.eq(grantee_id))
        .filter(authorizations::status.eq(GrantStatus::Active.as_str()))
        .filter(authorizations::all_services.eq(false))
        .filter(services::owner_id.eq(authorizations::grantor_id))
        .select(services::id)
        .distinct()
        .load(conn)?;
    Ok(Received { every_service_of, selected })
}

/// The permissions `grantee_id`'s active grants give it on this service of `owner_id`
/// (all of them together); empty when none covers it.
pub fn permissions_on(
    conn: &mut DbConnection,
    grantee_id: &str,
    owner_id: &str,
    service_id: &str,
) -> Result<PermissionSet, StoreError> {
    let grants: Vec<(String, Listed<PermissionSet>, bool)> = active_to(grantee_id)
        .filter(authorizations::grantor_id.eq(owner_id))
        .select((authorizations::id, authorizations::permissions, authorizations::all_services))
        .load(conn)?;
    let mut permissions = PermissionSet::default();
    for (grant_id, stored, all_services) in grants {
        let covers = all_services
            || authorization_services::table
                .filter(authorization_services::authorization_id.eq(&grant_id))
                .filter(authorization_services::service_id.eq(service_id))
                .count()
                .get_result::<i64>(conn)?
                > 0;
        if covers {
            permissions.merge(&stored.into_inner());
        }
    }
    Ok(permissions)
}

/// The services a grantee reaches with one permission: the grantors whose every service
/// it reaches, and the selected services (still their grantor's).
#[derive(Debug, Clone, Default)]
pub struct GrantedServices {
    pub every_service_of: Vec<String>,
    pub selected: Vec<String>,
}

/// The services the actor reaches through its active grants holding `permission`
/// (none when its reach leaves grants out).
pub fn granted_services(
    conn: &mut DbConnection,
    reach: &hostadmin_domain::policy::Reach,
    permission: hostadmin_domain::authorizations::Permission,
) -> Result<GrantedServices, StoreError> {
    if !reach.grants {
        return Ok(GrantedServices::default());
    }
    let active: Vec<(String, String, String, bool)> = authorizations::table
        .filter(authorizations::grantee_id.eq(&reach.account_id))
        .filter(authorizations::status.eq(GrantStatus::Active.as_str()))
        .select((
            authorizations::id,
            authorizations::grantor_id,
            authorizations::permissions,
            authorizations::all_services,
        ))
        .load(conn)?;
    let holding = active.into_iter().filter(|(_, _, stored, _)| PermissionSet::from_storage(stored).allows(permission));
    let (every, some): (Vec<_>, Vec<_>) = holding.partition(|(_, _, _, all)| *all);
    let some_ids: Vec<String> = some.into_iter().map(|(id, ..)| id).collect();
    let selected = if some_ids.is_empty() {
        Vec::new()
    } else {
        authorization_services::table
            .inner_join(authorizations::table)
            .inner_join(services::table)
            .filter(authorizations::id.eq_any(&some_ids))
            .filter(services::owner_id.eq(authorizations::grantor_id))
            .select(services::id)
            .distinct()
            .load(conn)?
    };
    Ok(GrantedServices { every_service_of: every.into_iter().map(|(_, grantor, ..)| grantor).collect(), selected })
}

/// How the actor stands to an object of `owner_id`, about `service_id` if any: the
/// owner, above it, or a grantee of the service (with the union of its permissions
/// there); `None` outside its reach.
pub fn relation_to(
    conn: &mut DbConnection,
    reach: &hostadmin_domain::policy::Reach,
    owner_id: &str,
    service_id: Option<&str>,
) -> Result<Option<hostadmin_domain::policy::Relation>, StoreError> {
    use hostadmin_domain::policy::Relation;
    if owner_id == reach.account_id {
        return Ok(Some(Relation::Owner));
    }
    if crate::accounts::find_in_reach(conn, reach, owner_id)?.is_some() {
        return Ok(Some(Relation::Above));
    }
    let Some(service_id) = service_id.filter(|_| reach.grants) else { return Ok(None) };
    let permissions = permissions_on(conn, &reach.account_id, owner_id, service_id)?;
    Ok((!permissions.is_empty()).then_some(Relation::Grantee(permissions)))
}
