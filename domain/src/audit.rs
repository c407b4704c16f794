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
/// A two-factor enrolment started: a pending secret waits for its first code.
pub const ACCOUNT_TWO_FACTOR_ENROL: &str = "account.two_factor_enrol";
pub const ACCOUNT_TWO_FACTOR_ENABLE: &str = "account.two_factor_enable";
pub const ACCOUNT_TWO_FACTOR_DISABLE: &str = "account.two_factor_disable";
/// An ancestor switched off a descendant's second factor (it lost its device).
pub const CUSTOMER_TWO_FACTOR_RESET: &str = "customer.two_factor_reset";
/// An ancestor logged in as an account below it; the event names both.
pub const CUSTOMER_IMPERSONATE: &str = "customer.impersonate";
/// An account below was suspended (with everything below it and their services).
pub const CUSTOMER_SUSPEND: &str = "customer.suspend";
/// Exactly that suspension was lifted.
pub const CUSTOMER_UNSUSPEND: &str = "customer.unsuspend";
/// An account below was blocked: no login, its tokens and API keys ended.
pub const CUSTOMER_BLOCK: &str = "customer.block";
/// Exactly that block was lifted (revoked API keys stay revoked).
pub const CUSTOMER_UNBLOCK: &str = "customer.unblock";
/// The disabled actions of an account below were replaced.
pub const CUSTOMER_SET_RESTRICTIONS: &str = "customer.set_restrictions";

/// A grant was given (pending until the grantee accepts it).
pub const AUTHORIZATION_CREATE: &str = "authorization.create";
/// The grantor changed a grant's permissions or services.
pub const AUTHORIZATION_UPDATE: &str = "authorization.update";
/// The grantee accepted a grant: it is in force.
pub const AUTHORIZATION_ACCEPT: &str = "authorization.accept";
/// The grantor withdrew a grant.
pub const AUTHORIZATION_WITHDRAW: &str = "authorization.withdraw";
/// The grantee declined a pending grant or gave an active one back.
pub const AUTHORIZATION_DECLINE: &str = "authorization.decline";
/// A password reset mail was queued (anyone may ask; the event has no actor).
pub const ACCOUNT_PASSWORD_RESET_REQUESTED: &str = "account.password_reset_requested";
/// A password was set with a mailed token (reset or the welcome mail's link).
pub const ACCOUNT_PASSWORD_RESET: &str = "account.password_reset";
/// An address was confirmed with a verification token (a pending one took effect).
pub const ACCOUNT_EMAIL_VERIFIED: &str = "account.email_verified";
/// A seller had the verification mail sent again.
pub const CUSTOMER_VERIFICATION_EMAIL: &str = "customer.verification_email";
/// An account registered itself.
pub const ACCOUNT_REGISTER: &str = "account.register";
/// A mailbox of a service was created, changed (password, size, description) or
/// removed; events never hold the password or its hash.
pub const MAILBOX_CREATE: &str = "mailbox.create";
pub const MAILBOX_UPDATE: &str = "mailbox.update";
pub const MAILBOX_DELETE: &str = "mailbox.delete";
/// A forward of a service was created, given new destinations or removed.
pub const FORWARD_CREATE: &str = "forward.create";
pub const FORWARD_UPDATE: &str = "forward.update";
pub const FORWARD_DELETE: &str = "forward.delete";
/// An FTP user of a service was created, changed or removed (never with its password).
pub const FTP_USER_CREATE: &str = "ftp_user.create";
pub const FTP_USER_UPDATE: &str = "ftp_user.update";
pub const FTP_USER_DELETE: &str = "ftp_user.delete";
/// A database of a service was created, changed (its password) or removed.
pub const DATABASE_CREATE: &str = "database.create";
pub const DATABASE_UPDATE: &str = "database.update";
pub const DATABASE_DELETE: &str = "database.delete";

