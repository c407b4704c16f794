//! Bulk actions: one action applied to many services (renew, suspend, unsuspend,
//! auto-renewal, and the domain actions lock, unlock and name servers) or to many domains
//! by name.
//!
//! Each item is looked up, authorized and changed on its own, in its own transaction,
//! through the same use cases as the single-object routes; an item that fails (out of
//! reach: `not_found`; not allowed: `forbidden`; the lifecycle: `invalid_transition`) is
//! an error of that item, never of the request. Up to [`SYNC_LIMIT`] items are done at
//! once; more become a job that the worker carries out (crate::app::jobs) as the actor
//! who asked, item by item.
//!
//! Who may ask for which action is decided first, from the action alone: `renew`
//! (free until billing exists), `suspend` and `unsuspend` need a reseller or an operator
//! (`403 forbidden` for customers); `set_auto_renew` is for everyone, on the services it
//! reaches (for a customer, its own). `lock`, `unlock` and `set_nameservers` change every
//! domain of each service (its `domain` service or the hosting service that serves it)
//! and need `domain.lock` / `domain.nameservers` (scope `domains:write`, restrictions).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::domains::{DomainName, Nameservers};
use hostadmin_domain::ids::{is_uuid, new_id};
use hostadmin_domain::jobs::JobKind;
use hostadmin_domain::policy::{Action, Actor, Reach};
use hostadmin_domain::time;
use hostadmin_domain::validation::{Invalid, Reason};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::domains::{self as domain_store, DomainChanges, DomainFilter, DomainRow};
use hostadmin_persistence::jobs::{self as job_store, JobRow, NewJob};
use hostadmin_persistence::services::{self as service_store, ServiceChanges, ServiceRow};
use hostadmin_persistence::DbConnection;

use crate::app::access::{self, Reached};
use crate::app::hosting::domains as hosted;
use crate::app::lifecycle::{self, Cycles};
use crate::app::lifecycle::{changed_meanwhile, current};
use crate::app::services::write_update;
use crate::http::body::parse_value;
use crate::http::etag::IfMatch;
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// The most items one bulk request may name.
pub const MAX_ITEMS: usize = 1000;
/// Up to this many items are done during the request; more become a job.
pub const SYNC_LIMIT: usize = 100;
/// The most domains one bulk request may name. Domain actions are cheap and done during
/// the request; there is no job path for them, so the cap is the synchronous one.
pub const MAX_DOMAIN_ITEMS: usize = SYNC_LIMIT;

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
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }

    /// The policy's action: who may ask for this, and what each item needs.
    pub fn policy(self) -> Action {
        match self {
            Self::Renew => Action::RenewService,
            Self::Suspend | Self::Unsuspend => Action::SuspendService,
            Self::SetAutoRenew => Action::UpdateService,
            Self::Lock | Self::Unlock => Action::LockDomain,
            Self::SetNameservers => Action::SetDomainNameservers,
        }
    }
}

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
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }

    pub fn policy(self) -> Action {
        match self {
            Self::Lock | Self::Unlock => Action::LockDomain,
            Self::SetNameservers => Action::SetDomainNameservers,
        }
    }
}

