//! Every route of the API, grouped by area. `configure` is the one list: the server
//! serves it and the OpenAPI document is generated from it.

pub mod account_holds;
pub mod account_recovery;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod authorizations;
pub mod customers;
pub mod impersonation;
pub mod jobs;
pub mod me;
pub mod plans;
pub mod registration;
pub mod restrictions;
pub mod service_lifecycle;
pub mod services;
pub mod system;
pub mod two_factor;

use utoipa_actix_web::service_config::ServiceConfig;

/// The routes under `/v1`.
pub fn configure_v1(config: &mut ServiceConfig) {
    config
        .service(auth::login)
        .service(auth::refresh)
        .service(auth::logout)
        .service(account_recovery::request_password_reset)
        .service(account_recovery::confirm_password_reset)
        .service(account_recovery::verify_email)
        .service(registration::register)
        .service(me::get_me)
        .service(me::update_me)
        .service(me::change_password)
        .service(two_factor::start_two_factor)
        .service(two_factor::confirm_two_factor)
        .service(two_factor::disable_two_factor)
        .service(api_keys::list_api_keys)
        .service(api_keys::create_api_key)
        .service(api_keys::get_api_key)
        .service(api_keys::revoke_api_key)
        .service(customers::list_customers)
        .service(customers::create_customer)
        .service(customers::get_customer)
        .service(customers::update_customer)
        .service(customers::resend_verification_email)
        .service(two_factor::reset_customer_two_factor)
        .service(impersonation::impersonate_customer)
        .service(account_holds::suspend_customer)
        .service(account_holds::unsuspend_customer)
        .service(account_holds::block_customer)
        .service(account_holds::unblock_customer)
        .service(restrictions::get_restrictions)
        .service(restrictions::set_restrictions)
        .service(authorizations::list_given)
        .service(authorizations::create_authorization)
        .service(authorizations::list_received)
        .service(authorizations::get_authorization)
        .service(authorizations::update_authorization)
        .service(authorizations::accept_authorization)
        .service(authorizations::delete_authorization)
        .service(audit::list_audit_events)
        .service(plans::list_plans)
        .service(plans::create_plan)
        .service(plans::get_plan)
        .service(plans::update_plan)
        .service(plans::archive_plan)
        .service(services::list_services)
        .service(services::create_service)
        .service(jobs::bulk_services)
        .service(services::get_service)
        .service(services::update_service)
        .service(service_lifecycle::suspend_service)
        .service(service_lifecycle::unsuspend_service)
        .service(service_lifecycle::terminate_service)
        .service(service_lifecycle::cancel_service)
        .service(service_lifecycle::withdraw_cancellation)
        .service(service_lifecycle::renew_service)
        .service(service_lifecycle::change_service_plan)
        .service(service_lifecycle::set_service_password)
        .service(service_lifecycle::service_usage)
        .service(jobs::get_job);
}

/// The routes outside `/v1`.
pub fn configure_system(config: &mut ServiceConfig) {
    config.service(system::healthz).service(system::readyz).service(system::metrics).service(system::openapi_json);
}
