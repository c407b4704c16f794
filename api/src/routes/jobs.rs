//! `/v1/services/bulk`, `/v1/domains/bulk` and `/v1/jobs/{id}` (crate::app::bulk,
//! crate::app::jobs).

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::jobs::{JobKind, JobStatus};
use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_persistence::jobs::JobRow;

use crate::app::bulk::{self, BulkAction, BulkItemResult, Command, DomainBulkAction, DomainBulkItemResult, Outcome};
use crate::app::jobs;
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::idempotency::{self, IdempotencyKeyHeader};
use crate::http::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "renew", "service_ids": ["01938a6e-5b7c-7d2e-9f10-4a5b6c7d8e9f", "01938a6e-6c7d-7e8f-9a0b-1c2d3e4f5a6b"], "params": {"cycles": 1}}))]
pub struct BulkServices {
    pub action: BulkAction,
    /// 1-1000 distinct service ids.
    #[schema(min_items = 1, max_items = 1000)]
    pub service_ids: Vec<String>,
    /// The action's parameters: `renew {cycles?}`, `suspend {reason}`,
    /// `unsuspend {reason?}`, `set_auto_renew {auto_renew}`, `set_nameservers
    /// {nameservers}`; none for `lock` and `unlock`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub params: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"results": [{"service_id": "01938a6e-5b7c-7d2e-9f10-4a5b6c7d8e9f", "ok": true, "error": null}, {"service_id": "01938a6e-6c7d-7e8f-9a0b-1c2d3e4f5a6b", "ok": false, "error": {"code": "service_not_active", "detail": "the service is terminated"}}]}))]
pub struct BulkResults {
    /// One per requested id, in the request's order.
    pub results: Vec<BulkItemResult>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobProgress {
    pub done: i64,
    pub total: i64,
}

/// A background job: a bulk action above the synchronous limit, an operation a deferring
/// provisioner left to the worker, or a certificate order.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = job_example)]
pub struct JobView {
    pub id: String,
    /// `services.bulk`; `provision` (an operation a deferring provisioner left to the
    /// worker) or `certificate.acme` (a certificate order), whose `results` stay empty.
    pub kind: JobKind,
    /// `queued` until a worker claims it, `running` while one holds it, then `done` or
    /// `failed`.
    pub status: JobStatus,
    pub progress: JobProgress,
    /// The items done so far, in the request's order.
    pub results: Vec<BulkItemResult>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl JobView {
    fn from_row(row: &JobRow) -> Result<Self, ApiError> {
        Ok(Self {
            id: row.id.clone(),
            kind: row.kind,
            status: row.status,
            progress: JobProgress { done: row.progress_done, total: row.progress_total },
            results: serde_json::from_str(&row.results)
                .map_err(|_| ApiError::internal(format!("stored results of job {}", row.id)))?,
            created_at: time::to_utc(row.created_at),
            finished_at: row.finished_at.map(time::to_utc),
        })
    }
}

/// The `action` the body names, read before anything else: it decides who may call.
fn asked<T>(body: &JsonBody, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
    let value = serde_json::from_slice::<serde_json::Value>(body.bytes()).ok()?;
    parse(value.get("action")?.as_str()?)
}

/// Apply one action to many services.
///
/// Each item is checked on its own: an id out of reach (or malformed) is an item
/// error `not_found`, one the caller may not change `forbidden`, a move the lifecycle
/// refuses `invalid_transition`; the answer is 200 even when items fail. Who may ask is
/// decided by the action first (403): `renew`, `suspend` and `unsuspend` need a
/// reseller or operator; `set_auto_renew` anyone. `lock`, `unlock` and
/// `set_nameservers` change every domain of each service (one transaction per service;
/// a domain that cannot be changed fails its service's item, e.g. `service_not_active`)
/// and need `domains:write` and no restriction `domain.lock` / `domain.nameservers`
/// (403 `insufficient_scope` / `action_restricted`); `POST /v1/domains/bulk` does the
/// same by domain name. More than 100 items become a job (202, `Location:
/// /v1/jobs/{id}`) carried out by the background worker.
///
/// Takes `Idempotency-Key`. API keys need `services:write` (and `domains:write` for the
/// domain actions).
#[utoipa::path(
    tag = "Services",
    params(IdempotencyKeyHeader),
    request_body = BulkServices,
    responses(
        (status = 200, description = "Every item's result, in the request's order", body = BulkResults),
        (status = 202, description = "More than 100 items: queued as a job", body = JobView, headers(("Location" = String))),
        (status = 403, description = "`forbidden`: the action is not one this kind of account may take; `insufficient_scope` or `action_restricted` for the domain actions", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No ids, more than 1000, duplicates (pointer `/service_ids/{index}`), or invalid `params`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/bulk")]
pub async fn bulk_services(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(asked(&body, BulkAction::parse).map_or(Action::UpdateService, BulkAction::policy))?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: BulkServices = body.parse()?;
        let command = Command::parse(input.action, input.params)?;
        let service_ids = bulk::checked_ids(input.service_ids)?;
        match bulk::services(&state, &principal.actor, input.action, command, service_ids).await? {
            Outcome::Done(results) => Ok(HttpResponse::Ok().json(BulkResults { results })),
            Outcome::Queued(job) => Ok(HttpResponse::Accepted()
                .insert_header((header::LOCATION, format!("/v1/jobs/{}", job.id)))
                .json(JobView::from_row(&job)?)),
        }
    })
    .await
}

/// A job the caller requested: its progress and the results so far.
///
/// Only the account that requested the job sees it; to anyone else it does not exist.
///
/// Any account, for the jobs it requested. API keys need `services:read`.
#[utoipa::path(
    tag = "Jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "The job", body = JobView)),
)]
#[get("/jobs/{id}")]
pub async fn get_job(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadJob)?;
    let row = jobs::find(&state, &principal.actor, authorized, &id).await?;
    Ok(HttpResponse::Ok().json(JobView::from_row(&row)?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "set_nameservers", "domains": ["example.com", "example.net"], "params": {"nameservers": ["ns1.example.org", "ns2.example.org"]}}))]