/// A checked bulk action, as a job stores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Command {
    Renew {
        cycles: Cycles,
    },
    Suspend {
        reason: Reason,
    },
    Unsuspend {
        reason: Option<Reason>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NameserverParams {
    nameservers: Option<Vec<String>>,
}

/// `params` read as `T`, each refusal pointing into `/params`.
fn params_of<T: serde::de::DeserializeOwned>(params: Option<serde_json::Value>) -> Result<T, ApiError> {
    let params = params.unwrap_or_else(|| serde_json::json!({}));
    Ok(parse_value::<Params<T>>(serde_json::json!({ "params": params }))?.params)
}

fn at(pointer: &'static str) -> impl Fn(Invalid) -> ApiError {
    move |invalid| ApiError::field(pointer, invalid)
}

impl Command {
    /// The command `action` with its `params`, checked (422 with pointers into `/params`).
    pub fn parse(action: BulkAction, params: Option<serde_json::Value>) -> Result<Self, ApiError> {
        Ok(match action {
            BulkAction::Renew => {
                let input: RenewParams = params_of(params)?;
                Self::Renew { cycles: Cycles::parse(input.cycles).map_err(at("/params/cycles"))? }
            }
            BulkAction::Suspend => {
                let input: SuspendParams = params_of(params)?;
                Self::Suspend { reason: Reason::parse(&input.reason).map_err(at("/params/reason"))? }
            }
            BulkAction::Unsuspend => {
                let input: UnsuspendParams = params_of(params)?;
                let reason = input.reason.as_deref().map(Reason::parse).transpose().map_err(at("/params/reason"))?;
                Self::Unsuspend { reason }
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

    /// The policy's action for one item, which the actor's relation to it must allow.
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

/// The checked `params` of a domain action as the change of each domain: none for
/// `lock` and `unlock`; `set_nameservers {nameservers}` as PATCH /v1/domains/{name}
/// takes them (2-13 distinct host names, null: the provider's). Both bulk routes use it.
pub fn domain_changes(action: DomainBulkAction, params: Option<serde_json::Value>) -> Result<DomainChanges, ApiError> {
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
                    Nameservers::parse(&list)
                        .map(|ns| ns.to_stored())
                        .map_err(|e| hosted::list_error("/params/nameservers", e))
                })
                .transpose()?;
            DomainChanges { nameservers: Some(nameservers), ..DomainChanges::default() }
        }
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ItemError {
    /// `not_found`, `forbidden`, `invalid_transition`, ...: the code the single-object
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

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DomainBulkItemResult {
    /// The name as requested.
    pub domain: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
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

/// What a job stores as its `params`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobParams {
    pub command: Command,
    pub service_ids: Vec<String>,
    /// Who asked; the worker acts as it, with its standing as it is then.
    pub actor: Actor,
    /// Each service's version when the job was queued. An item runs only against that
    /// version, so an item done again after a worker lost its lease (or crashed before
    /// saving its progress) finds the service changed and is not applied twice: a
    /// renewal never extends a service twice.
    #[serde(default)]
    pub queued_versions: BTreeMap<String, i64>,
}

/// What a bulk request came to.
#[derive(Debug)]
pub enum Outcome {
    /// Every item's result, in the request's order.
    Done(Vec<BulkItemResult>),
    /// More than [`SYNC_LIMIT`] items: queued as this job.
    Queued(JobRow),
}

/// Apply `command` to each of `service_ids` (1-1000 distinct ids, checked by
/// [`checked_ids`]), at once or, above [`SYNC_LIMIT`], as a job.
pub async fn services(
    state: &AppState,
    actor: &Actor,
    action: BulkAction,
    command: Command,
    service_ids: Vec<String>,
) -> Result<Outcome, ApiError> {
    if service_ids.len() <= SYNC_LIMIT {
        let mut results = Vec::with_capacity(service_ids.len());
        for service_id in &service_ids {
            results.push(item(state, actor, &command, service_id, None).await);
        }
        return Ok(Outcome::Done(results));
    }
    let total = i64::try_from(service_ids.len()).map_err(ApiError::internal)?;
    let ids = service_ids.clone();
    let queued_versions: BTreeMap<String, i64> =
        state.db.run(move |conn| Ok(service_store::versions(conn, &ids)?)).await?.into_iter().collect();
    let params = serde_json::to_string(&JobParams { command, service_ids, actor: actor.clone(), queued_versions })
        .map_err(ApiError::internal)?;
    let context = AuditContext::of(actor);
    let requested_by = actor.account_id.clone();
    let job_id = new_id();
    let job = state
        .db
        .write(move |conn| {
            let now = time::now();
            let new =
                NewJob { id: &job_id, kind: JobKind::ServicesBulk, params: &params, total, requested_by: &requested_by, now };
            job_store::insert(conn, &new)?;
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::JOB_CREATE,
                    target_type: target::JOB,
                    target_id: &job_id,
                    account_id: Some(&requested_by),
                    details: serde_json::json!({ "kind": JobKind::ServicesBulk.as_str(), "action": action, "total": total }),
                },
                now,
            )?;
            job_store::find(conn, &job_id)?.ok_or_else(ApiError::not_found)
        })
        .await?;
    Ok(Outcome::Queued(job))
}

/// One item: reached within the actor's reach, authorized, and changed by the use case
/// the single-service route calls, against `queued_version` when a job recorded one.
pub async fn item(
    state: &AppState,
    actor: &Actor,
    command: &Command,
    service_id: &str,
    queued_version: Option<i64>,
) -> BulkItemResult {
    let outcome = async {
        let authorized = actor.authorize(command.policy())?;
        let service = access::service(state, actor, authorized, service_id).await?;
        let expected = queued_version.map_or(IfMatch::Absent, |version| IfMatch::Versions(vec![version]));
        match command {
            Command::Renew { cycles } => {
                lifecycle::renew(state, actor, service, *cycles, "/params/cycles", expected).await?;
            }
            Command::Suspend { reason } => {
                lifecycle::suspend(state, actor, service, reason.clone(), expected).await?;
            }
            Command::Unsuspend { reason } => {
                lifecycle::unsuspend(state, actor, service, reason.clone(), expected).await?;
            }
            Command::SetAutoRenew { auto_renew } => {
                let changes = ServiceChanges { auto_renew: Some(*auto_renew), ..ServiceChanges::default() };
                set_auto_renew(state, actor, service, changes, expected).await?;
            }
            Command::Lock | Command::Unlock | Command::SetNameservers { .. } => {
                let changes = command.domain_changes().ok_or_else(|| ApiError::internal("not a domain action"))?;
                change_domains_of(state, actor, service, command.policy(), changes).await?;
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

/// `set_auto_renew` as PATCH applies it, for a service reached for
/// `Action::UpdateService`.
async fn set_auto_renew(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    changes: ServiceChanges,
    if_match: IfMatch,
) -> Result<(), ApiError> {
    service.expect(Action::UpdateService)?;
    let context = AuditContext::of(actor);
    let id = service.row.id;
    state
        .db
        .write(move |conn| {
            let row = current(conn, &id, &if_match)?;
            if !write_update(conn, &context, &row, &changes, time::now())? {
                return Err(changed_meanwhile());
            }
            Ok(())
        })
        .await
}

/// A domain action on every domain of one service, in one transaction.
async fn change_domains_of(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    policy: Action,
    changes: DomainChanges,
) -> Result<(), ApiError> {
    service.expect(policy)?;
    let reach = actor.reach();
    let context = AuditContext::of(actor);
    let requested_by = actor.account_id.clone();
    let provisioner = state.provisioner.clone();
    let actor = actor.clone();
    let row = service.row;
    state
        .db
        .write(move |conn| {
            for domain in domains_of(conn, &reach, &row.id)? {
                let owner_service = match hosted::service_of(&domain)? {
                    id if id == row.id => row.clone(),
                    // Served by this service, registered as another: that one is checked
                    // as the single-domain routes check it.
                    other => access::service_in(conn, &reach, actor.authorize(policy)?, other)?.row,
                };
                hosted::apply_change(
                    conn,
                    provisioner.as_ref(),
                    &context,
                    &requested_by,
                    &domain.id,
                    &owner_service,
                    &changes,
                )?;
            }
            Ok(())
        })
        .await
}

/// Every domain of a service: registered as it (`service_id`) or served by it
/// (`hosting_service_id`), within the actor's reach.
fn domains_of(conn: &mut DbConnection, reach: &Reach, service_id: &str) -> Result<Vec<DomainRow>, ApiError> {
    const PAGE: i64 = 500;
    let mut filter = DomainFilter { service_id: Some(service_id.to_owned()), ..DomainFilter::default() };
    let mut all = Vec::new();
    loop {
        let page = domain_store::list_in_scope(conn, reach, &filter, PAGE)?;
        let more = i64::try_from(page.len()).unwrap_or(i64::MAX) >= PAGE;
        filter.before_id = page.last().map(|domain| domain.id.clone());
        all.extend(page);
        if !more {
            return Ok(all);
        }
    }
}

/// Apply a domain action to each of `names` (checked by [`checked_names`]), as the
/// single-domain PATCH would: a name out of reach (or unparsable) is an item error
/// `not_found`, a grant without the permission `insufficient_grant`, a stopped service
/// `service_not_active`.
pub async fn domains(
    state: &AppState,
    actor: &Actor,
    action: DomainBulkAction,
    changes: DomainChanges,
    names: Vec<String>,
) -> Vec<DomainBulkItemResult> {
    let mut results = Vec::with_capacity(names.len());
    for name in names {
        let outcome = async {
            let authorized = actor.authorize(action.policy())?;
            let domain = access::domain(state, actor, authorized, &name).await?;
            hosted::change(state, actor, domain, changes.clone()).await
        }
        .await;
        results.push(match outcome {
            Ok(()) => DomainBulkItemResult { domain: name, ok: true, error: None },
            Err(error) => DomainBulkItemResult { domain: name, ok: false, error: Some(item_error(&error)) },
        });
    }
    results
}

/// 1-1000 ids, each once (compared as canonical ids; a malformed one as sent).
pub fn checked_ids(ids: Vec<String>) -> Result<Vec<String>, ApiError> {
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
        .filter_map(|(index, id)| {
            // Results echo each id as sent, and the document promises `format: uuid`.
            let problem = match (is_uuid(id), seen.insert(id.to_ascii_lowercase())) {
                (false, _) => Invalid::new("invalid_format", "a service id (UUID)"),
                (true, false) => Invalid::new("duplicate", "each service once"),
                (true, true) => return None,
            };
            Some(FieldError::new(format!("/service_ids/{index}"), problem))
        })
        .take(20)
        .collect();
    if errors.is_empty() {
        Ok(ids)
    } else {
        Err(ApiError::fields(errors))
    }
}

/// 1-100 names, each once (compared in canonical form; an unparsable one as sent).
pub fn checked_names(names: Vec<String>) -> Result<Vec<String>, ApiError> {
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
            let canonical = DomainName::parse(name).map(DomainName::into_string).unwrap_or_else(|_| (*name).clone());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_counted_and_distinct() {
        assert!(checked_ids(Vec::new()).is_err());
        assert!(checked_ids(vec!["a".to_owned(); 1]).is_err(), "not an id");
        assert!(checked_ids(vec![new_id()]).is_ok());
        assert!(checked_ids((0..1001).map(|_| new_id()).collect()).is_err());
        assert!(checked_ids((0..1000).map(|_| new_id()).collect()).is_ok());
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
