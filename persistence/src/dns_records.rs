//! DNS records of a domain's zone, and the zone's SOA serial.
//!
//! Records count against the service that serves the zone (`service_id`, the domain's
//! hosting service). Writers lock that service first (`usage::lock_service`), so the
//! checks that look at the whole zone (a CNAME stands alone, no duplicates, the quota)
//! and the serial's read-then-write see no concurrent change.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{dns_records, dns_zones};

#[derive(Debug, Clone, Queryable)]
pub struct DnsRecordRow {
    pub id: String,
    pub domain_id: String,
    pub service_id: String,
    pub record_type: String,
    /// Relative to the zone; `@` the apex.
    pub name: String,
    pub content: String,
    pub ttl: i32,
    pub priority: Option<i32>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

type Columns = (
    dns_records::id,
    dns_records::domain_id,
    dns_records::service_id,
    dns_records::record_type,
    dns_records::name,
    dns_records::content,
    dns_records::ttl,
    dns_records::priority,
    dns_records::version,
    dns_records::created_at,
    dns_records::updated_at,
);
const COLUMNS: Columns = (
    dns_records::id,
    dns_records::domain_id,
    dns_records::service_id,
    dns_records::record_type,
    dns_records::name,
    dns_records::content,
    dns_records::ttl,
    dns_records::priority,
    dns_records::version,
    dns_records::created_at,
    dns_records::updated_at,
);

/// A record's validated fields, in their stored form.
#[derive(Debug, Clone)]
pub struct RecordFields {
    pub record_type: String,
    pub name: String,
    pub content: String,
    pub ttl: i32,
    pub priority: Option<i32>,
}

/// Filters of the list.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    pub record_type: Option<String>,
    /// Lowercase prefix of the name.
    pub q: Option<String>,
    /// Keyset: only records with an id below this one (newest first).
    pub before_id: Option<String>,
}

/// One page of the zone's records, newest first.
pub fn list(
    conn: &mut DbConnection,
    domain_id: &str,
    filter: &RecordFilter,
    limit: i64,
) -> Result<Vec<DnsRecordRow>, StoreError> {
    let mut query = dns_records::table.filter(dns_records::domain_id.eq(domain_id)).select(COLUMNS).into_boxed();
    if let Some(kind) = &filter.record_type {
        query = query.filter(dns_records::record_type.eq(kind.clone()));
    }
    if let Some(q) = &filter.q {
        query = query.filter(dns_records::name.like(format!("{}%", crate::accounts::escape_like(q))).escape('\\'));
    }
    if let Some(before) = &filter.before_id {
        query = query.filter(dns_records::id.lt(before.clone()));
    }
    Ok(query.order(dns_records::id.desc()).limit(limit).load(conn)?)
}

/// Every record of the zone (for the zone text and the checks across records).
pub fn all_of(conn: &mut DbConnection, domain_id: &str) -> Result<Vec<DnsRecordRow>, StoreError> {
    Ok(dns_records::table
        .filter(dns_records::domain_id.eq(domain_id))
        .select(COLUMNS)
        .order((dns_records::name, dns_records::record_type, dns_records::id))
        .load(conn)?)
}

pub fn find(conn: &mut DbConnection, domain_id: &str, id: &str) -> Result<Option<DnsRecordRow>, StoreError> {
    Ok(dns_records::table
        .filter(dns_records::domain_id.eq(domain_id))
        .filter(dns_records::id.eq(id))
        .select(COLUMNS)
        .first(conn)
        .optional()?)
}

pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    domain_id: &str,
    service_id: &str,
    fields: &RecordFields,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(dns_records::table)
        .values((
            dns_records::id.eq(id),
            dns_records::domain_id.eq(domain_id),
            dns_records::service_id.eq(service_id),
            dns_records::record_type.eq(&fields.record_type),
            dns_records::name.eq(&fields.name),
            dns_records::content.eq(&fields.content),
            dns_records::ttl.eq(fields.ttl),
            dns_records::priority.eq(fields.priority),
            dns_records::version.eq(1_i64),
            dns_records::created_at.eq(now),
            dns_records::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces the record's fields if it is still at `version`; answers whether it did.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
    fields: &RecordFields,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let changed =
        diesel::update(dns_records::table.filter(dns_records::id.eq(id)).filter(dns_records::version.eq(version)))
            .set((
                dns_records::record_type.eq(&fields.record_type),
                dns_records::name.eq(&fields.name),
                dns_records::content.eq(&fields.content),
                dns_records::ttl.eq(fields.ttl),
                dns_records::priority.eq(fields.priority),
                dns_records::version.eq(version + 1),
                dns_records::updated_at.eq(now),
            ))
            .execute(conn)?;
    Ok(changed == 1)
}

/// Deletes the record if it is still at `version`; answers whether it did.
pub fn delete(conn: &mut DbConnection, id: &str, version: i64) -> Result<bool, StoreError> {
    let deleted =
        diesel::delete(dns_records::table.filter(dns_records::id.eq(id)).filter(dns_records::version.eq(version)))
            .execute(conn)?;
    Ok(deleted == 1)
}

/// The zone's stored serial; `None` until its first change.
pub fn serial(conn: &mut DbConnection, domain_id: &str) -> Result<Option<i64>, StoreError> {
    Ok(dns_zones::table.filter(dns_zones::domain_id.eq(domain_id)).select(dns_zones::serial).first(conn).optional()?)
}

/// Stores the zone's new serial. The caller holds the service's lock, so no concurrent
/// writer inserts the row between the update and the insert.
pub fn set_serial(conn: &mut DbConnection, domain_id: &str, serial: i64, now: NaiveDateTime) -> Result<(), StoreError> {
    let updated = diesel::update(dns_zones::table.filter(dns_zones::domain_id.eq(domain_id)))
        .set((dns_zones::serial.eq(serial), dns_zones::updated_at.eq(now)))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(dns_zones::table)
            .values((dns_zones::domain_id.eq(domain_id), dns_zones::serial.eq(serial), dns_zones::updated_at.eq(now)))
            .execute(conn)?;
    }
    Ok(())
}
