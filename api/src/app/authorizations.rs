//! Authorized users: an account grants another account permissions (`view`, `manage`,
//! `billing`, `support`) on all or some of the services it owns; the grantee accepts.
//!
//! A grant is seen only by its two parties; to anyone else it does not exist (404). The
//! grantor gives, changes and withdraws it; the grantee accepts, declines or gives it
//! back. What a grant covers is looked up on every service request, so each change
//! takes effect on the next one. A grantee cannot pass a grant on: a grant covers only
//! services its grantor owns.

use std::collections::{BTreeMap, HashSet};

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::authorizations::{GrantStatus, Permission, PermissionSet};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::policy::{Action, Actor, Authorized};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::accounts as account_store;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::authorizations::{
    self as store, AuthorizationChanges, AuthorizationRow, NewAuthorization, Side,
};
use hostadmin_persistence::DbConnection;

use crate::http::etag::IfMatch;
use crate::http::merge_patch::Patch;
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// The most services one grant may name; beyond it, grant every service.
pub const MAX_SERVICES: usize = 1000;
/// The longest login or email address a grantee may be named by.
const MAX_GRANTEE: usize = 254;

/// A grant with the services it is limited to (none when it covers every service).
#[derive(Debug, Clone)]
pub struct GrantRecord {
    pub row: AuthorizationRow,
    pub selected: Vec<String>,
}

impl GrantRecord {
    /// The services it is limited to; `None`: every service the grantor owns.
    pub fn service_ids(&self) -> Option<&[String]> {
        (!self.row.all_services).then_some(self.selected.as_slice())
    }
}

/// Which party of a grant the actor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Grantor,
    Grantee,
}

/// A grant the actor is a party of, found for the action it is authorized for.
#[derive(Debug, Clone)]
pub struct Grant {
    pub row: AuthorizationRow,
    pub party: Party,
    authorized: Authorized,
}

/// A grant the actor gave: only its grantor changes it.
#[derive(Debug, Clone)]
pub struct AsGrantor(Grant);

/// A grant the actor received: only its grantee accepts it.
#[derive(Debug, Clone)]
pub struct AsGrantee(Grant);

impl Grant {
    /// The same grant, if the actor gave it (`403` for the grantee).
    pub fn as_grantor(self) -> Result<AsGrantor, ApiError> {
        match self.party {
            Party::Grantor => Ok(AsGrantor(self)),
            Party::Grantee => {
                Err(ApiError::forbidden("only the grantor changes a grant; the grantee may give it back"))
            }
        }
    }

    /// The same grant, if the actor received it (`403` for the grantor).
    pub fn as_grantee(self) -> Result<AsGrantee, ApiError> {
        match self.party {
            Party::Grantee => Ok(AsGrantee(self)),
            Party::Grantor => Err(ApiError::forbidden("only the grantee accepts a grant")),
        }
    }

    fn expect(&self, action: Action) -> Result<(), ApiError> {
        if self.authorized.action() == action {
            Ok(())
        } else {
            Err(ApiError::internal(format!("{action:?} was handed a grant found for {:?}", self.authorized.action())))
        }
    }
}

/// The grant `id` if the actor is a party of it, for the authorized action: 404 for
/// anyone else and for a malformed id.
pub async fn find(state: &AppState, actor: &Actor, authorized: Authorized, id: &str) -> Result<Grant, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let caller = actor.account_id.clone();
    let row =
        state.db.run(move |conn| store::find_for_party(conn, &id, &caller)?.ok_or_else(ApiError::not_found)).await?;
    let party = if row.grantor_id == actor.account_id { Party::Grantor } else { Party::Grantee };
    Ok(Grant { row, party, authorized })
}

/// The grant with the services it is limited to.
pub async fn read(state: &AppState, grant: Grant) -> Result<GrantRecord, ApiError> {
    grant.expect(Action::ReadAuthorizations)?;
    state.db.run(move |conn| record_of(conn, grant.row)).await
}