/// A domain was added to a hosting service, changed (name servers, lock, auto-renew, a
/// move to another service), given or cleared a redirect, or removed; child hosts were
/// added or removed.
pub const DOMAIN_CREATE: &str = "domain.create";
pub const DOMAIN_UPDATE: &str = "domain.update";
pub const DOMAIN_DELETE: &str = "domain.delete";
pub const DOMAIN_REDIRECT: &str = "domain.redirect";
/// A failed change of a domain's zone (or a database) on its server is tried again.
pub const DOMAIN_RETRY_PROVISIONING: &str = "domain.retry_provisioning";
pub const DATABASE_RETRY_PROVISIONING: &str = "database.retry_provisioning";
pub const DOMAIN_HOST_CREATE: &str = "domain.host_create";
pub const DOMAIN_HOST_DELETE: &str = "domain.host_delete";
/// A DNS record of a domain's zone was added, changed or removed (the event's target is
/// the record; its details name the domain and the zone's new SOA serial).
pub const DNS_RECORD_CREATE: &str = "dns.record_create";
pub const DNS_RECORD_UPDATE: &str = "dns.record_update";
pub const DNS_RECORD_DELETE: &str = "dns.record_delete";
/// A certificate was uploaded (with its key, or for a pending CSR); never the key.
pub const CERTIFICATE_UPLOAD: &str = "certificate.upload";
/// A key pair and CSR were made; the key stays sealed on the server.
pub const CERTIFICATE_CSR: &str = "certificate.csr";
pub const CERTIFICATE_DELETE: &str = "certificate.delete";
/// A certificate was ordered from the ACME CA (by an actor, or for a hosting domain when
/// it was added); the worker carries the order out.
pub const CERTIFICATE_ACME_ORDER: &str = "certificate.acme_order";
/// The worker's outcomes of an ACME order, without an actor: the certificate was issued
/// (or renewed), the CA refused it (the details carry its reason), or a renewal was due.
pub const CERTIFICATE_ISSUED: &str = "certificate.issued";
pub const CERTIFICATE_FAILED: &str = "certificate.failed";
pub const CERTIFICATE_RENEWAL: &str = "certificate.renewal";

/// A webhook endpoint was created, changed (URL, filters, description, enabled),
/// removed, or given a new secret (the old one signs along for 24 hours); events never
/// hold a secret.
pub const WEBHOOK_CREATE: &str = "webhook.create";
pub const WEBHOOK_UPDATE: &str = "webhook.update";
pub const WEBHOOK_DELETE: &str = "webhook.delete";
pub const WEBHOOK_ROTATE_SECRET: &str = "webhook.rotate_secret";
/// A test event was sent to one endpoint (it is that event: delivered to that endpoint only).
pub const WEBHOOK_TEST: &str = "webhook.test";
/// A delivery was queued again by hand.
pub const WEBHOOK_DELIVERY_RETRY: &str = "webhook.delivery_retry";
/// The worker disabled an endpoint that had failed every delivery for 5 days.
pub const WEBHOOK_DISABLE: &str = "webhook.disable";
/// A one-click login link to a service's tool was made (never its token).
pub const SERVICE_LOGIN_LINK: &str = "service.login_link";
/// A tool redeemed a login link: the owner was logged in to it.
pub const SERVICE_LOGIN_LINK_REDEEM: &str = "service.login_link_redeem";
/// A ticket was opened (incoming, or outgoing from a seller); its target is the ticket,
/// its account the ticket's customer.
pub const TICKET_CREATE: &str = "ticket.create";
/// A reply on a ticket, from either side (never its text).
pub const TICKET_REPLY: &str = "ticket.reply";
/// A ticket was closed or its priority changed.
pub const TICKET_UPDATE: &str = "ticket.update";
/// An internal note: its target is the note (`ticket_note`) and its account the seller,
/// so that the customer's side never learns of it, in the log or in webhooks (which
/// reach whoever may read the entry: the seller, the accounts above it, operators).
pub const TICKET_INTERNAL_NOTE: &str = "ticket.internal_note";
/// A file was attached to a ticket; its account is the uploader's side's.
pub const TICKET_ATTACHMENT_UPLOAD: &str = "ticket.attachment_upload";
/// An account changed its notification settings.
pub const ACCOUNT_NOTIFICATIONS_UPDATE: &str = "account.notifications_update";
/// The status page: components, incidents and their updates (operators).
pub const STATUS_COMPONENT_CREATE: &str = "status.component_create";
pub const STATUS_COMPONENT_UPDATE: &str = "status.component_update";
pub const STATUS_COMPONENT_DELETE: &str = "status.component_delete";
pub const STATUS_INCIDENT_CREATE: &str = "status.incident_create";
pub const STATUS_INCIDENT_UPDATE: &str = "status.incident_update";
/// An update posted on an incident (its progress and a text).
pub const STATUS_INCIDENT_PROGRESS: &str = "status.incident_progress";
/// Billing: a seller's settings, orders, invoices, payments and credit.
pub const BILLING_SETTINGS_UPDATE: &str = "billing.settings_update";
pub const ORDER_CREATE: &str = "order.create";
pub const ORDER_CANCEL: &str = "order.cancel";
/// A paid order was carried out (its services created, renewed or moved).
pub const ORDER_FULFIL: &str = "order.fulfil";
/// A paid order could not be carried out; the money went to the buyer's credit.
pub const ORDER_FAIL: &str = "order.fail";
pub const INVOICE_ISSUE: &str = "invoice.issue";
pub const INVOICE_PAYMENT: &str = "invoice.payment";
pub const INVOICE_VOID: &str = "invoice.void";
pub const INVOICE_CREDIT_NOTE: &str = "invoice.credit_note";
/// A seller added to or took from a buyer's credit.
pub const CREDIT_ADJUST: &str = "credit.adjust";

