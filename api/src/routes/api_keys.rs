//! `/v1/me/api-keys`: API keys of the current account, for integrations and scripts
//! (crate::app::api_keys).

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::accounts::DisplayName;
use hostadmin_domain::policy::Action;
use hostadmin_domain::scopes::Scope;
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::api_keys::ApiKeyRow;

use crate::app::api_keys::{self as use_case, NewKey};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::idempotency;
use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// Keys live at most this long.
const MAX_LIFETIME_DAYS: i64 = 3 * 365;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-0000-7000-8000-000000000a01", "name": "billing sync", "prefix": "hk_AbCdEfGh",
    "scopes": ["customers:read", "services:read"], "expires_at": "2027-12-05T00:00:00Z",
    "last_used_at": "2026-12-07T03:15:42Z", "created_at": "2026-12-05T10:00:00Z"
}))]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// The first characters of the key, to recognise it.
    #[schema(example = "hk_AbCdEfGh")]
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&ApiKeyRow> for ApiKeyView {
    fn from(row: &ApiKeyRow) -> Self {
        Self {
            id: row.id.clone(),
            name: row.name.clone(),
            prefix: row.prefix.clone(),
            scopes: row.scopes.iter().collect(),
            expires_at: row.expires_at.map(time::to_utc),
            last_used_at: row.last_used_at.map(time::to_utc),
            created_at: time::to_utc(row.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-0000-7000-8000-000000000a01", "name": "billing sync", "prefix": "hk_AbCdEfGh",
    "scopes": ["customers:read", "services:read"], "expires_at": "2027-12-05T00:00:00Z", "last_used_at": null,
    "created_at": "2026-12-05T10:00:00Z", "key": "hk_AbCdEfGhExampleKeyShownOnce0123456789abcdef"
}))]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub api_key: ApiKeyView,
    /// The key itself: shown in this answer only. Send it as `Authorization: Bearer hk_...`.
    pub key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "billing sync", "scopes": ["customers:read", "services:read"]}))]
pub struct CreateApiKey {
    #[schema(format = "line", max_length = 200)]
    pub name: String,
    /// What the key may do; it never does more than its owner may.
    #[schema(min_items = 1, max_items = 24, value_type = Vec<Scope>)]
    pub scopes: Vec<String>,
    /// When the key stops working (at most three years ahead); null: never.
    pub expires_at: Option<DateTime<Utc>>,
}

fn validate(input: CreateApiKey) -> Result<NewKey, ApiError> {
    let mut errors = Vec::new();
    let name = DisplayName::parse(&input.name).map_err(|invalid| errors.push(FieldError::new("/name", invalid))).ok();
    if input.scopes.is_empty() || input.scopes.len() > Scope::ALL.len() {
        errors.push(FieldError::new(
            "/scopes",
            Invalid::new("invalid_length", format!("give 1 to {} scopes", Scope::ALL.len())),
        ));
    }
    let mut scopes = Vec::new();
    for (index, text) in input.scopes.iter().enumerate() {
        match Scope::parse(text) {
            Some(scope) => scopes.push(scope),
            None => errors.push(FieldError::new(
                format!("/scopes/{index}"),
                Invalid::new("unknown_scope", format!("{text:?} is not a scope")),
            )),
        }
    }
    if let Some(expires_at) = input.expires_at {
        let now = Utc::now();
        if expires_at <= now {
            errors.push(FieldError::new("/expires_at", Invalid::new("in_the_past", "must be in the future")));
        } else if expires_at > now + Duration::days(MAX_LIFETIME_DAYS) {
            errors.push(FieldError::new("/expires_at", Invalid::new("too_far_ahead", "at most three years ahead")));
        }
    }
    match name {
        Some(name) if errors.is_empty() => {
            Ok(NewKey { name, scopes: scopes.into_iter().collect(), expires_at: input.expires_at })
        }
        _ => Err(ApiError::fields(errors)),
    }
}

/// Create an API key. The key is in this answer only.
///
/// Any account, for itself: 1 to 24 `scopes` (an unknown one is `422` at
/// `/scopes/{index}`) and an optional `expires_at` in the future, at most three years
/// ahead. Whatever its scopes, a key never does more than its owner may. Only the key's
/// digest is stored: keep `key` now, it cannot be shown again. The answer holds a secret,
/// so `Idempotency-Key` is refused (`400 idempotency_not_supported`). Login sessions
/// only: API keys get `403 forbidden`, impersonation tokens `403
/// impersonation_forbidden`.
#[utoipa::path(
    tag = "API keys",
    request_body = CreateApiKey,
    responses(
        (status = 201, description = "Created; `key` is shown this once", body = CreatedApiKey, headers(("Location" = String))),
    ),
    security(("bearer" = []))
)]
#[post("/me/api-keys")]
pub async fn create_api_key(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::CreateOwnApiKey)?;
    idempotency::refuse(&request)?;
    let new = validate(body.parse()?)?;
    let created = use_case::create(&state, &principal.actor, authorized, new).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/me/api-keys/{}", created.row.id)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CreatedApiKey { api_key: ApiKeyView::from(&created.row), key: created.key }))
}

/// The current account's keys that are not revoked, newest first.
///
/// Each key with its name, `prefix` (to recognise it), scopes, expiry and last use;
/// never the key itself. Cursor-paginated (`limit`, `cursor`). A suspended account still
/// reads its keys (and revokes them). Login sessions only: API
/// keys get `403 forbidden`, impersonation tokens `403 impersonation_forbidden`.
#[utoipa::path(
    tag = "API keys",
    params(PageQuery),
    responses((status = 200, description = "A page of keys", body = Page<ApiKeyView>)),
    security(("bearer" = []))
)]
#[get("/me/api-keys")]
pub async fn list_api_keys(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadOwnApiKeys)?;
    let page = query.request(String::new())?;
    let rows = use_case::list(&state, &principal.actor, authorized, page.before_id.clone(), page.fetch()).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |row| &row.id, |row| ApiKeyView::from(&row))))
}

/// One of the current account's keys (never the key itself).
///
/// `404` for a revoked key or one of another account. Login sessions only: API keys get
/// `403 forbidden`, impersonation tokens `403 impersonation_forbidden`.
#[utoipa::path(
    tag = "API keys",
    params(("id" = String, Path, description = "The key's id")),
    responses((status = 200, description = "The key", body = ApiKeyView)),
    security(("bearer" = []))
)]
#[get("/me/api-keys/{id}")]
pub async fn get_api_key(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadOwnApiKeys)?;
    let row = use_case::find(&state, &principal.actor, authorized, &id).await?;
    Ok(HttpResponse::Ok().json(ApiKeyView::from(&row)))
}

/// Revoke a key: it stops working at once.
///
/// The next request made with it answers `401`. A revoked key is gone from the list and
/// revoking it again is `404`. A suspended account may revoke its keys: a leaked key is
/// stopped whatever the account's standing. Login sessions only: API keys get `403 forbidden`,
/// impersonation tokens `403 impersonation_forbidden`.
#[utoipa::path(
    tag = "API keys",
    params(("id" = String, Path, description = "The key's id")),
    responses((status = 204, description = "Revoked")),
    security(("bearer" = []))
)]
#[delete("/me/api-keys/{id}")]
pub async fn revoke_api_key(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::RevokeOwnApiKey)?;
    use_case::revoke(&state, &principal.actor, authorized, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
