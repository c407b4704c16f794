//! `/v1/me/notifications`: what the caller wants to be mailed about
//! (crate::app::notifications).

use actix_web::http::header;
use actix_web::{get, patch, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::policy::Action;
use hostadmin_persistence::notification_settings::NotificationSettings;

use crate::app::notifications as use_case;
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch, IfMatchHeader};
use crate::http::merge_patch::Patch;
use crate::http::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"ticket_replies": true}))]
pub struct NotificationsView {
    /// A mail when the other side of a ticket answers (default true). New tickets and a
    /// seller's outgoing tickets are mailed regardless.
    pub ticket_replies: bool,
}

fn settings_response(settings: NotificationSettings) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(settings.version)))
        .json(NotificationsView { ticket_replies: settings.ticket_replies })
}

/// The caller's notification settings.
///
/// Any account, for itself: `ticket_replies` (default true) says whether it is mailed
/// when the other side of a ticket answers. New tickets and a seller's outgoing tickets
/// are mailed regardless. API keys need `support:read`.
#[utoipa::path(
    tag = "Current account",
    responses((status = 200, description = "The settings", body = NotificationsView, headers(("ETag" = String)))),
)]
#[get("/me/notifications")]
pub async fn get_notifications(state: web::Data<AppState>, principal: Principal) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::ReadNotifications)?;
    Ok(settings_response(use_case::read(&state, &principal.actor, authorized).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ticket_replies": false}))]
pub struct UpdateNotifications {
    #[schema(value_type = bool)]
    #[serde(default)]
    pub ticket_replies: Patch<bool>,
}

/// Change the caller's notification settings (JSON merge patch).
///
/// Any account, for itself; a stale `If-Match` is `412`. API keys need `support:write`.
#[utoipa::path(
    tag = "Current account",
    params(IfMatchHeader),
    request_body(content = UpdateNotifications, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The settings", body = NotificationsView, headers(("ETag" = String)))),
)]
#[patch("/me/notifications")]
pub async fn update_notifications(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::UpdateNotifications)?;
    let input: UpdateNotifications = body.parse()?;
    let ticket_replies = input.ticket_replies.required("/ticket_replies")?;
    let if_match = IfMatch::from_request(&request);
    Ok(settings_response(use_case::update(&state, &principal.actor, authorized, ticket_replies, if_match).await?))
}
