//! DNS records of a domain's zone, and the zone as RFC 1035 text.
//!
//! Records change only while the provider serves the zone (`409 dns_not_managed`
//! otherwise) and on an active service; each new record counts against the service's
//! `dns_records` quota and the reseller packages above it. Every change runs in a unit of
//! work on the domain ([`hosting::write_domain`]), so it cannot add a record to a domain
//! being deleted: it is checked against the zone as it is under the lock, writes its audit
//! event, gives the zone a new SOA serial and hands the whole zone to the provisioner.
//!
//! Decisions where the contract is silent (see also `hostadmin_domain::dns`):
//! - Reading records and the zone works whatever the name servers are: a client may look
//!   at the records it kept while the domain points elsewhere.
//! - The SOA serial is `YYYYMMDDnn` and grows with every change.

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::QuotaKey;
use hostadmin_domain::dns::{self, DnsRecord, FieldInvalid, RecordInput, ZoneSettings};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::policy::{Action, Actor};
use hostadmin_domain::provisioning::{ResourceAction, ResourceKind};
use hostadmin_persistence::dns_records::{self as store, DnsRecordRow, RecordFields, RecordFilter};
use hostadmin_persistence::domains::DomainRow;
use hostadmin_persistence::DbConnection;

use crate::app::access::HostedDomain;
use crate::app::access::Reached;
use crate::app::hosting::{self, Work};
use crate::http::etag::IfMatch;
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// A record of a domain, with the domain it was reached through.
pub type ZoneRecord = (HostedDomain, DnsRecordRow);

/// What a record change sets; `None` leaves a field as it is, and the record that
/// results is checked as a whole.
pub struct RecordPatch {
    pub record_type: Option<String>,
    pub name: Option<String>,
    pub content: Option<String>,
    /// `Some(None)`: back to the default TTL.
    pub ttl: Option<Option<i64>>,
    /// `Some(None)`: no priority (for a change away from MX or SRV).
    pub priority: Option<Option<i64>>,
}

impl RecordPatch {
    fn applied_to(&self, row: &DnsRecordRow, zone: &str) -> Result<DnsRecord, ApiError> {
        let input = RecordInput {
            record_type: self.record_type.as_deref().unwrap_or(&row.record_type),
            name: self.name.as_deref().unwrap_or(&row.name),
            content: self.content.as_deref().unwrap_or(&row.content),
            ttl: self.ttl.unwrap_or(Some(i64::from(row.ttl))),
            priority: self.priority.unwrap_or(row.priority.map(i64::from)),
        };
        DnsRecord::parse(&input, zone).map_err(field_errors)
    }
}

/// A record refused by DNS's rules: one `422` field error per refusal.
pub fn field_errors(errors: Vec<FieldInvalid>) -> ApiError {
    ApiError::fields(errors.into_iter().map(|(pointer, invalid)| FieldError::new(pointer, invalid)).collect())
}

/// A page of the zone's records, newest first.
pub async fn records(
    state: &AppState,
    domain: Reached<HostedDomain>,
    filter: RecordFilter,
    limit: i64,
) -> Result<Vec<DnsRecordRow>, ApiError> {
    domain.expect(Action::ReadDns)?;
    let domain_id = domain.row.domain.id;
    state.db.run(move |conn| Ok(store::list(conn, &domain_id, &filter, limit)?)).await
}

/// The record `id` of the domain (404 otherwise, also for a malformed id).
pub async fn record(
    state: &AppState,
    domain: Reached<HostedDomain>,
    id: &str,
) -> Result<Reached<ZoneRecord>, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let domain_id = domain.row.domain.id.clone();
    let row = state.db.run(move |conn| store::find(conn, &domain_id, &id)?.ok_or_else(ApiError::not_found)).await?;
    let hosted = domain.row.clone();
    Ok(domain.with((hosted, row)))
}

/// The zone as RFC 1035 master-file text: `$ORIGIN`, the SOA and NS records from
/// configuration, then the records.
pub async fn zone(state: &AppState, domain: Reached<HostedDomain>) -> Result<String, ApiError> {
    domain.expect(Action::ReadDns)?;
    let settings = zone_settings(state);
    let domain = domain.row.domain;
    state.db.run(move |conn| Ok(zone_text(conn, &settings, &domain, None)?.1)).await
}

