//! Authorized users: an account grants another account permissions (`view`, `manage`,
//! `billing`, `support`) on all or some of the services it owns; the grantee accepts.
//!
//! A grant is seen only by its two parties; to anyone else it does not exist (404). The
//! grantor gives, changes and withdraws it; the grantee accepts, declines or gives it
//! back. What a grant covers is looked up on every service request, so each change
//! takes effect on the next one. A grantee cannot pass a grant on: a grant covers only
//! services its grantor owns.

use std::collections::{BTreeMap, HashSet};

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::authorizations::{GrantStatus, Permission, PermissionSet};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::accounts as account_store;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::authorizations::{
    self as grant_store, AuthorizationChanges, AuthorizationRow, NewAuthorization, Side,
};
use hostadmin_persistence::DbConnection;

use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, precondition_failed, IfMatch};
use crate::http::idempotency;
use crate::http::merge_patch::Patch;
use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// The most services one grant may name; beyond it, grant every service.
pub const MAX_SERVICES: usize = 1000;
/// The longest login or email address a grantee may be named by.
const MAX_GRANTEE: usize = 254;

/// A grant, as both its parties see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizationView {
    pub id: String,
    pub grantor_id: String,
    pub grantee_id: String,
    /// Sorted; `manage`, `billing` and `support` each include reading the services.
    pub permissions: Vec<Permission>,
    /// The services the grant is limited to; null: every service the grantor owns, now
    /// and later.
    pub service_ids: Option<Vec<String>>,
    /// `pending` until the grantee accepts; `active` from then on.
    pub status: GrantStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the grantee accepted; null while pending.
    pub accepted_at: Option<DateTime<Utc>>,
}

impl AuthorizationView {
    fn from_row(row: &AuthorizationRow, service_ids: Option<Vec<String>>) -> Result<Self, ApiError> {
        Ok(Self {
            id: row.id.clone(),
            grantor_id: row.grantor_id.clone(),
            grantee_id: row.grantee_id.clone(),
            permissions: PermissionSet::from_storage(&row.permissions).iter().collect(),
            service_ids: if row.all_services { None } else { Some(service_ids.unwrap_or_default()) },
            status: status_of(row)?,
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
            accepted_at: row.accepted_at.map(time::to_utc),
        })
    }
}

fn status_of(row: &AuthorizationRow) -> Result<GrantStatus, ApiError> {
    GrantStatus::parse(&row.status).ok_or_else(|| ApiError::internal(format!("stored status of grant {}", row.id)))
}

/// Loads the grant and its selected services as the view shows them.
fn view(conn: &mut DbConnection, row: &AuthorizationRow) -> Result<AuthorizationView, ApiError> {
    let selected = grant_store::selected_services(conn, std::slice::from_ref(&row.id))?;
    AuthorizationView::from_row(row, Some(selected.into_iter().map(|(_, service)| service).collect()))
}

fn respond(mut builder: actix_web::HttpResponseBuilder, version: i64, view: &AuthorizationView) -> HttpResponse {
    builder.insert_header((header::ETAG, etag(version))).json(view)
}

/// Which party of a grant the caller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Party {
    Grantor,
    Grantee,
}

fn party(principal: &Principal, row: &AuthorizationRow) -> Party {
    if row.grantor_id == principal.id() {
        Party::Grantor
    } else {
        Party::Grantee
    }
}

/// Loads a grant the caller is a party of, or answers 404 (also for a malformed id).
async fn find_as_party(state: &AppState, principal: &Principal, id: &str) -> Result<AuthorizationRow, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let caller = principal.id().to_owned();
    state.db.run(move |conn| grant_store::find_for_party(conn, &id, &caller)?.ok_or_else(ApiError::not_found)).await
}

/// The grant as it is now, inside a transaction, if the caller is still a party and
/// `If-Match` holds.
fn current(conn: &mut DbConnection, id: &str, caller: &str, if_match: &IfMatch) -> Result<AuthorizationRow, ApiError> {
    let row = grant_store::find_for_party(conn, id, caller)?.ok_or_else(ApiError::not_found)?;
    if_match.check(row.version)?;
    Ok(row)
}

