//! The tenancy matrix (QUALITY.md 10, 12-13): every route with an id, called by every
//! kind of caller of the fixture tree on every target, by grantees inside and outside
//! their grants, and under impersonation tokens. Another tenant's object is 404, a route
//! a role may never call is 403 before any lookup, a grant without the permission is
//! 403 `insufficient_grant`, and lists hold exactly what is below and what was granted.

// Helpers outside `#[test]` functions may fail loudly too (clippy's test exemption
// does not reach them).

use std::collections::BTreeSet;
use std::time::Instant;

use crate::support::*;

/// What the id in a route's path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// An account of the tree: the customer routes.
    Account,
    /// An API key, one created by each account: the `/v1/me/api-keys` routes.
    ApiKey,
    /// A public plan, one sold by each account that sells: the `/v1/plans` routes.
    Plan,
    /// A service, one owned by each account, sold from above (operators sell to
    /// themselves): the `/v1/services` routes.
    Service,
    /// A background job, one requested by each account (a bulk `set_auto_renew` of
    /// more than 100 items): `/v1/jobs/{id}`, seen by its requester only.
    Job,
    /// A pending grant, one given by each account to the next in the cast
    /// (`grantee_of`): the `/v1/authorizations/{id}` routes, seen by both parties only.
    Grant,
    /// The hosting resources of each account's service: a domain `<role>.test` with a
    /// child host, a DNS record, a mailbox, a forward, an FTP user, a database and a
    /// certificate request. `{id}` is the domain name or the service, `{sub}` the
    /// resource. They are reached as their service is.
    Domain,
    DomainHost,
    DnsRecord,
    Mailbox,
    Forward,
    FtpUser,
    Database,
    Certificate,
    /// A webhook endpoint, one per account, seen by its owner only: the `/v1/webhooks`
    /// routes. `{sub}` is a delivery of it (a test event).
    Webhook,
    WebhookDelivery,
    /// A ticket each account but the operators opened to its seller about its service:
    /// the `/v1/tickets/{id}` routes. Reached by its customer and from above it; inside a
    /// grant only with `support` (none of the matrix's grants has it).
    Ticket,
    /// A PNG attached to a message of each such ticket: `{id}` is the ticket, `{sub}`
    /// the file.
    TicketAttachment,
    /// An order each account but the operators placed for a renewal of its service, and
    /// the invoice it issued: reached by the buyer, from above it, and inside a grant
    /// with `billing` on the service.
    Order,
    Invoice,
}

impl Target {
    /// Reached as the service it belongs to.
    fn on_service(self) -> bool {
        matches!(
            self,
            Self::Service
                | Self::Domain
                | Self::DomainHost
                | Self::DnsRecord
                | Self::Mailbox
                | Self::Forward
                | Self::FtpUser
                | Self::Database
                | Self::Certificate
        )
    }
}

/// One route with an id: the table the matrix walks.
struct Route {
    method: &'static str,
    path: &'static str,
    body: Option<fn() -> Value>,
    target: Target,
    /// The status when the caller may reach the target.
    success: u16,
}

