//! Services: what accounts bought. Lookups are scoped by who asks; numbers come from a
//! counter row so that they have no gaps; reseller packages are locked before their
//! quotas are counted.

use chrono::NaiveDateTime;
use diesel::dsl::not;
use diesel::prelude::*;
use hostadmin_domain::accounts::AccountKind;
use hostadmin_domain::catalog::{BillingCycle, Quotas, ServiceKind};
use hostadmin_domain::money::{Currency, Money};
use hostadmin_domain::policy::{Below, Reach, Relation};
use hostadmin_domain::services::{Cancellation, ServiceStatus};

use crate::accounts::escape_like;
use crate::authorizations::{self, Received};
use crate::columns::{json, timestamp, Json, OptionalJson, Text};
use crate::connection::{natively, DbConnection};
use crate::error::StoreError;
use crate::planning::PlanEachTime;
use crate::schema::{account_tree, accounts, counters, services};

/// A service as stored, with its columns read into their domain types.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = services, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ServiceRow {
    pub id: String,
    pub number: i64,
    pub owner_id: String,
    pub plan_id: String,
    pub name: String,
    #[diesel(deserialize_as = Text<ServiceKind>)]
    pub kind: ServiceKind,
    #[diesel(deserialize_as = Text<ServiceStatus>)]
    pub status: ServiceStatus,
    #[diesel(deserialize_as = Text<BillingCycle>)]
    pub cycle: BillingCycle,
    /// Codes of the plan's add-ons the service has.
    #[diesel(deserialize_as = Json<Vec<String>>)]
    pub addons: Vec<String>,
    /// The plan's quotas with the add-ons', as sold.
    #[diesel(deserialize_as = Json<Quotas>)]
    pub quotas: Quotas,
    pub registered_at: NaiveDateTime,
    pub next_due_at: NaiveDateTime,
    pub recurring_amount_minor: i64,
    #[diesel(deserialize_as = Text<Currency>)]
    pub currency: Currency,
    pub auto_renew: bool,
    #[diesel(deserialize_as = OptionalJson<Cancellation>)]
    pub cancellation: Option<Cancellation>,
    pub suspension_reason: Option<String>,
    pub allow_overselling: bool,
    /// Suspended because the owner's account is held (persistence/src/holds.rs).
    pub held: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ServiceRow {
    /// Whether an end-of-period cancellation is waiting for `next_due_at`.
    pub fn has_pending_cancellation(&self) -> bool {
        self.cancellation.as_ref().is_some_and(Cancellation::is_pending)
    }

    /// The recurring price.
    pub fn recurring_price(&self) -> Money {
        Money::new(self.recurring_amount_minor, self.currency.clone())
    }
}

/// Statuses that hold a place in a quota: what is being or has been provisioned and
/// not given up.
pub const COUNTED_STATUSES: [&str; 3] =
    [ServiceStatus::Pending.as_str(), ServiceStatus::Active.as_str(), ServiceStatus::Suspended.as_str()];

/// The next service number. The counter row is updated inside the creating transaction:
/// a rollback gives the number back, and concurrent creators wait for each other.
pub fn next_number(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(diesel::update(counters::table.filter(counters::name.eq("service_number")))
        .set(counters::value.eq(counters::value + 1))
        .returning(counters::value)
        .get_result(conn)?)
}