fn record(
    conn: &mut DbConnection,
    context: &AuditContext,
    row: &AuthorizationRow,
    action: &'static str,
    account_id: &str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    let event = NewEvent {
        action,
        target_type: target::AUTHORIZATION,
        target_id: &row.id,
        account_id: Some(account_id),
        details,
    };
    Ok(audit::record(conn, context, event, time::now())?)
}

// ---------------------------------------------------------------------------------
// Input.
// ---------------------------------------------------------------------------------

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
    let owned = grant_store::owned_services(conn, grantor_id, &distinct)?;
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

// ---------------------------------------------------------------------------------
// Lists.
// ---------------------------------------------------------------------------------

async fn list(
    state: &AppState,
    principal: &Principal,
    side: Side,
    paging: &PageQuery,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadAuthorizations)?;
    let page = paging.request(String::new())?;
    let caller = principal.id().to_owned();
    let before = page.before_id.clone();
    let fetch = page.fetch();
    let views = state
        .db
        .run(move |conn| {
            let rows = grant_store::list(conn, side, &caller, before.as_deref(), fetch)?;
            let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
            let mut selected: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (grant, service) in grant_store::selected_services(conn, &ids)? {
                selected.entry(grant).or_default().push(service);
            }
            rows.iter()
                .map(|row| AuthorizationView::from_row(row, selected.remove(&row.id)))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page(views, |v| &v.id, |v| v)))
}

/// The grants the caller gave, newest first.
#[utoipa::path(
    tag = "Authorized users",
    params(PageQuery),
    responses((status = 200, description = "A page of grants", body = Page<AuthorizationView>)),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/authorizations")]
pub async fn list_given(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    list(&state, &principal, Side::Given, &paging).await
}

/// The grants given to the caller, pending and active, newest first.
#[utoipa::path(
    tag = "Authorized users",
    params(PageQuery),
    responses((status = 200, description = "A page of grants", body = Page<AuthorizationView>)),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/authorizations/received")]
pub async fn list_received(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    list(&state, &principal, Side::Received, &paging).await
}

/// Read one grant the caller gave or received.
#[utoipa::path(
    tag = "Authorized users",
    params(("id" = String, Path, description = "The grant's id")),
    responses(
        (status = 200, description = "The grant", body = AuthorizationView, headers(("ETag" = String))),
        (status = 404, description = "No such grant for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/authorizations/{id}")]
pub async fn get_authorization(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadAuthorizations)?;
    let row = find_as_party(&state, &principal, &id).await?;
    let version = row.version;
    let view = state.db.run(move |conn| view(conn, &row)).await?;
    Ok(respond(HttpResponse::Ok(), version, &view))
}

// ---------------------------------------------------------------------------------
// Give, change.
// ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"grantee": "jane@example.test", "permissions": ["view", "manage"]}))]
pub struct CreateAuthorization {
    /// The grantee's login or email address: any account of the installation but the
    /// caller.
    #[schema(min_length = 1, max_length = 254)]
    pub grantee: String,
    #[schema(min_items = 1, max_items = 4)]
    pub permissions: Vec<Permission>,
    /// Services the caller owns (1-1000). Left out: every service it owns, now and later.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 1000)]
    pub service_ids: Option<Vec<String>>,
}

/// Give another account permissions on services the caller owns.
///
/// The grant is `pending`, and gives nothing, until the grantee accepts it. A reseller's
/// grant covers its own services, never its customers'.
#[utoipa::path(
    tag = "Authorized users",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers the stored result for 24 hours.")),
    request_body = CreateAuthorization,
    responses(
        (status = 201, description = "Given, pending", body = AuthorizationView, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "`impersonation_forbidden`, `account_suspended`, `action_restricted` or `insufficient_scope`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: a service id is not one the caller owns", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`grantee_not_found` (pointer `/grantee`), a grant to oneself, or invalid permissions or services", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/authorizations")]