fn record_of(conn: &mut DbConnection, row: AuthorizationRow) -> Result<GrantRecord, ApiError> {
    let selected = store::selected_services(conn, std::slice::from_ref(&row.id))?;
    Ok(GrantRecord { row, selected: selected.into_iter().map(|(_, service)| service).collect() })
}

/// One page of the grants the actor gave or received, newest first.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    _: Authorized,
    side: Side,
    before_id: Option<String>,
    limit: i64,
) -> Result<Vec<GrantRecord>, ApiError> {
    let caller = actor.account_id.clone();
    state
        .db
        .run(move |conn| {
            let rows = store::list(conn, side, &caller, before_id.as_deref(), limit)?;
            let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
            let mut selected: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (grant, service) in store::selected_services(conn, &ids)? {
                selected.entry(grant).or_default().push(service);
            }
            Ok(rows
                .into_iter()
                .map(|row| {
                    let selected = selected.remove(&row.id).unwrap_or_default();
                    GrantRecord { row, selected }
                })
                .collect())
        })
        .await
}

/// A grant to give, as asked for.
#[derive(Debug, Clone)]
pub struct NewGrant {
    /// The grantee's login or email address.
    pub grantee: String,
    pub permissions: Vec<Permission>,
    /// `None`: every service the grantor owns, now and later.
    pub service_ids: Option<Vec<String>>,
}

/// Give another account permissions on services the actor owns: `pending`, giving
/// nothing, until the grantee accepts. A service id the actor does not own is 404.
pub async fn give(state: &AppState, actor: &Actor, _: Authorized, new: NewGrant) -> Result<GrantRecord, ApiError> {
    let grantor_id = actor.account_id.clone();
    let context = AuditContext::of(actor);
    state
        .db
        .write(move |conn| {
            let service_ids = new
                .service_ids
                .as_deref()
                .map(|given| selection(conn, &grantor_id, given, "/service_ids"))
                .transpose()?;
            let grantee_id = grantee(conn, &grantor_id, &new.grantee)?;
            let (permissions, service_ids) =
                both(permissions(&new.permissions, "/permissions"), service_ids.transpose())?;
            let grant = NewAuthorization {
                id: new_id(),
                grantor_id: grantor_id.clone(),
                grantee_id,
                permissions,
                service_ids,
                now: time::now(),
            };
            store::insert(conn, &grant)?;
            let row = store::find_for_party(conn, &grant.id, &grantor_id)?
                .ok_or_else(|| ApiError::internal("the new grant vanished"))?;
            let record = record_of(conn, row)?;
            let details = serde_json::json!({
                "grantee_id": record.row.grantee_id,
                "permissions": record.row.permissions.iter().collect::<Vec<_>>(),
                "service_ids": record.service_ids(),
            });
            audited(conn, &context, &record.row, actions::AUTHORIZATION_CREATE, Party::Grantor, details)?;
            Ok(record)
        })
        .await
}

/// The grantor's change of a grant, as a merge patch asks for it.
#[derive(Debug, Clone, Default)]
pub struct GrantChange {
    /// Replaces the permissions; cannot be cleared.
    pub permissions: Patch<Vec<Permission>>,
    /// Replaces the selected services; `null` grants every service the grantor owns.
    pub service_ids: Patch<Vec<String>>,
}