/// A service being sold.
#[derive(Debug, Clone)]
pub struct NewService {
    pub id: String,
    pub number: i64,
    pub owner_id: String,
    pub plan_id: String,
    pub name: String,
    pub kind: ServiceKind,
    pub status: ServiceStatus,
    pub cycle: BillingCycle,
    pub addons: Vec<String>,
    pub quotas: Quotas,
    pub next_due_at: NaiveDateTime,
    pub price: Money,
    pub now: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = services, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct ServiceInsert<'a> {
    id: &'a str,
    number: i64,
    owner_id: &'a str,
    plan_id: &'a str,
    name: &'a str,
    name_lower: String,
    kind: &'a str,
    status: &'a str,
    cycle: &'a str,
    addons: String,
    quotas: String,
    registered_at: NaiveDateTime,
    next_due_at: NaiveDateTime,
    recurring_amount_minor: i64,
    currency: &'a str,
    auto_renew: bool,
    allow_overselling: bool,
    held: bool,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewService) -> Result<(), StoreError> {
    let row = ServiceInsert {
        id: &new.id,
        number: new.number,
        owner_id: &new.owner_id,
        plan_id: &new.plan_id,
        name: &new.name,
        name_lower: new.name.to_lowercase(),
        kind: new.kind.as_str(),
        status: new.status.as_str(),
        cycle: new.cycle.as_str(),
        addons: json(&new.addons)?,
        quotas: json(&new.quotas)?,
        registered_at: new.now,
        next_due_at: timestamp(new.next_due_at)?,
        recurring_amount_minor: new.price.amount_minor,
        currency: new.price.currency.as_str(),
        auto_renew: true,
        allow_overselling: false,
        held: false,
        version: 1,
        created_at: new.now,
        updated_at: new.now,
    };
    diesel::insert_into(services::table).values(&row).execute(conn)?;
    Ok(())
}

type Backend = <DbConnection as diesel::Connection>::Backend;
type Condition<'a, DB = Backend> =
    Box<dyn BoxableExpression<services::table, DB, SqlType = diesel::sql_types::Bool> + 'a>;

/// The services of the actor's own reach: its own and those of the accounts below it.
/// A macro so that one condition serves `MultiConnection` ([`within`]) and each
/// backend's own connection (`within!(reach, DB)` inside `natively!`).
macro_rules! within {
    ($reach:expr, $db:ty) => {{
        let reach: &Reach = $reach;
        let own = &reach.account_id;
        let condition: Condition<'_, $db> = match reach.below {
            Below::AllButOperators => Box::new(services::owner_id.eq(own).or(not(services::owner_id.eq_any(
                accounts::table.filter(accounts::kind.eq(AccountKind::Operator.as_str())).select(accounts::id),
            )))),
            // A correlated EXISTS, not `owner_id IN (subtree)`: with IN, SQLite probes the
            // owner index once per account below and sorts everything in reach on every page
            // (measured: a page grew from 1 ms to 12 ms between 1,000 and 1,000,000
            // services); with EXISTS both backends walk the id index back from the cursor.
            Below::Subtree => Box::new(diesel::dsl::exists(
                account_tree::table
                    .filter(account_tree::ancestor_id.eq(own))
                    .filter(account_tree::descendant_id.eq(services::owner_id)),
            )),
            Below::Nobody => Box::new(services::owner_id.eq(own)),
        };
        condition
    }};
}

fn within(reach: &Reach) -> Condition<'_> {
    within!(reach, Backend)
}

/// [`within`], widened by what active grants give the actor. Without grants the
/// condition is exactly the own reach's, so its query plan does not change.
fn within_or_granted<'a>(reach: &'a Reach, received: &'a Received) -> Condition<'a> {
    let mut condition = within(reach);
    if !received.every_service_of.is_empty() {
        condition = Box::new(condition.or(services::owner_id.eq_any(&received.every_service_of)));
    }
    if !received.selected.is_empty() {
        condition = Box::new(condition.or(services::id.eq_any(&received.selected)));
    }
    condition
}

/// The grants an actor's reach counts.
pub(crate) fn received_by(conn: &mut DbConnection, reach: &Reach) -> Result<Received, StoreError> {
    if reach.grants {
        authorizations::received(conn, &reach.account_id)
    } else {
        Ok(Received::default())
    }
}

