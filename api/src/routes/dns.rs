//! DNS records of a domain's zone, and the zone as RFC 1035 text.
//!
//! A domain is reached through its service (`domains::find_domain`); reading needs
//! `dns:read` and a grant's `view`, changing `dns:write` and `manage`. Records change only
//! while the provider serves the zone (`409 dns_not_managed` otherwise) and on an active
//! service; each new record counts against the service's `dns_records` quota and the
//! reseller packages above it. Every change writes its audit event, gives the zone a new
//! SOA serial and hands the whole zone to the provisioner, in one transaction.
//!
//! Decisions where the contract is silent (see also `hostadmin_domain::dns`):
//! - `GET .../dns/records/{id}` reads one record (with its `ETag`).
//! - The list takes `type` and `q` (a prefix of the record's name) filters.
//! - Reading records and the zone works whatever the name servers are: a client may look
//!   at the records it kept while the domain points elsewhere.
//! - The SOA serial is `YYYYMMDDnn` and grows with every change.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::QuotaKey;
use hostadmin_domain::dns::{self, DnsRecord, RecordInput, RecordType, ZoneSettings};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::policy::Action;
use hostadmin_domain::provisioning::{ResourceAction, ResourceKind};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{self, NewEvent};
use hostadmin_persistence::dns_records::{self as store, DnsRecordRow, RecordFields, RecordFilter};
use hostadmin_persistence::domains::DomainRow;
use hostadmin_persistence::services::ServiceRow;
use hostadmin_persistence::DbConnection;

use crate::app::access;
use crate::app::hosting;
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, precondition_failed, IfMatch};
use crate::http::idempotency;
use crate::http::merge_patch::Patch;
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// The media type of the zone text.
pub const ZONE_CONTENT_TYPE: &str = "text/dns";

