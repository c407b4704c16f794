//! The current account: read it, change its profile, email address and password.

use actix_web::{get, patch, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::policy::Action;
use hostadmin_domain::time;
use hostadmin_persistence::accounts as account_store;
use hostadmin_persistence::audit::{self, NewEvent};
use hostadmin_persistence::sessions;

use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch};
use crate::http::merge_patch::Patch;
use crate::http::problem::ApiError;
use crate::routes::customers::{apply_changes, resolve_changes};
use crate::state::AppState;
use crate::views::accounts::AccountView;

#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    #[serde(flatten)]
    pub account: AccountView,
    /// Under an impersonation token, the id of the person really acting.
    pub impersonated_by: Option<String>,
}

fn me_response(
    principal: &Principal,
    row: &hostadmin_persistence::accounts::AccountRow,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().insert_header((actix_web::http::header::ETAG, etag(row.version))).json(MeView {
        account: AccountView::from_row(row)?,
        impersonated_by: principal.actor.impersonator_id.clone(),
    }))
}

/// The account the caller is logged in as.
#[utoipa::path(
    tag = "Current account",
    responses((status = 200, description = "The current account", body = MeView, headers(("ETag" = String)))),
    security(("bearer" = []), ("api_key" = []))
)]
#[get("/me")]
pub async fn get_me(principal: Principal) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadOwnAccount)?;
    me_response(&principal, &principal.account)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    #[serde(default)]
    pub name: Patch<String>,
    /// Becomes `pending_email` until verified; needs `current_password`.
    #[schema(value_type = Option<String>, max_length = 254)]
    #[serde(default)]
    pub email: Patch<String>,
    /// Merged into the stored profile (RFC 7396); `null` clears it.
    #[schema(value_type = Option<hostadmin_domain::accounts::Profile>)]
    #[serde(default)]
    pub profile: Patch<serde_json::Value>,
    /// Required with `email`.
    #[schema(max_length = 1024)]
    pub current_password: Option<String>,
}

/// Change the current account's name, profile or email address (JSON merge patch).
#[utoipa::path(
    tag = "Current account",
    params(("If-Match" = Option<String>, Header, description = "The ETag last read; a stale one answers 412")),
    request_body(content = UpdateMe, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed account", body = MeView, headers(("ETag" = String))),
        (status = 409, description = "`email_taken`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
#[patch("/me")]
pub async fn update_me(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::UpdateOwnProfile)?;
    let input: UpdateMe = body.parse()?;
    let changes_email = !matches!(input.email, Patch::Absent);
    if changes_email {
        principal.authorize(Action::ChangeOwnEmail)?;
    }
    let resolved = resolve_changes(&principal.account, &input.name, &input.email, &input.profile)?;
    if changes_email {
        let candidate = input.current_password.clone().ok_or_else(|| {
            ApiError::field(
                "/current_password",
                hostadmin_domain::validation::Invalid::new(
                    "required",
                    "changing the email address needs the current password",
                ),
            )
        })?;
        verify_current_password(&state, &principal, candidate).await?;
    }
    let if_match = IfMatch::from_request(&request);
    if_match.check(principal.account.version)?;
    let action = if changes_email { actions::ACCOUNT_EMAIL_CHANGE_REQUESTED } else { actions::ACCOUNT_UPDATE };
    let row = apply_changes(&state, &principal, principal.account.clone(), if_match, resolved, action).await?;
    me_response(&principal, &row)
}

async fn verify_current_password(state: &AppState, principal: &Principal, candidate: String) -> Result<(), ApiError> {
    if !state.hasher.verify(candidate, principal.account.password_hash.clone()).await? {
        return Err(ApiError::invalid("invalid_credentials", "/current_password", "the current password is wrong"));
    }
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(max_length = 1024)]
    pub current_password: String,
    /// At least 8 characters (12 or more recommended), at most 128; not a common password.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// Change the password. Every token of the account ends, the caller's too: log in again.
#[utoipa::path(
    tag = "Current account",
    request_body = ChangePassword,
    responses((status = 204, description = "Changed; every session has ended")),
    security(("bearer" = []))
)]
#[put("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ChangeOwnPassword)?;
    let input: ChangePassword = body.parse()?;
    let new_password =
        NewPassword::parse(&input.new_password).map_err(|invalid| ApiError::field("/new_password", invalid))?;
    verify_current_password(&state, &principal, input.current_password).await?;
    let hash = state.hasher.hash(new_password).await?;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let id = principal.id();
            account_store::set_password(conn, id, &hash, now)?;
            sessions::end_all_of(conn, id, "password_change", now)?;
            audit::record(
                conn,
                &principal.audit(),
                NewEvent {
                    action: actions::ACCOUNT_PASSWORD_CHANGE,
                    target_type: target::ACCOUNT,
                    target_id: id,
                    account_id: Some(id),
                    details: serde_json::json!({}),
                },
                now,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