/// Every action above: the audit log's `action` values and the webhooks' event types.
pub const ALL: [&str; 110] = [
    CUSTOMER_CREATE,
    CUSTOMER_UPDATE,
    ACCOUNT_UPDATE,
    ACCOUNT_EMAIL_CHANGE_REQUESTED,
    ACCOUNT_PASSWORD_CHANGE,
    ACCOUNT_CREATE_OPERATOR,
    SESSION_LOGIN,
    SESSION_LOGOUT,
    SESSION_LOGOUT_EVERYWHERE,
    SESSION_REFRESH_REUSED,
    API_KEY_CREATE,
    API_KEY_REVOKE,
    PLAN_CREATE,
    PLAN_UPDATE,
    PLAN_ARCHIVE,
    SERVICE_CREATE,
    SERVICE_UPDATE,
    SERVICE_SUSPEND,
    SERVICE_UNSUSPEND,
    SERVICE_TERMINATE,
    SERVICE_CANCEL,
    SERVICE_CANCEL_WITHDRAW,
    SERVICE_RENEW,
    SERVICE_CHANGE_PLAN,
    SERVICE_CANCEL_AT_PERIOD_END,
    SERVICE_EXPIRE,
    JOB_CREATE,
    SERVICE_PASSWORD,
    SERVICE_PROVISIONED,
    ACCOUNT_TWO_FACTOR_ENROL,
    ACCOUNT_TWO_FACTOR_ENABLE,
    ACCOUNT_TWO_FACTOR_DISABLE,
    CUSTOMER_TWO_FACTOR_RESET,
    CUSTOMER_IMPERSONATE,
    CUSTOMER_SUSPEND,
    CUSTOMER_UNSUSPEND,
    CUSTOMER_BLOCK,
    CUSTOMER_UNBLOCK,
    CUSTOMER_SET_RESTRICTIONS,
    AUTHORIZATION_CREATE,
    AUTHORIZATION_UPDATE,
    AUTHORIZATION_ACCEPT,
    AUTHORIZATION_WITHDRAW,
    AUTHORIZATION_DECLINE,
    ACCOUNT_PASSWORD_RESET_REQUESTED,
    ACCOUNT_PASSWORD_RESET,
    ACCOUNT_EMAIL_VERIFIED,
    CUSTOMER_VERIFICATION_EMAIL,
    ACCOUNT_REGISTER,
    MAILBOX_CREATE,
    MAILBOX_UPDATE,
    MAILBOX_DELETE,
    FORWARD_CREATE,
    FORWARD_UPDATE,
    FORWARD_DELETE,
    FTP_USER_CREATE,
    FTP_USER_UPDATE,
    FTP_USER_DELETE,
    DATABASE_CREATE,
    DATABASE_UPDATE,
    DATABASE_DELETE,
    DOMAIN_CREATE,
    DOMAIN_UPDATE,
    DOMAIN_DELETE,
    DOMAIN_REDIRECT,
    DOMAIN_RETRY_PROVISIONING,
    DATABASE_RETRY_PROVISIONING,
    DOMAIN_HOST_CREATE,
    DOMAIN_HOST_DELETE,
    DNS_RECORD_CREATE,
    DNS_RECORD_UPDATE,
    DNS_RECORD_DELETE,
    CERTIFICATE_UPLOAD,
    CERTIFICATE_CSR,
    CERTIFICATE_DELETE,
    CERTIFICATE_ACME_ORDER,
    CERTIFICATE_ISSUED,
    CERTIFICATE_FAILED,
    CERTIFICATE_RENEWAL,
    WEBHOOK_CREATE,
    WEBHOOK_UPDATE,
    WEBHOOK_DELETE,
    WEBHOOK_ROTATE_SECRET,
    WEBHOOK_TEST,
    WEBHOOK_DELIVERY_RETRY,
    WEBHOOK_DISABLE,
    SERVICE_LOGIN_LINK,
    SERVICE_LOGIN_LINK_REDEEM,
    TICKET_CREATE,
    TICKET_REPLY,
    TICKET_UPDATE,
    TICKET_INTERNAL_NOTE,
    TICKET_ATTACHMENT_UPLOAD,
    ACCOUNT_NOTIFICATIONS_UPDATE,
    STATUS_COMPONENT_CREATE,
    STATUS_COMPONENT_UPDATE,
    STATUS_COMPONENT_DELETE,
    STATUS_INCIDENT_CREATE,
    STATUS_INCIDENT_UPDATE,
    STATUS_INCIDENT_PROGRESS,
    BILLING_SETTINGS_UPDATE,
    ORDER_CREATE,
    ORDER_CANCEL,
    ORDER_FULFIL,
    ORDER_FAIL,
    INVOICE_ISSUE,
    INVOICE_PAYMENT,
    INVOICE_VOID,
    INVOICE_CREDIT_NOTE,
    CREDIT_ADJUST,
];