/// The service with this id if the actor reaches it, and how it stands to its owner:
/// its own reach first (an owner or seller keeps every right of its own), then active
/// grants, looked up now.
pub fn find_in_reach(
    conn: &mut DbConnection,
    reach: &Reach,
    id: &str,
) -> Result<Option<(ServiceRow, Relation)>, StoreError> {
    // Every request about one service starts here: on the backend's own connection.
    let own: Option<ServiceRow> = natively!(conn, DB => services::table
        .filter(within!(reach, DB))
        .filter(services::id.eq(id))
        .select(ServiceRow::as_select())
        .first(conn)
        .optional())?;
    if let Some(row) = own {
        let relation = if row.owner_id == reach.account_id { Relation::Owner } else { Relation::Above };
        return Ok(Some((row, relation)));
    }
    if !reach.grants {
        return Ok(None);
    }
    let Some(row) = find(conn, id)? else { return Ok(None) };
    let permissions = authorizations::permissions_on(conn, &reach.account_id, &row.owner_id, &row.id)?;
    Ok((!permissions.is_empty()).then_some((row, Relation::Grantee(permissions))))
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<ServiceRow>, StoreError> {
    Ok(services::table.filter(services::id.eq(id)).select(ServiceRow::as_select()).first(conn).optional()?)
}

#[derive(Debug, Clone, Default)]
pub struct ServiceFilter {
    pub kind: Option<ServiceKind>,
    pub status: Option<ServiceStatus>,
    pub owner_id: Option<String>,
    /// Lowercase prefix of the name; when all digits, also the exact number.
    pub q: Option<String>,
    pub due_before: Option<NaiveDateTime>,
    pub before_id: Option<String>,
}

/// One page, newest first.
pub fn list_in_reach(
    conn: &mut DbConnection,
    reach: &Reach,
    filter: &ServiceFilter,
    limit: i64,
) -> Result<Vec<ServiceRow>, StoreError> {
    let received = received_by(conn, reach)?;
    let mut query = services::table.filter(within_or_granted(reach, &received)).into_boxed();
    if let Some(kind) = &filter.kind {
        query = query.filter(services::kind.eq(kind.as_str()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(services::status.eq(status.as_str()));
    }
    if let Some(owner) = &filter.owner_id {
        query = query.filter(services::owner_id.eq(owner));
    }
    if let Some(q) = &filter.q {
        let by_name = services::name_lower.like(format!("{}%", escape_like(q))).escape('\\');
        query = match q.parse::<i64>() {
            Ok(number) if q.chars().all(|c| c.is_ascii_digit()) => {
                query.filter(by_name.or(services::number.eq(number)))
            }
            _ => query.filter(by_name),
        };
    }
    if let Some(due) = filter.due_before {
        query = query.filter(services::next_due_at.lt(due));
    }
    if let Some(before) = &filter.before_id {
        query = query.filter(services::id.lt(before));
    }
    Ok(query.order(services::id.desc()).limit(limit).select(ServiceRow::as_select()).planned_each_time().load(conn)?)
}

#[derive(Debug, Clone, Default)]
pub struct ServiceChanges {
    pub name: Option<String>,
    pub auto_renew: Option<bool>,
    pub allow_overselling: Option<bool>,
    /// A seller's correction of the due date (already within 0001-9999).
    pub next_due_at: Option<NaiveDateTime>,
}

/// Applies the changes if the service is still at `version`; answers whether it did.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
    changes: &ServiceChanges,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let target = services::table.filter(services::id.eq(id)).filter(services::version.eq(version));
    let updated =
        diesel::update(target).set((services::version.eq(version + 1), services::updated_at.eq(now))).execute(conn)?;
    if updated != 1 {
        return Ok(false);
    }
    let target = services::table.filter(services::id.eq(id));
    if let Some(name) = &changes.name {
        diesel::update(target)
            .set((services::name.eq(name), services::name_lower.eq(name.to_lowercase())))
            .execute(conn)?;
    }
    if let Some(auto_renew) = changes.auto_renew {
        diesel::update(target).set(services::auto_renew.eq(auto_renew)).execute(conn)?;
    }
    if let Some(allow) = changes.allow_overselling {
        diesel::update(target).set(services::allow_overselling.eq(allow)).execute(conn)?;
    }
    if let Some(next_due_at) = changes.next_due_at {
        diesel::update(target).set(services::next_due_at.eq(next_due_at)).execute(conn)?;
    }
    Ok(true)
}

/// A reseller's package: its `reseller_hosting` service, with the quotas it was sold.
#[derive(Debug, Clone, Queryable)]
pub struct PackageRow {
    pub service_id: String,
    pub reseller_id: String,
    #[diesel(deserialize_as = Json<Quotas>)]
    pub quotas: Quotas,
    pub allow_overselling: bool,
}

/// The packages of the given resellers that are in force (active or suspended), each
/// locked until the transaction ends: on PostgreSQL the no-op update takes the row lock
/// that makes concurrent creators below the reseller wait for each other; on SQLite the
/// writing transaction already holds the database's write lock.
pub fn lock_packages(conn: &mut DbConnection, reseller_ids: &[String]) -> Result<Vec<PackageRow>, StoreError> {
    let packages: Vec<PackageRow> = services::table
        .filter(services::owner_id.eq_any(reseller_ids))
        .filter(services::kind.eq(ServiceKind::ResellerHosting.as_str()))
        .filter(services::status.eq_any([ServiceStatus::Active.as_str(), ServiceStatus::Suspended.as_str()]))
        .order(services::id.asc())
        .select((services::id, services::owner_id, services::quotas, services::allow_overselling))
        .load(conn)?;
    for package in &packages {
        diesel::update(services::table.filter(services::id.eq(&package.service_id)))
            .set(services::version.eq(services::version))
            .execute(conn)?;
    }
    Ok(packages)
}

/// Services that hold a quota place, owned by accounts strictly below `reseller_id`.
pub fn count_below(conn: &mut DbConnection, reseller_id: &str) -> Result<i64, StoreError> {
    Ok(services::table
        .filter(
            services::owner_id.eq_any(
                account_tree::table
                    .filter(account_tree::ancestor_id.eq(reseller_id))
                    .filter(account_tree::depth.gt(0))
                    .select(account_tree::descendant_id),
            ),
        )
        .filter(services::status.eq_any(COUNTED_STATUSES))
        .count()
        .get_result(conn)?)
}

/// The ancestors of an account, nearest first; with `including_self` the account too.
pub fn ancestors(conn: &mut DbConnection, account_id: &str, including_self: bool) -> Result<Vec<String>, StoreError> {
    let min_depth = if including_self { 0 } else { 1 };
    Ok(account_tree::table
        .filter(account_tree::descendant_id.eq(account_id))
        .filter(account_tree::depth.ge(min_depth))
        .order(account_tree::depth.asc())
        .select(account_tree::ancestor_id)
        .load(conn)?)
}

/// Accounts strictly below `reseller_id`.
pub fn count_accounts_below(conn: &mut DbConnection, reseller_id: &str) -> Result<i64, StoreError> {
    Ok(account_tree::table
        .filter(account_tree::ancestor_id.eq(reseller_id))
        .filter(account_tree::depth.gt(0))
        .count()
        .get_result(conn)?)
}

/// A service's lifecycle fields as a lifecycle action leaves them, all at once.
#[derive(Debug, Clone)]
pub struct ServiceState {
    pub status: ServiceStatus,
    pub suspension_reason: Option<String>,
    pub cancellation: Option<Cancellation>,
    pub next_due_at: NaiveDateTime,
}

impl ServiceState {
    /// The lifecycle fields of `row` as they are; each action changes some of them.
    pub fn of(row: &ServiceRow) -> Self {
        Self {
            status: row.status,
            suspension_reason: row.suspension_reason.clone(),
            cancellation: row.cancellation.clone(),
            next_due_at: row.next_due_at,
        }
    }
}

#[derive(AsChangeset)]
#[diesel(table_name = services, treat_none_as_null = true, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct StateChange<'a> {
    status: &'a str,
    suspension_reason: Option<&'a str>,
    cancellation: Option<String>,
    next_due_at: NaiveDateTime,
    version: i64,
    updated_at: NaiveDateTime,
}

/// Sets the lifecycle fields if the service is still at `expected_version`, and bumps
/// the version; answers whether it did (false: another change got in first).
pub fn set_state(
    conn: &mut DbConnection,
    id: &str,
    expected_version: i64,
    state: &ServiceState,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let change = StateChange {
        status: state.status.as_str(),
        suspension_reason: state.suspension_reason.as_deref(),
        cancellation: state.cancellation.as_ref().map(json).transpose()?,
        next_due_at: timestamp(state.next_due_at)?,
        version: expected_version + 1,
        updated_at: now,
    };
    let target = services::table.filter(services::id.eq(id)).filter(services::version.eq(expected_version));
    Ok(diesel::update(target).set(&change).execute(conn)? == 1)
}

/// What a plan change stores: the plan, its add-ons and what they come to.
#[derive(Debug, Clone)]
pub struct PlanChange {
    pub plan_id: String,
    pub addons: Vec<String>,
    pub quotas: Quotas,
    pub price: Money,
}

#[derive(AsChangeset)]
#[diesel(table_name = services, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct PlanColumns<'a> {
    plan_id: &'a str,
    addons: String,
    quotas: String,
    recurring_amount_minor: i64,
    currency: &'a str,
    version: i64,
    updated_at: NaiveDateTime,
}

