//! The rule table: every action the API takes, and one line each saying who may take it
//! (kinds of account, API key scope, whether it changes something, impersonation, the
//! restriction name sellers disable it by, and on a service which relations to the owner
//! and which grant permission).

use serde::{Deserialize, Serialize};

use crate::accounts::AccountKind;
use crate::authorizations::Permission;
use crate::restrictions::RestrictableAction;
use crate::scopes::Scope;

/// What a route does, in the policy's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    ReadOwnAccount,
    UpdateOwnProfile,
    ChangeOwnEmail,
    ChangeOwnPassword,
    CreateOwnApiKey,
    ReadOwnApiKeys,
    RevokeOwnApiKey,
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
    /// Rename a service or switch its auto-renewal.
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
    /// Correct a service's `next_due_at` (its seller: who sells to the owner).
    CorrectServiceDueDate,
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
    /// Read one's own webhook endpoints and their delivery logs.
    ReadWebhooks,
    /// Create, change, remove or test one's own webhook endpoints, rotate their secrets,
    /// retry deliveries.
    WriteWebhooks,
    /// Make a one-click login link to one of a service's tools.
    CreateLoginLink,
    /// List and read tickets, their messages and attachments.
    ReadTickets,
    /// Open a ticket, answer it, change its status or priority, attach a file.
    WriteTickets,
    /// Read or change one's own notification settings.
    ReadNotifications,
    UpdateNotifications,
    /// Read the status page's components as stored (not lowered by incidents).
    ReadStatusComponents,
    /// Change the status page: components, incidents and their updates.
    ManageStatus,
    /// Read or set one's own billing settings as a seller.
    ReadBillingSettings,
    UpdateBillingSettings,
    /// List and read orders, invoices (in every format) and their payments.
    ReadBilling,
    /// Place an order (for oneself, or as a seller for an account directly below).
    PlaceOrder,
    /// Cancel a pending order (its buyer or its seller).
    CancelOrder,
    /// Pay an invoice from the buyer's credit.
    ApplyCredit,
    /// Record a payment, void an invoice, issue a credit note: the invoice's seller.
    ManageInvoices,
    /// Read the credit of an account below.
    ReadCredit,
    /// Add to or take from the credit of an account directly below.
    AdjustCredit,
}

/// One line of the rule table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The kinds of account that may ever take the action (`403 forbidden`).
    pub kinds: &'static [AccountKind],
    /// The scope an API key needs; `None`: no API key may take it.
    pub scope: Option<Scope>,
    /// Whether it changes something: refused to a suspended actor, and to a grantee
    /// acting for a suspended owner.
    pub changes: bool,
    /// Refused under an impersonation token.
    pub refused_when_impersonating: bool,
    /// The name a seller disables it by, for the actor and the owner it acts for.
    pub restrictable: Option<RestrictableAction>,
    /// On a service (or a resource of one): who may take it, by relation to the owner.
    pub object: Option<ObjectRule>,
}

/// Who may take an action on a service, by relation to its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectRule {
    pub owner: bool,
    /// An operator on its own object (the provider sells to itself).
    pub operator_owner: bool,
    pub above: bool,
    /// A grantee whose grants hold [`Self::grant`].
    pub grantee: bool,
    /// The permission a grant needs; `None`: no grant allows it (`insufficient_grant`).
    pub grant: Option<Permission>,
}

const EVERYONE: &[AccountKind] = &[AccountKind::Operator, AccountKind::Reseller, AccountKind::Customer];
const SELLERS: &[AccountKind] = &[AccountKind::Operator, AccountKind::Reseller];
const OPERATORS: &[AccountKind] = &[AccountKind::Operator];

/// Owner, sellers above it, grantees with `grant`.
const fn anyone_with(grant: Permission) -> Option<ObjectRule> {
    Some(ObjectRule { owner: true, operator_owner: true, above: true, grantee: true, grant: Some(grant) })
}

/// Only the sellers above the owner; no grant allows it.
const ABOVE_ONLY: Option<ObjectRule> =
    Some(ObjectRule { owner: false, operator_owner: false, above: true, grantee: false, grant: None });

/// Free until billing exists, so only who sells to the owner applies it: an account above,
/// or an operator for itself. A grantee needs `billing` to be told `forbidden` rather than
/// `insufficient_grant`.
const SELLS_TO_OWNER: Option<ObjectRule> = Some(ObjectRule {
    owner: false,
    operator_owner: true,
    above: true,
    grantee: false,
    grant: Some(Permission::Billing),
});

impl Rule {
    const fn read(kinds: &'static [AccountKind], scope: Scope) -> Self {
        Self {
            kinds,
            scope: Some(scope),
            changes: false,
            refused_when_impersonating: false,
            restrictable: None,
            object: None,
        }
    }

