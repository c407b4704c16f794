//! API key scopes: what an integration's key may touch. A key never does more than
//! its owner could.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
pub enum Scope {
    #[serde(rename = "account:read")]
    AccountRead,
    #[serde(rename = "customers:read")]
    CustomersRead,
    #[serde(rename = "customers:write")]
    CustomersWrite,
    #[serde(rename = "authorizations:read")]
    AuthorizationsRead,
    #[serde(rename = "authorizations:write")]
    AuthorizationsWrite,
    #[serde(rename = "catalog:read")]
    CatalogRead,
    #[serde(rename = "catalog:write")]
    CatalogWrite,
    #[serde(rename = "services:read")]
    ServicesRead,
    #[serde(rename = "services:write")]
    ServicesWrite,
    #[serde(rename = "domains:read")]
    DomainsRead,
    #[serde(rename = "domains:write")]
    DomainsWrite,
    #[serde(rename = "dns:read")]
    DnsRead,
    #[serde(rename = "dns:write")]
    DnsWrite,
    #[serde(rename = "mail:read")]
    MailRead,
    #[serde(rename = "mail:write")]
    MailWrite,
    #[serde(rename = "hosting:read")]
    HostingRead,
    #[serde(rename = "hosting:write")]
    HostingWrite,
    #[serde(rename = "impersonate")]
    Impersonate,
    #[serde(rename = "webhooks:read")]
    WebhooksRead,
    #[serde(rename = "webhooks:write")]
    WebhooksWrite,
    #[serde(rename = "support:read")]
    SupportRead,
    #[serde(rename = "support:write")]
    SupportWrite,
    #[serde(rename = "billing:read")]
    BillingRead,
    #[serde(rename = "billing:write")]
    BillingWrite,
}

impl Scope {
    pub const ALL: [Scope; 24] = [
        Self::AccountRead,
        Self::CustomersRead,
        Self::CustomersWrite,
        Self::AuthorizationsRead,
        Self::AuthorizationsWrite,
        Self::CatalogRead,
        Self::CatalogWrite,
        Self::ServicesRead,
        Self::ServicesWrite,
        Self::DomainsRead,
        Self::DomainsWrite,
        Self::DnsRead,
        Self::DnsWrite,
        Self::MailRead,
        Self::MailWrite,
        Self::HostingRead,
        Self::HostingWrite,
        Self::Impersonate,
        Self::WebhooksRead,
        Self::WebhooksWrite,
        Self::SupportRead,
        Self::SupportWrite,
        Self::BillingRead,
        Self::BillingWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountRead => "account:read",
            Self::CustomersRead => "customers:read",
            Self::CustomersWrite => "customers:write",
            Self::AuthorizationsRead => "authorizations:read",
            Self::AuthorizationsWrite => "authorizations:write",
            Self::CatalogRead => "catalog:read",
            Self::CatalogWrite => "catalog:write",
            Self::ServicesRead => "services:read",
            Self::ServicesWrite => "services:write",
            Self::DomainsRead => "domains:read",
            Self::DomainsWrite => "domains:write",
            Self::DnsRead => "dns:read",
            Self::DnsWrite => "dns:write",
            Self::MailRead => "mail:read",
            Self::MailWrite => "mail:write",
            Self::HostingRead => "hosting:read",
            Self::HostingWrite => "hosting:write",
            Self::Impersonate => "impersonate",
            Self::WebhooksRead => "webhooks:read",
            Self::WebhooksWrite => "webhooks:write",
            Self::SupportRead => "support:read",
            Self::SupportWrite => "support:write",
            Self::BillingRead => "billing:read",
            Self::BillingWrite => "billing:write",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == text)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scopes of one key, stored as a space-separated list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn to_storage(&self) -> String {
        self.0.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    }

    /// Reads a stored list; a name this version does not know grants nothing.
    pub fn from_storage(text: &str) -> Self {
        Self(text.split_whitespace().filter_map(Scope::parse).collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_round_trips_through_its_name() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(json, format!("\"{}\"", scope.as_str()));
        }
        assert_eq!(Scope::parse("customers:delete"), None);
    }

    #[test]
    fn scope_sets_round_trip_through_storage() {
        let set: ScopeSet = [Scope::CustomersWrite, Scope::AccountRead].into_iter().collect();
        assert_eq!(set.to_storage(), "account:read customers:write");
        assert_eq!(ScopeSet::from_storage(&set.to_storage()), set);
        assert_eq!(ScopeSet::from_storage("account:read retired:scope").to_storage(), "account:read");
    }
}
