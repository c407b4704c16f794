//! The provisioner interface: every change a real server must carry out (a service is
//! created, suspended, unsuspended, terminated, moved to another plan) is handed to a
//! [`Provisioner`], which either completes it at once ([`Outcome::Done`]) or accepts it
//! for the worker to carry out later ([`Outcome::Deferred`]). docs/provisioning.md
//! describes it for driver authors.
//!
//! Plain data and one trait, no I/O: the drivers live in the API crate.

use serde::{Deserialize, Serialize};

use crate::catalog::{Quotas, ServiceKind};
use crate::login_links::{Tool, TOKEN_PLACEHOLDER};
use crate::services::ServiceStatus;

/// What a driver needs to know about a service, as it is after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub service_id: String,
    /// The human service number, unique across the installation (a good name for the
    /// account on the server: `s1042`).
    pub number: i64,
    pub kind: ServiceKind,
    pub owner_id: String,
    /// The plan the service is on (after a plan change, the new one).
    pub plan_id: String,
    /// The plan's quotas with the add-ons', as sold (after a plan change, the new ones).
    pub quotas: Quotas,
}

/// One change a provisioner carries out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum Operation {
    /// Set the service up on a server.
    Create { service: ServiceSpec },
    /// Switch it off, keeping its data.
    Suspend { service: ServiceSpec },
    /// Switch a suspended service on again.
    Unsuspend { service: ServiceSpec },
    /// Remove it for good.
    Terminate { service: ServiceSpec },
    /// Apply the plan and quotas in `service` (the new ones); `from_plan_id` was the old plan.
    ChangePlan { service: ServiceSpec, from_plan_id: String },
    /// Create, change or remove one hosting resource of the service (a domain, its DNS
    /// zone, a mailbox, a forward, an FTP user, a database, a certificate).
    Resource { service: ServiceSpec, change: ResourceChange },
}

/// The kinds of hosting resource a driver is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Domain,
    /// The whole zone of a domain, sent again after any record changed.
    DnsZone,
    Mailbox,
    Forward,
    FtpUser,
    Database,
    Certificate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceAction {
    Create,
    Update,
    Delete,
}

/// One resource change. `spec` is the resource as the driver needs it, after the change
/// (before it, for a deletion): never a password in clear. Mailbox and FTP passwords
/// travel as the hashes the mail and FTP servers verify; database passwords and private
/// keys sealed with the installation's encryption key, which the driver opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceChange {
    pub kind: ResourceKind,
    pub action: ResourceAction,
    /// The resource's id in hostadmin.
    pub id: String,
    pub spec: serde_json::Value,
}

impl Operation {
    pub fn service(&self) -> &ServiceSpec {
        match self {
            Self::Create { service }
            | Self::Suspend { service }
            | Self::Unsuspend { service }
            | Self::Terminate { service }
            | Self::ChangePlan { service, .. }
            | Self::Resource { service, .. } => service,
        }
    }

    /// A stable name for logs and job parameters.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Create { .. } => "create",
            Self::Suspend { .. } => "suspend",
            Self::Unsuspend { .. } => "unsuspend",
            Self::Terminate { .. } => "terminate",
            Self::ChangePlan { .. } => "change_plan",
            Self::Resource { .. } => "resource",
        }
    }

    /// The operation a lifecycle move from `from` to `to` asks of the server, if any:
    /// active → suspended, suspended → active, anything → terminated. Other moves
    /// (cancellation, expiry, renewal) change nothing on a server today.
    pub fn for_transition(from: ServiceStatus, to: ServiceStatus, service: ServiceSpec) -> Option<Self> {
        use ServiceStatus as S;
        match (from, to) {
            (S::Active, S::Suspended) => Some(Self::Suspend { service }),
            (S::Suspended, S::Active) => Some(Self::Unsuspend { service }),
            (from, S::Terminated) if from != S::Terminated => Some(Self::Terminate { service }),
            _ => None,
        }
    }
}

/// A provisioner's answer to an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Carried out now; the service's local state is final.
    Done,
    /// Accepted: the worker calls [`Provisioner::carry_out`] later (and again until it
    /// succeeds). A created service stays `pending` until then.
    Deferred,
}

/// Why a provisioner could not carry out an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvisioningError {
    /// Worth trying again later: the server is unreachable, busy, timed out.
    #[error("temporary: {0}")]
    Retry(String),
    /// Trying again will not help: the server refused the operation.
    #[error("refused: {0}")]
    Refused(String),
}