/// Add a record: `422` when it cannot stand beside the zone's others (a CNAME); `409
/// quota_exceeded` when the plan's `dns_records` (or a reseller package) is full.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    domain: Reached<HostedDomain>,
    record: DnsRecord,
) -> Result<DnsRecordRow, ApiError> {
    domain.expect(Action::WriteDns)?;
    let id = new_id();
    in_zone(state, actor, &domain.row, actions::DNS_RECORD_CREATE, move |work, zone| {
        zone.check_beside(&record, None)?;
        work.reserve(QuotaKey::DnsRecords)?;
        let fields = fields_of(&record);
        store::insert(work.conn, &id, &zone.domain.id, &work.service.id, &fields, work.now)?;
        let details = serde_json::json!({"type": fields.record_type, "name": fields.name, "content": fields.content});
        Ok((zone.written(work, &id)?, details))
    })
    .await
}

/// Change a record: `patch` applied to the record as it is under the lock, checked as a
/// whole and beside the zone's other records.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    record: Reached<ZoneRecord>,
    patch: RecordPatch,
    if_match: IfMatch,
) -> Result<DnsRecordRow, ApiError> {
    record.expect(Action::WriteDns)?;
    let (domain, found) = record.row;
    in_zone(state, actor, &domain, actions::DNS_RECORD_UPDATE, move |work, zone| {
        let current = zone.current(work, &found.id, &if_match)?;
        let record = patch.applied_to(&current, &zone.domain.name)?;
        zone.check_beside(&record, Some(&current.id))?;
        let fields = fields_of(&record);
        hosting::applied(store::update(work.conn, &current.id, current.version, &fields, work.now)?)?;
        let details = serde_json::json!({
            "type": fields.record_type, "name": fields.name, "content": fields.content,
            "ttl": fields.ttl, "priority": fields.priority,
        });
        Ok((zone.written(work, &current.id)?, details))
    })
    .await
}

/// Remove a record.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    record: Reached<ZoneRecord>,
    if_match: IfMatch,
) -> Result<(), ApiError> {
    record.expect(Action::WriteDns)?;
    let (domain, found) = record.row;
    in_zone(state, actor, &domain, actions::DNS_RECORD_DELETE, move |work, zone| {
        let current = zone.current(work, &found.id, &if_match)?;
        hosting::applied(store::delete(work.conn, &current.id, current.version)?)?;
        let details =
            serde_json::json!({"type": current.record_type, "name": current.name, "content": current.content});
        Ok((current, details))
    })
    .await
    .map(drop)
}

