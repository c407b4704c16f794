//! The one authorization policy: every route asks it "may this actor do this?" before it
//! looks anything up, and asks it what the actor can reach before it loads an object.
//!
//! The order of the answers is the contract's: a route this kind of account or key may
//! never call (`forbidden`, `insufficient_scope`), then what an impersonation token may
//! not do, then a suspended account's read-only state. Reach (404) comes after, from
//! [`reach`], applied by persistence in SQL.

use crate::accounts::{AccountKind, AccountStatus};
use crate::restrictions::{RestrictableAction, Restrictions};
use crate::scopes::{Scope, ScopeSet};

/// Who is asking, as far as the policy cares.
#[derive(Debug, Clone)]
pub struct Actor {
    pub account_id: String,
    pub kind: AccountKind,
    pub status: AccountStatus,
    pub credential: Credential,
    /// The real person behind an impersonation token (RFC 8693 `act`).
    pub impersonator_id: Option<String>,
    /// What the account's sellers disabled for it (its own and its ancestors' lists).
    pub restrictions: Restrictions,
}

/// How the actor proved who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A login session (access JWT).
    Session { session_id: String },
    /// An integration's API key and the scopes it was given.
    ApiKey { key_id: String, scopes: ScopeSet },
}

/// What a route does, in the policy's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ReadOwnAccount,
    UpdateOwnProfile,
    ChangeOwnEmail,
    ChangeOwnPassword,
    ManageOwnApiKeys,
    EndSession,
    EndAllSessions,
    ListCustomers,
    ReadCustomer,
    CreateCustomer,
    UpdateCustomer,
    ReadAuditLog,
    ListPlans,
    ReadPlan,
    CreatePlan,
    UpdatePlan,
    ArchivePlan,
    ListServices,
    ReadService,
    CreateService,
    UpdateService,
    /// Suspend or unsuspend a service of an account below.
    SuspendService,
    /// End a service of an account below for good.
    TerminateService,
    /// Cancel one's own service (or one below), or withdraw a pending cancellation.
    CancelService,
    /// Extend a service by whole cycles; free until billing exists, so sellers only.
    RenewService,
    /// Move a service to another plan; free until billing exists, so sellers only.
    ChangeServicePlan,
    /// Ask what a plan change would cost, changing nothing.
    QuoteServicePlan,
    /// Set or generate a service's password (FTP, control panel).
    SetServicePassword,
    ReadServiceUsage,
    /// Read a background job one requested (its progress and results).
    ReadJob,
    /// Suspend or unsuspend an account below (and everything below it).
    SuspendCustomer,
    /// Block or unblock an account below (and everything below it).
    BlockCustomer,
    ReadRestrictions,
    SetRestrictions,
    /// Send an account below its verification mail again.
    SendVerificationEmail,
    /// Switch off the second factor of an account below (it lost its device).
    ResetCustomerTwoFactor,
    /// Log in as an account below.
    ImpersonateCustomer,
    /// Enrol, confirm or disable one's own second factor.
    ManageOwnTwoFactor,
    /// List the grants one gave or received.
    ReadAuthorizations,
    /// Give, change or withdraw a grant (as its grantor).
    GiveAuthorization,
    /// Accept, decline or give back a grant (as its grantee).
    AnswerAuthorization,
    /// List or read domains and their redirects and child hosts.
    ReadDomains,
    /// Add a domain to a hosting service, move it, change its redirect, child hosts or
    /// auto-renewal.
    WriteDomains,
    /// Change a domain's name servers.
    SetDomainNameservers,
    /// Lock or unlock a domain.
    LockDomain,
    /// Remove a domain.
    DeleteDomain,
    /// Read DNS records and zones.
    ReadDns,
    /// Add, change or remove DNS records.
    WriteDns,
    /// Read mailboxes and forwards.
    ReadMail,
    /// Add, change or remove mailboxes and forwards.
    WriteMail,
    /// Read FTP users, databases and certificates.
    ReadHosting,
    /// Add, change or remove FTP users, databases and certificates.
    WriteHosting,
}

const EVERYONE: &[AccountKind] = &[AccountKind::Operator, AccountKind::Reseller, AccountKind::Customer];
const WITH_ACCOUNTS_BELOW: &[AccountKind] = &[AccountKind::Operator, AccountKind::Reseller];