/// Moves the service to another plan if it is still at `expected_version`, and bumps
/// the version; answers whether it did.
pub fn set_plan(
    conn: &mut DbConnection,
    id: &str,
    expected_version: i64,
    change: &PlanChange,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let columns = PlanColumns {
        plan_id: &change.plan_id,
        addons: json(&change.addons)?,
        quotas: json(&change.quotas)?,
        recurring_amount_minor: change.price.amount_minor,
        currency: change.price.currency.as_str(),
        version: expected_version + 1,
        updated_at: now,
    };
    let target = services::table.filter(services::id.eq(id)).filter(services::version.eq(expected_version));
    Ok(diesel::update(target).set(&columns).execute(conn)? == 1)
}

/// Stores the hash of a new service password if the service is still at
/// `expected_version`; answers whether it did. The version stays: the password is not
/// part of the service's representation, so its ETag does not change.
pub fn set_password_hash(
    conn: &mut DbConnection,
    id: &str,
    expected_version: i64,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let target = services::table.filter(services::id.eq(id)).filter(services::version.eq(expected_version));
    let updated = diesel::update(target)
        .set((services::password_hash.eq(password_hash), services::updated_at.eq(now)))
        .execute(conn)?;
    Ok(updated == 1)
}

/// What is due for a service whose `next_due_at` has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Active with a cancellation pending: it ends now.
    CancelAtPeriodEnd,
    /// Active or suspended, not renewed, and the grace period is over: it expires.
    Expire,
}