#[derive(Debug, Serialize, ToSchema)]
pub struct DnsRecordView {
    pub id: String,
    /// The zone's domain name.
    pub domain: String,
    #[serde(rename = "type")]
    pub record_type: RecordType,
    /// Relative to the zone; `@` is the apex.
    #[schema(example = "www")]
    pub name: String,
    /// The record's data in zone-file form without the priority.
    #[schema(example = "192.0.2.1")]
    pub content: String,
    pub ttl: u32,
    /// MX and SRV only.
    pub priority: Option<u16>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl DnsRecordView {
    fn from_row(row: &DnsRecordRow, domain: &str) -> Result<Self, ApiError> {
        let corrupt = || ApiError::internal(format!("stored DNS record {}", row.id));
        Ok(Self {
            id: row.id.clone(),
            domain: domain.to_owned(),
            record_type: RecordType::parse(&row.record_type).ok_or_else(corrupt)?,
            name: row.name.clone(),
            content: row.content.clone(),
            ttl: u32::try_from(row.ttl).map_err(|_| corrupt())?,
            priority: row.priority.map(u16::try_from).transpose().map_err(|_| corrupt())?,
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
        })
    }
}

fn record_response(
    mut builder: actix_web::HttpResponseBuilder,
    row: &DnsRecordRow,
    domain: &str,
) -> Result<HttpResponse, ApiError> {
    Ok(builder.insert_header((header::ETAG, etag(row.version))).json(DnsRecordView::from_row(row, domain)?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDnsRecord {
    #[serde(rename = "type")]
    #[schema(value_type = RecordType)]
    pub record_type: String,
    /// Relative to the zone: `@` (the apex), `www`, `_sip._tcp`, `*.dev`.
    #[schema(example = "www", max_length = 253)]
    pub name: String,
    /// A: an IPv4 address; AAAA: an IPv6 address; CNAME, NS, MX: a host name (a final
    /// dot makes it absolute, otherwise it is relative to the zone); TXT: the raw text
    /// (split into 255-byte strings in the zone); SRV: `weight port target`; CAA:
    /// `flags tag value`, e.g. `0 issue "letsencrypt.org"`.
    #[schema(example = "192.0.2.1", max_length = 4080)]
    pub content: String,
    /// 60-604800 seconds; 3600 when left out.
    #[schema(minimum = 60, maximum = 604800)]
    pub ttl: Option<i64>,
    /// MX and SRV only, and required for them: 0-65535.
    #[schema(minimum = 0, maximum = 65535)]
    pub priority: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDnsRecord {
    #[serde(rename = "type", default)]
    #[schema(value_type = Option<RecordType>)]
    pub record_type: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub content: Patch<String>,
    /// `null` returns to the default, 3600.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub ttl: Patch<i64>,
    /// `null` clears it (for a change away from MX or SRV).
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub priority: Patch<i64>,
}

fn field_errors(errors: Vec<dns::FieldInvalid>) -> ApiError {
    ApiError::fields(errors.into_iter().map(|(pointer, invalid)| FieldError::new(pointer, invalid)).collect())
}

fn stored_record(row: &DnsRecordRow, zone: &str) -> Result<DnsRecord, ApiError> {
    DnsRecord::parse(
        &RecordInput {
            record_type: &row.record_type,
            name: &row.name,
            content: &row.content,
            ttl: Some(i64::from(row.ttl)),
            priority: row.priority.map(i64::from),
        },
        zone,
    )
    .map_err(|_| ApiError::internal(format!("stored DNS record {} is not valid", row.id)))
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
    let dns = &state.config.dns;
    ZoneSettings {
        nameservers: dns.nameservers.clone(),
        hostmaster: dns.soa_hostmaster.clone(),
        refresh: dns.soa_refresh,
        retry: dns.soa_retry,
        expire: dns.soa_expire,
        minimum: dns.soa_minimum,
    }
}

fn serial_u32(serial: i64) -> Result<u32, ApiError> {
    u32::try_from(serial).map_err(|_| ApiError::internal(format!("SOA serial {serial} is out of range")))
}

/// The zone's text with the records as stored now and the serial it has.
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
    Ok((serial, dns::render_zone(&domain.name, serial_u32(serial)?, settings, &records)))
}

/// `409 dns_not_managed` while the domain uses other name servers than the provider's.
fn require_managed(domain: &DomainRow) -> Result<(), ApiError> {
    match &domain.nameservers {
        None => Ok(()),
        Some(_) => Err(ApiError::conflict(
            "dns_not_managed",
            format!(
                "{} uses other name servers; records change only while it uses the provider's (PATCH the domain with \"nameservers\": null)",
                domain.name
            ),
        )),
    }
}

/// What a write transaction needs about its domain.
#[derive(Clone)]
struct ZoneContext {
    state: web::Data<AppState>,
    domain: DomainRow,
    service: ServiceRow,
    requested_by: String,
    audit: hostadmin_persistence::audit::AuditContext,
}

impl ZoneContext {
    fn new(state: &web::Data<AppState>, principal: &Principal, domain: DomainRow, service: ServiceRow) -> Self {
        Self {
            state: state.clone(),
            domain,
            service,
            requested_by: principal.id().to_owned(),
            audit: principal.audit(),
        }
    }

    /// Inside the write transaction, before anything else: takes the service's lock (the
    /// zone-wide checks, the quota and the serial see no concurrent writer) and checks
    /// the domain's current state.
    fn begin(&self, conn: &mut DbConnection) -> Result<Vec<(String, DnsRecord)>, ApiError> {
        hosting::lock_active(conn, &self.service.id)?;
        let current = hostadmin_persistence::domains::find(conn, &self.domain.id)?.ok_or_else(ApiError::not_found)?;
        require_managed(&current)?;
        store::all_of(conn, &self.domain.id)?
            .iter()
            .map(|row| Ok((row.id.clone(), stored_record(row, &self.domain.name)?)))
            .collect()
    }

    /// After the change: the new serial, the audit event and the zone for the provisioner.
    fn finish(
        &self,
        conn: &mut DbConnection,
        action: &'static str,
        record_id: &str,
        details: serde_json::Value,
        now: NaiveDateTime,
    ) -> Result<(), ApiError> {
        let current =
            store::serial(conn, &self.domain.id)?.unwrap_or_else(|| dns::first_serial(self.domain.created_at.date()));
        let serial = dns::next_serial(current, now.date());
        store::set_serial(conn, &self.domain.id, serial, now)?;
        let mut details = details;
        if let serde_json::Value::Object(map) = &mut details {
            map.insert("domain".to_owned(), self.domain.name.clone().into());
            map.insert("serial".to_owned(), serial.into());
        }
        audit::record(
            conn,
            &self.audit,
            NewEvent {
                action,
                target_type: target::DNS_RECORD,
                target_id: record_id,
                account_id: Some(&self.domain.owner_id),
                details,
            },
            now,
        )?;
        let (serial, zone) = zone_text(conn, &zone_settings(&self.state), &self.domain, Some(serial))?;
        hosting::provision(
            conn,
            &self.state,
            &self.service,
            (ResourceKind::DnsZone, ResourceAction::Update, &self.domain.id),
            serde_json::json!({"name": self.domain.name, "serial": serial, "zone": zone}),
            &self.requested_by,
            now,
        )?;
        Ok(())
    }
}

fn check_beside(record: &DnsRecord, others: &[(String, DnsRecord)], except: Option<&str>) -> Result<(), ApiError> {
    let others: Vec<DnsRecord> =
        others.iter().filter(|(id, _)| Some(id.as_str()) != except).map(|(_, record)| record.clone()).collect();
    record.check_beside(&others).map_err(|(pointer, invalid)| ApiError::field(pointer, invalid))
}

/// Finds a record of the domain, or 404 (also for a malformed id).
async fn find_record(state: &AppState, domain: &DomainRow, id: &str) -> Result<DnsRecordRow, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let domain_id = domain.id.clone();
    state.db.run(move |conn| store::find(conn, &domain_id, &id)?.ok_or_else(ApiError::not_found)).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListDnsRecordsQuery {
    /// Only records of this type.
    #[serde(rename = "type")]
    #[param(value_type = Option<RecordType>)]
    pub record_type: Option<String>,
    /// A case-insensitive prefix of the record's name.
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
}

/// The zone's records, newest first.
#[utoipa::path(
    tag = "DNS",
    params(("name" = String, Path, description = "The domain name"), ListDnsRecordsQuery, PageQuery),
    responses(
        (status = 200, description = "A page of records", body = Page<DnsRecordView>),
        (status = 404, description = "No such domain for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/domains/{name}/dns/records")]
pub async fn list_dns_records(
    state: web::Data<AppState>,
    principal: Principal,
    name: web::Path<String>,
    query: web::Query<ListDnsRecordsQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadDns)?;
    let reached = access::domain(&state, &principal.actor, principal.authorize(Action::ReadDns)?, &name).await?;
    let domain = reached.row.domain;
    let query = query.into_inner();
    let record_type = match query.record_type.as_deref() {
        None => None,
        Some(text) => Some(RecordType::parse(text).ok_or_else(|| {
            ApiError::field("/query/type", Invalid::new("invalid_type", "one of A, AAAA, CNAME, MX, TXT, SRV, CAA, NS"))
        })?),
    };
    let q = search_prefix(query.q.as_deref())?;
    let filters = format!(
        "domain={}&type={}&q={}",
        domain.id,
        record_type.map(RecordType::as_str).unwrap_or_default(),
        q.as_deref().unwrap_or_default()
    );
    let page = paging.request(filters)?;
    let filter = RecordFilter {
        record_type: record_type.map(|kind| kind.as_str().to_owned()),
        q,
        before_id: page.before_id.clone(),
    };
    let fetch = page.fetch();
    let domain_id = domain.id.clone();
    let rows = state.db.run(move |conn| Ok(store::list(conn, &domain_id, &filter, fetch)?)).await?;
    let views = rows.iter().map(|row| DnsRecordView::from_row(row, &domain.name)).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Add a record to the zone.
///
/// Counts against the service's `dns_records` quota and the reseller packages above it.
#[utoipa::path(
    tag = "DNS",
    params(
        ("name" = String, Path, description = "The domain name"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours."),
    ),
    request_body = CreateDnsRecord,
    responses(
        (status = 201, description = "Created", body = DnsRecordView, headers(("Location" = String), ("ETag" = String))),
        (status = 404, description = "No such domain for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`dns_not_managed`, `quota_exceeded`, `service_not_active` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The record is not valid DNS (pointer to the field); a CNAME at the apex or beside other records has pointer `/type`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/domains/{name}/dns/records")]
pub async fn create_dns_record(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    name: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteDns)?;
    let reached = access::domain(&state, &principal.actor, principal.authorize(Action::WriteDns)?, &name).await?;
    let domain = reached.row.domain;
    let service = reached.row.service;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateDnsRecord = body.parse()?;
        let record = DnsRecord::parse(
            &RecordInput {
                record_type: &input.record_type,
                name: &input.name,
                content: &input.content,
                ttl: input.ttl,
                priority: input.priority,
            },
            &domain.name,
        )
        .map_err(field_errors)?;
        require_managed(&domain)?;
        hosting::require_active(&service)?;
        let zone = ZoneContext::new(&state, &principal, domain.clone(), service.clone());
        let id = new_id();
        let row = state
            .db
            .write(move |conn| {
                let now = time::now();
                let others = zone.begin(conn)?;
                check_beside(&record, &others, None)?;
                hosting::reserve(conn, &zone.service, QuotaKey::DnsRecords)?;
                let fields = fields_of(&record);
                store::insert(conn, &id, &zone.domain.id, &zone.service.id, &fields, now)?;
                zone.finish(
                    conn,
                    actions::DNS_RECORD_CREATE,
                    &id,
                    serde_json::json!({"type": fields.record_type, "name": fields.name, "content": fields.content}),
                    now,
                )?;
                store::find(conn, &zone.domain.id, &id)?.ok_or_else(|| ApiError::internal("the new record vanished"))
            })
            .await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/domains/{}/dns/records/{}", domain.name, row.id)));
        record_response(builder, &row, &domain.name)
    })
    .await
}

/// Read one record.
#[utoipa::path(
    tag = "DNS",
    params(("name" = String, Path, description = "The domain name"), ("id" = String, Path, description = "The record's id")),
    responses(
        (status = 200, description = "The record", body = DnsRecordView, headers(("ETag" = String))),
        (status = 404, description = "No such domain or record for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/domains/{name}/dns/records/{id}")]
pub async fn get_dns_record(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadDns)?;
    let (name, id) = path.into_inner();
    let reached = access::domain(&state, &principal.actor, principal.authorize(Action::ReadDns)?, &name).await?;
    let domain = reached.row.domain;
    let row = find_record(&state, &domain, &id).await?;
    record_response(HttpResponse::Ok(), &row, &domain.name)
}

fn merged<T: Clone>(patch: &Patch<T>, current: T, pointer: &'static str) -> Result<T, ApiError> {
    match patch {
        Patch::Absent => Ok(current),
        Patch::Value(value) => Ok(value.clone()),
        Patch::Null => Err(ApiError::field(pointer, Invalid::new("required", "cannot be cleared"))),
    }
}

fn merged_option<T: Clone>(patch: &Patch<T>, current: Option<T>) -> Option<T> {
    match patch {
        Patch::Absent => current,
        Patch::Value(value) => Some(value.clone()),
        Patch::Null => None,
    }
}

/// Change a record (JSON merge patch); the result is validated as a whole.
#[utoipa::path(
    tag = "DNS",
    params(
        ("name" = String, Path, description = "The domain name"),
        ("id" = String, Path, description = "The record's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body(content = UpdateDnsRecord, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed record", body = DnsRecordView, headers(("ETag" = String))),
        (status = 404, description = "No such domain or record for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`dns_not_managed` or `service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[patch("/domains/{name}/dns/records/{id}")]
pub async fn update_dns_record(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteDns)?;
    let (name, id) = path.into_inner();
    let reached = access::domain(&state, &principal.actor, principal.authorize(Action::WriteDns)?, &name).await?;
    let domain = reached.row.domain;
    let service = reached.row.service;
    let row = find_record(&state, &domain, &id).await?;
    let input: UpdateDnsRecord = body.parse()?;
    let record_type = merged(&input.record_type, row.record_type.clone(), "/type")?;
    let record_name = merged(&input.name, row.name.clone(), "/name")?;
    let content = merged(&input.content, row.content.clone(), "/content")?;
    let ttl = merged_option(&input.ttl, Some(i64::from(row.ttl)));
    let priority = merged_option(&input.priority, row.priority.map(i64::from));
    let record = DnsRecord::parse(
        &RecordInput { record_type: &record_type, name: &record_name, content: &content, ttl, priority },
        &domain.name,
    )
    .map_err(field_errors)?;
    IfMatch::from_request(&request).check(row.version)?;
    require_managed(&domain)?;
    hosting::require_active(&service)?;
    let zone = ZoneContext::new(&state, &principal, domain.clone(), service);
    let row = state
        .db
        .write(move |conn| {
            let now = time::now();
            let others = zone.begin(conn)?;
            check_beside(&record, &others, Some(&row.id))?;
            let fields = fields_of(&record);
            if !store::update(conn, &row.id, row.version, &fields, now)? {
                return Err(precondition_failed());
            }
            zone.finish(
                conn,
                actions::DNS_RECORD_UPDATE,
                &row.id,
                serde_json::json!({
                    "type": fields.record_type, "name": fields.name, "content": fields.content,
                    "ttl": fields.ttl, "priority": fields.priority,
                }),
                now,
            )?;
            store::find(conn, &zone.domain.id, &row.id)?.ok_or_else(ApiError::not_found)
        })
        .await?;
    record_response(HttpResponse::Ok(), &row, &domain.name)
}

/// Remove a record.
#[utoipa::path(
    tag = "DNS",
    params(
        ("name" = String, Path, description = "The domain name"),
        ("id" = String, Path, description = "The record's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such domain or record for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`dns_not_managed` or `service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[delete("/domains/{name}/dns/records/{id}")]
pub async fn delete_dns_record(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::WriteDns)?;
    let (name, id) = path.into_inner();
    let reached = access::domain(&state, &principal.actor, principal.authorize(Action::WriteDns)?, &name).await?;
    let domain = reached.row.domain;
    let service = reached.row.service;
    let row = find_record(&state, &domain, &id).await?;
    IfMatch::from_request(&request).check(row.version)?;
    require_managed(&domain)?;
    hosting::require_active(&service)?;
    let zone = ZoneContext::new(&state, &principal, domain, service);
    state
        .db
        .write(move |conn| {
            let now = time::now();
            zone.begin(conn)?;
            if !store::delete(conn, &row.id, row.version)? {
                return Err(precondition_failed());
            }
            zone.finish(
                conn,
                actions::DNS_RECORD_DELETE,
                &row.id,
                serde_json::json!({"type": row.record_type, "name": row.name, "content": row.content}),
                now,
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The zone as RFC 1035 master-file text (`text/dns`, RFC 4027): `$ORIGIN`, the SOA
/// and NS records from configuration, then the records.
#[utoipa::path(
    tag = "DNS",
    params(("name" = String, Path, description = "The domain name")),
    responses(
        (status = 200, description = "The zone file", body = String, content_type = "text/dns"),
        (status = 404, description = "No such domain for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/domains/{name}/dns/zone")]
pub async fn get_dns_zone(
    state: web::Data<AppState>,
    principal: Principal,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadDns)?;
    let reached = access::domain(&state, &principal.actor, principal.authorize(Action::ReadDns)?, &name).await?;
    let domain = reached.row.domain;
    let settings = zone_settings(&state);
    let (_, zone) = state.db.run(move |conn| zone_text(conn, &settings, &domain, None)).await?;
    Ok(HttpResponse::Ok().content_type(format!("{ZONE_CONTENT_TYPE}; charset=utf-8")).body(zone))
}