const ROUTES: &[Route] = &[
    Route { method: "GET", path: "/v1/customers/{id}", body: None, target: Target::Account, success: 200 },
    Route {
        method: "PATCH",
        path: "/v1/customers/{id}",
        body: Some(|| json!({"name": "Renamed"})),
        target: Target::Account,
        success: 200,
    },
    // The account actions with bodies their validation refuses: reached, nothing changes.
    Route {
        method: "POST",
        path: "/v1/customers/{id}/suspend",
        body: Some(|| json!({"reason": 5})),
        target: Target::Account,
        success: 422,
    },
    Route {
        method: "POST",
        path: "/v1/customers/{id}/unsuspend",
        body: Some(|| json!({"reason": 5})),
        target: Target::Account,
        success: 422,
    },
    Route {
        method: "POST",
        path: "/v1/customers/{id}/block",
        body: Some(|| json!({"reason": 5, "fraud": "yes"})),
        target: Target::Account,
        success: 422,
    },
    Route {
        method: "POST",
        path: "/v1/customers/{id}/unblock",
        body: Some(|| json!({"reason": 5})),
        target: Target::Account,
        success: 422,
    },
    Route { method: "GET", path: "/v1/customers/{id}/restrictions", body: None, target: Target::Account, success: 200 },
    Route {
        method: "PUT",
        path: "/v1/customers/{id}/restrictions",
        body: Some(|| json!({"disabled_actions": ["no.such_action"]})),
        target: Target::Account,
        success: 422,
    },
    // Real mail, within the hourly limit per recipient (see `check`).
    Route {
        method: "POST",
        path: "/v1/customers/{id}/verification-email",
        body: None,
        target: Target::Account,
        success: 202,
    },
    // Nobody has a second factor: the reset is a no-op that still shows who may.
    Route {
        method: "DELETE",
        path: "/v1/customers/{id}/two-factor",
        body: None,
        target: Target::Account,
        success: 204,
    },
    Route {
        method: "POST",
        path: "/v1/customers/{id}/impersonate",
        body: Some(|| json!({})),
        target: Target::Account,
        success: 201,
    },
    Route { method: "GET", path: "/v1/me/api-keys/{id}", body: None, target: Target::ApiKey, success: 200 },
    // Revoking is last: a key revoked by its owner is gone for the later cells, so its
    // owner's own cell is played after every other caller's (see `order`).
    Route { method: "DELETE", path: "/v1/me/api-keys/{id}", body: None, target: Target::ApiKey, success: 204 },
    Route { method: "GET", path: "/v1/plans/{id}", body: None, target: Target::Plan, success: 200 },
    Route {
        method: "PATCH",
        path: "/v1/plans/{id}",
        body: Some(|| json!({"name": "Renamed"})),
        target: Target::Plan,
        success: 200,
    },
    // Archiving keeps the plan readable and changeable: the order does not matter.
    Route { method: "DELETE", path: "/v1/plans/{id}", body: None, target: Target::Plan, success: 204 },
    Route { method: "GET", path: "/v1/services/{id}", body: None, target: Target::Service, success: 200 },
    Route {
        method: "PATCH",
        path: "/v1/services/{id}",
        body: Some(|| json!({"name": "Renamed"})),
        target: Target::Service,
        success: 200,
    },
    // The service actions, each with a body that its own validation refuses: reach
    // (404) and role (403) are decided before input (422), so these cells change
    // nothing and still show who reaches what.
    Route { method: "GET", path: "/v1/services/{id}/usage", body: None, target: Target::Service, success: 200 },
    Route {
        method: "POST",
        path: "/v1/services/{id}/suspend",
        body: Some(|| json!({"reason": ""})),
        target: Target::Service,
        success: 422,
    },
    Route {
        method: "POST",
        path: "/v1/services/{id}/unsuspend",
        body: Some(|| json!({"reason": ""})),
        target: Target::Service,
        success: 422,
    },
    Route {
        method: "POST",
        path: "/v1/services/{id}/terminate",
        body: Some(|| json!({"reason": ""})),
        target: Target::Service,
        success: 422,
    },
    Route {
        method: "POST",
        path: "/v1/services/{id}/cancel",
        body: Some(|| json!({"type": "immediate", "reason": ""})),
        target: Target::Service,
        success: 422,
    },
    // Nothing is pending, so withdrawing is refused by the lifecycle once reached.
    Route { method: "DELETE", path: "/v1/services/{id}/cancel", body: None, target: Target::Service, success: 409 },
    Route {
        method: "POST",
        path: "/v1/services/{id}/renew",
        body: Some(|| json!({"cycles": 0})),
        target: Target::Service,
        success: 422,
    },
    Route {
        method: "POST",
        path: "/v1/services/{id}/change-plan",
        body: Some(|| json!({"plan_id": 5, "quote_only": true})),
        target: Target::Service,
        success: 422,
    },
    Route {
        method: "POST",
        path: "/v1/services/{id}/password",
        body: Some(|| json!({"generate": "yes"})),
        target: Target::Service,
        success: 422,
    },
    Route { method: "GET", path: "/v1/jobs/{id}", body: None, target: Target::Job, success: 200 },
    // Tickets: reads, and writes with bodies their validation refuses.
    Route { method: "GET", path: "/v1/tickets/{id}", body: None, target: Target::Ticket, success: 200 },
    Route { method: "GET", path: "/v1/orders/{id}", body: None, target: Target::Order, success: 200 },
    Route { method: "GET", path: "/v1/invoices/{id}", body: None, target: Target::Invoice, success: 200 },
    Route { method: "GET", path: "/v1/invoices/{id}/payments", body: None, target: Target::Invoice, success: 200 },
    Route {
        method: "PATCH",
        path: "/v1/tickets/{id}",
        body: Some(|| json!({"priority": "soon"})),
        target: Target::Ticket,
        success: 422,
    },
    Route { method: "GET", path: "/v1/tickets/{id}/messages", body: None, target: Target::Ticket, success: 200 },
    Route {
        method: "POST",
        path: "/v1/tickets/{id}/messages",
        body: Some(|| json!({"body": 5})),
        target: Target::Ticket,
        success: 422,
    },
    // A JSON body is no file type a ticket takes.
    Route {
        method: "POST",
        path: "/v1/tickets/{id}/attachments",
        body: Some(|| json!({"file": "x"})),
        target: Target::Ticket,
        success: 415,
    },
    Route {
        method: "GET",
        path: "/v1/tickets/{id}/attachments/{sub}",
        body: None,
        target: Target::TicketAttachment,
        success: 200,
    },
    // Grants: read by both parties, changed by the grantor, accepted by the grantee,
    // withdrawn last (a withdrawn grant is gone for its grantee too, see `order`).
    Route { method: "GET", path: "/v1/authorizations/{id}", body: None, target: Target::Grant, success: 200 },
    Route {
        method: "PATCH",
        path: "/v1/authorizations/{id}",
        body: Some(|| json!({"permissions": "view"})),
        target: Target::Grant,
        success: 422,
    },
    Route {
        method: "POST",
        path: "/v1/authorizations/{id}/accept",
        body: Some(|| json!({})),
        target: Target::Grant,
        success: 200,
    },
    Route { method: "DELETE", path: "/v1/authorizations/{id}", body: None, target: Target::Grant, success: 204 },
    // The hosting resources: reads, and writes with bodies their validation refuses.
    Route { method: "GET", path: "/v1/domains/{id}", body: None, target: Target::Domain, success: 200 },
    Route {
        method: "PATCH",
        path: "/v1/domains/{id}",
        body: Some(|| json!({"auto_renew": "yes"})),
        target: Target::Domain,
        success: 422,
    },
    Route {
        method: "PUT",
        path: "/v1/domains/{id}/redirect",
        body: Some(|| json!({"type": "307", "target": "ftp://x"})),
        target: Target::Domain,
        success: 422,
    },
    // Nothing failed under the built-in driver: a retry is refused once the domain is reached.
    Route {
        method: "POST",
        path: "/v1/domains/{id}/retry-provisioning",
        body: None,
        target: Target::Domain,
        success: 409,
    },
    // No redirect is set: removing none changes nothing.
    Route { method: "DELETE", path: "/v1/domains/{id}/redirect", body: None, target: Target::Domain, success: 204 },
    Route { method: "GET", path: "/v1/domains/{id}/hosts", body: None, target: Target::Domain, success: 200 },
    Route {
        method: "POST",
        path: "/v1/domains/{id}/hosts",
        body: Some(|| json!({"hostname": 5})),
        target: Target::Domain,
        success: 422,
    },
    Route { method: "GET", path: "/v1/domains/{id}/dns/records", body: None, target: Target::Domain, success: 200 },
    Route {
        method: "POST",
        path: "/v1/domains/{id}/dns/records",
        body: Some(|| json!({"type": 5})),
        target: Target::Domain,
        success: 422,
    },
    Route { method: "GET", path: "/v1/domains/{id}/dns/zone", body: None, target: Target::Domain, success: 200 },
    Route {
        method: "GET",
        path: "/v1/domains/{id}/dns/records/{sub}",
        body: None,
        target: Target::DnsRecord,
        success: 200,
    },
    Route {
        method: "PATCH",
        path: "/v1/domains/{id}/dns/records/{sub}",
        body: Some(|| json!({"ttl": "long"})),
        target: Target::DnsRecord,
        success: 422,
    },
    Route { method: "GET", path: "/v1/services/{id}/mailboxes", body: None, target: Target::Service, success: 200 },
    Route {
        method: "POST",
        path: "/v1/services/{id}/mailboxes",
        body: Some(|| json!({"address": 5})),
        target: Target::Service,
        success: 422,
    },
    Route { method: "GET", path: "/v1/services/{id}/forwards", body: None, target: Target::Service, success: 200 },
    Route {
        method: "POST",
        path: "/v1/services/{id}/forwards",
        body: Some(|| json!({"source": 5})),
        target: Target::Service,
        success: 422,
    },
    Route { method: "GET", path: "/v1/services/{id}/ftp-users", body: None, target: Target::Service, success: 200 },
    Route {
        method: "POST",
        path: "/v1/services/{id}/ftp-users",
        body: Some(|| json!({"username": 5})),
        target: Target::Service,
        success: 422,
    },
    Route { method: "GET", path: "/v1/services/{id}/databases", body: None, target: Target::Service, success: 200 },
    Route {
        method: "POST",
        path: "/v1/services/{id}/databases",
        body: Some(|| json!({"name": 5})),
        target: Target::Service,
        success: 422,
    },
    Route { method: "GET", path: "/v1/services/{id}/certificates", body: None, target: Target::Service, success: 200 },
    Route {
        method: "POST",
        path: "/v1/services/{id}/certificates",
        body: Some(|| json!({"certificate_pem": 5})),
        target: Target::Service,
        success: 422,
    },
    Route {
        method: "POST",
        path: "/v1/services/{id}/certificates/csr",
        body: Some(|| json!({"common_name": 5})),
        target: Target::Service,
        success: 422,
    },
    Route {
        method: "POST",
        path: "/v1/services/{id}/certificates/acme",
        body: Some(|| json!({"names": 5})),
        target: Target::Service,
        success: 422,
    },
    Route {
        method: "GET",
        path: "/v1/services/{id}/mailboxes/{sub}",
        body: None,
        target: Target::Mailbox,
        success: 200,
    },
    Route {
        method: "PATCH",
        path: "/v1/services/{id}/mailboxes/{sub}",
        body: Some(|| json!({"quota_mb": "big"})),
        target: Target::Mailbox,
        success: 422,
    },
    Route {
        method: "GET",
        path: "/v1/services/{id}/forwards/{sub}",
        body: None,
        target: Target::Forward,
        success: 200,
    },
    Route {
        method: "PATCH",
        path: "/v1/services/{id}/forwards/{sub}",
        body: Some(|| json!({"destinations": "x"})),
        target: Target::Forward,
        success: 422,
    },
    Route {
        method: "GET",
        path: "/v1/services/{id}/ftp-users/{sub}",
        body: None,
        target: Target::FtpUser,
        success: 200,
    },
    Route {
        method: "PATCH",
        path: "/v1/services/{id}/ftp-users/{sub}",
        body: Some(|| json!({"directory": 5})),
        target: Target::FtpUser,
        success: 422,
    },
    Route {
        method: "GET",
        path: "/v1/services/{id}/databases/{sub}",
        body: None,
        target: Target::Database,
        success: 200,
    },
    Route {
        method: "PATCH",
        path: "/v1/services/{id}/databases/{sub}",
        body: Some(|| json!({"password": 5})),
        target: Target::Database,
        success: 422,
    },
    Route {
        method: "POST",
        path: "/v1/services/{id}/databases/{sub}/retry-provisioning",
        body: None,
        target: Target::Database,
        success: 409,
    },
    Route {
        method: "GET",
        path: "/v1/services/{id}/certificates/{sub}",
        body: None,
        target: Target::Certificate,
        success: 200,
    },
    // The deletions come last: the first caller who reaches a resource removes it, and it
    // is gone for every later one (see `gone`). Mail goes before its domain, which
    // refuses to go while mail uses it.
    Route {
        method: "DELETE",
        path: "/v1/services/{id}/mailboxes/{sub}",
        body: None,
        target: Target::Mailbox,
        success: 204,
    },
    Route {
        method: "DELETE",
        path: "/v1/services/{id}/forwards/{sub}",
        body: None,
        target: Target::Forward,
        success: 204,
    },
    Route {
        method: "DELETE",
        path: "/v1/services/{id}/ftp-users/{sub}",
        body: None,
        target: Target::FtpUser,
        success: 204,
    },
    Route {
        method: "DELETE",
        path: "/v1/services/{id}/databases/{sub}",
        body: None,
        target: Target::Database,
        success: 204,
    },
    Route {
        method: "DELETE",
        path: "/v1/services/{id}/certificates/{sub}",
        body: None,
        target: Target::Certificate,
        success: 204,
    },
    Route {
        method: "DELETE",
        path: "/v1/domains/{id}/hosts/{sub}",
        body: None,
        target: Target::DomainHost,
        success: 204,
    },
    Route {
        method: "DELETE",
        path: "/v1/domains/{id}/dns/records/{sub}",
        body: None,
        target: Target::DnsRecord,
        success: 204,
    },
    Route { method: "DELETE", path: "/v1/domains/{id}", body: None, target: Target::Domain, success: 204 },
    // Login links need `manage`; a tool that does not exist is refused once reached.
    Route {
        method: "POST",
        path: "/v1/services/{id}/login-links",
        body: Some(|| json!({"tool": "ssh"})),
        target: Target::Service,
        success: 422,
    },
    // Webhooks: each account's own; removed last (see `gone`).
    Route { method: "GET", path: "/v1/webhooks/{id}", body: None, target: Target::Webhook, success: 200 },
    Route {
        method: "PATCH",
        path: "/v1/webhooks/{id}",
        body: Some(|| json!({"url": 5})),
        target: Target::Webhook,
        success: 422,
    },
    Route { method: "GET", path: "/v1/webhooks/{id}/deliveries", body: None, target: Target::Webhook, success: 200 },
    Route { method: "POST", path: "/v1/webhooks/{id}/test", body: None, target: Target::Webhook, success: 202 },
    Route {
        method: "POST",
        path: "/v1/webhooks/{id}/deliveries/{sub}/retry",
        body: None,
        target: Target::WebhookDelivery,
        success: 202,
    },
    Route {
        method: "POST",
        path: "/v1/webhooks/{id}/rotate-secret",
        body: None,
        target: Target::Webhook,
        success: 200,
    },
    Route { method: "DELETE", path: "/v1/webhooks/{id}", body: None, target: Target::Webhook, success: 204 },
];

