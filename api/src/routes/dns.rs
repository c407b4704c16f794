//! `/v1/domains/{name}/dns` (crate::app::hosting::dns): the records of a domain's zone,
//! and the zone as RFC 1035 text.
//!
//! A domain is reached through its service; reading needs `dns:read` and a grant's
//! `view`, changing `dns:write` and `manage`. Decisions where the contract is silent:
//! - `GET .../dns/records/{id}` reads one record (with its `ETag`).
//! - The list takes `type` and `q` (a prefix of the record's name) filters.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use hostadmin_domain::dns::{DnsRecord, RecordInput, RecordType};
use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::dns_records::{DnsRecordRow, RecordFilter};

use crate::app::access;
use crate::app::hosting::dns::{self, field_errors, RecordPatch};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch, IfMatchHeader};
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::merge_patch::Patch;
use crate::http::pagination::{search_prefix, Page, PageQuery};
use crate::http::problem::ApiError;
use crate::state::AppState;

/// The media type of the zone text.
pub const ZONE_CONTENT_TYPE: &str = "text/dns";

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "01938a72-6f7a-7b8c-9d0e-1f2a3b4c5d6e", "domain": "example.com", "type": "A", "name": "www", "content": "192.0.2.1", "priority": null, "ttl": 3600, "created_at": "2026-11-05T09:30:00Z", "updated_at": "2026-12-05T10:00:00Z"}))]
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
#[schema(example = json!({"type": "MX", "name": "@", "content": "mail.example.com", "priority": 10, "ttl": 3600}))]
pub struct CreateDnsRecord {
    #[serde(rename = "type")]
    #[schema(value_type = RecordType)]
    pub record_type: String,
    /// Relative to the zone: `@` (the apex), `www`, `_sip._tcp`, `*.dev`.
    #[schema(format = "record-name", max_length = 253, example = "www")]
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
#[schema(example = json!({"type": "A", "content": "198.51.100.7", "ttl": 300}))]
pub struct UpdateDnsRecord {
    #[serde(rename = "type", default)]
    #[schema(value_type = RecordType)]
    pub record_type: Patch<String>,
    #[serde(default)]
    #[schema(format = "record-name", value_type = String)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = String)]
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

/// The path of one record.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RecordPath {
    /// The domain name
    name: String,
    /// The record's id
    id: String,
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
///
/// Readable whatever the domain's name servers are, so records kept while the domain
/// points elsewhere can still be seen. Filters `type` (an unknown one is `422` at
/// `/query/type`) and `q` (a case-insensitive prefix of the record's name).
/// Cursor-paginated (`limit`, `cursor`; a cursor is bound to its filters). Whoever
/// reaches the domain's service (grantees with `view`). API keys need `dns:read`.
#[utoipa::path(
    tag = "DNS",
    params(("name" = String, Path, description = "The domain name"), ListDnsRecordsQuery, PageQuery),
    responses((status = 200, description = "A page of records", body = Page<DnsRecordView>)),
)]
#[get("/domains/{name}/dns/records")]
pub async fn list_dns_records(
    state: web::Data<AppState>,
    principal: Principal,
    name: web::Path<String>,
    query: web::Query<ListDnsRecordsQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadDns)?;
    let domain = access::domain(&state, &principal.actor, authorized, &name).await?;
    let query = query.into_inner();
    let record_type = match query.record_type.as_deref() {
        None => None,
        Some(text) => Some(RecordType::parse(text).ok_or_else(|| {
            ApiError::field("/query/type", Invalid::new("invalid_type", "one of A, AAAA, CNAME, MX, TXT, SRV, CAA, NS"))
        })?),
    };
    let q = search_prefix(query.q.as_deref())?;
    let zone = domain.row.domain.name.clone();
    let filters = format!(
        "domain={}&type={}&q={}",
        domain.row.domain.id,
        record_type.map(RecordType::as_str).unwrap_or_default(),
        q.as_deref().unwrap_or_default()
    );
    let page = paging.request(filters)?;
    let filter = RecordFilter {
        record_type: record_type.map(|kind| kind.as_str().to_owned()),
        q,
        before_id: page.before_id.clone(),
    };
    let rows = dns::records(&state, domain, filter, page.fetch()).await?;
    let views = rows.iter().map(|row| DnsRecordView::from_row(row, &zone)).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// Add a record to the zone.
///
/// Counts against the service's `dns_records` quota and the reseller packages above it.
///
/// Only while the provider serves the zone (`409 dns_not_managed`) and the service is
/// active (`409 service_not_active`). The zone gets a new SOA serial and goes to the DNS
/// server. The owner, an account above it, or a grantee with `manage`; refused while
/// `dns.write` is disabled (`403 action_restricted`). Takes `Idempotency-Key`. API keys
/// need `dns:write`.
#[utoipa::path(
    tag = "DNS",
    params(("name" = String, Path, description = "The domain name"), IdempotencyKeyHeader),
    request_body = CreateDnsRecord,
    responses(
        (status = 201, description = "Created", body = DnsRecordView, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "`dns_not_managed`, `quota_exceeded`, `service_not_active` or `idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The record is not valid DNS (pointer to the field); a CNAME at the apex or beside other records has pointer `/type`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/domains/{name}/dns/records")]
