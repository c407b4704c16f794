//! Authorized users: an account grants another account permissions on services it
//! owns; the grantee accepts. This module says what each permission allows, so that the
//! routes ask one function instead of deciding grant by grant.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a grant lets its grantee do with the grantor's services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Read the services.
    View,
    /// `view`, and every action that charges nothing (rename, cancel, passwords) and the
    /// hosting resources.
    Manage,
    /// Renew, change plan and quotes (invoices once billing exists).
    Billing,
    /// Support tickets about the services (once support exists).
    Support,
}

impl Permission {
    pub const ALL: [Permission; 4] = [Self::View, Self::Manage, Self::Billing, Self::Support];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Manage => "manage",
            Self::Billing => "billing",
            Self::Support => "support",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|permission| permission.as_str() == text)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The permissions of one grant, or of all the grants that cover one service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionSet(BTreeSet<Permission>);

impl PermissionSet {
    /// Whether these permissions allow what `needed` stands for. Every grant lets its
    /// grantee see the services it covers (they are listed anyway): acting on a service
    /// one may not read would make no sense, so any permission implies `view`.
    pub fn allows(&self, needed: Permission) -> bool {
        match needed {
            Permission::View => !self.0.is_empty(),
            other => self.0.contains(&other),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        self.0.iter().copied()
    }

    /// Adds the permissions of another grant covering the same service.
    pub fn merge(&mut self, other: &PermissionSet) {
        self.0.extend(other.0.iter().copied());
    }

    /// The stored form: names separated by commas, in a fixed order.
    pub fn to_storage(&self) -> String {
        self.0.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",")
    }

    /// Reads the stored form; names this version does not know are dropped, so that a
    /// permission added later never widens an older server's idea of a grant.
    pub fn from_storage(stored: &str) -> Self {
        stored.split(',').filter_map(Permission::parse).collect()
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// Where a grant stands. A declined, withdrawn or given-back grant is deleted (the audit
/// log keeps its history), so these are the only states a stored grant has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    /// Given, not yet accepted: it gives nothing yet.
    Pending,
    /// Accepted: in force from the next request on.
    Active,
}

impl GrantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Active].into_iter().find(|status| status.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(permissions: &[Permission]) -> PermissionSet {
        permissions.iter().copied().collect()
    }

    #[test]
    fn the_stored_form_round_trips_and_ignores_unknown_names() {
        let permissions = set(&[Permission::Billing, Permission::View]);
        assert_eq!(permissions.to_storage(), "view,billing");
        assert_eq!(PermissionSet::from_storage("view,billing"), permissions);
        assert_eq!(PermissionSet::from_storage("view,invoices"), set(&[Permission::View]));
        let mut merged = set(&[Permission::View]);
        merged.merge(&set(&[Permission::Manage]));
        assert!(merged.allows(Permission::Manage));
    }
}
