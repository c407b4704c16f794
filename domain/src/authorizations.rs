//! Authorized users: an account grants another account permissions on services it
//! owns; the grantee accepts. This module says what each permission allows, so that the
//! routes ask one function instead of deciding grant by grant.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::policy::Action;

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

/// How a caller reached a service: as its owner or seller, or through grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The service is the caller's own, or below it in the tree (its seller's reach).
    Own,
    /// Only through active grants to the caller; the union of their permissions.
    Granted(PermissionSet),
}

/// Why a grant does not allow an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantRefusal {
    /// The grant lacks this permission.
    Missing(Permission),
    /// No permission allows it: only the owner or its sellers do this.
    Never,
}

impl GrantRefusal {
    pub const CODE: &'static str = "insufficient_grant";

    pub fn detail(&self) -> String {
        match self {
            Self::Missing(permission) => format!("the grant does not include the `{permission}` permission"),
            Self::Never => "no grant allows this action; only the owner or its sellers may take it".to_owned(),
        }
    }
}

/// The permission a grantee needs for a service action; `None` when no grant allows it
/// (suspending and terminating are for the sellers above the owner).
///
/// Renewing and changing plans need `billing`; until billing exists they are also free,
/// so the routes still leave applying them to the owner's sellers and a grantee with
/// `billing` may only ask for quotes.
pub fn needed_for(action: Action) -> Option<Permission> {
    match action {
        Action::ListServices
        | Action::ReadService
        | Action::ReadServiceUsage
        | Action::ReadDomains
        | Action::ReadDns
        | Action::ReadMail
        | Action::ReadHosting => Some(Permission::View),
        // The hosting resources are `manage`'s: everything but charging.
        Action::UpdateService
        | Action::CancelService
        | Action::SetServicePassword
        | Action::WriteDomains
        | Action::SetDomainNameservers
        | Action::LockDomain
        | Action::DeleteDomain
        | Action::WriteDns
        | Action::WriteMail
        | Action::WriteHosting => Some(Permission::Manage),
        Action::RenewService | Action::ChangeServicePlan | Action::QuoteServicePlan => Some(Permission::Billing),
        _ => None,
    }
}

/// May the caller, reaching a service by `access`, perform `action` on it?
pub fn require(access: &Access, action: Action) -> Result<(), GrantRefusal> {
    let Access::Granted(permissions) = access else { return Ok(()) };
    match needed_for(action) {
        Some(needed) if permissions.allows(needed) => Ok(()),
        Some(needed) => Err(GrantRefusal::Missing(needed)),
        None => Err(GrantRefusal::Never),
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
    fn each_service_action_needs_its_permission() {
        for action in [Action::ListServices, Action::ReadService, Action::ReadServiceUsage] {
            assert_eq!(needed_for(action), Some(Permission::View), "{action:?}");
        }
        for action in [Action::UpdateService, Action::CancelService, Action::SetServicePassword] {
            assert_eq!(needed_for(action), Some(Permission::Manage), "{action:?}");
        }
        for action in [Action::RenewService, Action::ChangeServicePlan, Action::QuoteServicePlan] {
            assert_eq!(needed_for(action), Some(Permission::Billing), "{action:?}");
        }
        for action in [Action::SuspendService, Action::TerminateService, Action::CreateService] {
            assert_eq!(needed_for(action), None, "{action:?}");
        }
    }

    #[test]
    fn view_reads_manage_acts_billing_quotes() {
        let view = Access::Granted(set(&[Permission::View]));
        assert_eq!(require(&view, Action::ReadService), Ok(()));
        assert_eq!(require(&view, Action::CancelService), Err(GrantRefusal::Missing(Permission::Manage)));
        assert_eq!(require(&view, Action::QuoteServicePlan), Err(GrantRefusal::Missing(Permission::Billing)));

        let manage = Access::Granted(set(&[Permission::Manage]));
        assert_eq!(require(&manage, Action::ReadService), Ok(()), "manage includes view");
        assert_eq!(require(&manage, Action::SetServicePassword), Ok(()));
        assert_eq!(require(&manage, Action::RenewService), Err(GrantRefusal::Missing(Permission::Billing)));

        let billing = Access::Granted(set(&[Permission::Billing]));
        assert_eq!(require(&billing, Action::QuoteServicePlan), Ok(()));
        assert_eq!(require(&billing, Action::UpdateService), Err(GrantRefusal::Missing(Permission::Manage)));
    }

    #[test]
    fn no_grant_suspends_or_terminates_but_owners_do_everything() {
        let all = Access::Granted(Permission::ALL.into_iter().collect());
        assert_eq!(require(&all, Action::SuspendService), Err(GrantRefusal::Never));
        assert_eq!(require(&all, Action::TerminateService), Err(GrantRefusal::Never));
        assert_eq!(require(&Access::Own, Action::TerminateService), Ok(()));
        assert!(require(&Access::Granted(PermissionSet::default()), Action::ReadService).is_err());
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