/// Grants of services, accepted before the matrix: (grantor, grantee, permissions). The
/// grantees are customers: inside a grant they reach the grantor's services, outside it
/// (another account's services, a reseller's customers') they reach nothing.
const SERVICE_GRANTS: &[(&str, &str, &[&str])] = &[
    ("customer_b1", "customer_a1", &["view"]),
    ("customer_a2", "customer_b2", &["manage"]),
    ("reseller_b", "sub_customer", &["billing"]),
];

/// The permission a service route needs inside a grant (any permission reads).
fn permission_needed(route: &Route) -> &'static str {
    if route.method == "GET" {
        "view"
    } else if route.path.ends_with("/change-plan") || route.path.ends_with("/renew") {
        "billing"
    } else {
        "manage"
    }
}

/// The permissions `grantee` holds on `owner`'s services, if it holds any.
fn granted(owner: &str, grantee: &str) -> Option<&'static [&'static str]> {
    SERVICE_GRANTS.iter().find(|(from, to, _)| *from == owner && *to == grantee).map(|(_, _, permissions)| *permissions)
}

/// Who called: an account of the cast with its own token, or an operator logged in as
/// it (an impersonation token: the account's rights, no received grants, no
/// credentials, no grant changes).
struct Caller {
    name: String,
    role: &'static str,
    token: String,
    impersonated: bool,
}

/// Who may call a service route beyond reaching the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Whoever reaches the service: its owner and the accounts above.
    Reach,
    /// Resellers and operators, on services of accounts strictly below them.
    AboveOwner,
    /// Resellers and operators who sell to the owner: above it, or an operator itself.
    Seller,
}