/// Up to `limit` services with something due: active ones with a cancellation whose
/// `next_due_at` is not after `now`, and active or suspended ones without one whose
/// `next_due_at` is before `expire_before` (now less the grace period). Oldest due first.
pub fn due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    expire_before: NaiveDateTime,
    limit: i64,
) -> Result<Vec<(String, Due)>, StoreError> {
    let cancelling: Vec<String> = services::table
        .filter(services::status.eq(ServiceStatus::Active.as_str()))
        .filter(services::cancellation.is_not_null())
        .filter(services::next_due_at.le(now))
        .order(services::next_due_at.asc())
        .limit(limit)
        .select(services::id)
        .planned_each_time()
        .load(conn)?;
    let expiring: Vec<String> = services::table
        .filter(
            services::status
                .eq(ServiceStatus::Suspended.as_str())
                .or(services::status.eq(ServiceStatus::Active.as_str()).and(services::cancellation.is_null())),
        )
        .filter(services::next_due_at.lt(expire_before))
        .order(services::next_due_at.asc())
        .limit(limit)
        .select(services::id)
        .planned_each_time()
        .load(conn)?;
    Ok(cancelling
        .into_iter()
        .map(|id| (id, Due::CancelAtPeriodEnd))
        .chain(expiring.into_iter().map(|id| (id, Due::Expire)))
        .collect())
}

/// The current version of each of these services that exists (for jobs, which run
/// their items against the versions they were queued with).
pub fn versions(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(services::table.filter(services::id.eq_any(ids)).select((services::id, services::version)).load(conn)?)
}