pub async fn create_dns_record(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    name: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteDns)?;
    let domain = access::domain(&state, &principal.actor, authorized, &name).await?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateDnsRecord = body.parse()?;
        let zone = domain.row.domain.name.clone();
        let record = DnsRecord::parse(
            &RecordInput {
                record_type: &input.record_type,
                name: &input.name,
                content: &input.content,
                ttl: input.ttl,
                priority: input.priority,
            },
            &zone,
        )
        .map_err(field_errors)?;
        let row = dns::create(&state, &principal.actor, domain.clone(), record).await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/domains/{zone}/dns/records/{}", row.id)));
        record_response(builder, &row, &zone)
    })
    .await
}

/// Read one record.
///
/// `404` for a record of another zone. The `ETag` is what `If-Match` of PATCH and DELETE
/// compares with. Whoever reaches the domain's service (grantees with `view`). API keys
/// need `dns:read`.
#[utoipa::path(
    tag = "DNS",
    params(RecordPath),
    responses((status = 200, description = "The record", body = DnsRecordView, headers(("ETag" = String)))),
)]
#[get("/domains/{name}/dns/records/{id}")]
pub async fn get_dns_record(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<RecordPath>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadDns)?;
    let domain = access::domain(&state, &principal.actor, authorized, &path.name).await?;
    let record = dns::record(&state, domain, &path.id).await?;
    let (domain, row) = &record.row;
    record_response(HttpResponse::Ok(), row, &domain.domain.name)
}

/// A field of a merge patch that `null` clears: `Some(None)`.
fn clearable<T>(patch: Patch<T>) -> Option<Option<T>> {
    match patch {
        Patch::Absent => None,
        Patch::Null => Some(None),
        Patch::Value(value) => Some(Some(value)),
    }
}

/// Change a record (JSON merge patch); the result is validated as a whole.
///
/// The changed record must be valid DNS and stand beside the zone's other records (`422`
/// with the field's pointer; a CNAME at the apex or beside other records at `/type`);
/// `null` returns `ttl` to 3600 and clears `priority`. Records change only while the
/// provider serves the zone (`409 dns_not_managed`) and the service is active (`409
/// service_not_active`); a stale `If-Match` is `412`. The zone gets a new SOA serial and
/// goes to the DNS server. The owner, an account above it, or a grantee with `manage`;
/// refused while `dns.write` is disabled (`403 action_restricted`). API keys need
/// `dns:write`.
#[utoipa::path(
    tag = "DNS",
    params(RecordPath, IfMatchHeader),
    request_body(content = UpdateDnsRecord, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed record", body = DnsRecordView, headers(("ETag" = String))),
        (status = 409, description = "`dns_not_managed` or `service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[patch("/domains/{name}/dns/records/{id}")]
pub async fn update_dns_record(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<RecordPath>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteDns)?;
    let domain = access::domain(&state, &principal.actor, authorized, &path.name).await?;
    let record = dns::record(&state, domain, &path.id).await?;
    let zone = record.row.0.domain.name.clone();
    let input: UpdateDnsRecord = body.parse()?;
    let patch = RecordPatch {
        record_type: input.record_type.required("/type")?,
        name: input.name.required("/name")?,
        content: input.content.required("/content")?,
        ttl: clearable(input.ttl),
        priority: clearable(input.priority),
    };
    let row = dns::update(&state, &principal.actor, record, patch, IfMatch::from_request(&request)).await?;
    record_response(HttpResponse::Ok(), &row, &zone)
}

/// Remove a record.
///
/// Only while the provider serves the zone (`409 dns_not_managed`) and the service is
/// active (`409 service_not_active`); a stale `If-Match` is `412`. The zone gets a new
/// SOA serial and goes to the DNS server. The owner, an account above it, or a grantee
/// with `manage`; refused while `dns.write` is disabled (`403 action_restricted`). API
/// keys need `dns:write`.
#[utoipa::path(
    tag = "DNS",
    params(RecordPath, IfMatchHeader),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "`dns_not_managed` or `service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[delete("/domains/{name}/dns/records/{id}")]
pub async fn delete_dns_record(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<RecordPath>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::WriteDns)?;
    let domain = access::domain(&state, &principal.actor, authorized, &path.name).await?;
    let record = dns::record(&state, domain, &path.id).await?;
    dns::delete(&state, &principal.actor, record, IfMatch::from_request(&request)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The zone as RFC 1035 master-file text (`text/dns`).
///
/// `$ORIGIN`, the SOA and NS records from the configuration, then the records, as the
/// DNS server is given them (media type `text/dns`, RFC 4027). Readable whatever the
/// domain's name servers are. Whoever reaches the domain's service (grantees with
/// `view`). API keys need `dns:read`.
#[utoipa::path(
    tag = "DNS",
    params(("name" = String, Path, description = "The domain name")),
    responses((status = 200, description = "The zone file", body = String, content_type = "text/dns")),
)]
#[get("/domains/{name}/dns/zone")]
pub async fn get_dns_zone(
    state: web::Data<AppState>,
    principal: Principal,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadDns)?;
    let domain = access::domain(&state, &principal.actor, authorized, &name).await?;
    let zone = dns::zone(&state, domain).await?;
    Ok(HttpResponse::Ok().content_type(format!("{ZONE_CONTENT_TYPE}; charset=utf-8")).body(zone))
}