impl Action {
    /// The kinds of account that may ever call the route.
    fn allowed_kinds(self) -> &'static [AccountKind] {
        match self {
            Self::ListCustomers
            | Self::ReadCustomer
            | Self::CreateCustomer
            | Self::UpdateCustomer
            | Self::CreatePlan
            | Self::UpdatePlan
            | Self::ArchivePlan
            | Self::CreateService
            | Self::SuspendService
            | Self::TerminateService
            | Self::RenewService
            | Self::ChangeServicePlan
            | Self::SuspendCustomer
            | Self::BlockCustomer
            | Self::ReadRestrictions
            | Self::SetRestrictions
            | Self::SendVerificationEmail
            | Self::ResetCustomerTwoFactor
            | Self::ImpersonateCustomer => WITH_ACCOUNTS_BELOW,
            _ => EVERYONE,
        }
    }

    /// The scope an API key needs; `None` for routes no API key may call.
    fn scope(self) -> Option<Scope> {
        match self {
            Self::ReadOwnAccount | Self::UpdateOwnProfile | Self::ReadAuditLog => Some(Scope::AccountRead),
            Self::ListCustomers | Self::ReadCustomer | Self::ReadRestrictions => Some(Scope::CustomersRead),
            Self::CreateCustomer
            | Self::UpdateCustomer
            | Self::SuspendCustomer
            | Self::BlockCustomer
            | Self::SetRestrictions
            | Self::SendVerificationEmail
            | Self::ResetCustomerTwoFactor => Some(Scope::CustomersWrite),
            Self::ImpersonateCustomer => Some(Scope::Impersonate),
            Self::ReadAuthorizations => Some(Scope::AuthorizationsRead),
            Self::ReadDomains => Some(Scope::DomainsRead),
            Self::WriteDomains | Self::SetDomainNameservers | Self::LockDomain | Self::DeleteDomain => {
                Some(Scope::DomainsWrite)
            }
            Self::ReadDns => Some(Scope::DnsRead),
            Self::WriteDns => Some(Scope::DnsWrite),
            Self::ReadMail => Some(Scope::MailRead),
            Self::WriteMail => Some(Scope::MailWrite),
            Self::ReadHosting => Some(Scope::HostingRead),
            Self::WriteHosting => Some(Scope::HostingWrite),
            Self::GiveAuthorization | Self::AnswerAuthorization => Some(Scope::AuthorizationsWrite),
            Self::ListPlans | Self::ReadPlan => Some(Scope::CatalogRead),
            Self::CreatePlan | Self::UpdatePlan | Self::ArchivePlan => Some(Scope::CatalogWrite),
            Self::ListServices
            | Self::ReadService
            | Self::QuoteServicePlan
            | Self::ReadServiceUsage
            | Self::ReadJob => Some(Scope::ServicesRead),
            Self::CreateService
            | Self::UpdateService
            | Self::SuspendService
            | Self::TerminateService
            | Self::CancelService
            | Self::RenewService
            | Self::ChangeServicePlan
            | Self::SetServicePassword => Some(Scope::ServicesWrite),
            Self::ChangeOwnEmail
            | Self::ChangeOwnPassword
            | Self::ManageOwnApiKeys
            | Self::EndSession
            | Self::EndAllSessions
            | Self::ManageOwnTwoFactor => None,
        }
    }

    /// Whether a key's scope must be a write scope (`account:read` covers reading
    /// one's own account; changing the profile needs a session or `customers:write`).
    fn key_scope_for_change(self) -> Option<Scope> {
        match self {
            Self::UpdateOwnProfile => Some(Scope::CustomersWrite),
            _ => self.scope(),
        }
    }

    /// Changes are refused to a suspended account. Logging out and changing one's
    /// password stay allowed: a suspended account must still be able to secure itself.
    fn is_change(self) -> bool {
        matches!(
            self,
            Self::UpdateOwnProfile
                | Self::ChangeOwnEmail
                | Self::ManageOwnApiKeys
                | Self::CreateCustomer
                | Self::UpdateCustomer
                | Self::CreatePlan
                | Self::UpdatePlan
                | Self::ArchivePlan
                | Self::CreateService
                | Self::UpdateService
                | Self::SuspendService
                | Self::TerminateService
                | Self::CancelService
                | Self::RenewService
                | Self::ChangeServicePlan
                | Self::SetServicePassword
                | Self::SuspendCustomer
                | Self::BlockCustomer
                | Self::SetRestrictions
                | Self::SendVerificationEmail
                | Self::ResetCustomerTwoFactor
                | Self::ImpersonateCustomer
                | Self::GiveAuthorization
                | Self::AnswerAuthorization
                | Self::WriteDomains
                | Self::SetDomainNameservers
                | Self::LockDomain
                | Self::DeleteDomain
                | Self::WriteDns
                | Self::WriteMail
                | Self::WriteHosting
        )
    }

    /// What an impersonation token may not do: anything about the customer's
    /// credentials, ending every session of the customer, its grants, and impersonating
    /// further.
    fn refused_when_impersonating(self) -> bool {
        matches!(
            self,
            Self::ChangeOwnEmail
                | Self::ChangeOwnPassword
                | Self::ManageOwnApiKeys
                | Self::EndAllSessions
                | Self::ManageOwnTwoFactor
                | Self::ImpersonateCustomer
                | Self::GiveAuthorization
                | Self::AnswerAuthorization
        )
    }

    /// The name a seller disables this action by, if it can be disabled.
    pub fn restrictable_as(self) -> Option<RestrictableAction> {
        match self {
            Self::CreateCustomer
            | Self::UpdateCustomer
            | Self::SuspendCustomer
            | Self::BlockCustomer
            | Self::SetRestrictions
            | Self::SendVerificationEmail
            | Self::ResetCustomerTwoFactor => Some(RestrictableAction::CustomerWrite),
            Self::CreateService => Some(RestrictableAction::ServiceCreate),
            Self::CancelService => Some(RestrictableAction::ServiceCancel),
            Self::ChangeServicePlan => Some(RestrictableAction::ServiceChangePlan),
            Self::RenewService => Some(RestrictableAction::ServiceRenew),
            Self::SetServicePassword => Some(RestrictableAction::ServicePassword),
            Self::GiveAuthorization | Self::AnswerAuthorization => Some(RestrictableAction::AuthorizationsWrite),
            Self::WriteDomains => Some(RestrictableAction::DomainWrite),
            Self::SetDomainNameservers => Some(RestrictableAction::DomainNameservers),
            Self::LockDomain => Some(RestrictableAction::DomainLock),
            Self::DeleteDomain => Some(RestrictableAction::DomainDelete),
            Self::WriteDns => Some(RestrictableAction::DnsWrite),
            Self::WriteMail => Some(RestrictableAction::MailWrite),
            Self::WriteHosting => Some(RestrictableAction::HostingWrite),
            _ => None,
        }
    }
}