    const fn change(kinds: &'static [AccountKind], scope: Option<Scope>) -> Self {
        Self { kinds, scope, changes: true, refused_when_impersonating: false, restrictable: None, object: None }
    }

    /// No API key may take it, and a suspended account still may.
    const fn securing_oneself() -> Self {
        Self { changes: false, ..Self::change(EVERYONE, None) }
    }

    const fn restrictable_as(self, name: RestrictableAction) -> Self {
        Self { restrictable: Some(name), ..self }
    }

    const fn not_impersonating(self) -> Self {
        Self { refused_when_impersonating: true, ..self }
    }

    const fn on(self, object: Option<ObjectRule>) -> Self {
        Self { object, ..self }
    }
}

impl Action {
    /// The rule table: one line per action.
    pub const fn rule(self) -> Rule {
        use Permission as P;
        use RestrictableAction as R;
        use Scope as S;
        match self {
            // The own account and its credentials.
            Self::ReadOwnAccount => Rule::read(EVERYONE, S::AccountRead),
            // `account:read` covers reading one's own account; changing it needs more.
            Self::UpdateOwnProfile => Rule::change(EVERYONE, Some(S::CustomersWrite)),
            Self::ChangeOwnEmail | Self::CreateOwnApiKey => Rule::change(EVERYONE, None).not_impersonating(),
            // A suspended account must still be able to secure itself: log out, change its
            // password, manage its second factor, see its API keys and revoke one.
            Self::ChangeOwnPassword
            | Self::ManageOwnTwoFactor
            | Self::EndAllSessions
            | Self::ReadOwnApiKeys
            | Self::RevokeOwnApiKey => Rule::securing_oneself().not_impersonating(),
            Self::EndSession => Rule::securing_oneself(),
            Self::ReadAuditLog => Rule::read(EVERYONE, S::AccountRead),

            // Accounts below.
            Self::ListCustomers | Self::ReadCustomer | Self::ReadRestrictions => Rule::read(SELLERS, S::CustomersRead),
            Self::CreateCustomer
            | Self::UpdateCustomer
            | Self::SuspendCustomer
            | Self::BlockCustomer
            | Self::SetRestrictions
            | Self::SendVerificationEmail
            | Self::ResetCustomerTwoFactor => {
                Rule::change(SELLERS, Some(S::CustomersWrite)).restrictable_as(R::CustomerWrite)
            }
            Self::ImpersonateCustomer => Rule::change(SELLERS, Some(S::Impersonate)).not_impersonating(),

            // Grants.
            Self::ReadAuthorizations => Rule::read(EVERYONE, S::AuthorizationsRead),
            Self::GiveAuthorization | Self::AnswerAuthorization => Rule::change(EVERYONE, Some(S::AuthorizationsWrite))
                .not_impersonating()
                .restrictable_as(R::AuthorizationsWrite),

            // The catalog.
            Self::ListPlans | Self::ReadPlan => Rule::read(EVERYONE, S::CatalogRead),
            Self::CreatePlan | Self::UpdatePlan | Self::ArchivePlan => Rule::change(SELLERS, Some(S::CatalogWrite)),

            // Services.
            Self::ListServices | Self::ReadService | Self::ReadServiceUsage => {
                Rule::read(EVERYONE, S::ServicesRead).on(anyone_with(P::View))
            }
            Self::QuoteServicePlan => Rule::read(EVERYONE, S::ServicesRead).on(anyone_with(P::Billing)),
            Self::ReadJob => Rule::read(EVERYONE, S::ServicesRead),
            Self::CreateService => Rule::change(SELLERS, Some(S::ServicesWrite)).restrictable_as(R::ServiceCreate),
            Self::UpdateService => Rule::change(EVERYONE, Some(S::ServicesWrite)).on(anyone_with(P::Manage)),
            Self::SuspendService | Self::TerminateService => {
                Rule::change(SELLERS, Some(S::ServicesWrite)).on(ABOVE_ONLY)
            }
            Self::CancelService => Rule::change(EVERYONE, Some(S::ServicesWrite))
                .restrictable_as(R::ServiceCancel)
                .on(anyone_with(P::Manage)),
            Self::RenewService => {
                Rule::change(SELLERS, Some(S::ServicesWrite)).restrictable_as(R::ServiceRenew).on(SELLS_TO_OWNER)
            }
            Self::CorrectServiceDueDate => Rule::change(SELLERS, Some(S::ServicesWrite)).on(SELLS_TO_OWNER),
            Self::ChangeServicePlan => {
                Rule::change(SELLERS, Some(S::ServicesWrite)).restrictable_as(R::ServiceChangePlan).on(SELLS_TO_OWNER)
            }
            Self::SetServicePassword => Rule::change(EVERYONE, Some(S::ServicesWrite))
                .restrictable_as(R::ServicePassword)
                .on(anyone_with(P::Manage)),

            // Domains and the hosting resources of a service.
            Self::ReadDomains => Rule::read(EVERYONE, S::DomainsRead).on(anyone_with(P::View)),
            Self::WriteDomains => {
                Rule::change(EVERYONE, Some(S::DomainsWrite)).restrictable_as(R::DomainWrite).on(anyone_with(P::Manage))
            }
            Self::SetDomainNameservers => Rule::change(EVERYONE, Some(S::DomainsWrite))
                .restrictable_as(R::DomainNameservers)
                .on(anyone_with(P::Manage)),
            Self::LockDomain => {
                Rule::change(EVERYONE, Some(S::DomainsWrite)).restrictable_as(R::DomainLock).on(anyone_with(P::Manage))
            }
            Self::DeleteDomain => Rule::change(EVERYONE, Some(S::DomainsWrite))
                .restrictable_as(R::DomainDelete)
                .on(anyone_with(P::Manage)),
            Self::ReadDns => Rule::read(EVERYONE, S::DnsRead).on(anyone_with(P::View)),
            Self::WriteDns => {
                Rule::change(EVERYONE, Some(S::DnsWrite)).restrictable_as(R::DnsWrite).on(anyone_with(P::Manage))
            }
            Self::ReadMail => Rule::read(EVERYONE, S::MailRead).on(anyone_with(P::View)),
            Self::WriteMail => {
                Rule::change(EVERYONE, Some(S::MailWrite)).restrictable_as(R::MailWrite).on(anyone_with(P::Manage))
            }
            Self::ReadHosting => Rule::read(EVERYONE, S::HostingRead).on(anyone_with(P::View)),
            Self::WriteHosting => Rule::change(EVERYONE, Some(S::HostingWrite))
                .restrictable_as(R::HostingWrite)
                .on(anyone_with(P::Manage)),

            // Webhooks: each account's own endpoints.
            Self::ReadWebhooks => Rule::read(EVERYONE, S::WebhooksRead),
            Self::WriteWebhooks => Rule::change(EVERYONE, Some(S::WebhooksWrite)),
            // A link logs into the service's tools, where everything can be changed: a
            // change, with `manage`.
            Self::CreateLoginLink => Rule::change(EVERYONE, Some(S::ServicesWrite)).on(anyone_with(P::Manage)),
            // Tickets: reached as their customer, from above it, or by a grant on their service.
            Self::ReadTickets => Rule::read(EVERYONE, S::SupportRead).on(anyone_with(P::Support)),
            Self::WriteTickets => Rule::change(EVERYONE, Some(S::SupportWrite))
                .restrictable_as(R::SupportWrite)
                .on(anyone_with(P::Support)),
            // Notification settings are about support mails today: the support scopes.
            Self::ReadNotifications => Rule::read(EVERYONE, S::SupportRead),
            Self::UpdateNotifications => Rule::change(EVERYONE, Some(S::SupportWrite)),
            // The status page: public to read, written by operators (or their monitoring).
            Self::ReadStatusComponents => Rule::read(OPERATORS, S::SupportRead),
            Self::ManageStatus => Rule::change(OPERATORS, Some(S::SupportWrite)),

            // Billing: every account buys from its seller; grants with `billing` reach the
            // orders and invoices of a granted service.
            Self::ReadBillingSettings => Rule::read(SELLERS, S::BillingRead),
            Self::UpdateBillingSettings => Rule::change(SELLERS, Some(S::BillingWrite)),
            Self::ReadBilling => Rule::read(EVERYONE, S::BillingRead).on(anyone_with(P::Billing)),
            Self::ReadCredit => Rule::read(SELLERS, S::BillingRead),
            Self::PlaceOrder | Self::CancelOrder | Self::ApplyCredit => {
                Rule::change(EVERYONE, Some(S::BillingWrite)).on(anyone_with(P::Billing))
            }
            // On an invoice the seller reaches it from above its buyer; only the issuing
            // seller itself may (the use case checks which account above it is).
            Self::ManageInvoices => Rule::change(SELLERS, Some(S::BillingWrite)).on(ABOVE_ONLY),
            Self::AdjustCredit => Rule::change(SELLERS, Some(S::BillingWrite)),
        }
    }

    /// The scope an API key needs for it, if a key may take it at all.
    pub const fn scope(self) -> Option<Scope> {
        self.rule().scope
    }
}
