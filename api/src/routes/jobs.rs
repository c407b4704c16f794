//! Bulk service actions and the background jobs that carry out the large ones.
//!
//! `POST /v1/services/bulk` applies one action to 1-1000 services. Each item is looked
//! up, authorized and changed on its own, in its own transaction, through the same
//! functions as the single-service routes; an item that fails (out of reach:
//! `not_found`; not allowed: `forbidden`; the lifecycle: `invalid_transition`) is an
//! error of that item, never of the request. Up to [`SYNC_LIMIT`] items are done during
//! the request (200); more become a job (202 with `Location: /v1/jobs/{id}`) that the
//! worker carries out with the requester's rights as they were checked, item by item.
//!
//! Who may ask for which action is decided first, from the action alone: `renew`
//! (free until billing exists), `suspend` and `unsuspend` need a reseller or an operator
//! (`403 forbidden` for customers); `set_auto_renew` is for everyone, on the services it
//! reaches (for a customer, its own). `lock`, `unlock` and `set_nameservers` change every
//! domain of each service (its `domain` service or the hosting service that serves it)
//! and need `domain.lock` / `domain.nameservers` (scope `domains:write`, restrictions);
//! `POST /v1/domains/bulk` does the same by domain name, through the same per-domain
//! change.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::accounts::AccountKind;
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::policy::Action;
use hostadmin_domain::provisioning::Provisioner;
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::domains::{self as domain_store, DomainChanges, DomainFilter, DomainRow};
use hostadmin_persistence::jobs::{self as job_store, JobRow, NewJob};
use hostadmin_persistence::services::{self as service_store, ServiceChanges, ServiceScope};
use hostadmin_persistence::DbConnection;

use crate::auth::Principal;
use crate::db::Db;
use crate::hosting;
use crate::http::body::{parse_value, JsonBody};
use crate::http::etag::IfMatch;
use crate::http::idempotency;
use crate::http::problem::{ApiError, FieldError};
use crate::provisioning;
use crate::routes::domains as domain_routes;
use crate::routes::service_lifecycle::{
    apply, may_renew, may_suspend, reason, renew_cycles, renewal, suspension, unsuspension, Who,
};
use crate::routes::services::{find_in_scope, require, scope_of, write_update};
use crate::state::AppState;

/// The most items one bulk request may name.
pub const MAX_ITEMS: usize = 1000;
/// Up to this many items are done during the request; more become a job.
pub const SYNC_LIMIT: usize = 100;
/// The kind of job a large bulk request becomes.
pub const BULK_SERVICES: &str = "services.bulk";
/// How long a worker holds a job between two saved steps.
pub const LEASE_SECONDS: i64 = 60;
/// Items a worker does between two saves of its progress.
const STEP: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    /// `params: {cycles?: 1-10}` (1 when absent). Resellers and operators.
    Renew,
    /// `params: {reason}`. Resellers and operators, for services of accounts below.
    Suspend,
    /// `params: {reason?}`. Resellers and operators, for services of accounts below.
    Unsuspend,
    /// `params: {auto_renew: bool}`. Everyone, for the services it reaches.
    SetAutoRenew,
    /// No params: locks every domain of the service. Needs `domain.lock`.
    Lock,
    /// No params: unlocks every domain of the service. Needs `domain.lock`.
    Unlock,
    /// `params: {nameservers: [2-13 distinct host names] | null}` (null: the provider's
    /// name servers again) for every domain of the service. Needs `domain.nameservers`.
    SetNameservers,
}

