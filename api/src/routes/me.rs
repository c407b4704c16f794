//! `/v1/me`: the current account; read it, change its profile, email address and
//! password (crate::app::accounts).

use actix_web::http::header;
use actix_web::{get, patch, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::policy::Action;
use hostadmin_persistence::accounts::AccountRow;

use crate::app::accounts::{self as use_case, ProfileChange};
use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::etag::{etag, IfMatch, IfMatchHeader};
use crate::http::merge_patch::Patch;
use crate::http::problem::ApiError;
use crate::state::AppState;
use crate::views::accounts::AccountView;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-0000-7000-8000-0000000000c2", "kind": "customer", "login": "jane", "email": "jane@example.test",
    "pending_email": null, "name": "Jane Doe", "status": "active", "email_verified": true, "fraud": false,
    "two_factor_enabled": true, "profile": {"country": "NL", "phone": "+31201234567"},
    "parent_id": "0193a1b2-0000-7000-8000-0000000000a1", "created_at": "2026-12-01T08:00:00Z",
    "updated_at": "2026-12-05T10:00:00Z", "impersonated_by": null
}))]
pub struct MeView {
    #[serde(flatten)]
    pub account: AccountView,
    /// Under an impersonation token, the id of the person really acting.
    pub impersonated_by: Option<String>,
}

fn me_response(principal: &Principal, row: &AccountRow) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(row.version)))
        .json(MeView { account: AccountView::from_row(row), impersonated_by: principal.actor.impersonator_id.clone() })
}

/// The account the caller is logged in as.
///
/// Any account, for itself. Under an impersonation token this is the impersonated
/// account, and `impersonated_by` names the person really acting (null otherwise). The
/// `ETag` is what `If-Match` of `PATCH /v1/me` compares with. API keys need
/// `account:read`.
#[utoipa::path(
    tag = "Current account",
    responses((status = 200, description = "The current account", body = MeView, headers(("ETag" = String)))),
)]
#[get("/me")]
pub async fn get_me(principal: Principal) -> Result<HttpResponse, ApiError> {
    principal.authorize(Action::ReadOwnAccount)?;
    Ok(me_response(&principal, &principal.account))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Jane Doe", "profile": {"phone": "+31201234567"}}))]
pub struct UpdateMe {
    #[schema(format = "line", value_type = String, max_length = 200)]
    #[serde(default)]
    pub name: Patch<String>,
    /// Becomes `pending_email` until verified; needs `current_password`.
    #[schema(format = Email, value_type = String, max_length = 254)]
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
///
/// `profile` is merged into the stored one (RFC 7396). A new `email` needs
/// `current_password` (`422 invalid_credentials` at `/current_password` when wrong) and
/// becomes `pending_email` until its verification link is followed; the old address is
/// told. `409 email_taken` when another account has the address. An email change is
/// refused to API keys (`403 forbidden`) and under impersonation (`403
/// impersonation_forbidden`). API keys need `customers:write` for the rest. A stale
/// `If-Match` is `412`.
#[utoipa::path(
    tag = "Current account",
    params(IfMatchHeader),
    request_body(content = UpdateMe, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed account", body = MeView, headers(("ETag" = String))),
        (status = 409, description = "`email_taken`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[patch("/me")]
pub async fn update_me(
    state: web::Data<AppState>,
    request: HttpRequest,
    principal: Principal,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let authorized = principal.authorize(Action::UpdateOwnProfile)?;
    let input: UpdateMe = body.parse()?;
    let change = ProfileChange { name: input.name, email: input.email, profile: input.profile, fraud: Patch::Absent };
    let if_match = IfMatch::from_request(&request);
    let own = principal.account.clone();
    let row = use_case::update_own(&state, &principal.actor, own, authorized, change, input.current_password, if_match)
        .await?;
    Ok(me_response(&principal, &row))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "current_password": "correct horse battery staple 42", "new_password": "purple otter under a lighthouse"
}))]
pub struct ChangePassword {
    #[schema(max_length = 1024)]
    pub current_password: String,
    /// At least 8 characters (12 or more recommended), at most 128; not a common password.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// Change the password. Every token of the account ends, the caller's too: log in again.
///
/// `current_password` must be right (`422 invalid_credentials` at `/current_password`);
/// `new_password` follows the password policy (8-128 characters, not a common one;
/// `422` at `/new_password`). Every session of the account ends; its API keys keep
/// working. Login sessions only: API keys get `403 forbidden`, impersonation tokens `403
/// impersonation_forbidden`. A suspended account may still change its password.
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
    let authorized = principal.authorize(Action::ChangeOwnPassword)?;
    let input: ChangePassword = body.parse()?;
    let new_password =
        NewPassword::parse(&input.new_password).map_err(|invalid| ApiError::field("/new_password", invalid))?;
    let (actor, own) = (&principal.actor, &principal.account);
    use_case::change_password(&state, actor, own, authorized, input.current_password, new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}
