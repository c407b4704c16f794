//! Child hosts of a domain (glue records at the registry): a host name below the
//! domain with its addresses. A host name exists once across the installation.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::domain_hosts;

/// The unique index on `hostname`.
pub const HOSTNAME_KEY: &str = "domain_hosts_hostname_key";

#[derive(Debug, Clone, Queryable)]
pub struct HostRow {
    pub id: String,
    pub domain_id: String,
    pub hostname: String,
    /// Space-separated, canonical text.
    pub ips: String,
    pub created_at: NaiveDateTime,
}

const COLUMNS: (
    domain_hosts::id,
    domain_hosts::domain_id,
    domain_hosts::hostname,
    domain_hosts::ips,
    domain_hosts::created_at,
) = (domain_hosts::id, domain_hosts::domain_id, domain_hosts::hostname, domain_hosts::ips, domain_hosts::created_at);

/// The domain's hosts, by name.
pub fn list(conn: &mut DbConnection, domain_id: &str) -> Result<Vec<HostRow>, StoreError> {
    Ok(domain_hosts::table
        .filter(domain_hosts::domain_id.eq(domain_id))
        .order(domain_hosts::hostname.asc())
        .select(COLUMNS)
        .load(conn)?)
}

pub fn find(conn: &mut DbConnection, domain_id: &str, hostname: &str) -> Result<Option<HostRow>, StoreError> {
    Ok(domain_hosts::table
        .filter(domain_hosts::domain_id.eq(domain_id))
        .filter(domain_hosts::hostname.eq(hostname))
        .select(COLUMNS)
        .first(conn)
        .optional()?)
}

pub fn count(conn: &mut DbConnection, domain_id: &str) -> Result<i64, StoreError> {
    Ok(domain_hosts::table.filter(domain_hosts::domain_id.eq(domain_id)).count().get_result(conn)?)
}

/// `StoreError::Unique` when the host name exists already.
pub fn insert(conn: &mut DbConnection, row: &HostRow) -> Result<(), StoreError> {
    diesel::insert_into(domain_hosts::table)
        .values((
            domain_hosts::id.eq(&row.id),
            domain_hosts::domain_id.eq(&row.domain_id),
            domain_hosts::hostname.eq(&row.hostname),
            domain_hosts::ips.eq(&row.ips),
            domain_hosts::created_at.eq(row.created_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, domain_id: &str, hostname: &str) -> Result<bool, StoreError> {
    let deleted = diesel::delete(
        domain_hosts::table.filter(domain_hosts::domain_id.eq(domain_id)).filter(domain_hosts::hostname.eq(hostname)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}
