//! Audit actions: `<area>.<verb>`, stable names that filters and reports rely on.

pub const CUSTOMER_CREATE: &str = "customer.create";
pub const CUSTOMER_UPDATE: &str = "customer.update";
pub const ACCOUNT_UPDATE: &str = "account.update";
pub const ACCOUNT_EMAIL_CHANGE_REQUESTED: &str = "account.email_change_requested";
pub const ACCOUNT_PASSWORD_CHANGE: &str = "account.password_change";
pub const ACCOUNT_CREATE_OPERATOR: &str = "account.create_operator";
pub const SESSION_LOGIN: &str = "session.login";
pub const SESSION_LOGOUT: &str = "session.logout";
pub const SESSION_LOGOUT_EVERYWHERE: &str = "session.logout_everywhere";
pub const SESSION_REFRESH_REUSED: &str = "session.refresh_token_reused";
pub const API_KEY_CREATE: &str = "api_key.create";
pub const API_KEY_REVOKE: &str = "api_key.revoke";
pub const PLAN_CREATE: &str = "plan.create";
pub const PLAN_UPDATE: &str = "plan.update";
pub const PLAN_ARCHIVE: &str = "plan.archive";
pub const SERVICE_CREATE: &str = "service.create";
pub const SERVICE_UPDATE: &str = "service.update";
pub const SERVICE_SUSPEND: &str = "service.suspend";
pub const SERVICE_UNSUSPEND: &str = "service.unsuspend";
pub const SERVICE_TERMINATE: &str = "service.terminate";
pub const SERVICE_CANCEL: &str = "service.cancel";
pub const SERVICE_CANCEL_WITHDRAW: &str = "service.cancel_withdraw";
pub const SERVICE_RENEW: &str = "service.renew";
pub const SERVICE_CHANGE_PLAN: &str = "service.change_plan";
/// The worker ended an active service whose period ran out with a cancellation pending.
pub const SERVICE_CANCEL_AT_PERIOD_END: &str = "service.cancel_at_period_end";
/// The worker expired a service that was not renewed within the grace period.
pub const SERVICE_EXPIRE: &str = "service.expire";
/// A bulk action above the synchronous limit was queued as a job.
pub const JOB_CREATE: &str = "job.create";
/// A service's password was set or generated; the event never holds the password.
pub const SERVICE_PASSWORD: &str = "service.password";
/// The worker carried out a deferred `create`: the service moved from pending to active.
pub const SERVICE_PROVISIONED: &str = "service.provisioned";

/// What an audited change was done to.
pub mod target {
    pub const ACCOUNT: &str = "account";
    pub const SESSION: &str = "session";
    pub const API_KEY: &str = "api_key";
    pub const PLAN: &str = "plan";
    pub const SERVICE: &str = "service";
    pub const JOB: &str = "job";
}
