//! Public self-registration, off unless `registration_enabled` (crate::app::registration).
//!
//! The answer is 202 with an empty body whether or not the login or the address is
//! taken; the mail to the address says what happened.

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use hostadmin_domain::accounts::{DisplayName, EmailAddress, Login};
use hostadmin_domain::passwords::NewPassword;
use hostadmin_domain::validation::Invalid;

use crate::app::registration::{self as use_case, Registration};
use crate::auth::principal::request_context;
use crate::http::body::JsonBody;
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "login": "jane", "email": "jane@example.test", "password": "correct horse battery staple 42", "name": "Jane Doe"
}))]
pub struct RegisterRequest {
    /// 3-32 of `a-z 0-9 . _ -`, starting with a letter or digit.
    #[schema(min_length = 3, max_length = 32, pattern = "^[a-z0-9][a-z0-9._-]{2,31}$")]
    pub login: String,
    #[schema(max_length = 254, format = Email)]
    pub email: String,
    /// At least 8 characters (12 or more recommended), at most 128; not a common password.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(format = "line", max_length = 200)]
    pub name: String,
}

impl RegisterRequest {
    fn validate(self) -> Result<Registration, ApiError> {
        let mut errors = Vec::new();
        let mut check = |pointer: &str, result: Result<(), Invalid>| {
            if let Err(invalid) = result {
                errors.push(FieldError::new(pointer, invalid));
            }
        };
        let login = Login::parse(&self.login);
        check("/login", login.as_ref().map(|_| ()).map_err(Clone::clone));
        let email = EmailAddress::parse(&self.email);
        check("/email", email.as_ref().map(|_| ()).map_err(Clone::clone));
        let password = NewPassword::parse(&self.password);
        check("/password", password.as_ref().map(|_| ()).map_err(Clone::clone));
        let name = DisplayName::parse(&self.name);
        check("/name", name.as_ref().map(|_| ()).map_err(Clone::clone));
        match (login, email, password, name) {
            (Ok(login), Ok(email), Ok(password), Ok(name)) => Ok(Registration { login, email, password, name }),
            _ => Err(ApiError::fields(errors)),
        }
    }
}

/// Register a new customer account (only when the provider enabled it).
///
/// Answers 202 with an empty body, alike whether the login or the address is taken;
/// the mail to the address says what happened. A new account is a customer, active, and
/// may log in at once; its address is verified through the mailed link.
#[utoipa::path(
    tag = "Authentication",
    request_body = RegisterRequest,
    responses(
        (status = 202, description = "Accepted; the mail to the address says what happened"),
        (status = 404, description = "`not_found`: registration is not enabled", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    use_case::require_enabled(&state)?;
    let registration = body.parse::<RegisterRequest>()?.validate()?;
    use_case::register(&state, request_context(&request, &state), registration).await?;
    Ok(HttpResponse::Accepted().finish())
}