/// Change a grant's permissions or services (the grantor). An active grant stays active;
/// the change takes effect on the grantee's next request.
pub async fn change(
    state: &AppState,
    actor: &Actor,
    AsGrantor(grant): AsGrantor,
    change: GrantChange,
    if_match: IfMatch,
) -> Result<GrantRecord, ApiError> {
    grant.expect(Action::GiveAuthorization)?;
    let caller = actor.account_id.clone();
    let context = AuditContext::of(actor);
    let id = grant.row.id;
    state
        .db
        .write(move |conn| {
            let row = current(conn, &id, &caller, &if_match)?;
            let selected = match &change.service_ids {
                Patch::Absent => Ok(None),
                Patch::Null => Ok(Some(None)),
                Patch::Value(given) => selection(conn, &caller, given, "/service_ids")?.map(|ids| Some(Some(ids))),
            };
            let permissions = match &change.permissions {
                Patch::Absent => Ok(None),
                Patch::Null => Err(vec![FieldError::new(
                    "/permissions",
                    Invalid::new("required", "cannot be cleared; withdraw the grant instead"),
                )]),
                Patch::Value(given) => permissions(given, "/permissions").map(Some),
            };
            let (permissions, service_ids) = both(permissions, selected)?;
            let changes = AuthorizationChanges { permissions, service_ids };
            if !store::update(conn, &row.id, row.version, &changes, time::now())? {
                return Err(changed_meanwhile());
            }
            let row = current(conn, &id, &caller, &IfMatch::Absent)?;
            let record = record_of(conn, row)?;
            let details = serde_json::json!({
                "permissions": record.row.permissions.iter().collect::<Vec<_>>(),
                "service_ids": record.service_ids(),
            });
            audited(conn, &context, &record.row, actions::AUTHORIZATION_UPDATE, Party::Grantor, details)?;
            Ok(record)
        })
        .await
}

/// Accept a grant given to the actor: in force from the next request on.
pub async fn accept(
    state: &AppState,
    actor: &Actor,
    AsGrantee(grant): AsGrantee,
    if_match: IfMatch,
) -> Result<GrantRecord, ApiError> {
    grant.expect(Action::AnswerAuthorization)?;
    let caller = actor.account_id.clone();
    let context = AuditContext::of(actor);
    let id = grant.row.id;
    state
        .db
        .write(move |conn| {
            let row = current(conn, &id, &caller, &if_match)?;
            if row.status != GrantStatus::Pending {
                return Err(ApiError::conflict("invalid_transition", "only a pending grant can be accepted"));
            }
            if !store::accept(conn, &row.id, row.version, time::now())? {
                return Err(changed_meanwhile());
            }
            let row = current(conn, &id, &caller, &IfMatch::Absent)?;
            audited(conn, &context, &row, actions::AUTHORIZATION_ACCEPT, Party::Grantee, serde_json::json!({}))?;
            record_of(conn, row)
        })
        .await
}

/// End a grant: the grantor withdraws it; the grantee declines a pending one or gives an
/// active one back (which it answers for: [`Action::AnswerAuthorization`]).
pub async fn end(state: &AppState, actor: &Actor, grant: Grant, if_match: IfMatch) -> Result<(), ApiError> {
    // Giving and answering follow the same rules until the grant says which one this is.
    grant.expect(Action::GiveAuthorization)?;
    if grant.party == Party::Grantee {
        actor.authorize(Action::AnswerAuthorization)?;
    }
    let party = grant.party;
    let caller = actor.account_id.clone();
    let context = AuditContext::of(actor);
    let id = grant.row.id;
    state
        .db
        .write(move |conn| {
            let row = current(conn, &id, &caller, &if_match)?;
            let details = serde_json::json!({
                "grantor_id": row.grantor_id, "grantee_id": row.grantee_id, "status": row.status.as_str(),
            });
            if !store::delete(conn, &row.id, row.version)? {
                return Err(changed_meanwhile());
            }
            let action = match party {
                Party::Grantor => actions::AUTHORIZATION_WITHDRAW,
                Party::Grantee => actions::AUTHORIZATION_DECLINE,
            };
            audited(conn, &context, &row, action, party, details)
        })
        .await
}

/// The grant as it is once locked, inside a transaction, if the actor is still a party
/// and `If-Match` (when sent) holds.
fn current(conn: &mut DbConnection, id: &str, caller: &str, if_match: &IfMatch) -> Result<AuthorizationRow, ApiError> {
    let row = store::find_for_update(conn, id, caller)?.ok_or_else(ApiError::not_found)?;
    if_match.check(row.version)?;
    Ok(row)
}

/// The grant changed between this transaction's read under the lock and its write: not
/// expected; `Db::write` tries again.
fn changed_meanwhile() -> ApiError {
    ApiError::Busy("the grant changed during the request".into())
}