pub struct BulkDomains {
    pub action: DomainBulkAction,
    /// 1-100 distinct domain names (any spelling).
    #[schema(min_items = 1, max_items = 100)]
    pub domains: Vec<String>,
    /// `set_nameservers {nameservers}`; none for `lock` and `unlock`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub params: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"results": [{"domain": "example.com", "ok": true, "error": null}, {"domain": "example.net", "ok": false, "error": {"code": "not_found", "detail": "no such domain"}}]}))]
pub struct DomainBulkResults {
    /// One per requested name, in the request's order.
    pub results: Vec<DomainBulkItemResult>,
}

/// Lock, unlock or set the name servers of many domains.
///
/// Each item is checked on its own, as the single-domain PATCH would: a name out of
/// reach (or unparsable) is an item error `not_found`, a grant without the permission
/// `insufficient_grant`, a stopped service `service_not_active`; the answer is 200 even
/// when items fail. At most 100 names, all done during the request.
///
/// Takes `Idempotency-Key`. API keys need `domains:write`; refused while `domain.lock`
/// (lock, unlock) or `domain.nameservers` is disabled (`403 action_restricted`).
#[utoipa::path(
    tag = "Domains",
    params(IdempotencyKeyHeader),
    request_body = BulkDomains,
    responses(
        (status = 200, description = "Every item's result, in the request's order", body = DomainBulkResults),
        (status = 422, description = "No names, more than 100, duplicates (pointer `/domains/{index}`), or invalid `params`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/domains/bulk")]
pub async fn bulk_domains(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal
        .authorize(asked(&body, DomainBulkAction::parse).map_or(Action::WriteDomains, DomainBulkAction::policy))?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: BulkDomains = body.parse()?;
        let changes = bulk::domain_changes(input.action, input.params)?;
        let names = bulk::checked_names(input.domains)?;
        let results = bulk::domains(&state, &principal.actor, input.action, changes, names).await;
        Ok(HttpResponse::Ok().json(DomainBulkResults { results }))
    })
    .await
}

/// What the reference shows as an answer.
fn job_example() -> serde_json::Value {
    serde_json::json!({"id": "01938a71-5e6f-7a8b-9c0d-1e2f3a4b5c6d", "kind": "services.bulk", "status": "running", "progress": {"done": 1, "total": 250}, "results": [{"service_id": "01938a6e-5b7c-7d2e-9f10-4a5b6c7d8e9f", "ok": true, "error": null}], "created_at": "2026-12-05T10:00:00Z", "finished_at": null})
}