/// Why the policy said no. Each maps to one `403` code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// This kind of account or credential may never call the route.
    Forbidden,
    /// The API key lacks the scope.
    InsufficientScope(Scope),
    /// Not with an impersonation token.
    ImpersonationForbidden,
    /// The account is suspended: read-only.
    AccountSuspended,
    /// A seller disabled this action for the account (or an account above it).
    ActionRestricted(RestrictableAction),
}

impl Denied {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::ImpersonationForbidden => "impersonation_forbidden",
            Self::AccountSuspended => "account_suspended",
            Self::ActionRestricted(_) => "action_restricted",
        }
    }
}

/// May `actor` perform `action` at all? Decided before any object is looked up.
pub fn authorize(actor: &Actor, action: Action) -> Result<(), Denied> {
    if !action.allowed_kinds().contains(&actor.kind) {
        return Err(Denied::Forbidden);
    }
    if let Credential::ApiKey { scopes, .. } = &actor.credential {
        let needed = if action.is_change() { action.key_scope_for_change() } else { action.scope() };
        match needed {
            None => return Err(Denied::Forbidden),
            Some(scope) if !scopes.contains(scope) => return Err(Denied::InsufficientScope(scope)),
            Some(_) => {}
        }
    }
    if actor.impersonator_id.is_some() && action.refused_when_impersonating() {
        return Err(Denied::ImpersonationForbidden);
    }
    if actor.status == AccountStatus::Suspended && action.is_change() {
        return Err(Denied::AccountSuspended);
    }
    if let Some(restricted) = action.restrictable_as().filter(|name| actor.restrictions.contains(*name)) {
        return Err(Denied::ActionRestricted(restricted));
    }
    Ok(())
}

/// The accounts an actor may act on besides itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Operators: every account that is not an operator.
    AllButOperators,
    /// Resellers: every account strictly below this one in the tree.
    Below { ancestor_id: String },
    /// Customers: nobody.
    Nobody,
}

