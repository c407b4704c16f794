//! Every route of the API, grouped by area. `configure` is the one list: the server
//! serves it and the OpenAPI document is generated from it.

pub mod account_holds;
pub mod account_recovery;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod authorizations;
pub mod billing_settings;
pub mod certificates;
pub mod credit;
pub mod customers;
pub mod databases;
pub mod dns;
pub mod domain_hosts;
pub mod domains;
pub mod forwards;
pub mod ftp_users;
pub mod impersonation;
pub mod invoices;
pub mod jobs;
pub mod login_links;
pub mod mailboxes;
pub mod me;
pub mod notifications;
pub mod orders;
pub mod plans;
pub mod registration;
pub mod restrictions;
pub mod service_lifecycle;
pub mod services;
pub mod status;
pub mod status_admin;
pub mod system;
pub mod ticket_attachments;
pub mod tickets;
pub mod two_factor;
pub mod webhooks;

use utoipa_actix_web::service_config::ServiceConfig;

/// The routes under `/v1`.
pub fn configure_v1(config: &mut ServiceConfig) {
    config
        // The public status page first: routes are matched in this order, and it is the
        // route a crowd hits during an outage.
        .service(status::status_summary)
        .service(status::status_feed)
        .service(status::list_incidents)
        .service(status::get_incident)
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
        // `/certificates/csr` before `/certificates/{certificate_id}`.
        .service(certificates::create_csr)
        .service(certificates::order_certificate)
        .service(certificates::list_certificates)
        .service(certificates::upload_certificate)
        .service(certificates::get_certificate)
        .service(certificates::delete_certificate)
        .service(jobs::get_job)
        // `/domains/bulk` before `/domains/{name}`.
        .service(jobs::bulk_domains)
        .service(domains::list_domains)
        .service(domains::create_domain)
        .service(domains::get_domain)
        .service(domains::update_domain)
        .service(domains::delete_domain)
        .service(domains::set_redirect)
        .service(domains::delete_redirect)
        .service(domains::retry_domain_provisioning)
        .service(domain_hosts::list_hosts)
        .service(domain_hosts::create_host)
        .service(domain_hosts::delete_host)
        .service(mailboxes::list_mailboxes)
        .service(mailboxes::create_mailbox)
        .service(mailboxes::get_mailbox)
        .service(mailboxes::update_mailbox)
        .service(mailboxes::delete_mailbox)
        .service(forwards::list_forwards)
        .service(forwards::create_forward)
        .service(forwards::get_forward)
        .service(forwards::update_forward)
        .service(forwards::delete_forward)
        .service(ftp_users::list_ftp_users)
        .service(ftp_users::create_ftp_user)
        .service(ftp_users::get_ftp_user)
        .service(ftp_users::update_ftp_user)
        .service(ftp_users::delete_ftp_user)
        .service(databases::list_databases)
        .service(databases::create_database)
        .service(databases::get_database)
        .service(databases::update_database)
        .service(databases::delete_database)
        .service(databases::retry_database_provisioning)
        .service(dns::list_dns_records)
        .service(dns::create_dns_record)
        .service(dns::get_dns_zone)
        .service(dns::get_dns_record)
        .service(dns::update_dns_record)
        .service(dns::delete_dns_record)
        .service(login_links::create_login_link)
        .service(login_links::redeem_login_link)
        .service(webhooks::list_webhooks)
        .service(webhooks::create_webhook)
        .service(webhooks::get_webhook)
        .service(webhooks::update_webhook)
        .service(webhooks::delete_webhook)
        .service(webhooks::rotate_webhook_secret)
        .service(webhooks::test_webhook)
        .service(webhooks::list_deliveries)
        .service(webhooks::retry_delivery)
        .service(notifications::get_notifications)
        .service(notifications::update_notifications)
        .service(tickets::list_tickets)
        .service(tickets::create_ticket)
        .service(tickets::get_ticket)
        .service(tickets::update_ticket)
        .service(tickets::list_messages)
        .service(tickets::create_message)
        .service(ticket_attachments::upload_attachment)
        .service(ticket_attachments::download_attachment)
        .service(status_admin::create_incident)
        .service(status_admin::update_incident)
        .service(status_admin::create_update)
        .service(status_admin::list_components)
        .service(status_admin::create_component)
        .service(status_admin::get_component)
        .service(status_admin::update_component)
        .service(status_admin::delete_component)
        .service(billing_settings::get_billing_settings)
        .service(billing_settings::put_billing_settings)
        .service(orders::list_orders)
        .service(orders::create_order)
        .service(orders::get_order)
        .service(orders::cancel_order)
        .service(invoices::list_invoices)
        .service(invoices::get_invoice)
        .service(invoices::create_payment)
        .service(invoices::list_payments)
        .service(invoices::apply_credit)
        .service(invoices::void_invoice)
        .service(invoices::create_credit_note)
        .service(credit::get_own_credit)
        .service(credit::get_customer_credit)
        .service(credit::adjust_customer_credit)
        .service(credit::list_credit_transactions);
}

/// The routes outside `/v1`.
pub fn configure_system(config: &mut ServiceConfig) {
    config.service(system::healthz).service(system::readyz).service(system::metrics).service(system::openapi_json);
}