impl BulkAction {
    fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }

    /// The policy's action: who may ever ask for this.
    fn policy(self) -> Action {
        match self {
            Self::Renew => Action::RenewService,
            Self::Suspend | Self::Unsuspend => Action::SuspendService,
            Self::SetAutoRenew => Action::UpdateService,
            Self::Lock | Self::Unlock => Action::LockDomain,
            Self::SetNameservers => Action::SetDomainNameservers,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params<T> {
    params: T,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RenewParams {
    #[serde(default)]
    cycles: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuspendParams {
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnsuspendParams {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AutoRenewParams {
    auto_renew: bool,
}

/// A checked bulk action, as a job stores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub(crate) enum Command {
    Renew {
        cycles: u32,
    },
    Suspend {
        reason: String,
    },
    Unsuspend {
        reason: Option<String>,
    },
    SetAutoRenew {
        auto_renew: bool,
    },
    Lock,
    Unlock,
    /// The name servers as stored; `None`: the provider's.
    SetNameservers {
        nameservers: Option<String>,
    },
}

impl Command {
    /// The policy's action for one item, which a grant must allow.
    fn policy(&self) -> Action {
        match self {
            Self::Renew { .. } => BulkAction::Renew,
            Self::Suspend { .. } => BulkAction::Suspend,
            Self::Unsuspend { .. } => BulkAction::Unsuspend,
            Self::SetAutoRenew { .. } => BulkAction::SetAutoRenew,
            Self::Lock => BulkAction::Lock,
            Self::Unlock => BulkAction::Unlock,
            Self::SetNameservers { .. } => BulkAction::SetNameservers,
        }
        .policy()
    }

    /// What a domain action changes on each domain; `None` for the service actions.
    fn domain_changes(&self) -> Option<DomainChanges> {
        match self {
            Self::Lock | Self::Unlock => {
                Some(DomainChanges { locked: Some(matches!(self, Self::Lock)), ..DomainChanges::default() })
            }
            Self::SetNameservers { nameservers } => {
                Some(DomainChanges { nameservers: Some(nameservers.clone()), ..DomainChanges::default() })
            }
            Self::Renew { .. } | Self::Suspend { .. } | Self::Unsuspend { .. } | Self::SetAutoRenew { .. } => None,
        }
    }
}

fn params_of<T: serde::de::DeserializeOwned>(params: Option<serde_json::Value>) -> Result<T, ApiError> {
    let params = params.unwrap_or_else(|| serde_json::json!({}));
    Ok(parse_value::<Params<T>>(serde_json::json!({ "params": params }))?.params)
}

impl Command {
    fn parse(action: BulkAction, params: Option<serde_json::Value>) -> Result<Self, ApiError> {
        Ok(match action {
            BulkAction::Renew => {
                let input: RenewParams = params_of(params)?;
                Self::Renew { cycles: renew_cycles(input.cycles, "/params/cycles")? }
            }
            BulkAction::Suspend => {
                let input: SuspendParams = params_of(params)?;
                Self::Suspend { reason: reason(&input.reason, "/params/reason")? }
            }
            BulkAction::Unsuspend => {
                let input: UnsuspendParams = params_of(params)?;
                Self::Unsuspend {
                    reason: input.reason.as_deref().map(|text| reason(text, "/params/reason")).transpose()?,
                }
            }
            BulkAction::SetAutoRenew => {
                let input: AutoRenewParams = params_of(params)?;
                Self::SetAutoRenew { auto_renew: input.auto_renew }
            }
            BulkAction::Lock => {
                domain_changes(DomainBulkAction::Lock, params)?;
                Self::Lock
            }
            BulkAction::Unlock => {
                domain_changes(DomainBulkAction::Unlock, params)?;
                Self::Unlock
            }
            BulkAction::SetNameservers => {
                let changes = domain_changes(DomainBulkAction::SetNameservers, params)?;
                Self::SetNameservers { nameservers: changes.nameservers.flatten() }
            }
        })
    }
}

/// Who asked, as a job keeps it: its reach and its audit context.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Requester {
    account_id: String,
    kind: AccountKind,
    actor_id: Option<String>,
    on_behalf_of: Option<String>,
    api_key_id: Option<String>,
    ip: Option<String>,
    request_id: Option<String>,
}

impl Requester {
    fn of(principal: &Principal) -> Self {
        let audit = &principal.audit;
        Self {
            account_id: principal.id().to_owned(),
            kind: principal.kind(),
            actor_id: audit.actor_id.clone(),
            on_behalf_of: audit.on_behalf_of.clone(),
            api_key_id: audit.api_key_id.clone(),
            ip: audit.ip.clone(),
            request_id: audit.request_id.clone(),
        }
    }

    fn who(&self) -> Who<'_> {
        Who { id: &self.account_id, kind: self.kind }
    }

    /// What the requester reaches: under an impersonation token (an audit context on
    /// someone's behalf) the customer's received grants do not count.
    fn scope(&self) -> ServiceScope {
        scope_of(&self.account_id, self.kind, self.on_behalf_of.is_none())
    }

    fn audit(&self) -> AuditContext {
        AuditContext {
            actor_id: self.actor_id.clone(),
            on_behalf_of: self.on_behalf_of.clone(),
            api_key_id: self.api_key_id.clone(),
            ip: self.ip.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

/// What a job stores as its `params`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct JobParams {
    command: Command,
    service_ids: Vec<String>,
    requester: Requester,
    /// Each service's version when the job was queued. An item runs only against that
    /// version, so an item done again after a worker lost its lease (or crashed before
    /// saving its progress) finds the service changed and is not applied twice: a
    /// renewal never extends a service twice.
    #[serde(default)]
    queued_versions: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ItemError {
    /// `not_found`, `forbidden`, `invalid_transition`, ...: the code the single-service
    /// route would have answered.
    pub code: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BulkItemResult {
    pub service_id: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResults {
    /// One per requested id, in the request's order.
    pub results: Vec<BulkItemResult>,
}

fn item_error(error: &ApiError) -> ItemError {
    let detail = match error {
        ApiError::Status { detail, .. } => detail.clone(),
        ApiError::Validation { errors, .. } => {
            errors.first().map(|e| e.detail.clone()).unwrap_or_else(|| "invalid".to_owned())
        }
        ApiError::Internal(cause) => {
            tracing::error!(cause = %cause, "bulk item failed");
            "something went wrong on our side".to_owned()
        }
        ApiError::Unavailable(_) | ApiError::Busy(_) => "the service is busy; try this one again".to_owned(),
    };
    ItemError { code: error.code().to_owned(), detail }
}

/// One item: looked up within the requester's reach, authorized, and changed with its
/// audit event in one transaction.
async fn run_item(
    db: &Db,
    provisioner: &Arc<dyn Provisioner>,
    requester: &Requester,
    command: &Command,
    service_id: &str,
    queued_version: Option<i64>,
) -> BulkItemResult {
    let outcome = async {
        let (row, access) = find_in_scope(db, requester.scope(), service_id).await?;
        require(&access, command.policy())?;
        let context = requester.audit();
        let expected = || queued_version.map_or(IfMatch::Absent, |version| IfMatch::Versions(vec![version]));
        match command {
            Command::Renew { cycles } => {
                may_renew(requester.who(), &row, &access)?;
                apply(
                    db,
                    provisioner,
                    context,
                    row.id,
                    expected(),
                    actions::SERVICE_RENEW,
                    renewal(*cycles, "/params/cycles"),
                )
                .await?;
            }
            Command::Suspend { reason } => {
                may_suspend(requester.who(), &row, &access, "suspend")?;
                apply(
                    db,
                    provisioner,
                    context,
                    row.id,
                    expected(),
                    actions::SERVICE_SUSPEND,
                    suspension(reason.clone()),
                )
                .await?;
            }
            Command::Unsuspend { reason } => {
                may_suspend(requester.who(), &row, &access, "unsuspend")?;
                apply(
                    db,
                    provisioner,
                    context,
                    row.id,
                    expected(),
                    actions::SERVICE_UNSUSPEND,
                    unsuspension(reason.clone()),
                )
                .await?;
            }
            Command::SetAutoRenew { auto_renew } => {
                let changes = ServiceChanges { auto_renew: Some(*auto_renew), ..ServiceChanges::default() };
                let if_match = expected();
                db.write(move |conn| {
                    let row = service_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)?;
                    if_match.check(row.version)?;
                    if !write_update(conn, &context, &row, &changes, time::now())? {
                        return Err(ApiError::Busy("the service changed during the request".into()));
                    }
                    Ok(())
                })
                .await?;
            }
            Command::Lock | Command::Unlock | Command::SetNameservers { .. } => {
                let changes = command.domain_changes().ok_or_else(|| ApiError::internal("not a domain action"))?;
                let (scope, policy) = (requester.scope(), command.policy());
                let requested_by = requester.account_id.clone();
                let provisioner = provisioner.clone();
                db.write(move |conn| {
                    for domain in domains_of(conn, &scope, &row.id)? {
                        let service = match domain_routes::service_of(&domain)? {
                            id if id == row.id => row.clone(),
                            other => {
                                // Served by this service, registered as another: that one
                                // is checked as the single-domain routes check it.
                                let (service, access) = service_store::find_in_reach(conn, &scope, other)?
                                    .ok_or_else(ApiError::not_found)?;
                                require(&access, policy)?;
                                service
                            }
                        };
                        hosting::require_active(&service)?;
                        domain_routes::apply_bulk_change(
                            conn,
                            provisioner.as_ref(),
                            &context,
                            &requested_by,
                            &domain.id,
                            &service,
                            &changes,
                        )?;
                    }
                    Ok(())
                })
                .await?;
            }
        }
        Ok::<(), ApiError>(())
    }
    .await;
    match outcome {
        Ok(()) => BulkItemResult { service_id: service_id.to_owned(), ok: true, error: None },
        Err(error) => BulkItemResult { service_id: service_id.to_owned(), ok: false, error: Some(item_error(&error)) },
    }
}

/// Every domain of a service: registered as it (`service_id`) or served by it
/// (`hosting_service_id`), within the requester's reach.
fn domains_of(conn: &mut DbConnection, scope: &ServiceScope, service_id: &str) -> Result<Vec<DomainRow>, ApiError> {
    const PAGE: i64 = 500;
    let mut filter = DomainFilter { service_id: Some(service_id.to_owned()), ..DomainFilter::default() };
    let mut all = Vec::new();
    loop {
        let page = domain_store::list_in_scope(conn, scope, &filter, PAGE)?;
        let more = i64::try_from(page.len()).unwrap_or(i64::MAX) >= PAGE;
        filter.before_id = page.last().map(|domain| domain.id.clone());
        all.extend(page);
        if !more {
            return Ok(all);
        }
    }
}

/// 1-1000 ids, each once (compared as canonical ids; a malformed one as sent).
fn checked_ids(ids: Vec<String>) -> Result<Vec<String>, ApiError> {
    if ids.is_empty() {
        return Err(ApiError::field("/service_ids", Invalid::new("too_short", "name 1 to 1000 services")));
    }
    if ids.len() > MAX_ITEMS {
        return Err(ApiError::field(
            "/service_ids",
            Invalid::new("too_long", format!("name at most {MAX_ITEMS} services; split the request")),
        ));
    }
    let mut seen = HashSet::new();
    let errors: Vec<FieldError> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !seen.insert(parse_id(id).unwrap_or_else(|| (*id).clone())))
        .map(|(index, _)| {
            FieldError::new(format!("/service_ids/{index}"), Invalid::new("duplicate", "each service once"))
        })
        .take(20)
        .collect();
    if errors.is_empty() {
        Ok(ids)
    } else {
        Err(ApiError::fields(errors))
    }
}

/// The action the body names, read before anything else: it decides who may call.
fn asked_action(body: &JsonBody) -> Option<BulkAction> {
    let value = serde_json::from_slice::<serde_json::Value>(body.bytes()).ok()?;
    BulkAction::parse(value.get("action")?.as_str()?)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobProgress {
    pub done: i64,
    pub total: i64,
}

/// A background job: a bulk action above the synchronous limit.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: String,
    /// `services.bulk`, or `provision` (an operation a deferring provisioner left to
    /// the worker; its `results` stay empty).
    pub kind: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
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
            kind: row.kind.clone(),
            status: row.status.clone(),
            progress: JobProgress { done: row.progress_done, total: row.progress_total },
            results: serde_json::from_str(&row.results)
                .map_err(|_| ApiError::internal(format!("stored results of job {}", row.id)))?,
            created_at: time::to_utc(row.created_at),
            finished_at: row.finished_at.map(time::to_utc),
        })
    }
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
#[utoipa::path(
    tag = "Services",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours."),
    ),
    request_body = BulkServices,
    responses(
        (status = 200, description = "Every item's result, in the request's order", body = BulkResults),
        (status = 202, description = "More than 100 items: queued as a job", body = JobView, headers(("Location" = String))),
        (status = 403, description = "`forbidden`: the action is not one this kind of account may take; `insufficient_scope` or `action_restricted` for the domain actions", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`idempotency_in_progress`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No ids, more than 1000, duplicates (pointer `/service_ids/{index}`), or invalid `params`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/services/bulk")]
pub async fn bulk_services(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(asked_action(&body).map_or(Action::UpdateService, BulkAction::policy))?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: BulkServices = body.parse()?;
        let command = Command::parse(input.action, input.params)?;
        let service_ids = checked_ids(input.service_ids)?;
        let requester = Requester::of(&principal);

        if service_ids.len() > SYNC_LIMIT {
            let id = new_id();
            let total = i64::try_from(service_ids.len()).map_err(ApiError::internal)?;
            let ids = service_ids.clone();
            let queued_versions: BTreeMap<String, i64> =
                state.db.run(move |conn| Ok(service_store::versions(conn, &ids)?)).await?.into_iter().collect();
            let params = serde_json::to_string(&JobParams { command, service_ids, requester, queued_versions })
                .map_err(ApiError::internal)?;
            let context = principal.audit.clone();
            let requested_by = principal.id().to_owned();
            let job_id = id.clone();
            let row = state
                .db
                .write(move |conn| {
                    let now = time::now();
                    job_store::insert(
                        conn,
                        &NewJob {
                            id: &job_id,
                            kind: BULK_SERVICES,
                            params: &params,
                            total,
                            requested_by: &requested_by,
                            now,
                        },
                    )?;
                    audit::record(
                        conn,
                        &context,
                        NewEvent {
                            action: actions::JOB_CREATE,
                            target_type: target::JOB,
                            target_id: &job_id,
                            account_id: Some(&requested_by),
                            details: serde_json::json!({ "kind": BULK_SERVICES, "action": input.action, "total": total }),
                        },
                        now,
                    )?;
                    job_store::find(conn, &job_id)?.ok_or_else(ApiError::not_found)
                })
                .await?;
            return Ok(HttpResponse::Accepted()
                .insert_header((header::LOCATION, format!("/v1/jobs/{id}")))
                .json(JobView::from_row(&row)?));
        }

        let mut results = Vec::with_capacity(service_ids.len());
        for service_id in &service_ids {
            results.push(run_item(&state.db, &state.provisioner, &requester, &command, service_id, None).await);
        }
        Ok(HttpResponse::Ok().json(BulkResults { results }))
    })
    .await
}

/// A job the caller requested: its progress and the results so far.
///
/// Only the account that requested the job sees it; to anyone else it does not exist.
#[utoipa::path(
    tag = "Jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 404, description = "No such job for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/jobs/{id}")]
pub async fn get_job(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadJob)?;
    let id = parse_id(&id).ok_or_else(ApiError::not_found)?;
    let account_id = principal.id().to_owned();
    let row = state
        .db
        .run(move |conn| job_store::find_requested_by(conn, &id, &account_id)?.ok_or_else(ApiError::not_found))
        .await?;
    Ok(HttpResponse::Ok().json(JobView::from_row(&row)?))
}

// ---------------------------------------------------------------------------------
// The worker's side.
// ---------------------------------------------------------------------------------

/// Claims and carries out open jobs until none is left; answers how many it finished.
pub(crate) async fn work_on_jobs(db: &Db, provisioner: &Arc<dyn Provisioner>, worker: &str) -> Result<usize, ApiError> {
    let mut finished = 0;
    loop {
        let claimer = worker.to_owned();
        let claimed = db
            .write(move |conn| {
                let now = time::now();
                Ok(job_store::claim_next(conn, &claimer, now, now + Duration::seconds(LEASE_SECONDS))?)
            })
            .await?;
        let Some(job) = claimed else { return Ok(finished) };
        tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, "job claimed");
        let ended = match job.kind.as_str() {
            provisioning::PROVISION => provisioning::work_on(db, provisioner, worker, job).await?,
            _ => work_on(db, provisioner, worker, job).await?,
        };
        if ended {
            finished += 1;
        }
    }
}

/// Carries out one claimed job from where it stands, saving its progress (and
/// extending the lease) every [`STEP`] items. Answers false when the lease was lost.
async fn work_on(db: &Db, provisioner: &Arc<dyn Provisioner>, worker: &str, job: JobRow) -> Result<bool, ApiError> {
    let parsed: Result<(JobParams, Vec<BulkItemResult>), _> =
        serde_json::from_str(&job.params).and_then(|params| Ok((params, serde_json::from_str(&job.results)?)));
    let (params, mut results) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            tracing::error!(job = %job.id, error = %error, "job cannot be read; failed");
            return save(db, &job.id, worker, Vec::new(), Some(job_store::FAILED)).await;
        }
    };
    let start = results.len().min(params.service_ids.len());
    for chunk in params.service_ids[start..].chunks(STEP) {
        for service_id in chunk {
            let queued_version = params.queued_versions.get(service_id).copied();
            results
                .push(run_item(db, provisioner, &params.requester, &params.command, service_id, queued_version).await);
        }
        let last = results.len() == params.service_ids.len();
        if !save(db, &job.id, worker, results.clone(), last.then_some(job_store::DONE)).await? {
            tracing::warn!(job = %job.id, "lease lost; another worker carries on");
            return Ok(false);
        }
    }
    if start == params.service_ids.len() {
        return save(db, &job.id, worker, results, Some(job_store::DONE)).await;
    }
    Ok(true)
}

