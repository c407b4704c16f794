//! One-click login links to a service's tools: made by whoever may manage the service
//! (through the provisioner's driver), redeemed once by the tool itself within 60 seconds.

use chrono::NaiveDateTime;
use serde_json::json;

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::credentials;
use hostadmin_domain::login_links::{new_token, Tool, LIFETIME};
use hostadmin_domain::policy::{Action, Actor};
use hostadmin_domain::provisioning::LoginLinkRequest;
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::login_links::{self as link_store, NewLoginLink, RedeemedLink};
use hostadmin_persistence::services::{self as service_store, ServiceRow};
use hostadmin_persistence::{usage, DbConnection};

use crate::app::access::Reached;
use crate::app::lifecycle;
use crate::app::provisioning::spec_of;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// A link made: where to send the user, and until when it works.
#[derive(Debug, Clone)]
pub struct CreatedLink {
    pub url: String,
    pub expires_at: NaiveDateTime,
}

/// Make a link to `tool` of the service: `422 tool_not_offered` at `/tool` when the
/// service does not offer it, `409 service_not_active` unless it is active.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    tool: Tool,
) -> Result<CreatedLink, ApiError> {
    service.expect(Action::CreateLoginLink)?;
    let service = service.row;
    let token = new_token().map_err(ApiError::internal)?;
    let request = LoginLinkRequest {
        service: spec_of(&service),
        tool,
        token: token.clone(),
        template: state.config.login_urls.for_tool(tool).map(str::to_owned),
    };
    // A driver may ask its servers for the link: off the async workers, outside any
    // transaction.
    let provisioner = state.provisioner.clone();
    let link = tokio::task::spawn_blocking(move || provisioner.login_link(&request))
        .await
        .map_err(|error| ApiError::internal(format!("the login link task failed: {error}")))?
        .map_err(|error| ApiError::Unavailable(format!("the provisioner refused a login link: {error}")))?
        .ok_or_else(|| {
            ApiError::invalid("tool_not_offered", "/tool", format!("this service does not offer the {tool} tool"))
        })?;
    lifecycle::require_active(&service, "a login link")?;
    let (actor, service_id, login) = (actor.clone(), service.id.clone(), link.login);
    let digest = credentials::digest(&token);
    let expires_at = state
        .db
        .write(move |conn| {
            let now = time::now();
            let service = lock_active(conn, &service_id)?;
            let expires_at = now + LIFETIME;
            let new = NewLoginLink {
                token_hash: &digest,
                service_id: &service.id,
                account_id: &service.owner_id,
                tool,
                login: &login,
                created_by: actor.audited_actor(),
                now,
                expires_at,
            };
            link_store::insert(conn, &new)?;
            let event = NewEvent {
                action: actions::SERVICE_LOGIN_LINK,
                target_type: target::SERVICE,
                target_id: &service.id,
                account_id: Some(&service.owner_id),
                details: json!({ "tool": tool, "expires_at": expires_at.and_utc() }),
            };
            audit::record(conn, &AuditContext::of(&actor), event, now)?;
            Ok(expires_at)
        })
        .await?;
    Ok(CreatedLink { url: link.url, expires_at })
}

/// The service under its lock, still active: a suspension committed meanwhile is `409`.
fn lock_active(conn: &mut DbConnection, service_id: &str) -> Result<ServiceRow, ApiError> {
    usage::lock_service(conn, service_id)?;
    let service = service_store::find(conn, service_id)?.ok_or_else(ApiError::not_found)?;
    lifecycle::require_active(&service, "a login link")?;
    Ok(service)
}

/// The longest token looked up; anything longer was never issued.
const MAX_TOKEN_LENGTH: usize = 200;

/// Redeem a link's token for a tool whose key may redeem `tools`: once, within its
/// lifetime (`410 link_expired` for a used, expired or unknown token alike).
pub async fn redeem(state: &AppState, tools: Vec<Tool>, token: &str) -> Result<RedeemedLink, ApiError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LENGTH {
        return Err(ApiError::field(
            "/token",
            Invalid::new("invalid_length", format!("must be 1 to {MAX_TOKEN_LENGTH} characters")),
        ));
    }
    let digest = credentials::digest(token);
    let redeemed = state
        .db
        .write(move |conn| {
            let now = time::now();
            let Some(link) = link_store::redeem(conn, &digest, &tools, now)? else {
                return Ok(None);
            };
            let event = NewEvent {
                action: actions::SERVICE_LOGIN_LINK_REDEEM,
                target_type: target::SERVICE,
                target_id: &link.service_id,
                account_id: Some(&link.account_id),
                details: json!({ "tool": link.tool, "login": link.login }),
            };
            audit::record(conn, &AuditContext::default(), event, now)?;
            Ok(Some(link))
        })
        .await?;
    redeemed.ok_or_else(expired)
}

fn expired() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::GONE,
        "link_expired",
        "the link was used already, has expired, or never existed; make a new one",
    )
}