fn gate(path: &str) -> Gate {
    if ["/suspend", "/unsuspend", "/terminate"].iter().any(|action| path.ends_with(action)) {
        Gate::AboveOwner
    } else if path.ends_with("/renew") {
        Gate::Seller
    } else {
        Gate::Reach
    }
}

/// The roles that sell plans: operators (the provider's plans) and resellers.
const SELLERS: &[&str] = &["operator", "operator_2", "reseller_a", "reseller_b", "sub_reseller"];

/// Who sold `role` its account: the account above it, "provider" for the top level.
fn seller_of(role: &str) -> &'static str {
    match role {
        "customer_a1" | "customer_a2" | "sub_reseller" => "reseller_a",
        "customer_b1" | "customer_b2" => "reseller_b",
        "sub_customer" => "sub_reseller",
        _ => "provider",
    }
}

/// Who sells `role` its service: operators sell to themselves, the provider (the first
/// operator) to the top-level resellers, every other account's seller to it.
fn service_seller(role: &str) -> &str {
    match seller_of(role) {
        "provider" if Cast::is_operator(role) => role,
        "provider" => "operator",
        seller => seller,
    }
}

/// Whose plan a seller's plan is: operators sell the provider's.
fn plan_owner(seller: &str) -> &str {
    if Cast::is_operator(seller) {
        "provider"
    } else {
        seller
    }
}

/// The accounts of the matrix: the tree plus a second operator, so that "another
/// operator" is a target too.
struct Cast<'a> {
    tree: &'a Tree,
    accounts: Vec<(&'static str, &'a Account)>,
}

impl<'a> Cast<'a> {
    fn new(tree: &'a Tree, second_operator: &'a Account) -> Self {
        let mut accounts = tree.all();
        accounts.push(("operator_2", second_operator));
        Self { tree, accounts }
    }

    fn is_operator(role: &str) -> bool {
        role.starts_with("operator")
    }

    /// The roles strictly below `role`: for operators every non-operator account.
    fn below(&self, role: &str) -> Vec<&'static str> {
        if Self::is_operator(role) {
            self.accounts.iter().map(|(r, _)| *r).filter(|r| !Self::is_operator(r)).collect()
        } else {
            self.tree.below(role)
        }
    }

    fn id(&self, role: &str) -> &str {
        &self.accounts.iter().find(|(r, _)| *r == role).expect("role").1.id
    }
}

/// A status and, for an error, its problem code.
type Want = (u16, Option<&'static str>);

/// The account the matrix's grant of `grantor` goes to: the next one in the cast.
fn grantee_of<'a>(roles: &[&'a str], grantor: &str) -> &'a str {
    let at = roles.iter().position(|role| *role == grantor).expect("grantor in the cast");
    roles[(at + 1) % roles.len()]
}

/// What an impersonation token may never do, whatever the object: decided before reach.
fn refused_when_impersonating(route: &Route) -> bool {
    route.path.ends_with("/impersonate")
        || route.target == Target::ApiKey
        || route.target == Target::Grant && route.method != "GET"
}

/// The status the contract gives `caller` on `route` for `target`'s object, with the
/// problem code when it is an error.
fn expected(cast: &Cast, route: &Route, caller: &Caller, target: &str) -> Want {
    let impersonated = caller.impersonated;
    let caller = caller.role;
    match route.target {
        Target::Account if Tree::is_customer(caller) => (403, Some("forbidden")),
        _ if impersonated && refused_when_impersonating(route) => (403, Some("impersonation_forbidden")),
        Target::Account if cast.below(caller).contains(&target) => (route.success, None),
        Target::Account => (404, Some("not_found")),
        Target::ApiKey if caller == target => (route.success, None),
        Target::ApiKey => (404, Some("not_found")),
        // Reading: operators see every plan, others their own and the public plans of
        // whoever sold them their account.
        Target::Plan if route.method == "GET" => {
            let sees = Cast::is_operator(caller)
                || plan_owner(caller) == plan_owner(target) && !Tree::is_customer(caller)
                || seller_of(caller) == plan_owner(target);
            if sees {
                (route.success, None)
            } else {
                (404, Some("not_found"))
            }
        }
        // Changing: never a customer; operators any plan; resellers their own only.
        Target::Plan if Tree::is_customer(caller) => (403, Some("forbidden")),
        Target::Plan if Cast::is_operator(caller) || caller == target => (route.success, None),
        Target::Plan => (404, Some("not_found")),
        // Services: the caller's own and those below it (for operators every
        // non-operator's); customers, with nobody below, their own.
        // Routes only resellers and operators may call are refused to customers first.
        t if t.on_service() && Tree::is_customer(caller) && gate(route.path) != Gate::Reach => (403, Some("forbidden")),
        t if t.on_service() && !(caller == target || cast.below(caller).contains(&target)) => {
            match granted(target, caller).filter(|_| !impersonated) {
                None => (404, Some("not_found")),
                Some(permissions) if route.method == "GET" || permissions.contains(&permission_needed(route)) => {
                    (route.success, None)
                }
                Some(_) => (403, Some("insufficient_grant")),
            }
        }
        t if t.on_service() && caller == target && gate(route.path) == Gate::AboveOwner => (403, Some("forbidden")),
        t if t.on_service() && caller == target && gate(route.path) == Gate::Seller && !Cast::is_operator(caller) => {
            (403, Some("forbidden"))
        }
        Target::Service
        | Target::Domain
        | Target::DomainHost
        | Target::DnsRecord
        | Target::Mailbox
        | Target::Forward
        | Target::FtpUser
        | Target::Database
        | Target::Certificate => (route.success, None),
        Target::Ticket | Target::TicketAttachment => {
            if caller == target || cast.below(caller).contains(&target) {
                (route.success, None)
            } else {
                match granted(target, caller).filter(|_| !impersonated) {
                    None => (404, Some("not_found")),
                    Some(permissions) if permissions.contains(&"support") => (route.success, None),
                    Some(_) => (403, Some("insufficient_grant")),
                }
            }
        }
        Target::Order | Target::Invoice => {
            if caller == target || cast.below(caller).contains(&target) {
                (route.success, None)
            } else {
                match granted(target, caller).filter(|_| !impersonated) {
                    None => (404, Some("not_found")),
                    Some(permissions) if permissions.contains(&"billing") => (route.success, None),
                    Some(_) => (403, Some("insufficient_grant")),
                }
            }
        }
        Target::Job if caller == target => (route.success, None),
        Target::Job => (404, Some("not_found")),
        Target::Webhook | Target::WebhookDelivery if caller == target => (route.success, None),
        Target::Webhook | Target::WebhookDelivery => (404, Some("not_found")),
        Target::Grant => {
            let roles: Vec<&str> = cast.accounts.iter().map(|(role, _)| *role).collect();
            let grantor = caller == target;
            let grantee = caller == grantee_of(&roles, target);
            match (route.method, grantor, grantee) {
                (_, false, false) => (404, Some("not_found")),
                ("GET", ..) => (route.success, None),
                ("PATCH", true, _) | ("POST", _, true) => (route.success, None),
                ("PATCH", ..) | ("POST", ..) => (403, Some("forbidden")),
                ("DELETE", true, _) => (route.success, None),
                // The grantor withdrew it just before.
                _ => (404, Some("not_found")),
            }
        }
    }
}