/// Runs `change` on the zone of `domain` in a unit of work on the domain; `change`
/// answers the record it wrote or removed and the audit details. Then the zone gets its
/// next serial, `audited` is recorded on the record and the whole zone handed to the
/// provisioner.
async fn in_zone<F>(
    state: &AppState,
    actor: &Actor,
    domain: &HostedDomain,
    audited: &'static str,
    change: F,
) -> Result<DnsRecordRow, ApiError>
where
    F: Fn(&mut Work<'_>, &Zone) -> Result<(DnsRecordRow, serde_json::Value), ApiError> + Send + Sync + 'static,
{
    let settings = zone_settings(state);
    hosting::write_domain(state, actor, domain, None, move |work, domain| {
        let zone = Zone::open(work, domain)?;
        let (row, details) = change(work, &zone)?;
        zone.changed(work, &settings, audited, &row.id, details)?;
        Ok(row)
    })
    .await
}

/// A domain's zone inside a unit of work on the domain: one the provider serves, with its
/// records as they are under the lock.
struct Zone {
    domain: DomainRow,
    records: Vec<(String, DnsRecord)>,
}

impl Zone {
    /// `409 dns_not_managed` while the domain uses other name servers than the provider's.
    fn open(work: &mut Work<'_>, domain: DomainRow) -> Result<Self, ApiError> {
        if domain.nameservers.is_some() {
            return Err(ApiError::conflict(
                "dns_not_managed",
                format!(
                    "{} uses other name servers; records change only while it uses the provider's (PATCH the domain with \"nameservers\": null)",
                    domain.name
                ),
            ));
        }
        let records = store::all_of(work.conn, &domain.id)?
            .iter()
            .map(|row| Ok((row.id.clone(), stored_record(row, &domain.name)?)))
            .collect::<Result<_, ApiError>>()?;
        Ok(Self { domain, records })
    }

    /// The record `id` as it is now: 404 when gone, 412 when `If-Match` was sent and is
    /// stale.
    fn current(&self, work: &mut Work<'_>, id: &str, if_match: &IfMatch) -> Result<DnsRecordRow, ApiError> {
        let row = store::find(work.conn, &self.domain.id, id)?.ok_or_else(ApiError::not_found)?;
        if_match.check(row.version)?;
        Ok(row)
    }

    fn written(&self, work: &mut Work<'_>, id: &str) -> Result<DnsRecordRow, ApiError> {
        store::find(work.conn, &self.domain.id, id)?
            .ok_or_else(|| ApiError::internal("a DNS record vanished inside its own transaction"))
    }

    /// Whether `record` may stand beside the zone's other records (all but `except`).
    fn check_beside(&self, record: &DnsRecord, except: Option<&str>) -> Result<(), ApiError> {
        let others: Vec<DnsRecord> = self
            .records
            .iter()
            .filter(|(id, _)| Some(id.as_str()) != except)
            .map(|(_, record)| record.clone())
            .collect();
        record.check_beside(&others).map_err(|(pointer, invalid)| ApiError::field(pointer, invalid))
    }

    /// After the change: the zone's next serial, the audit event on the record and the
    /// zone for the provisioner.
    fn changed(
        &self,
        work: &mut Work<'_>,
        settings: &ZoneSettings,
        audited: &'static str,
        record_id: &str,
        mut details: serde_json::Value,
    ) -> Result<(), ApiError> {
        let domain = &self.domain;
        let current =
            store::serial(work.conn, &domain.id)?.unwrap_or_else(|| dns::first_serial(domain.created_at.date()));
        let serial = dns::next_serial(current, work.now.date());
        store::set_serial(work.conn, &domain.id, serial, work.now)?;
        details["domain"] = domain.name.clone().into();
        details["serial"] = serial.into();
        work.record(audited, target::DNS_RECORD, record_id, details)?;
        let (serial, zone) = zone_text(work.conn, settings, domain, Some(serial))?;
        let spec = serde_json::json!({"name": domain.name, "serial": serial, "zone": zone});
        work.provision(ResourceKind::DnsZone, ResourceAction::Update, &domain.id, spec)?;
        Ok(())
    }
}

fn stored_record(row: &DnsRecordRow, zone: &str) -> Result<DnsRecord, ApiError> {
    let input = RecordInput {
        record_type: &row.record_type,
        name: &row.name,
        content: &row.content,
        ttl: Some(i64::from(row.ttl)),
        priority: row.priority.map(i64::from),
    };
    DnsRecord::parse(&input, zone).map_err(|_| ApiError::internal(format!("stored DNS record {} is not valid", row.id)))
}

fn fields_of(record: &DnsRecord) -> RecordFields {
    RecordFields {
        record_type: record.record_type().as_str().to_owned(),
        name: record.name.as_str().to_owned(),
        content: record.data.content(),
        ttl: i32::try_from(record.ttl).unwrap_or(i32::MAX),
        priority: record.data.priority().map(i32::from),
    }
}

fn zone_settings(state: &AppState) -> ZoneSettings {
    settings_of(&state.config)
}

/// The SOA and NS every zone gets, from the configuration.
pub fn settings_of(config: &crate::config::Config) -> ZoneSettings {
    let dns = &config.dns;
    ZoneSettings {
        nameservers: dns.nameservers.clone(),
        hostmaster: dns.soa_hostmaster.clone(),
        refresh: dns.soa_refresh,
        retry: dns.soa_retry,
        expire: dns.soa_expire,
        minimum: dns.soa_minimum,
    }
}

/// The zone's serial and records as stored now: what a DNS driver is given.
pub fn stored_zone(conn: &mut DbConnection, domain: &DomainRow) -> Result<(u32, Vec<DnsRecord>), ApiError> {
    let serial = store::serial(conn, &domain.id)?.unwrap_or_else(|| dns::first_serial(domain.created_at.date()));
    let serial =
        u32::try_from(serial).map_err(|_| ApiError::internal(format!("SOA serial {serial} is out of range")))?;
    let records = store::all_of(conn, &domain.id)?
        .iter()
        .map(|row| stored_record(row, &domain.name))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((serial, records))
}

/// The zone's text with the records as stored now, and the serial it has.
fn zone_text(
    conn: &mut DbConnection,
    settings: &ZoneSettings,
    domain: &DomainRow,
    serial: Option<i64>,
) -> Result<(i64, String), ApiError> {
    let serial = match serial {
        Some(serial) => serial,
        None => store::serial(conn, &domain.id)?.unwrap_or_else(|| dns::first_serial(domain.created_at.date())),
    };
    let records = store::all_of(conn, &domain.id)?
        .iter()
        .map(|row| stored_record(row, &domain.name))
        .collect::<Result<Vec<_>, _>>()?;
    let rendered_serial =
        u32::try_from(serial).map_err(|_| ApiError::internal(format!("SOA serial {serial} is out of range")))?;
    Ok((serial, dns::render_zone(&domain.name, rendered_serial, settings, &records)))
}