/// A driver for the servers that host the services (built in: the local one; others:
/// Plesk, cPanel, PowerDNS, ...).
///
/// [`Provisioner::request`] is called inside the transaction that changes the service
/// (and may be called again when that transaction is retried), so it must be quick and
/// must not talk to a slow server: a driver that does network I/O answers
/// [`Outcome::Deferred`] and does the work in [`Provisioner::carry_out`], which the
/// worker calls outside any transaction. `carry_out` may be called again for an
/// operation that already succeeded (a worker crashed before recording it), so a driver
/// must treat a repeated operation as success.
pub trait Provisioner: Send + Sync {
    /// The driver's name, as the `provisioner` setting spells it.
    fn name(&self) -> &'static str;

    /// Completes `operation` now, or accepts it for the worker. An error refuses the
    /// change: the service is not changed (`503` to the caller).
    fn request(&self, operation: &Operation) -> Result<Outcome, ProvisioningError>;

    /// Carries out an operation [`Provisioner::request`] deferred.
    fn carry_out(&self, operation: &Operation) -> Result<(), ProvisioningError>;

    /// A one-click login link to one of the service's tools, or `None` when the service
    /// does not offer the tool. Called outside any transaction. The built-in way, which a
    /// driver keeps unless its servers make their own links: the configured URL template
    /// with the token hostadmin will honour at `POST /v1/login-links/redeem`.
    fn login_link(&self, request: &LoginLinkRequest) -> Result<Option<LoginLink>, ProvisioningError> {
        Ok(request.from_template())
    }
}

/// What a driver is asked for when a login link is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLinkRequest {
    pub service: ServiceSpec,
    pub tool: Tool,
    /// The single-use token hostadmin will honour; a driver whose tools redeem it puts
    /// it in the link.
    pub token: String,
    /// The URL template the configuration has for this tool, if any.
    pub template: Option<String>,
}

/// A driver's link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLink {
    pub url: String,
    /// Whom the tool logs in: the service's account on the server.
    pub login: String,
}

impl LoginLinkRequest {
    /// The service's account name on the server: `s` and its number (`s1042`).
    pub fn server_login(&self) -> String {
        format!("s{}", self.service.number)
    }

    /// The template with the token in it, for a tool the service's kind offers; `None`
    /// when the kind lacks the tool or no template is configured.
    pub fn from_template(&self) -> Option<LoginLink> {
        if !self.tool.offered_by(self.service.kind) {
            return None;
        }
        let template = self.template.as_deref()?;
        Some(LoginLink { url: template.replace(TOKEN_PLACEHOLDER, &self.token), login: self.server_login() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ServiceSpec {
        ServiceSpec {
            service_id: "s".into(),
            number: 1,
            kind: ServiceKind::WebHosting,
            owner_id: "o".into(),
            plan_id: "p".into(),
            quotas: Quotas::default(),
        }
    }

    #[test]
    fn transitions_map_to_operations() {
        use ServiceStatus as S;
        let name = |from, to| Operation::for_transition(from, to, spec()).map(|op| op.name());
        assert_eq!(name(S::Active, S::Suspended), Some("suspend"));
        assert_eq!(name(S::Suspended, S::Active), Some("unsuspend"));
        assert_eq!(name(S::Active, S::Terminated), Some("terminate"));
        assert_eq!(name(S::Suspended, S::Terminated), Some("terminate"));
        assert_eq!(name(S::Active, S::Active), None);
        assert_eq!(name(S::Expired, S::Active), None);
        assert_eq!(name(S::Active, S::Cancelled), None);
    }

    #[test]
    fn the_built_in_login_link_fills_the_template_for_a_tool_the_service_has() {
        let request = |kind, tool, template: Option<&str>| LoginLinkRequest {
            service: ServiceSpec { kind, number: 1042, ..spec() },
            tool,
            token: "abc_-9".into(),
            template: template.map(str::to_owned),
        };
        let template = Some("https://mail.example/sso?t={token}");
        assert_eq!(
            request(ServiceKind::WebHosting, Tool::Webmail, template).from_template(),
            Some(LoginLink { url: "https://mail.example/sso?t=abc_-9".into(), login: "s1042".into() })
        );
        assert_eq!(request(ServiceKind::WebHosting, Tool::Webmail, None).from_template(), None, "not configured");
        assert_eq!(request(ServiceKind::Domain, Tool::Panel, template).from_template(), None, "a domain has no panel");
    }

    #[test]
    fn operations_round_trip_as_json() {
        let op = Operation::ChangePlan { service: spec(), from_plan_id: "old".into() };
        let text = serde_json::to_string(&op).unwrap();
        assert!(text.contains("\"operation\":\"change_plan\""), "{text}");
        assert_eq!(serde_json::from_str::<Operation>(&text).unwrap(), op);
    }
}