/// What an audited change was done to.
pub mod target {
    pub const CERTIFICATE: &str = "certificate";
    pub const DOMAIN: &str = "domain";
    pub const DNS_RECORD: &str = "dns_record";
    pub const ACCOUNT: &str = "account";
    pub const SESSION: &str = "session";
    pub const API_KEY: &str = "api_key";
    pub const PLAN: &str = "plan";
    pub const SERVICE: &str = "service";
    pub const JOB: &str = "job";
    pub const AUTHORIZATION: &str = "authorization";
    pub const MAILBOX: &str = "mailbox";
    pub const FORWARD: &str = "forward";
    pub const FTP_USER: &str = "ftp_user";
    pub const DATABASE: &str = "database";
    pub const WEBHOOK: &str = "webhook";
    pub const WEBHOOK_DELIVERY: &str = "webhook_delivery";
    pub const TICKET: &str = "ticket";
    pub const TICKET_NOTE: &str = "ticket_note";
    pub const TICKET_ATTACHMENT: &str = "ticket_attachment";
    pub const STATUS_COMPONENT: &str = "status_component";
    pub const STATUS_INCIDENT: &str = "status_incident";
    pub const BILLING_SETTINGS: &str = "billing_settings";
    pub const ORDER: &str = "order";
    pub const INVOICE: &str = "invoice";
    pub const CREDIT: &str = "credit";

    /// Every target type above.
    pub const ALL: [&str; 25] = [
        CERTIFICATE,
        DOMAIN,
        DNS_RECORD,
        ACCOUNT,
        SESSION,
        API_KEY,
        PLAN,
        SERVICE,
        JOB,
        AUTHORIZATION,
        MAILBOX,
        FORWARD,
        FTP_USER,
        DATABASE,
        WEBHOOK,
        WEBHOOK_DELIVERY,
        TICKET,
        TICKET_NOTE,
        TICKET_ATTACHMENT,
        STATUS_COMPONENT,
        STATUS_INCIDENT,
        BILLING_SETTINGS,
        ORDER,
        INVOICE,
        CREDIT,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `"..."` values of the `pub const`s in `text`.
    fn declared(text: &str) -> Vec<String> {
        text.lines()
            .filter_map(|line| line.trim().strip_prefix("pub const "))
            .filter(|line| line.contains(": &str = \""))
            .filter_map(|line| line.split('"').nth(1).map(str::to_owned))
            .collect()
    }

    #[test]
    fn every_action_and_target_is_listed_once() {
        let source = include_str!("audit.rs");
        let (actions, targets) = source.split_at(source.find("pub mod target").unwrap());
        let mut listed: Vec<&str> = ALL.to_vec();
        listed.sort_unstable();
        listed.dedup();
        assert_eq!(listed.len(), ALL.len(), "an action is listed twice");
        let mut declared_actions = declared(actions);
        declared_actions.sort();
        assert_eq!(declared_actions, listed, "audit::ALL and the actions declared differ");
        let mut declared_targets = declared(targets);
        declared_targets.sort();
        let mut targets_listed: Vec<&str> = target::ALL.to_vec();
        targets_listed.sort_unstable();
        assert_eq!(declared_targets, targets_listed, "audit::target::ALL and the targets declared differ");
        assert!(ALL.iter().all(|action| action.split_once('.').is_some_and(|(a, v)| !a.is_empty() && !v.is_empty())));
    }
}