fn send(server: &Server, method: &str, path: &str, token: &str, body: Option<Value>) -> Response {
    match body {
        Some(value) => server.send(method, path, Some(token), Body::Json(value), &[]),
        None => server.send(method, path, Some(token), Body::None, &[]),
    }
}

/// Checks one answer against its expected status; returns a failure line, if any.
fn check(response: &Response, want: Want, answer: Option<(&str, &str)>, cell: &str) -> Option<String> {
    // The resend is limited per client address, and every cell comes from 127.0.0.1:
    // the limit answers only after reach and role were decided, so it shows the same.
    if want.0 == 202 && response.status == 429 && response.code() == "rate_limited" {
        return None;
    }
    if response.status != want.0 {
        return Some(format!("{cell}: want {}, got {} {}", want.0, response.status, response.text));
    }
    match want.1 {
        Some(code) if response.code() != code => Some(format!("{cell}: want code {code}, got {}", response.body)),
        None if want.0 == 200 && answer.is_some_and(|(field, value)| response.body[field] != value) => {
            Some(format!("{cell}: answered another object: {}", response.body))
        }
        _ => None,
    }
}

/// The matrix sends each account more than the default 1,200 requests a minute when it
/// runs fast (it did: 429s on the last routes); the per-account limit has tests of its own
/// (conventions.rs), so here it is out of the way.
const MATRIX_ENV: &[(&str, &str)] =
    &[("HOSTADMIN_WEBHOOK_ALLOW_HOSTS", "127.0.0.1"), ("HOSTADMIN_REQUESTS_PER_MINUTE", "1000000")];