pub fn reach(actor: &Actor) -> Reach {
    match actor.kind {
        AccountKind::Operator => Reach::AllButOperators,
        AccountKind::Reseller => Reach::Below { ancestor_id: actor.account_id.clone() },
        AccountKind::Customer => Reach::Nobody,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(kind: AccountKind) -> Actor {
        Actor {
            account_id: "a".into(),
            kind,
            status: AccountStatus::Active,
            credential: Credential::Session { session_id: "s".into() },
            impersonator_id: None,
            restrictions: Restrictions::none(),
        }
    }

    fn with_key(mut actor: Actor, scopes: &[Scope]) -> Actor {
        actor.credential = Credential::ApiKey { key_id: "k".into(), scopes: scopes.iter().copied().collect() };
        actor
    }

    #[test]
    fn customers_never_reach_the_customer_routes() {
        let customer = actor(AccountKind::Customer);
        for action in [Action::ListCustomers, Action::ReadCustomer, Action::CreateCustomer, Action::UpdateCustomer] {
            assert_eq!(authorize(&customer, action), Err(Denied::Forbidden), "{action:?}");
            assert_eq!(authorize(&actor(AccountKind::Reseller), action), Ok(()));
            assert_eq!(authorize(&actor(AccountKind::Operator), action), Ok(()));
        }
        assert_eq!(reach(&customer), Reach::Nobody);
    }

    #[test]
    fn everyone_reads_the_catalog_and_sellers_write_it() {
        let customer = actor(AccountKind::Customer);
        assert_eq!(authorize(&customer, Action::ListPlans), Ok(()));
        for action in [Action::CreatePlan, Action::UpdatePlan, Action::ArchivePlan] {
            assert_eq!(authorize(&customer, action), Err(Denied::Forbidden), "{action:?}");
            assert_eq!(authorize(&actor(AccountKind::Reseller), action), Ok(()));
        }
        let reader = with_key(actor(AccountKind::Reseller), &[Scope::CatalogRead]);
        assert_eq!(authorize(&reader, Action::ReadPlan), Ok(()));
        assert_eq!(authorize(&reader, Action::CreatePlan), Err(Denied::InsufficientScope(Scope::CatalogWrite)));
    }

    #[test]
    fn api_keys_need_the_scope_and_never_touch_credentials() {
        let key = with_key(actor(AccountKind::Reseller), &[Scope::CustomersRead]);
        assert_eq!(authorize(&key, Action::ListCustomers), Ok(()));
        assert_eq!(authorize(&key, Action::CreateCustomer), Err(Denied::InsufficientScope(Scope::CustomersWrite)));
        let all = with_key(actor(AccountKind::Reseller), &Scope::ALL);
        for action in [Action::ChangeOwnPassword, Action::ManageOwnApiKeys, Action::EndSession, Action::ChangeOwnEmail]
        {
            assert_eq!(authorize(&all, action), Err(Denied::Forbidden), "{action:?}");
        }
    }

    #[test]
    fn only_sellers_suspend_renew_and_change_plans_while_owners_cancel_quote_and_set_passwords() {
        let sellers_only =
            [Action::SuspendService, Action::TerminateService, Action::RenewService, Action::ChangeServicePlan];
        let everyone =
            [Action::CancelService, Action::QuoteServicePlan, Action::SetServicePassword, Action::ReadServiceUsage];
        for action in sellers_only {
            assert_eq!(authorize(&actor(AccountKind::Customer), action), Err(Denied::Forbidden), "{action:?}");
        }
        for action in sellers_only.into_iter().chain(everyone) {
            assert_eq!(authorize(&actor(AccountKind::Reseller), action), Ok(()), "{action:?}");
            assert_eq!(authorize(&actor(AccountKind::Operator), action), Ok(()), "{action:?}");
        }
        for action in everyone {
            assert_eq!(authorize(&actor(AccountKind::Customer), action), Ok(()), "{action:?}");
        }

        let reader = with_key(actor(AccountKind::Reseller), &[Scope::ServicesRead]);
        assert_eq!(authorize(&reader, Action::QuoteServicePlan), Ok(()), "a quote changes nothing");
        assert_eq!(authorize(&reader, Action::ReadServiceUsage), Ok(()));
        for action in sellers_only.into_iter().chain([Action::CancelService, Action::SetServicePassword]) {
            assert_eq!(authorize(&reader, action), Err(Denied::InsufficientScope(Scope::ServicesWrite)), "{action:?}");
            let writer = with_key(actor(AccountKind::Reseller), &[Scope::ServicesWrite]);
            assert_eq!(authorize(&writer, action), Ok(()), "{action:?}");
        }

        let mut suspended = actor(AccountKind::Reseller);
        suspended.status = AccountStatus::Suspended;
        assert_eq!(authorize(&suspended, Action::ReadServiceUsage), Ok(()));
        assert_eq!(authorize(&suspended, Action::QuoteServicePlan), Ok(()));
        for action in sellers_only.into_iter().chain([Action::CancelService, Action::SetServicePassword]) {
            assert_eq!(authorize(&suspended, action), Err(Denied::AccountSuspended), "{action:?}");
        }
    }

    #[test]
    fn the_role_is_checked_before_the_scope() {
        let key = with_key(actor(AccountKind::Customer), &[]);
        assert_eq!(authorize(&key, Action::ListCustomers), Err(Denied::Forbidden));
    }

    #[test]
    fn a_suspended_account_reads_and_secures_itself_but_changes_nothing() {
        let mut suspended = actor(AccountKind::Reseller);
        suspended.status = AccountStatus::Suspended;
        assert_eq!(authorize(&suspended, Action::ReadCustomer), Ok(()));
        assert_eq!(authorize(&suspended, Action::ChangeOwnPassword), Ok(()));
        assert_eq!(authorize(&suspended, Action::EndAllSessions), Ok(()));
        assert_eq!(authorize(&suspended, Action::CreateCustomer), Err(Denied::AccountSuspended));
        assert_eq!(authorize(&suspended, Action::UpdateOwnProfile), Err(Denied::AccountSuspended));
    }

    #[test]
    fn impersonation_never_touches_the_customers_credentials() {
        let mut impersonated = actor(AccountKind::Customer);
        impersonated.impersonator_id = Some("operator".into());
        for action in
            [Action::ChangeOwnPassword, Action::ChangeOwnEmail, Action::ManageOwnApiKeys, Action::EndAllSessions]
        {
            assert_eq!(authorize(&impersonated, action), Err(Denied::ImpersonationForbidden), "{action:?}");
        }
        assert_eq!(authorize(&impersonated, Action::UpdateOwnProfile), Ok(()));
        assert_eq!(authorize(&impersonated, Action::EndSession), Ok(()));
    }

    #[test]
    fn impersonation_never_grants_or_impersonates_further() {
        let mut impersonated = actor(AccountKind::Reseller);
        impersonated.impersonator_id = Some("operator".into());
        for action in [
            Action::ImpersonateCustomer,
            Action::GiveAuthorization,
            Action::AnswerAuthorization,
            Action::ManageOwnTwoFactor,
        ] {
            assert_eq!(authorize(&impersonated, action), Err(Denied::ImpersonationForbidden), "{action:?}");
        }
        assert_eq!(authorize(&impersonated, Action::ReadAuthorizations), Ok(()));
    }

    #[test]
    fn a_restriction_refuses_its_actions_after_the_suspension_check() {
        let mut restricted = actor(AccountKind::Reseller);
        restricted.restrictions = [RestrictableAction::ServiceCancel, RestrictableAction::CustomerWrite].into();
        assert_eq!(
            authorize(&restricted, Action::CancelService),
            Err(Denied::ActionRestricted(RestrictableAction::ServiceCancel))
        );
        assert_eq!(
            authorize(&restricted, Action::CreateCustomer),
            Err(Denied::ActionRestricted(RestrictableAction::CustomerWrite))
        );
        assert_eq!(authorize(&restricted, Action::RenewService), Ok(()));
        assert_eq!(authorize(&restricted, Action::ReadCustomer), Ok(()));
        restricted.status = AccountStatus::Suspended;
        assert_eq!(authorize(&restricted, Action::CancelService), Err(Denied::AccountSuspended));
    }

    #[test]
    fn only_sellers_manage_accounts_below_and_keys_need_the_impersonate_scope() {
        let below = [
            Action::SuspendCustomer,
            Action::BlockCustomer,
            Action::ReadRestrictions,
            Action::SetRestrictions,
            Action::SendVerificationEmail,
            Action::ResetCustomerTwoFactor,
            Action::ImpersonateCustomer,
        ];
        for action in below {
            assert_eq!(authorize(&actor(AccountKind::Customer), action), Err(Denied::Forbidden), "{action:?}");
            assert_eq!(authorize(&actor(AccountKind::Reseller), action), Ok(()), "{action:?}");
        }
        let writer = with_key(actor(AccountKind::Reseller), &[Scope::CustomersWrite]);
        assert_eq!(authorize(&writer, Action::ImpersonateCustomer), Err(Denied::InsufficientScope(Scope::Impersonate)));
        let all = with_key(actor(AccountKind::Customer), &Scope::ALL);
        assert_eq!(authorize(&all, Action::ManageOwnTwoFactor), Err(Denied::Forbidden));
    }

    #[test]
    fn reach_follows_the_tree() {
        assert_eq!(reach(&actor(AccountKind::Operator)), Reach::AllButOperators);
        assert_eq!(reach(&actor(AccountKind::Reseller)), Reach::Below { ancestor_id: "a".into() });
    }
}