/// Saves the results (and ends the job with `finish`, if given) while the worker still
/// holds it.
async fn save(
    db: &Db,
    id: &str,
    worker: &str,
    results: Vec<BulkItemResult>,
    finish: Option<&'static str>,
) -> Result<bool, ApiError> {
    let done = i64::try_from(results.len()).map_err(ApiError::internal)?;
    let results = serde_json::to_string(&results).map_err(ApiError::internal)?;
    let (id, worker) = (id.to_owned(), worker.to_owned());
    db.write(move |conn| {
        let now = time::now();
        Ok(match finish {
            Some(status) => job_store::finish(conn, &id, &worker, status, &results, done, now)?,
            None => {
                job_store::save_progress(conn, &id, &worker, &results, done, now + Duration::seconds(LEASE_SECONDS))?
            }
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_counted_and_distinct() {
        assert!(checked_ids(Vec::new()).is_err());
        assert!(checked_ids(vec!["a".to_owned(); 1]).is_ok());
        assert!(checked_ids((0..1001).map(|i| i.to_string()).collect()).is_err());
        assert!(checked_ids((0..1000).map(|i| i.to_string()).collect()).is_ok());
        let id = new_id();
        match checked_ids(vec![id.clone(), new_id(), id.clone()]) {
            Err(ApiError::Validation { errors, .. }) => assert_eq!(errors[0].pointer, "/service_ids/2"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn params_point_into_params() {
        match Command::parse(BulkAction::Suspend, None) {
            Err(ApiError::Validation { errors, .. }) => assert_eq!(errors[0].pointer, "/params/reason"),
            other => panic!("{other:?}"),
        }
        match Command::parse(BulkAction::Renew, Some(serde_json::json!({"cycles": 11}))) {
            Err(ApiError::Validation { errors, .. }) => assert_eq!(errors[0].pointer, "/params/cycles"),
            other => panic!("{other:?}"),
        }
        match Command::parse(BulkAction::SetAutoRenew, Some(serde_json::json!({"auto_renew": true, "x": 1}))) {
            Err(ApiError::Validation { errors, .. }) => assert_eq!(errors[0].pointer, "/params/x"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(Command::parse(BulkAction::Unsuspend, None), Ok(Command::Unsuspend { reason: None })));
    }
}

// ---------------------------------------------------------------------------------
// Domain bulk actions.
// ---------------------------------------------------------------------------------

/// The most domains one bulk request may name. Domain actions are cheap and done during
/// the request; there is no job path for them (yet), so the cap is the synchronous one.
pub const MAX_DOMAIN_ITEMS: usize = SYNC_LIMIT;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DomainBulkAction {
    /// No params. Needs `domain.lock`.
    Lock,
    /// No params. Needs `domain.lock`.
    Unlock,
    /// `params: {nameservers: [2-13 host names] | null}`. Needs `domain.nameservers`.
    SetNameservers,
}

impl DomainBulkAction {
    fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }

    fn policy(self) -> Action {
        match self {
            Self::Lock | Self::Unlock => Action::LockDomain,
            Self::SetNameservers => Action::SetDomainNameservers,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NameserverParams {
    nameservers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DomainBulkItemResult {
    /// The name as requested.
    pub domain: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DomainBulkResults {
    /// One per requested name, in the request's order.
    pub results: Vec<DomainBulkItemResult>,
}

/// The checked `params` of a domain action as the change of each domain: none for
/// `lock` and `unlock`; `set_nameservers {nameservers}` as PATCH /v1/domains/{name}
/// takes them (2-13 distinct host names, null: the provider's). Both bulk routes use it.
fn domain_changes(action: DomainBulkAction, params: Option<serde_json::Value>) -> Result<DomainChanges, ApiError> {
    Ok(match action {
        DomainBulkAction::Lock | DomainBulkAction::Unlock => {
            let _: NoParams = params_of(params)?;
            DomainChanges { locked: Some(action == DomainBulkAction::Lock), ..DomainChanges::default() }
        }
        DomainBulkAction::SetNameservers => {
            let params: NameserverParams = params_of(params)?;
            let nameservers = params
                .nameservers
                .map(|list| {
                    hostadmin_domain::domains::Nameservers::parse(&list)
                        .map(|ns| ns.to_stored())
                        .map_err(|e| domain_routes::list_error("/params/nameservers", e))
                })
                .transpose()?;
            DomainChanges { nameservers: Some(nameservers), ..DomainChanges::default() }
        }
    })
}

fn asked_domain_action(body: &JsonBody) -> Option<DomainBulkAction> {
    let value = serde_json::from_slice::<serde_json::Value>(body.bytes()).ok()?;
    DomainBulkAction::parse(value.get("action")?.as_str()?)
}

/// 1-100 names, each once (compared in canonical form; an unparsable one as sent).
fn checked_names(names: Vec<String>) -> Result<Vec<String>, ApiError> {
    if names.is_empty() || names.len() > MAX_DOMAIN_ITEMS {
        return Err(ApiError::field(
            "/domains",
            Invalid::new("invalid_length", format!("name 1 to {MAX_DOMAIN_ITEMS} domains")),
        ));
    }
    let mut seen = HashSet::new();
    let errors: Vec<FieldError> = names
        .iter()
        .enumerate()
        .filter(|(_, name)| {
            let canonical = hostadmin_domain::domains::DomainName::parse(name)
                .map(hostadmin_domain::domains::DomainName::into_string)
                .unwrap_or_else(|_| (*name).clone());
            !seen.insert(canonical)
        })
        .map(|(index, _)| FieldError::new(format!("/domains/{index}"), Invalid::new("duplicate", "each domain once")))
        .take(20)
        .collect();
    if errors.is_empty() {
        Ok(names)
    } else {
        Err(ApiError::fields(errors))
    }
}

/// Lock, unlock or set the name servers of many domains.
///
/// Each item is checked on its own, as the single-domain PATCH would: a name out of
/// reach (or unparsable) is an item error `not_found`, a grant without the permission
/// `insufficient_grant`, a stopped service `service_not_active`; the answer is 200 even
/// when items fail. At most 100 names, all done during the request.
#[utoipa::path(
    tag = "Domains",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours."),
    ),
    request_body = BulkDomains,
    responses(
        (status = 200, description = "Every item's result, in the request's order", body = DomainBulkResults),
        (status = 422, description = "No names, more than 100, duplicates (pointer `/domains/{index}`), or invalid `params`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/domains/bulk")]
pub async fn bulk_domains(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(asked_domain_action(&body).map_or(Action::WriteDomains, DomainBulkAction::policy))?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: BulkDomains = body.parse()?;
        let policy = input.action.policy();
        let changes = domain_changes(input.action, input.params)?;
        let names = checked_names(input.domains)?;
        let mut results = Vec::with_capacity(names.len());
        for name in names {
            let outcome = async {
                let (row, service) = domain_routes::find_for_bulk(&state, &principal, &name, policy).await?;
                domain_routes::bulk_change(&state, &principal, row, service, changes.clone()).await
            }
            .await;
            results.push(match outcome {
                Ok(()) => DomainBulkItemResult { domain: name, ok: true, error: None },
                Err(error) => DomainBulkItemResult { domain: name, ok: false, error: Some(item_error(&error)) },
            });
        }
        Ok(HttpResponse::Ok().json(DomainBulkResults { results }))
    })
    .await
}