both_backends!(tenancy_matrix, env = MATRIX_ENV, |server| {
    let started = Instant::now();
    let tree = Tree::build(&server);
    let second_operator = server.operator("operator-2");
    let cast = Cast::new(&tree, &second_operator);
    let roles: Vec<&'static str> = cast.accounts.iter().map(|(role, _)| *role).collect();

    // One API key per account.
    let mut keys: Vec<(&'static str, String)> = Vec::new();
    for (role, account) in &cast.accounts {
        let created = server.post(
            "/v1/me/api-keys",
            Some(&account.token),
            json!({"name": format!("key of {role}"), "scopes": ["account:read"]}),
        );
        assert_eq!(created.status, 201, "{role} creates a key: {}", created.body);
        keys.push((role, created.str("id")));
    }
    let key_of = |role: &str| keys.iter().find(|(r, _)| *r == role).expect("key").1.clone();

    // One public plan per seller.
    let mut plans: Vec<(&'static str, String)> = Vec::new();
    for seller in SELLERS {
        let account = cast.accounts.iter().find(|(r, _)| r == seller).expect("seller").1;
        let created = server.post(
            "/v1/plans",
            Some(&account.token),
            json!({"name": format!("plan of {seller}"), "service_kind": "web_hosting", "public": true,
                   "prices": [{"cycle": "monthly", "amount_minor": 500, "currency": "EUR"}]}),
        );
        assert_eq!(created.status, 201, "{seller} creates a plan: {}", created.body);
        plans.push((seller, created.str("id")));
    }
    let plan_of = |role: &str| plans.iter().find(|(r, _)| *r == role).expect("plan").1.clone();

    // One service per account, sold on its seller's plan before the matrix archives it.
    let mut services: Vec<(&'static str, String)> = Vec::new();
    for (role, account) in &cast.accounts {
        let seller = service_seller(role);
        let seller_token = &cast.accounts.iter().find(|(r, _)| *r == seller).expect("seller").1.token;
        let created = server.post(
            "/v1/services",
            Some(seller_token),
            json!({"owner_id": account.id, "plan_id": plan_of(seller), "cycle": "monthly", "name": format!("service of {role}")}),
        );
        assert_eq!(created.status, 201, "{seller} sells {role} a service: {}", created.body);
        services.push((role, created.str("id")));
    }
    let service_of = |role: &str| services.iter().find(|(r, _)| *r == role).expect("service").1.clone();

    // One job per account: a bulk above the synchronous limit (ids that name nothing).
    let absent: Vec<String> = (0..101).map(|i| format!("0190a000-0000-7000-8000-{i:012x}")).collect();
    let mut jobs: Vec<(&'static str, String)> = Vec::new();
    for (role, account) in &cast.accounts {
        let created = server.post(
            "/v1/services/bulk",
            Some(&account.token),
            json!({"action": "set_auto_renew", "service_ids": absent, "params": {"auto_renew": false}}),
        );
        assert_eq!(created.status, 202, "{role} queues a job: {}", created.body);
        jobs.push((role, created.str("id")));
    }
    let job_of = |role: &str| jobs.iter().find(|(r, _)| *r == role).expect("job").1.clone();

    let token_of = |role: &str| cast.accounts.iter().find(|(r, _)| *r == role).expect("role").1.token.clone();
    let login_of = |role: &str| cast.accounts.iter().find(|(r, _)| *r == role).expect("role").1.login.clone();

    // The service grants, given and accepted.
    for (grantor, grantee, permissions) in SERVICE_GRANTS {
        let given = server.post(
            "/v1/authorizations",
            Some(&token_of(grantor)),
            json!({"grantee": login_of(grantee), "permissions": permissions}),
        );
        assert_eq!(given.status, 201, "{grantor} grants {grantee}: {}", given.body);
        let accepted =
            server.post(&format!("/v1/authorizations/{}/accept", given.str("id")), Some(&token_of(grantee)), json!({}));
        assert_eq!(accepted.status, 200, "{grantee} accepts: {}", accepted.body);
    }

    // One pending grant per account, to the next account of the cast, for its own service.
    let mut grants: Vec<(&'static str, String)> = Vec::new();
    for role in &roles {
        let given = server.post(
            "/v1/authorizations",
            Some(&token_of(role)),
            json!({"grantee": login_of(grantee_of(&roles, role)), "permissions": ["view"],
                   "service_ids": [service_of(role)]}),
        );
        assert_eq!(given.status, 201, "{role} grants the next account: {}", given.body);
        grants.push((role, given.str("id")));
    }
    let grant_of = |role: &str| grants.iter().find(|(r, _)| *r == role).expect("grant").1.clone();

    // The callers: every account, and the first operator logged in as a customer and as
    // a reseller.
    let mut callers: Vec<Caller> = roles
        .iter()
        .map(|role| Caller { name: (*role).to_owned(), role, token: token_of(role), impersonated: false })
        .collect();
    for role in ["customer_a1", "reseller_a"] {
        let token =
            server.post(&format!("/v1/customers/{}/impersonate", cast.id(role)), Some(&tree.operator.token), json!({}));
        assert_eq!(token.status, 201, "the operator logs in as {role}: {}", token.body);
        callers.push(Caller {
            name: format!("operator as {role}"),
            role,
            token: token.str("access_token"),
            impersonated: true,
        });
    }

    // Each account's hosting resources, made by the account itself on its service.
    let domain_of = |role: &str| format!("{}.test", role.replace('_', "-"));
    let mut resources: Vec<(Target, &'static str, String)> = Vec::new();
    for role in &roles {
        let (token, service, domain) = (token_of(role), service_of(role), domain_of(role));
        let mut make = |target: Target, path: String, body: Value, id_field: &str| {
            let made = server.post(&path, Some(&token), body);
            assert_eq!(made.status, 201, "{role}: POST {path}: {}", made.body);
            resources.push((target, role, made.str(id_field)));
        };
        make(Target::Domain, "/v1/domains".into(), json!({"name": domain, "service_id": service}), "name");
        make(
            Target::DomainHost,
            format!("/v1/domains/{domain}/hosts"),
            json!({"hostname": format!("ns1.{domain}"), "ips": ["192.0.2.1"]}),
            "hostname",
        );
        make(
            Target::DnsRecord,
            format!("/v1/domains/{domain}/dns/records"),
            json!({"type": "A", "name": "www", "content": "192.0.2.10"}),
            "id",
        );
        make(
            Target::Mailbox,
            format!("/v1/services/{service}/mailboxes"),
            json!({"address": format!("info@{domain}"), "password": PASSWORD}),
            "id",
        );
        make(
            Target::Forward,
            format!("/v1/services/{service}/forwards"),
            json!({"source": format!("sales@{domain}"), "destinations": ["someone@example.com"]}),
            "id",
        );
        make(
            Target::FtpUser,
            format!("/v1/services/{service}/ftp-users"),
            json!({"username": format!("ftp-{}", role.replace('_', "-")), "password": PASSWORD}),
            "id",
        );
        make(
            Target::Database,
            format!("/v1/services/{service}/databases"),
            json!({"name": "shop", "engine": "mysql", "user": "shop", "password": PASSWORD}),
            "id",
        );
        make(
            Target::Certificate,
            format!("/v1/services/{service}/certificates/csr"),
            json!({"common_name": domain, "sans": []}),
            "id",
        );
    }
    // One webhook endpoint per account (nothing listens on port 9), with a delivery.
    for role in &roles {
        let token = token_of(role);
        let made = server.post(
            "/v1/webhooks",
            Some(&token),
            json!({"url": "http://127.0.0.1:9/hook", "events": ["webhook.test"]}),
        );
        assert_eq!(made.status, 201, "{role} creates a webhook: {}", made.body);
        let webhook = made.str("id");
        let test = server.post(&format!("/v1/webhooks/{webhook}/test"), Some(&token), json!({}));
        assert_eq!(test.status, 202, "{role} sends a test event: {}", test.body);
        resources.push((Target::Webhook, role, webhook));
        resources.push((Target::WebhookDelivery, role, test.str("id")));
    }
    let resource_of = |target: Target, role: &str| {
        resources.iter().find(|(t, r, _)| *t == target && *r == role).expect("resource").2.clone()
    };

    // Each account but the operators opens a ticket about its service, with a file on it.
    let ticket_holders: Vec<&'static str> = roles.iter().copied().filter(|role| !Cast::is_operator(role)).collect();
    let mut tickets: Vec<(&'static str, String, String)> = Vec::new();
    for role in &ticket_holders {
        let token = token_of(role);
        let opened = server.post(
            "/v1/tickets",
            Some(&token),
            json!({"subject": format!("ticket of {role}"), "body": "help", "service_id": service_of(role)}),
        );
        assert_eq!(opened.status, 201, "{role} opens a ticket: {}", opened.body);
        let ticket = opened.str("id");
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
        let path = format!("/v1/tickets/{ticket}/attachments");
        let file = server.send("POST", &path, Some(&token), Body::Raw(Some("image/png"), png), &[]);
        assert_eq!(file.status, 201, "{role} attaches a file: {}", file.body);
        let message = json!({"body": "a file", "attachment_ids": [file.str("id")]});
        let sent = server.post(&format!("/v1/tickets/{ticket}/messages"), Some(&token), message);
        assert_eq!(sent.status, 201, "{role} sends the file: {}", sent.body);
        tickets.push((role, ticket, file.str("id")));
    }
    let ticket_of = |role: &str| tickets.iter().find(|(r, ..)| *r == role).expect("ticket").1.clone();

    // The sellers keep billing settings; each account but the operators orders a renewal
    // of its service, which issues its invoice.
    for seller in SELLERS {
        let settings = json!({"legal_name": format!("{seller} B.V."),
            "address": {"street": "Keizersgracht 1", "postal_code": "1015 CJ", "city": "Amsterdam", "country": "NL"}});
        let put = server.put("/v1/billing/settings", Some(&token_of(seller)), settings);
        assert_eq!(put.status, 200, "{seller} sets its billing settings: {}", put.body);
    }
    let mut orders: Vec<(&'static str, String, String)> = Vec::new();
    for role in &ticket_holders {
        let order = json!({"currency": "EUR", "items": [{"type": "renewal", "service_id": service_of(role)}]});
        let placed = server.post("/v1/orders", Some(&token_of(role)), order);
        assert_eq!(placed.status, 201, "{role} orders a renewal: {}", placed.body);
        orders.push((role, placed.str("id"), placed.str("invoice_id")));
    }
    let order_of = |role: &str| orders.iter().find(|(r, ..)| *r == role).expect("order").1.clone();
    let invoice_of = |role: &str| orders.iter().find(|(r, ..)| *r == role).expect("order").2.clone();
    let attachment_of = |role: &str| tickets.iter().find(|(r, ..)| *r == role).expect("ticket").2.clone();
    let built = started.elapsed();

    let mut failures = Vec::new();
    let mut checks = 0usize;
    let mut gone: BTreeSet<(&str, &str)> = BTreeSet::new();
    for route in ROUTES {
        // Every (caller, target) cell; a caller's own cell on its own key comes last, so
        // that a revocation cannot hide later cells.
        let targets: &[&str] = match route.target {
            Target::Plan => SELLERS,
            Target::Ticket | Target::TicketAttachment | Target::Order | Target::Invoice => &ticket_holders,
            _ => &roles,
        };
        let mut cells: Vec<(&Caller, &str)> = Vec::new();
        for caller in &callers {
            for target in targets {
                cells.push((caller, target));
            }
        }
        // Revocations and withdrawals end an object for the later cells: the cells that
        // end it come after every other caller's.
        match (route.target, route.method) {
            (Target::ApiKey, _) => cells.sort_by_key(|(caller, target)| caller.role == *target && !caller.impersonated),
            (Target::Grant, "DELETE") => cells.sort_by_key(|(caller, target)| {
                let grantor = !caller.impersonated && caller.role == *target;
                let grantee = !caller.impersonated && caller.role == grantee_of(&roles, target);
                (grantor || grantee, grantee)
            }),
            _ => {}
        }
        for (caller, target) in cells {
            let (id, sub) = match route.target {
                Target::Account => (cast.id(target).to_owned(), None),
                Target::ApiKey => (key_of(target), None),
                Target::Plan => (plan_of(target), None),
                Target::Service => (service_of(target), None),
                Target::Job => (job_of(target), None),
                Target::Grant => (grant_of(target), None),
                Target::Ticket => (ticket_of(target), None),
                Target::TicketAttachment => (ticket_of(target), Some(attachment_of(target))),
                Target::Order => (order_of(target), None),
                Target::Invoice => (invoice_of(target), None),
                Target::Domain => (domain_of(target), None),
                Target::Webhook => (resource_of(Target::Webhook, target), None),
                Target::WebhookDelivery => {
                    (resource_of(Target::Webhook, target), Some(resource_of(Target::WebhookDelivery, target)))
                }
                resource @ (Target::DomainHost | Target::DnsRecord) => {
                    (domain_of(target), Some(resource_of(resource, target)))
                }
                resource => (service_of(target), Some(resource_of(resource, target))),
            };
            let path = route.path.replace("{id}", &id).replace("{sub}", sub.as_deref().unwrap_or_default());
            // A 200 names the object of the path; lists, reports and zones about it do not.
            let answer = match &sub {
                _ if !route.path.ends_with('}') && !route.path.ends_with("/accept") => None,
                // A download answers the file, not a JSON object.
                _ if route.target == Target::TicketAttachment => None,
                Some(sub) => Some(("id", sub.as_str())),
                None if route.target == Target::Domain => Some(("name", id.as_str())),
                None => Some(("id", id.as_str())),
            };
            // Deleting a resource removes it for every later caller; a deleted domain
            // also hides the grant it was reached by (its name is looked up first).
            let deletes = route.method == "DELETE"
                && (route.target.on_service() || route.target == Target::Webhook)
                && route.path.ends_with('}');
            let mut want = expected(&cast, route, caller, target);
            let lookup_found =
                want.0 == route.success || route.target == Target::Domain && want.1 == Some("insufficient_grant");
            if deletes && lookup_found && gone.contains(&(route.path, target)) {
                want = (404, Some("not_found"));
            }
            let response = send(&server, route.method, &path, &caller.token, route.body.map(|body| body()));
            if deletes && response.status == 204 {
                gone.insert((route.path, target));
            }
            let cell = format!("{} {} as {} on {target}'s", route.method, route.path, caller.name);
            failures.extend(check(&response, want, answer, &cell));
            checks += 1;
        }
    }
    let targets_of = |target: Target| match target {
        Target::Plan => SELLERS.len(),
        Target::Ticket | Target::TicketAttachment | Target::Order | Target::Invoice => ticket_holders.len(),
        _ => roles.len(),
    };
    let matrix: usize = ROUTES.iter().map(|r| callers.len() * targets_of(r.target)).sum();
    eprintln!(
        "tenancy matrix ({}): {} routes x {} callers x their targets = {matrix} cells",
        server.backend,
        ROUTES.len(),
        callers.len()
    );

    // A revoked key is gone for its owner too.
    for role in &roles {
        let path = format!("/v1/me/api-keys/{}", key_of(role));
        let token = &cast.accounts.iter().find(|(r, _)| r == role).expect("role").1.token;
        let response = server.get(&path, Some(token));
        failures.extend(check(
            &response,
            (404, Some("not_found")),
            None,
            &format!("GET {path} as {role} after its revocation"),
        ));
        checks += 1;
    }

    // The list: exactly the accounts below the caller, on one page.
    for (role, account) in &cast.accounts {
        let list = server.get("/v1/customers?limit=100", Some(&account.token));
        checks += 1;
        if Tree::is_customer(role) {
            failures.extend(check(&list, (403, Some("forbidden")), None, &format!("GET /v1/customers as {role}")));
            continue;
        }
        let want: BTreeSet<&str> = cast.below(role).iter().map(|target| cast.id(target)).collect();
        let ids = list.ids();
        let got: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        if list.status != 200 || got != want || ids.len() != got.len() || !list.body["next_cursor"].is_null() {
            failures.push(format!(
                "GET /v1/customers?limit=100 as {role}: want {want:?}, got {} {}",
                list.status, list.text
            ));
        }
    }

    // The service list: exactly the caller's own, those below it and those granted to it
    // (not under an impersonation token), on one page, each with its owner.
    for caller in &callers {
        let list = server.get("/v1/services?limit=100", Some(&caller.token));
        checks += 1;
        let mut owners = cast.below(caller.role);
        owners.push(caller.role);
        if !caller.impersonated {
            owners.extend(SERVICE_GRANTS.iter().filter(|(_, to, _)| *to == caller.role).map(|(from, _, _)| *from));
        }
        let want: BTreeSet<String> = owners.iter().map(|owner| service_of(owner)).collect();
        let ids = list.ids();
        let got: BTreeSet<String> = ids.iter().cloned().collect();
        let owned_right = list.body["data"].as_array().is_some_and(|services| {
            services.iter().all(|service| {
                let owner = roles.iter().find(|role| service["id"] == service_of(role).as_str());
                owner.is_some_and(|owner| service["owner_id"] == cast.id(owner))
            })
        });
        if list.status != 200
            || got != want
            || ids.len() != got.len()
            || !owned_right
            || !list.body["next_cursor"].is_null()
        {
            failures.push(format!(
                "GET /v1/services?limit=100 as {}: want {want:?}, got {} {}",
                caller.name, list.status, list.text
            ));
        }
    }

    // Creating: a customer may never call it, with a body that is valid for the others.
    for (role, account) in &cast.accounts {
        let login = format!("new-{}", role.replace('_', "-"));
        let body =
            json!({"login": login, "password": PASSWORD, "name": "New", "email": format!("{login}@example.test")});
        let create = server.post("/v1/customers", Some(&account.token), body);
        checks += 1;
        let want = if Tree::is_customer(role) { (403, Some("forbidden")) } else { (201, None) };
        failures.extend(check(&create, want, None, &format!("POST /v1/customers as {role}")));
    }

    // Malformed ids are 404, even where the well-formed id would be reachable; a
    // customer still gets 403 first. The key is a fresh one: the matrix revoked the others.
    let operator = &tree.operator.token;
    let reseller_a = &tree.reseller_a.token;
    let customer = &tree.customer_a1.token;
    let fresh = server.post("/v1/me/api-keys", Some(customer), json!({"name": "fresh", "scopes": ["account:read"]}));
    assert_eq!(fresh.status, 201, "{}", fresh.body);
    let fresh_key = fresh.str("id");
    let reseller_id = &tree.reseller_a.id;
    let customer_id = &tree.customer_a1.id;
    let not_found = (404, Some("not_found"));
    let malformed: Vec<(&str, String, &str, Want)> = vec![
        ("GET", "/v1/customers/not-a-uuid".into(), operator, not_found),
        ("PATCH", "/v1/customers/not-a-uuid".into(), operator, not_found),
        ("GET", format!("/v1/customers/{}", reseller_id.to_uppercase()), operator, not_found),
        ("PATCH", format!("/v1/customers/{}", reseller_id.to_uppercase()), operator, not_found),
        ("GET", format!("/v1/customers/{}", customer_id.to_uppercase()), reseller_a, not_found),
        ("GET", format!("/v1/customers/{}", customer_id.replace('-', "")), reseller_a, not_found),
        ("GET", format!("/v1/customers/%7B{customer_id}%7D"), reseller_a, not_found),
        ("GET", format!("/v1/customers/{customer_id}%20"), reseller_a, not_found),
        ("GET", "/v1/customers/00000000-0000-0000-0000-000000000000".into(), operator, not_found),
        ("GET", "/v1/customers/not-a-uuid".into(), customer, (403, Some("forbidden"))),
        ("GET", "/v1/me/api-keys/not-a-uuid".into(), customer, not_found),
        ("GET", format!("/v1/me/api-keys/{}", fresh_key.to_uppercase()), customer, not_found),
        ("DELETE", format!("/v1/me/api-keys/{}", fresh_key.to_uppercase()), customer, not_found),
        // ... and the uppercase DELETE revoked nothing.
        ("GET", format!("/v1/me/api-keys/{fresh_key}"), customer, (200, None)),
        ("GET", "/v1/services/not-a-uuid".into(), customer, not_found),
        ("PATCH", "/v1/services/not-a-uuid".into(), operator, not_found),
        ("GET", format!("/v1/services/{}", service_of("customer_a1").to_uppercase()), customer, not_found),
        ("PATCH", format!("/v1/services/{}", service_of("customer_a1").to_uppercase()), reseller_a, not_found),
        ("POST", "/v1/customers/not-a-uuid/suspend".into(), operator, not_found),
        ("GET", format!("/v1/customers/{}/restrictions", customer_id.to_uppercase()), reseller_a, not_found),
        ("POST", format!("/v1/customers/{}/impersonate", customer_id.to_uppercase()), reseller_a, not_found),
        ("GET", "/v1/authorizations/not-a-uuid".into(), customer, not_found),
        ("GET", "/v1/domains/not_a..domain".into(), customer, not_found),
        ("GET", "/v1/domains/co.uk".into(), operator, not_found),
        ("GET", format!("/v1/services/{}/mailboxes/not-a-uuid", service_of("customer_a1")), customer, not_found),
        ("GET", format!("/v1/services/{}/databases/not-a-uuid", service_of("customer_a1")), reseller_a, not_found),
        ("GET", format!("/v1/services/{}/ftp-users/0", service_of("customer_a1")), operator, not_found),
    ];
    for (method, path, token, want) in &malformed {
        let body = match *method {
            "PATCH" => Some(json!({"name": "Renamed"})),
            "POST" => Some(json!({"reason": 5})),
            _ => None,
        };
        let response = send(&server, method, path, token, body);
        let answer = (want.0 == 200).then_some(("id", fresh_key.as_str()));
        failures.extend(check(&response, *want, answer, &format!("{method} {path}")));
        checks += 1;
    }

    eprintln!(
        "tenancy ({}): {checks} checks in {:.1?} (tree and keys built in {built:.1?})",
        server.backend,
        started.elapsed()
    );
    assert!(failures.is_empty(), "{} of {checks} checks failed:\n{}", failures.len(), failures.join("\n"));
});

/// A path with every parameter written `{}`, so `{name}` in the document and `{id}` or
/// `{sub}` in the matrix compare equal.
fn shape(path: &str) -> String {
    let mut shaped = String::new();
    let mut in_parameter = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_parameter = true;
                shaped.push_str("{}");
            }
            '}' => in_parameter = false,
            _ if in_parameter => {}
            _ => shaped.push(c),
        }
    }
    shaped
}

/// Routes with an id that need no row (HEAD needs none either: it answers as GET does,
/// and the matrix walks the GET). The status page is one per installation, written by
/// operators only (`Action::ManageStatus`, `ReadStatusComponents`): its components and
/// incidents belong to no tenant, so there is no other tenant's object to hide.
const NOT_IN_MATRIX: &[(&str, &str)] = &[
    // Billing's changes are walked by tests/api/billing.rs
    // (billing_is_reached_by_the_buyer_and_above_only, a_grant_with_billing_...): each
    // changes the invoice or order for every later cell. Credit is the seller's directly
    // above only, which the account rows of this matrix do not model.
    ("POST", "/v1/orders/{id}/cancel"),
    ("POST", "/v1/invoices/{id}/payments"),
    ("POST", "/v1/invoices/{id}/apply-credit"),
    ("POST", "/v1/invoices/{id}/void"),
    ("POST", "/v1/invoices/{id}/credit-note"),
    ("GET", "/v1/customers/{id}/credit"),
    ("POST", "/v1/customers/{id}/credit"),
    ("GET", "/v1/customers/{id}/credit/transactions"),
    ("GET", "/v1/status/components/{id}"),
    ("PATCH", "/v1/status/components/{id}"),
    ("DELETE", "/v1/status/components/{id}"),
    ("GET", "/v1/status/incidents/{id}"),
    ("PATCH", "/v1/status/incidents/{id}"),
    ("POST", "/v1/status/incidents/{id}/updates"),
];

// Every `{id}` route of the OpenAPI document has a row in the matrix, so a new route
// cannot skip the tenancy checks by being forgotten here.
#[test]
fn every_route_with_an_id_has_a_row_in_the_matrix() {
    let document: Value = serde_json::from_str(include_str!("../../openapi/v1.json")).expect("openapi/v1.json is JSON");
    let rows: BTreeSet<(String, String)> =
        ROUTES.iter().map(|route| (route.method.to_owned(), shape(route.path))).collect();
    let exempt: BTreeSet<(String, String)> =
        NOT_IN_MATRIX.iter().map(|(method, path)| ((*method).to_owned(), shape(path))).collect();
    let mut missing = Vec::new();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        if !path.contains('{') {
            continue;
        }
        for method in operations.as_object().expect("operations").keys() {
            let method = method.to_uppercase();
            if method == "HEAD" || method == "PARAMETERS" {
                continue;
            }
            let key = (method, shape(path));
            if !rows.contains(&key) && !exempt.contains(&key) {
                missing.push(format!("{} {path}", key.0));
            }
        }
    }
    assert!(missing.is_empty(), "routes with an id but no row in the tenancy matrix:\n{}", missing.join("\n"));
}
