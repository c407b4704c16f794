//! Plans: the catalog of the provider and of each reseller.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use hostadmin_domain::catalog::{Addon, Offer, Price, Quotas, ServiceKind};

use crate::columns::{json, Json, Text};
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::plans;

/// A plan as stored, its columns read into their domain types.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = plans, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct PlanRow {
    pub id: String,
    pub owner_id: Option<String>,
    pub name: String,
    #[diesel(deserialize_as = Text<ServiceKind>)]
    pub service_kind: ServiceKind,
    #[diesel(deserialize_as = Json<Quotas>)]
    pub quotas: Quotas,
    #[diesel(deserialize_as = Json<Vec<Price>>)]
    pub prices: Vec<Price>,
    #[diesel(deserialize_as = Json<Vec<Addon>>)]
    pub addons: Vec<Addon>,
    pub public: bool,
    pub archived_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl PlanRow {
    /// What the plan offers a buyer.
    pub fn offer(&self) -> Offer<'_> {
        Offer { quotas: &self.quotas, prices: &self.prices, addons: &self.addons, archived: self.archived_at.is_some() }
    }
}

/// Whose plans a caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanVisibility {
    /// Operators: every plan.
    All,
    /// Plans owned by `owner` (None: the provider's), and the public plans of `seller`
    /// (the account above; None: the provider).
    OwnAndPublicOf { owner: Option<Option<String>>, seller: Option<String> },
}

/// The plans a caller may change: the provider's for operators (and every reseller's),
/// a reseller's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanOwnership {
    Any,
    OwnedBy(String),
}

#[derive(Debug, Clone)]
pub struct PlanValues {
    pub name: String,
    pub service_kind: ServiceKind,
    pub quotas: Quotas,
    pub prices: Vec<Price>,
    pub addons: Vec<Addon>,
    pub public: bool,
}

pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    owner_id: Option<&str>,
    values: &PlanValues,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(plans::table)
        .values((
            plans::id.eq(id),
            plans::owner_id.eq(owner_id),
            plans::name.eq(&values.name),
            plans::service_kind.eq(values.service_kind.as_str()),
            plans::quotas.eq(json(&values.quotas)?),
            plans::prices.eq(json(&values.prices)?),
            plans::addons.eq(json(&values.addons)?),
            plans::public.eq(values.public),
            plans::version.eq(1_i64),
            plans::created_at.eq(now),
            plans::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

type BoxedPlans<'a> = plans::BoxedQuery<'a, <DbConnection as diesel::Connection>::Backend>;

type Predicate = Box<
    dyn BoxableExpression<
        plans::table,
        <DbConnection as diesel::Connection>::Backend,
        SqlType = diesel::sql_types::Bool,
    >,
>;

/// Plans owned by this owner (None: the provider).
fn owned_by(owner: &Option<String>) -> Predicate {
    match owner {
        Some(owner) => Box::new(plans::owner_id.eq(owner.clone()).assume_not_null()),
        None => Box::new(plans::owner_id.is_null()),
    }
}

fn visible<'a>(query: BoxedPlans<'a>, visibility: &'a PlanVisibility) -> BoxedPlans<'a> {
    match visibility {
        PlanVisibility::All => query,
        PlanVisibility::OwnAndPublicOf { owner, seller } => {
            let sellers_public: Predicate = Box::new(owned_by(seller).and(plans::public.eq(true)));
            match owner {
                None => query.filter(sellers_public),
                Some(owner) => query.filter(owned_by(owner).or(sellers_public)),
            }
        }
    }
}

pub fn find_visible(
    conn: &mut DbConnection,
    visibility: &PlanVisibility,
    id: &str,
) -> Result<Option<PlanRow>, StoreError> {
    Ok(visible(plans::table.into_boxed(), visibility)
        .filter(plans::id.eq(id))
        .select(PlanRow::as_select())
        .first(conn)
        .optional()?)
}

/// A plan the caller may change (archived ones included), or `None`.
pub fn find_owned(conn: &mut DbConnection, ownership: &PlanOwnership, id: &str) -> Result<Option<PlanRow>, StoreError> {
    let mut query = plans::table.filter(plans::id.eq(id)).into_boxed();
    if let PlanOwnership::OwnedBy(owner) = ownership {
        query = query.filter(plans::owner_id.eq(owner));
    }
    Ok(query.select(PlanRow::as_select()).first(conn).optional()?)
}

/// The plan, read after locking its row until the transaction ends: changes of one plan
/// are applied one after the other, each to the version the one before left.
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> Result<Option<PlanRow>, StoreError> {
    diesel::update(plans::table.filter(plans::id.eq(id))).set(plans::version.eq(plans::version)).execute(conn)?;
    find_owned(conn, &PlanOwnership::Any, id)
}

#[derive(Debug, Clone, Default)]
pub struct PlanFilter {
    pub service_kind: Option<ServiceKind>,
    pub archived: bool,
    pub owner_id: Option<String>,
    pub before_id: Option<String>,
}

pub fn list_visible(
    conn: &mut DbConnection,
    visibility: &PlanVisibility,
    filter: &PlanFilter,
    limit: i64,
) -> Result<Vec<PlanRow>, StoreError> {
    let mut query = visible(plans::table.into_boxed(), visibility);
    query = if filter.archived {
        query.filter(plans::archived_at.is_not_null())
    } else {
        query.filter(plans::archived_at.is_null())
    };
    if let Some(kind) = &filter.service_kind {
        query = query.filter(plans::service_kind.eq(kind.as_str()));
    }
    if let Some(owner) = &filter.owner_id {
        query = query.filter(plans::owner_id.eq(owner));
    }
    if let Some(before) = &filter.before_id {
        query = query.filter(plans::id.lt(before));
    }
    Ok(query.order(plans::id.desc()).limit(limit).select(PlanRow::as_select()).load(conn)?)
}

/// Replaces the plan's values if it is still at `expected_version` (when given); answers
/// whether it did.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    expected_version: i64,
    values: &PlanValues,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(plans::table.filter(plans::id.eq(id)).filter(plans::version.eq(expected_version)))
        .set((
            plans::name.eq(&values.name),
            plans::quotas.eq(json(&values.quotas)?),
            plans::prices.eq(json(&values.prices)?),
            plans::addons.eq(json(&values.addons)?),
            plans::public.eq(values.public),
            plans::version.eq(expected_version + 1),
            plans::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Archives the plan: no new sales; services on it keep it. Archiving twice is a no-op.
pub fn archive(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    let updated = diesel::update(plans::table.filter(plans::id.eq(id)).filter(plans::archived_at.is_null()))
        .set((plans::archived_at.eq(now), plans::version.eq(plans::version + 1), plans::updated_at.eq(now)))
        .execute(conn)?;
    Ok(updated == 1)
}
