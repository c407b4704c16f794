//! Domains: names served by a hosting service. One row per name across the
//! installation (the unique index `domains_name_key` keeps one owner per name, also
//! when two owners add it at the same moment).

use chrono::NaiveDateTime;
use diesel::dsl::not;
use diesel::prelude::*;
use hostadmin_domain::accounts::AccountKind;

use crate::accounts::escape_like;
use crate::authorizations::Received;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::planning::PlanEachTime;
use crate::schema::{account_tree, accounts, dns_records, domains, forwards, mailboxes};
use crate::services;
use hostadmin_domain::policy::{Below, Reach};

/// The name of the unique index that keeps one owner per name.
pub const NAME_KEY: &str = "domains_name_key";

#[derive(Debug, Clone, Queryable)]
pub struct DomainRow {
    pub id: String,
    /// Lowercase punycode without the final dot.
    pub name: String,
    pub unicode_name: String,
    /// `hosted` or `registered`.
    pub kind: String,
    pub owner_id: String,
    /// The `domain` service of a registered domain.
    pub service_id: Option<String>,
    pub hosting_service_id: Option<String>,
    /// Space-separated host names; `None`: the provider's (DNS managed here).
    pub nameservers: Option<String>,
    pub locked: bool,
    pub auto_renew: bool,
    pub expires_at: Option<NaiveDateTime>,
    pub redirect_type: Option<String>,
    pub redirect_target: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl DomainRow {
    /// The service the domain belongs to: its `domain` service when registered,
    /// otherwise the hosting service that serves it.
    pub fn service(&self) -> Option<&str> {
        self.service_id.as_deref().or(self.hosting_service_id.as_deref())
    }
}

type Columns = (
    domains::id,
    domains::name,
    domains::unicode_name,
    domains::kind,
    domains::owner_id,
    domains::service_id,
    domains::hosting_service_id,
    domains::nameservers,
    domains::locked,
    domains::auto_renew,
    domains::expires_at,
    domains::redirect_type,
    domains::redirect_target,
    domains::version,
    domains::created_at,
    domains::updated_at,
);
pub const COLUMNS: Columns = (
    domains::id,
    domains::name,
    domains::unicode_name,
    domains::kind,
    domains::owner_id,
    domains::service_id,
    domains::hosting_service_id,
    domains::nameservers,
    domains::locked,
    domains::auto_renew,
    domains::expires_at,
    domains::redirect_type,
    domains::redirect_target,
    domains::version,
    domains::created_at,
    domains::updated_at,
);

/// The domain with this canonical name (see `hostadmin_domain::domains::DomainName`).
pub fn find_by_name(conn: &mut DbConnection, name: &str) -> Result<Option<DomainRow>, StoreError> {
    Ok(domains::table.filter(domains::name.eq(name)).select(COLUMNS).first(conn).optional()?)
}

/// The id and name of every domain whose zone the provider serves (no name servers of
/// its own), by name: what `hostadmin reconcile` compares with the DNS server.
pub fn managed_zones(conn: &mut DbConnection) -> Result<Vec<(String, String)>, StoreError> {
    Ok(domains::table
        .filter(domains::nameservers.is_null())
        .select((domains::id, domains::name))
        .order(domains::name)
        .load(conn)?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<DomainRow>, StoreError> {
    Ok(domains::table.filter(domains::id.eq(id)).select(COLUMNS).first(conn).optional()?)
}

/// Which of `names` exist, and who owns them (for the check that a name below or above
/// another owner's domain is not taken over).
pub fn owners_of(conn: &mut DbConnection, names: &[String]) -> Result<Vec<(String, String)>, StoreError> {
    Ok(domains::table.filter(domains::name.eq_any(names)).select((domains::name, domains::owner_id)).load(conn)?)
}

/// Whether another owner holds a name strictly below `name`.
pub fn other_owner_below(conn: &mut DbConnection, name: &str, owner_id: &str) -> Result<bool, StoreError> {
    let pattern = format!("%.{}", escape_like(name));
    let found: i64 = domains::table
        .filter(domains::name.like(pattern).escape('\\'))
        .filter(domains::owner_id.ne(owner_id))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

#[derive(Debug, Clone)]
pub struct NewDomain {
    pub id: String,
    pub name: String,
    pub unicode_name: String,
    pub kind: String,
    pub owner_id: String,
    pub service_id: Option<String>,
    pub hosting_service_id: Option<String>,
    pub now: NaiveDateTime,
}

/// Inserts a domain with the provider's name servers, unlocked, auto-renewing, without
/// a redirect. `StoreError::Unique` when the name is taken.
pub fn insert(conn: &mut DbConnection, new: &NewDomain) -> Result<(), StoreError> {
    diesel::insert_into(domains::table)
        .values((
            domains::id.eq(&new.id),
            domains::name.eq(&new.name),
            domains::unicode_name.eq(&new.unicode_name),
            domains::kind.eq(&new.kind),
            domains::owner_id.eq(&new.owner_id),
            domains::service_id.eq(&new.service_id),
            domains::hosting_service_id.eq(&new.hosting_service_id),
            domains::nameservers.eq(None::<String>),
            domains::locked.eq(false),
            domains::auto_renew.eq(true),
            domains::expires_at.eq(None::<NaiveDateTime>),
            domains::redirect_type.eq(None::<String>),
            domains::redirect_target.eq(None::<String>),
            domains::version.eq(1_i64),
            domains::created_at.eq(new.now),
            domains::updated_at.eq(new.now),
        ))
        .execute(conn)?;
    Ok(())
}

type Backend = <DbConnection as diesel::Connection>::Backend;
type Condition<'a> = Box<dyn BoxableExpression<domains::table, Backend, SqlType = diesel::sql_types::Bool> + 'a>;

/// The domains a service scope reaches: those owned within its reach (as for services)
/// and, through grants, every domain of a grantor or the domains of a granted service.
fn within_or_granted<'a>(reach: &'a Reach, received: &'a Received) -> Condition<'a> {
    let own = &reach.account_id;
    let mut condition: Condition<'a> =
        match reach.below {
            Below::AllButOperators => Box::new(domains::owner_id.eq(own).or(not(domains::owner_id.eq_any(
                accounts::table.filter(accounts::kind.eq(AccountKind::Operator.as_str())).select(accounts::id),
            )))),
            Below::Subtree => Box::new(diesel::dsl::exists(
                account_tree::table
                    .filter(account_tree::ancestor_id.eq(own))
                    .filter(account_tree::descendant_id.eq(domains::owner_id)),
            )),
            Below::Nobody => Box::new(domains::owner_id.eq(own)),
        };
    if !received.every_service_of.is_empty() {
        condition = Box::new(condition.or(domains::owner_id.eq_any(&received.every_service_of)));
    }
    if !received.selected.is_empty() {
        condition = Box::new(
            condition.or(domains::hosting_service_id
                .eq_any(&received.selected)
                .or(domains::service_id.eq_any(&received.selected))
                .assume_not_null()),
        );
    }
    condition
}

#[derive(Debug, Clone, Default)]
pub struct DomainFilter {
    /// Lowercase prefix of the punycode or the Unicode name.
    pub q: Option<String>,
    /// Domains served by (or registered as) this service.
    pub service_id: Option<String>,
    pub before_id: Option<String>,
}

/// One page, newest first.
pub fn list_in_scope(
    conn: &mut DbConnection,
    reach: &Reach,
    filter: &DomainFilter,
    limit: i64,
) -> Result<Vec<DomainRow>, StoreError> {
    let received = services::received_by(conn, reach)?;
    let mut query = domains::table.filter(within_or_granted(reach, &received)).into_boxed();
    if let Some(q) = &filter.q {
        let pattern = format!("{}%", escape_like(q));
        query = query.filter(
            domains::name.like(pattern.clone()).escape('\\').or(domains::unicode_name.like(pattern).escape('\\')),
        );
    }
    if let Some(service) = &filter.service_id {
        query =
            query.filter(domains::hosting_service_id.eq(service).or(domains::service_id.eq(service)).assume_not_null());
    }
    if let Some(before) = &filter.before_id {
        query = query.filter(domains::id.lt(before));
    }
    Ok(query.order(domains::id.desc()).limit(limit).select(COLUMNS).planned_each_time().load(conn)?)
}

/// What a change sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct DomainChanges {
    /// `Some(None)`: back to the provider's name servers.
    pub nameservers: Option<Option<String>>,
    pub locked: Option<bool>,
    pub auto_renew: Option<bool>,
    pub hosting_service_id: Option<String>,
    /// `Some(None)`: no redirect; `Some(Some((type, target)))`.
    pub redirect: Option<Option<(String, String)>>,
}

/// Applies the changes if the domain is still at `version`; answers whether it did.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
    changes: &DomainChanges,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let target = domains::table.filter(domains::id.eq(id)).filter(domains::version.eq(version));
    let updated =
        diesel::update(target).set((domains::version.eq(version + 1), domains::updated_at.eq(now))).execute(conn)?;
    if updated != 1 {
        return Ok(false);
    }
    let target = domains::table.filter(domains::id.eq(id));
    if let Some(nameservers) = &changes.nameservers {
        diesel::update(target).set(domains::nameservers.eq(nameservers)).execute(conn)?;
    }
    if let Some(locked) = changes.locked {
        diesel::update(target).set(domains::locked.eq(locked)).execute(conn)?;
    }
    if let Some(auto_renew) = changes.auto_renew {
        diesel::update(target).set(domains::auto_renew.eq(auto_renew)).execute(conn)?;
    }
    if let Some(service) = &changes.hosting_service_id {
        diesel::update(target).set(domains::hosting_service_id.eq(service)).execute(conn)?;
    }
    if let Some(redirect) = &changes.redirect {
        let (kind, url) = match redirect {
            Some((kind, url)) => (Some(kind.as_str()), Some(url.as_str())),
            None => (None, None),
        };
        diesel::update(target)
            .set((domains::redirect_type.eq(kind), domains::redirect_target.eq(url)))
            .execute(conn)?;
    }
    Ok(true)
}

/// How many mailboxes and forwards use the domain (they keep it from being deleted or
/// moved: they belong to its current service).
pub fn mail_in_use(conn: &mut DbConnection, domain_id: &str) -> Result<i64, StoreError> {
    let boxes: i64 = mailboxes::table.filter(mailboxes::domain_id.eq(domain_id)).count().get_result(conn)?;
    let fwds: i64 = forwards::table.filter(forwards::domain_id.eq(domain_id)).count().get_result(conn)?;
    Ok(boxes + fwds)
}

/// How many DNS records the domain's zone holds.
pub fn record_count(conn: &mut DbConnection, domain_id: &str) -> Result<i64, StoreError> {
    Ok(dns_records::table.filter(dns_records::domain_id.eq(domain_id)).count().get_result(conn)?)
}

/// Moves the domain's DNS records to the service the domain moves to: records count
/// against the service that serves the zone.
pub fn move_records(conn: &mut DbConnection, domain_id: &str, service_id: &str) -> Result<(), StoreError> {
    diesel::update(dns_records::table.filter(dns_records::domain_id.eq(domain_id)))
        .set(dns_records::service_id.eq(service_id))
        .execute(conn)?;
    Ok(())
}

/// Deletes the domain; its child hosts and DNS records go with it (ON DELETE CASCADE).
pub fn delete(conn: &mut DbConnection, id: &str, version: i64) -> Result<bool, StoreError> {
    let deleted =
        diesel::delete(domains::table.filter(domains::id.eq(id)).filter(domains::version.eq(version))).execute(conn)?;
    Ok(deleted == 1)
}
