//! One-click login links: `POST /v1/services/{id}/login-links` for whoever may manage
//! the service, `POST /v1/login-links/redeem` for the tools themselves
//! (crate::app::login_links).

use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::login_links::Tool;
use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;

use crate::app::access;
use crate::app::login_links as use_cases;
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::idempotency;
use crate::http::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tool": "webmail"}))]
pub struct CreateLoginLink {
    /// `panel`, `webmail`, `database` or `files`.
    #[schema(value_type = Tool)]
    pub tool: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"url": "https://webmail.example/sso?token=q2V9l0Jx3mQvVbJd8eWm1sY4u7Zf6nR0aTgHkLpC2xE", "expires_at": "2026-12-05T10:01:00Z"}))]
pub struct LoginLinkView {
    /// Open it within 60 seconds; it works once.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Make a one-click login link to one of the service's tools.
///
/// Needs `manage` on the service (owners and the accounts above it have it; grantees
/// with that permission). The link holds a single-use token valid 60 seconds, so the
/// answer is never stored (no `Idempotency-Key`). `422 tool_not_offered` at `/tool` when
/// the service does not offer the tool; `409 service_not_active` unless it is active.
///
/// API keys need `services:write`.
#[utoipa::path(
    tag = "Login links",
    request_body = CreateLoginLink,
    params(("id" = String, Path, description = "The service's id")),
    responses(
        (status = 201, description = "The link", body = LoginLinkView),
        (status = 409, description = "`service_not_active`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/services/{id}/login-links")]
pub async fn create_login_link(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::CreateLoginLink)?;
    let service = access::service(&state, &principal.actor, authorized, &id).await?;
    idempotency::refuse(&request)?;
    let input: CreateLoginLink = body.parse()?;
    let tool = Tool::parse(&input.tool).ok_or_else(|| {
        ApiError::field("/tool", Invalid::new("invalid_value", "must be panel, webmail, database or files"))
    })?;
    let link = use_cases::create(&state, &principal.actor, service, tool).await?;
    Ok(HttpResponse::Created().json(LoginLinkView { url: link.url, expires_at: time::to_utc(link.expires_at) }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "q2V9l0Jx3mQvVbJd8eWm1sY4u7Zf6nR0aTgHkLpC2xE"}))]
pub struct RedeemLoginLink {
    /// The token from the link.
    #[schema(max_length = 200)]
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"service_id": "0193a5c2-7f41-7c3e-9d1a-2b8f5e6c4d01", "service_number": 1042, "account_id": "0193a5c1-0000-7000-8000-000000000001", "login": "s1042", "tool": "webmail"}))]
pub struct RedeemedLinkView {
    pub service_id: String,
    pub service_number: i64,
    /// The service's owner: whom the tool logs in.
    pub account_id: String,
    /// The service's account on the server.
    pub login: String,
    pub tool: Tool,
}

/// Redeem a login link (for the tools themselves).
///
/// Authenticated by a tool key from `HOSTADMIN_TOOL_KEYS` (`Authorization: Bearer
/// <key>`), not by an account. A token works once, within 60 seconds of its making, and
/// only for the tool it was made for (and a key allowed that tool): otherwise `410
/// link_expired`, whether it was used, is late, or never existed.
#[utoipa::path(
    tag = "Login links",
    request_body = RedeemLoginLink,
    responses(
        (status = 200, description = "Whom to log in", body = RedeemedLinkView),
        (status = 410, description = "`link_expired`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("tool_key" = [])),
)]
#[post("/login-links/redeem")]
pub async fn redeem_login_link(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let tools = state.config.tool_keys.authenticate(&request)?;
    let input: RedeemLoginLink = body.parse()?;
    let link = use_cases::redeem(&state, tools, &input.token).await?;
    Ok(HttpResponse::Ok().json(RedeemedLinkView {
        service_id: link.service_id,
        service_number: link.service_number,
        account_id: link.account_id,
        login: link.login,
        tool: link.tool,
    }))
}
