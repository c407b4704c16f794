//! Restrictions: actions a seller switched off for an account and everything below it.
//! The names are the contract's (`dns.write`, `service.cancel`, ...); the list grows
//! with the features it covers, and the policy is the one place that applies it.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An action a seller may disable below itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
pub enum RestrictableAction {
    /// Create or change customer accounts below (resellers).
    #[serde(rename = "customer.write")]
    CustomerWrite,
    /// Order new services.
    #[serde(rename = "service.create")]
    ServiceCreate,
    /// Cancel a service or withdraw a cancellation.
    #[serde(rename = "service.cancel")]
    ServiceCancel,
    /// Move a service to another plan.
    #[serde(rename = "service.change_plan")]
    ServiceChangePlan,
    /// Renew a service.
    #[serde(rename = "service.renew")]
    ServiceRenew,
    /// Set or generate a service's password.
    #[serde(rename = "service.password")]
    ServicePassword,
    /// Give, change or accept authorized-user grants.
    #[serde(rename = "authorizations.write")]
    AuthorizationsWrite,
    /// Add, move or change domains.
    #[serde(rename = "domain.write")]
    DomainWrite,
    /// Change a domain's name servers.
    #[serde(rename = "domain.nameservers")]
    DomainNameservers,
    /// Lock or unlock a domain.
    #[serde(rename = "domain.lock")]
    DomainLock,
    /// Delete a domain.
    #[serde(rename = "domain.delete")]
    DomainDelete,
    /// Change DNS records.
    #[serde(rename = "dns.write")]
    DnsWrite,
    /// Change mailboxes and forwards.
    #[serde(rename = "mail.write")]
    MailWrite,
    /// Change FTP users, databases and certificates.
    #[serde(rename = "hosting.write")]
    HostingWrite,
    /// Open tickets, answer them, change them, attach files.
    #[serde(rename = "support.write")]
    SupportWrite,
}

impl RestrictableAction {
    pub const ALL: [RestrictableAction; 15] = [
        Self::CustomerWrite,
        Self::ServiceCreate,
        Self::ServiceCancel,
        Self::ServiceChangePlan,
        Self::ServiceRenew,
        Self::ServicePassword,
        Self::AuthorizationsWrite,
        Self::DomainWrite,
        Self::DomainNameservers,
        Self::DomainLock,
        Self::DomainDelete,
        Self::DnsWrite,
        Self::MailWrite,
        Self::HostingWrite,
        Self::SupportWrite,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::CustomerWrite => "customer.write",
            Self::ServiceCreate => "service.create",
            Self::ServiceCancel => "service.cancel",
            Self::ServiceChangePlan => "service.change_plan",
            Self::ServiceRenew => "service.renew",
            Self::ServicePassword => "service.password",
            Self::AuthorizationsWrite => "authorizations.write",
            Self::DomainWrite => "domain.write",
            Self::DomainNameservers => "domain.nameservers",
            Self::DomainLock => "domain.lock",
            Self::DomainDelete => "domain.delete",
            Self::DnsWrite => "dns.write",
            Self::MailWrite => "mail.write",
            Self::HostingWrite => "hosting.write",
            Self::SupportWrite => "support.write",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.name() == name)
    }
}

impl fmt::Display for RestrictableAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The disabled actions in force for an account: its own and every ancestor's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Restrictions(BTreeSet<RestrictableAction>);

impl Restrictions {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn contains(&self, action: RestrictableAction) -> bool {
        self.0.contains(&action)
    }

    pub fn iter(&self) -> impl Iterator<Item = RestrictableAction> + '_ {
        self.0.iter().copied()
    }

    /// Stored as a space-separated list of names; unknown names (from a newer version)
    /// are skipped rather than failing every request of the account.
    pub fn to_storage(&self) -> String {
        self.iter().map(RestrictableAction::name).collect::<Vec<_>>().join(" ")
    }

    pub fn from_storage(stored: &str) -> Self {
        stored.split_whitespace().filter_map(RestrictableAction::parse).collect()
    }

    /// Union with the restrictions of another level of the tree.
    pub fn merge(&mut self, other: Restrictions) {
        self.0.extend(other.0);
    }
}

impl FromIterator<RestrictableAction> for Restrictions {
    fn from_iter<I: IntoIterator<Item = RestrictableAction>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<const N: usize> From<[RestrictableAction; N]> for Restrictions {
    fn from(actions: [RestrictableAction; N]) -> Self {
        actions.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_through_its_name_and_storage() {
        for action in RestrictableAction::ALL {
            assert_eq!(RestrictableAction::parse(action.name()), Some(action));
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.name()));
        }
        let all: Restrictions = RestrictableAction::ALL.into_iter().collect();
        assert_eq!(Restrictions::from_storage(&all.to_storage()), all);
        assert_eq!(Restrictions::from_storage(""), Restrictions::none());
        assert_eq!(Restrictions::from_storage("dns.write from.the.future"), [RestrictableAction::DnsWrite].into());
    }
}