/// Records an event on the grant, in the audit log of the party that acted.
fn audited(
    conn: &mut DbConnection,
    context: &AuditContext,
    row: &AuthorizationRow,
    action: &'static str,
    party: Party,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    let account_id = match party {
        Party::Grantor => &row.grantor_id,
        Party::Grantee => &row.grantee_id,
    };
    let event = NewEvent {
        action,
        target_type: target::AUTHORIZATION,
        target_id: &row.id,
        account_id: Some(account_id),
        details,
    };
    Ok(audit::record(conn, context, event, time::now())?)
}

/// Both parts of a request, or every field either refused.
fn both<A, B>(a: Result<A, Vec<FieldError>>, b: Result<B, Vec<FieldError>>) -> Result<(A, B), ApiError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(ApiError::fields(a.err().into_iter().chain(b.err()).flatten().collect())),
    }
}

/// 1-4 distinct permissions.
fn permissions(given: &[Permission], pointer: &str) -> Result<PermissionSet, Vec<FieldError>> {
    if given.is_empty() {
        return Err(vec![FieldError::new(pointer, Invalid::new("too_short", "name at least one permission"))]);
    }
    let mut seen = HashSet::new();
    let errors: Vec<FieldError> = given
        .iter()
        .enumerate()
        .filter(|(_, permission)| !seen.insert(**permission))
        .map(|(index, _)| {
            FieldError::new(format!("{pointer}/{index}"), Invalid::new("duplicate", "each permission once"))
        })
        .collect();
    if errors.is_empty() {
        Ok(given.iter().copied().collect())
    } else {
        Err(errors)
    }
}

/// The selected services, checked in the contract's order: an id that is malformed or
/// not a service the grantor owns is 404 (reach), then count and duplicates 422.
fn selection(
    conn: &mut DbConnection,
    grantor_id: &str,
    given: &[String],
    pointer: &str,
) -> Result<Result<Vec<String>, Vec<FieldError>>, ApiError> {
    let mut ids = Vec::with_capacity(given.len());
    for id in given.iter().take(MAX_SERVICES + 1) {
        ids.push(parse_id(id).ok_or_else(ApiError::not_found)?);
    }
    let distinct: HashSet<&String> = ids.iter().collect();
    let distinct: Vec<String> = distinct.into_iter().cloned().collect();
    let owned = store::owned_services(conn, grantor_id, &distinct)?;
    if owned.len() != distinct.len() {
        return Err(ApiError::not_found());
    }
    if ids.is_empty() {
        let detail = "name at least one service, or leave service_ids out to grant every service";
        return Ok(Err(vec![FieldError::new(pointer, Invalid::new("too_short", detail))]));
    }
    if given.len() > MAX_SERVICES {
        let detail = format!("name at most {MAX_SERVICES} services, or leave service_ids out to grant every service");
        return Ok(Err(vec![FieldError::new(pointer, Invalid::new("too_long", detail))]));
    }
    let mut seen = HashSet::new();
    let duplicates: Vec<FieldError> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !seen.insert(id.as_str()))
        .map(|(index, _)| FieldError::new(format!("{pointer}/{index}"), Invalid::new("duplicate", "each service once")))
        .take(20)
        .collect();
    Ok(if duplicates.is_empty() { Ok(ids) } else { Err(duplicates) })
}

/// The grantee a grantor names: any account of the installation but the grantor.
fn grantee(conn: &mut DbConnection, grantor_id: &str, named: &str) -> Result<String, ApiError> {
    let named = named.trim();
    if named.is_empty() || named.chars().count() > MAX_GRANTEE {
        return Err(ApiError::field(
            "/grantee",
            Invalid::new(
                "invalid_length",
                format!("name the grantee by login or email, 1 to {MAX_GRANTEE} characters"),
            ),
        ));
    }
    let account = account_store::find_by_login_or_email(conn, named)?
        .ok_or_else(|| ApiError::invalid("grantee_not_found", "/grantee", "no account has this login or email"))?;
    if account.id == grantor_id {
        return Err(ApiError::field("/grantee", Invalid::new("self_grant", "an account cannot grant to itself")));
    }
    Ok(account.id)
}