pub async fn create_authorization(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::GiveAuthorization)?;
    idempotency::once(&state, &request, &principal, &body, || async {
        let input: CreateAuthorization = body.parse()?;
        let grantor_id = principal.id().to_owned();
        let context = principal.audit();
        let (version, view) = state
            .db
            .write(move |conn| {
                let service_ids = input
                    .service_ids
                    .as_deref()
                    .map(|given| selection(conn, &grantor_id, given, "/service_ids"))
                    .transpose()?;
                let grantee_id = grantee(conn, &grantor_id, &input.grantee)?;
                let permissions = permissions(&input.permissions, "/permissions");
                let (permissions, service_ids) = match (permissions, service_ids.transpose()) {
                    (Ok(permissions), Ok(service_ids)) => (permissions, service_ids),
                    (permissions, service_ids) => {
                        let errors = permissions.err().into_iter().chain(service_ids.err()).flatten().collect();
                        return Err(ApiError::fields(errors));
                    }
                };
                let new = NewAuthorization {
                    id: new_id(),
                    grantor_id: grantor_id.clone(),
                    grantee_id,
                    permissions,
                    service_ids,
                    now: time::now(),
                };
                grant_store::insert(conn, &new)?;
                let row = grant_store::find_for_party(conn, &new.id, &grantor_id)?
                    .ok_or_else(|| ApiError::internal("the new grant vanished"))?;
                let view = view(conn, &row)?;
                record(
                    conn,
                    &context,
                    &row,
                    actions::AUTHORIZATION_CREATE,
                    &row.grantor_id,
                    serde_json::json!({
                        "grantee_id": view.grantee_id, "permissions": view.permissions, "service_ids": view.service_ids,
                    }),
                )?;
                Ok((row.version, view))
            })
            .await?;
        let mut builder = HttpResponse::Created();
        builder.insert_header((header::LOCATION, format!("/v1/authorizations/{}", view.id)));
        Ok(respond(builder, version, &view))
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAuthorization {
    /// Replaces the permissions; cannot be cleared (withdraw the grant instead).
    #[schema(value_type = Option<Vec<Permission>>, min_items = 1, max_items = 4)]
    #[serde(default)]
    pub permissions: Patch<Vec<Permission>>,
    /// Replaces the selected services; `null` grants every service the grantor owns.
    #[schema(value_type = Option<Vec<String>>, min_items = 1, max_items = 1000)]
    #[serde(default)]
    pub service_ids: Patch<Vec<String>>,
}

/// Change a grant's permissions or services (the grantor; JSON merge patch).
///
/// An active grant stays active: the grantee may give it back whenever it likes. The
/// change takes effect on the grantee's next request.
#[utoipa::path(
    tag = "Authorized users",
    params(
        ("id" = String, Path, description = "The grant's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    request_body(content = UpdateAuthorization, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed grant", body = AuthorizationView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: the grantee (only the grantor changes a grant)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant for the caller, or a service id it does not own", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[patch("/authorizations/{id}")]
pub async fn update_authorization(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::GiveAuthorization)?;
    let row = find_as_party(&state, &principal, &id).await?;
    if party(&principal, &row) != Party::Grantor {
        return Err(ApiError::forbidden("only the grantor changes a grant; the grantee may give it back"));
    }
    let input: UpdateAuthorization = body.parse()?;
    let if_match = IfMatch::from_request(&request);
    let caller = principal.id().to_owned();
    let context = principal.audit();
    let (version, view) = state
        .db
        .write(move |conn| {
            let row = current(conn, &row.id, &caller, &if_match)?;
            let selected = match &input.service_ids {
                Patch::Absent => Ok(None),
                Patch::Null => Ok(Some(None)),
                Patch::Value(given) => selection(conn, &caller, given, "/service_ids")?.map(|ids| Some(Some(ids))),
            };
            let permissions = match &input.permissions {
                Patch::Absent => Ok(None),
                Patch::Null => Err(vec![FieldError::new(
                    "/permissions",
                    Invalid::new("required", "cannot be cleared; withdraw the grant instead"),
                )]),
                Patch::Value(given) => permissions(given, "/permissions").map(Some),
            };
            let changes = match (permissions, selected) {
                (Ok(permissions), Ok(service_ids)) => AuthorizationChanges { permissions, service_ids },
                (permissions, selected) => {
                    return Err(ApiError::fields(
                        permissions.err().into_iter().chain(selected.err()).flatten().collect(),
                    ))
                }
            };
            if !grant_store::update(conn, &row.id, row.version, &changes, time::now())? {
                return Err(precondition_failed());
            }
            let row = current(conn, &row.id, &caller, &IfMatch::Absent)?;
            let view = view(conn, &row)?;
            record(
                conn,
                &context,
                &row,
                actions::AUTHORIZATION_UPDATE,
                &row.grantor_id,
                serde_json::json!({ "permissions": view.permissions, "service_ids": view.service_ids }),
            )?;
            Ok((row.version, view))
        })
        .await?;
    Ok(respond(HttpResponse::Ok(), version, &view))
}

// ---------------------------------------------------------------------------------
// Accept, decline, give back, withdraw.
// ---------------------------------------------------------------------------------

/// Accept a grant given to the caller: it is in force from the next request on.
#[utoipa::path(
    tag = "Authorized users",
    params(
        ("id" = String, Path, description = "The grant's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    responses(
        (status = 200, description = "The active grant", body = AuthorizationView, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: the grantor (only the grantee accepts)", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the grant is already active", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[post("/authorizations/{id}/accept")]
pub async fn accept_authorization(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::AnswerAuthorization)?;
    let row = find_as_party(&state, &principal, &id).await?;
    if party(&principal, &row) != Party::Grantee {
        return Err(ApiError::forbidden("only the grantee accepts a grant"));
    }
    let if_match = IfMatch::from_request(&request);
    let caller = principal.id().to_owned();
    let context = principal.audit();
    let (version, view) = state
        .db
        .write(move |conn| {
            let row = current(conn, &row.id, &caller, &if_match)?;
            if status_of(&row)? != GrantStatus::Pending {
                return Err(ApiError::conflict("invalid_transition", "only a pending grant can be accepted"));
            }
            if !grant_store::accept(conn, &row.id, row.version, time::now())? {
                return Err(ApiError::Busy("the grant changed during the request".into()));
            }
            let row = current(conn, &row.id, &caller, &IfMatch::Absent)?;
            record(conn, &context, &row, actions::AUTHORIZATION_ACCEPT, &row.grantee_id, serde_json::json!({}))?;
            Ok((row.version, view(conn, &row)?))
        })
        .await?;
    Ok(respond(HttpResponse::Ok(), version, &view))
}

/// End a grant: the grantor withdraws it; the grantee declines a pending one or gives
/// an active one back. It ends on the next request.
#[utoipa::path(
    tag = "Authorized users",
    params(
        ("id" = String, Path, description = "The grant's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412"),
    ),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "No such grant for the caller", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[delete("/authorizations/{id}")]
pub async fn delete_authorization(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // Giving and answering follow the same rules until the grant says which one this is.
    principal.authorize(Action::GiveAuthorization)?;
    let row = find_as_party(&state, &principal, &id).await?;
    let party = party(&principal, &row);
    if party == Party::Grantee {
        principal.authorize(Action::AnswerAuthorization)?;
    }
    let if_match = IfMatch::from_request(&request);
    let caller = principal.id().to_owned();
    let context = principal.audit();
    state
        .db
        .write(move |conn| {
            let row = current(conn, &row.id, &caller, &if_match)?;
            let details = serde_json::json!({
                "grantor_id": row.grantor_id, "grantee_id": row.grantee_id, "status": row.status,
            });
            if !grant_store::delete(conn, &row.id, row.version)? {
                return Err(ApiError::Busy("the grant changed during the request".into()));
            }
            match party {
                Party::Grantor => {
                    record(conn, &context, &row, actions::AUTHORIZATION_WITHDRAW, &row.grantor_id, details)
                }
                Party::Grantee => {
                    record(conn, &context, &row, actions::AUTHORIZATION_DECLINE, &row.grantee_id, details)
                }
            }
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
