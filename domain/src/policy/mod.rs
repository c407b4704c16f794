//! Who may do what: the one authorization policy.
//!
//! A request names its [`Action`] once: [`Actor::authorize`] decides what the actor alone
//! decides (its kind of account, its API key's scopes, an impersonation token's limits,
//! its own suspension and restrictions) before anything is looked up, and answers an
//! [`Authorized`] proof. The lookup consumes the proof: it loads the object within the
//! actor's [`Reach`] (404 outside it), works out the actor's [`Relation`] to the object's
//! owner, and asks [`Authorized::permits`] whether that relation may take the action,
//! including what the owner's own standing (its suspension, the restrictions its sellers
//! set) forbids when the actor acts as the owner or on its behalf through a grant.
//!
//! The order of the answers is the contract's: `forbidden` / `insufficient_scope` /
//! `impersonation_forbidden` / `account_suspended` / `action_restricted` for the actor,
//! then 404 for reach, then `insufficient_grant` and the relation's `forbidden`, then the
//! owner's standing.
//!
//! Every action's rule is one line of [`Action::rule`].

use serde::{Deserialize, Serialize};

use crate::accounts::{AccountKind, AccountStatus};
use crate::authorizations::{Permission, PermissionSet};
use crate::restrictions::{RestrictableAction, Restrictions};
use crate::scopes::{Scope, ScopeSet};

/// Who acts: the account, how it proved it, whom it impersonates for, what its sellers
/// disabled for it, and where the request came from (for the audit log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The account acted as (under impersonation: the customer).
    pub account_id: String,
    pub kind: AccountKind,
    pub status: AccountStatus,
    pub credential: Credential,
    /// The real person behind an impersonation token (RFC 8693 `act`).
    pub impersonator_id: Option<String>,
    /// What the account's sellers disabled for it (its own and its ancestors' lists).
    pub restrictions: Restrictions,
    pub origin: Origin,
}

/// How the actor proved who it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Credential {
    /// A login session (access JWT).
    Session { session_id: String },
    /// An integration's API key and the scopes it was given.
    ApiKey { key_id: String, scopes: ScopeSet },
}

/// Where a request came from, as the audit log records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    /// May this actor take `action` at all? Decided before any object is looked up.
    pub fn authorize(&self, action: Action) -> Result<Authorized, Denied> {
        let rule = action.rule();
        if !rule.kinds.contains(&self.kind) {
            return Err(Denied::Forbidden);
        }
        if let Credential::ApiKey { scopes, .. } = &self.credential {
            match rule.scope {
                None => return Err(Denied::Forbidden),
                Some(scope) if !scopes.contains(scope) => return Err(Denied::InsufficientScope(scope)),
                Some(_) => {}
            }
        }
        if self.impersonator_id.is_some() && rule.refused_when_impersonating {
            return Err(Denied::ImpersonationForbidden);
        }
        if self.status == AccountStatus::Suspended && rule.changes {
            return Err(Denied::AccountSuspended);
        }
        if let Some(restricted) = rule.restrictable.filter(|name| self.restrictions.contains(*name)) {
            return Err(Denied::ActionRestricted(restricted));
        }
        Ok(Authorized { action, actor_id: self.account_id.clone(), actor_kind: self.kind })
    }

    /// What the actor reaches: itself, the accounts below it, and (unless it acts under
    /// an impersonation token, whose holder was not trusted with them) the services
    /// other accounts granted it.
    pub fn reach(&self) -> Reach {
        let below = match self.kind {
            AccountKind::Operator => Below::AllButOperators,
            AccountKind::Reseller => Below::Subtree,
            AccountKind::Customer => Below::Nobody,
        };
        Reach { account_id: self.account_id.clone(), below, grants: self.impersonator_id.is_none() }
    }

    /// The account whose audit entries these are: the impersonator, or the account.
    pub fn audited_actor(&self) -> &str {
        self.impersonator_id.as_deref().unwrap_or(&self.account_id)
    }

    /// The account acted for under an impersonation token.
    pub fn on_behalf_of(&self) -> Option<&str> {
        self.impersonator_id.as_ref().map(|_| self.account_id.as_str())
    }

    pub fn api_key_id(&self) -> Option<&str> {
        match &self.credential {
            Credential::ApiKey { key_id, .. } => Some(key_id),
            Credential::Session { .. } => None,
        }
    }

    pub fn session_id(&self) -> Option<&str> {
        match &self.credential {
            Credential::Session { session_id } => Some(session_id),
            Credential::ApiKey { .. } => None,
        }
    }
}

/// What an actor reaches. Every scoped query takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// The actor's own account: its own objects are in reach, the account itself is not
    /// "below" it.
    pub account_id: String,
    pub below: Below,
    /// Whether services granted to the account count.
    pub grants: bool,
}

/// The accounts below an actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Below {
    /// Operators: every account that is not an operator.
    AllButOperators,
    /// Resellers: every account strictly below it in the tree.
    Subtree,
    /// Customers: nobody.
    Nobody,
}

/// How the actor stands to an object's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relation {
    /// The actor owns it.
    Owner,
    /// The owner is below the actor: the actor sells to it.
    Above,
    /// Only through grants the owner gave the actor; the union of their permissions.
    Grantee(PermissionSet),
}

/// What the owner's own account imposes on those who act as it: its status (a
/// suspension makes it read-only) and the restrictions its sellers set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub status: AccountStatus,
    pub restrictions: Restrictions,
}

/// Proof that an actor passed [`Actor::authorize`] for one action; only that function
/// makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    action: Action,
    actor_id: String,
    actor_kind: AccountKind,
}

impl Authorized {
    pub fn action(&self) -> Action {
        self.action
    }

    /// The actor's relation to an object owned by `owner_id`, found within its own reach
    /// (not through grants).
    pub fn relation_to_own(&self, owner_id: &str) -> Relation {
        if owner_id == self.actor_id {
            Relation::Owner
        } else {
            Relation::Above
        }
    }

    /// Whether the owner's standing decides: when the actor changes someone else's object
    /// through a grant (an owner's standing is the actor's own, already checked; sellers
    /// act on their own authority).
    pub fn needs_owner_standing(&self, relation: &Relation) -> bool {
        self.action.rule().changes && matches!(relation, Relation::Grantee(_))
    }

    /// May the actor, standing in `relation` to the object's owner, take the action on
    /// it? `owner` is the owner's standing, needed for a grantee (a grantee's change
    /// without it is refused: nobody may act for an owner it knows nothing about).
    pub fn permits(&self, relation: &Relation, owner: Option<&Standing>) -> Result<(), Denied> {
        let rule = self.action.rule();
        let object = rule.object.ok_or(Denied::Forbidden)?;
        if let Relation::Grantee(permissions) = relation {
            match object.grant {
                None => return Err(Denied::InsufficientGrant(GrantRefusal::Never)),
                Some(needed) if !permissions.allows(needed) => {
                    return Err(Denied::InsufficientGrant(GrantRefusal::Missing(needed)))
                }
                Some(_) => {}
            }
        }
        let allowed = match relation {
            Relation::Owner => object.owner || (object.operator_owner && self.actor_kind == AccountKind::Operator),
            Relation::Above => object.above,
            Relation::Grantee(_) => object.grantee,
        };
        if !allowed {
            return Err(Denied::NotAbove);
        }
        if self.needs_owner_standing(relation) {
            let owner = owner.ok_or(Denied::OwnerSuspended)?;
            if owner.status != AccountStatus::Active {
                return Err(Denied::OwnerSuspended);
            }
            if let Some(restricted) = rule.restrictable.filter(|name| owner.restrictions.contains(*name)) {
                return Err(Denied::ActionRestricted(restricted));
            }
        }
        Ok(())
    }
}

/// Why the policy said no. Each maps to one `403` code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// This kind of account or credential may never take the action.
    Forbidden,
    /// The API key lacks the scope.
    InsufficientScope(Scope),
    /// Not with an impersonation token.
    ImpersonationForbidden,
    /// The actor's account is suspended: read-only.
    AccountSuspended,
    /// A seller disabled this action for the acting account, or for the owner a grantee
    /// acts for (or an account above either).
    ActionRestricted(RestrictableAction),
    /// The grant the object was reached through does not allow it.
    InsufficientGrant(GrantRefusal),
    /// Only an account above the object's owner may take it.
    NotAbove,
    /// The owner a grantee acts for is suspended (or blocked): its objects are read-only.
    OwnerSuspended,
}

impl Denied {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden | Self::NotAbove => "forbidden",
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::ImpersonationForbidden => "impersonation_forbidden",
            Self::AccountSuspended | Self::OwnerSuspended => "account_suspended",
            Self::ActionRestricted(_) => "action_restricted",
            Self::InsufficientGrant(_) => GrantRefusal::CODE,
        }
    }

    /// A sentence for people.
    pub fn detail(&self) -> String {
        match self {
            Self::Forbidden => "this kind of account or credential may not do this".to_owned(),
            Self::InsufficientScope(scope) => format!("the API key lacks the scope {scope}"),
            Self::ImpersonationForbidden => "not possible while logged in as another account".to_owned(),
            Self::AccountSuspended => "the account is suspended: it can read but change nothing".to_owned(),
            Self::ActionRestricted(action) => format!("{action} is disabled for this account"),
            Self::InsufficientGrant(refusal) => refusal.detail(),
            Self::NotAbove => "only an account above the owner may do this".to_owned(),
            Self::OwnerSuspended => {
                "the owner's account is suspended: its services can be read, not changed".to_owned()
            }
        }
    }
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

mod rules;

pub use rules::{Action, ObjectRule, Rule};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restrictions::RestrictableAction;

    fn actor(kind: AccountKind) -> Actor {
        Actor {
            account_id: "a".into(),
            kind,
            status: AccountStatus::Active,
            credential: Credential::Session { session_id: "s".into() },
            impersonator_id: None,
            restrictions: Restrictions::none(),
            origin: Origin::default(),
        }
    }

    fn check(actor: &Actor, action: Action) -> Result<(), Denied> {
        actor.authorize(action).map(|_| ())
    }

    fn with_key(mut actor: Actor, scopes: &[Scope]) -> Actor {
        actor.credential = Credential::ApiKey { key_id: "k".into(), scopes: scopes.iter().copied().collect() };
        actor
    }

    #[test]
    fn customers_never_reach_the_customer_routes() {
        let customer = actor(AccountKind::Customer);
        for action in [Action::ListCustomers, Action::ReadCustomer, Action::CreateCustomer, Action::UpdateCustomer] {
            assert_eq!(check(&customer, action), Err(Denied::Forbidden), "{action:?}");
            assert_eq!(check(&actor(AccountKind::Reseller), action), Ok(()));
            assert_eq!(check(&actor(AccountKind::Operator), action), Ok(()));
        }
        assert_eq!(customer.reach().below, Below::Nobody);
    }

    #[test]
    fn everyone_reads_the_catalog_and_sellers_write_it() {
        let customer = actor(AccountKind::Customer);
        assert_eq!(check(&customer, Action::ListPlans), Ok(()));
        for action in [Action::CreatePlan, Action::UpdatePlan, Action::ArchivePlan] {
            assert_eq!(check(&customer, action), Err(Denied::Forbidden), "{action:?}");
            assert_eq!(check(&actor(AccountKind::Reseller), action), Ok(()));
        }
        let reader = with_key(actor(AccountKind::Reseller), &[Scope::CatalogRead]);
        assert_eq!(check(&reader, Action::ReadPlan), Ok(()));
        assert_eq!(check(&reader, Action::CreatePlan), Err(Denied::InsufficientScope(Scope::CatalogWrite)));
    }

    #[test]
    fn api_keys_need_the_scope_and_never_touch_credentials() {
        let key = with_key(actor(AccountKind::Reseller), &[Scope::CustomersRead]);
        assert_eq!(check(&key, Action::ListCustomers), Ok(()));
        assert_eq!(check(&key, Action::CreateCustomer), Err(Denied::InsufficientScope(Scope::CustomersWrite)));
        let all = with_key(actor(AccountKind::Reseller), &Scope::ALL);
        for action in [
            Action::ChangeOwnPassword,
            Action::CreateOwnApiKey,
            Action::ReadOwnApiKeys,
            Action::RevokeOwnApiKey,
            Action::EndSession,
            Action::ChangeOwnEmail,
        ] {
            assert_eq!(check(&all, action), Err(Denied::Forbidden), "{action:?}");
        }
    }

    #[test]
    fn only_sellers_suspend_renew_and_change_plans_while_owners_cancel_quote_and_set_passwords() {
        let sellers_only =
            [Action::SuspendService, Action::TerminateService, Action::RenewService, Action::ChangeServicePlan];
        let everyone =
            [Action::CancelService, Action::QuoteServicePlan, Action::SetServicePassword, Action::ReadServiceUsage];
        for action in sellers_only {
            assert_eq!(check(&actor(AccountKind::Customer), action), Err(Denied::Forbidden), "{action:?}");
        }
        for action in sellers_only.into_iter().chain(everyone) {
            assert_eq!(check(&actor(AccountKind::Reseller), action), Ok(()), "{action:?}");
            assert_eq!(check(&actor(AccountKind::Operator), action), Ok(()), "{action:?}");
        }
        for action in everyone {
            assert_eq!(check(&actor(AccountKind::Customer), action), Ok(()), "{action:?}");
        }

        let reader = with_key(actor(AccountKind::Reseller), &[Scope::ServicesRead]);
        assert_eq!(check(&reader, Action::QuoteServicePlan), Ok(()), "a quote changes nothing");
        assert_eq!(check(&reader, Action::ReadServiceUsage), Ok(()));
        for action in sellers_only.into_iter().chain([Action::CancelService, Action::SetServicePassword]) {
            assert_eq!(check(&reader, action), Err(Denied::InsufficientScope(Scope::ServicesWrite)), "{action:?}");
            let writer = with_key(actor(AccountKind::Reseller), &[Scope::ServicesWrite]);
            assert_eq!(check(&writer, action), Ok(()), "{action:?}");
        }

        let mut suspended = actor(AccountKind::Reseller);
        suspended.status = AccountStatus::Suspended;
        assert_eq!(check(&suspended, Action::ReadServiceUsage), Ok(()));
        assert_eq!(check(&suspended, Action::QuoteServicePlan), Ok(()));
        for action in sellers_only.into_iter().chain([Action::CancelService, Action::SetServicePassword]) {
            assert_eq!(check(&suspended, action), Err(Denied::AccountSuspended), "{action:?}");
        }
    }

    #[test]
    fn the_role_is_checked_before_the_scope() {
        let key = with_key(actor(AccountKind::Customer), &[]);
        assert_eq!(check(&key, Action::ListCustomers), Err(Denied::Forbidden));
    }

    #[test]
    fn a_suspended_account_reads_and_secures_itself_but_changes_nothing() {
        let mut suspended = actor(AccountKind::Reseller);
        suspended.status = AccountStatus::Suspended;
        assert_eq!(check(&suspended, Action::ReadCustomer), Ok(()));
        assert_eq!(check(&suspended, Action::ChangeOwnPassword), Ok(()));
        assert_eq!(check(&suspended, Action::EndAllSessions), Ok(()));
        assert_eq!(check(&suspended, Action::ReadOwnApiKeys), Ok(()));
        assert_eq!(check(&suspended, Action::RevokeOwnApiKey), Ok(()));
        assert_eq!(check(&suspended, Action::CreateOwnApiKey), Err(Denied::AccountSuspended));
        assert_eq!(check(&suspended, Action::CreateCustomer), Err(Denied::AccountSuspended));
        assert_eq!(check(&suspended, Action::UpdateOwnProfile), Err(Denied::AccountSuspended));
    }

    #[test]
    fn impersonation_never_touches_the_customers_credentials() {
        let mut impersonated = actor(AccountKind::Customer);
        impersonated.impersonator_id = Some("operator".into());
        for action in [
            Action::ChangeOwnPassword,
            Action::ChangeOwnEmail,
            Action::CreateOwnApiKey,
            Action::ReadOwnApiKeys,
            Action::EndAllSessions,
        ] {
            assert_eq!(check(&impersonated, action), Err(Denied::ImpersonationForbidden), "{action:?}");
        }
        assert_eq!(check(&impersonated, Action::UpdateOwnProfile), Ok(()));
        assert_eq!(check(&impersonated, Action::EndSession), Ok(()));
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
            assert_eq!(check(&impersonated, action), Err(Denied::ImpersonationForbidden), "{action:?}");
        }
        assert_eq!(check(&impersonated, Action::ReadAuthorizations), Ok(()));
    }

    #[test]
    fn a_restriction_refuses_its_actions_after_the_suspension_check() {
        let mut restricted = actor(AccountKind::Reseller);
        restricted.restrictions = [RestrictableAction::ServiceCancel, RestrictableAction::CustomerWrite].into();
        assert_eq!(
            check(&restricted, Action::CancelService),
            Err(Denied::ActionRestricted(RestrictableAction::ServiceCancel))
        );
        assert_eq!(
            check(&restricted, Action::CreateCustomer),
            Err(Denied::ActionRestricted(RestrictableAction::CustomerWrite))
        );
        assert_eq!(check(&restricted, Action::RenewService), Ok(()));
        assert_eq!(check(&restricted, Action::ReadCustomer), Ok(()));
        restricted.status = AccountStatus::Suspended;
        assert_eq!(check(&restricted, Action::CancelService), Err(Denied::AccountSuspended));
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
            assert_eq!(check(&actor(AccountKind::Customer), action), Err(Denied::Forbidden), "{action:?}");
            assert_eq!(check(&actor(AccountKind::Reseller), action), Ok(()), "{action:?}");
        }
        let writer = with_key(actor(AccountKind::Reseller), &[Scope::CustomersWrite]);
        assert_eq!(check(&writer, Action::ImpersonateCustomer), Err(Denied::InsufficientScope(Scope::Impersonate)));
        let all = with_key(actor(AccountKind::Customer), &Scope::ALL);
        assert_eq!(check(&all, Action::ManageOwnTwoFactor), Err(Denied::Forbidden));
    }

    #[test]
    fn reach_follows_the_tree_and_impersonation_drops_grants() {
        assert_eq!(actor(AccountKind::Operator).reach().below, Below::AllButOperators);
        let reseller = actor(AccountKind::Reseller).reach();
        assert_eq!((reseller.account_id.as_str(), reseller.below, reseller.grants), ("a", Below::Subtree, true));
        let mut impersonated = actor(AccountKind::Customer);
        impersonated.impersonator_id = Some("operator".into());
        assert!(!impersonated.reach().grants);
    }

    fn grantee(permissions: &[Permission]) -> Relation {
        Relation::Grantee(permissions.iter().copied().collect())
    }

    fn active_owner(restrictions: Restrictions) -> Standing {
        Standing { status: AccountStatus::Active, restrictions }
    }

    /// Every service action: may the owner, a seller above, and grantees with each
    /// permission take it? (`R`: the relation is refused, `G`: the grant, `-`: allowed.)
    #[test]
    fn the_rule_table_for_each_relation() {
        use Permission::*;
        #[rustfmt::skip]
        let table: &[(Action, &str, &str, [&str; 4])] = &[
            //                                owner  above   view  manage billing support
            (Action::ReadService,              "-",  "-",  ["-", "-", "-", "-"]),
            (Action::UpdateService,            "-",  "-",  ["G", "-", "G", "G"]),
            (Action::CancelService,            "-",  "-",  ["G", "-", "G", "G"]),
            (Action::SetServicePassword,       "-",  "-",  ["G", "-", "G", "G"]),
            (Action::QuoteServicePlan,         "-",  "-",  ["G", "G", "-", "G"]),
            (Action::RenewService,             "R",  "-",  ["G", "G", "R", "G"]),
            (Action::ChangeServicePlan,        "R",  "-",  ["G", "G", "R", "G"]),
            (Action::CorrectServiceDueDate,    "R",  "-",  ["G", "G", "R", "G"]),
            (Action::SuspendService,           "R",  "-",  ["G", "G", "G", "G"]),
            (Action::TerminateService,         "R",  "-",  ["G", "G", "G", "G"]),
            (Action::WriteDns,                 "-",  "-",  ["G", "-", "G", "G"]),
            (Action::ReadMail,                 "-",  "-",  ["-", "-", "-", "-"]),
            (Action::ReadTickets,              "-",  "-",  ["G", "G", "G", "-"]),
            (Action::WriteTickets,             "-",  "-",  ["G", "G", "G", "-"]),
        ];
        let seller = actor(AccountKind::Reseller);
        let owner_standing = active_owner(Restrictions::none());
        for (action, owner, above, grants) in table {
            let proof = seller.authorize(*action).unwrap();
            let outcome = |relation: &Relation| match proof.permits(relation, Some(&owner_standing)) {
                Ok(()) => "-",
                Err(Denied::NotAbove) => "R",
                Err(Denied::InsufficientGrant(_)) => "G",
                Err(other) => panic!("{action:?}: {other:?}"),
            };
            assert_eq!(outcome(&Relation::Owner), *owner, "{action:?} as owner");
            assert_eq!(outcome(&Relation::Above), *above, "{action:?} from above");
            for (permission, expected) in [View, Manage, Billing, Support].iter().zip(grants) {
                assert_eq!(outcome(&grantee(&[*permission])), *expected, "{action:?} granted {permission:?}");
            }
        }
    }

    #[test]
    fn an_operator_sells_to_itself_but_a_reseller_does_not() {
        let operator = actor(AccountKind::Operator);
        assert_eq!(operator.authorize(Action::RenewService).unwrap().permits(&Relation::Owner, None), Ok(()));
        assert_eq!(
            operator.authorize(Action::SuspendService).unwrap().permits(&Relation::Owner, None),
            Err(Denied::NotAbove)
        );
        let reseller = actor(AccountKind::Reseller);
        assert_eq!(
            reseller.authorize(Action::RenewService).unwrap().permits(&Relation::Owner, None),
            Err(Denied::NotAbove)
        );
    }

    #[test]
    fn a_grantee_is_held_to_the_owners_suspension_and_restrictions() {
        let someone = actor(AccountKind::Customer);
        let manage = grantee(&[Permission::Manage]);
        let write_dns = someone.authorize(Action::WriteDns).unwrap();
        assert!(write_dns.needs_owner_standing(&manage));
        assert!(!write_dns.needs_owner_standing(&Relation::Above), "sellers act on their own authority");
        assert!(!write_dns.needs_owner_standing(&Relation::Owner), "an owner's standing is its own");
        assert!(!someone.authorize(Action::ReadDns).unwrap().needs_owner_standing(&manage), "reading is free");

        assert_eq!(write_dns.permits(&manage, Some(&active_owner(Restrictions::none()))), Ok(()));
        assert_eq!(
            write_dns.permits(&manage, Some(&active_owner([RestrictableAction::DnsWrite].into()))),
            Err(Denied::ActionRestricted(RestrictableAction::DnsWrite))
        );
        let suspended = Standing { status: AccountStatus::Suspended, restrictions: Restrictions::none() };
        assert_eq!(
            someone.authorize(Action::UpdateService).unwrap().permits(&manage, Some(&suspended)),
            Err(Denied::OwnerSuspended)
        );
        assert_eq!(someone.authorize(Action::ReadService).unwrap().permits(&manage, Some(&suspended)), Ok(()));
        assert_eq!(write_dns.permits(&manage, None), Err(Denied::OwnerSuspended), "unknown standing: refused");
    }

    #[test]
    fn support_needs_its_scopes_and_can_be_restricted_and_only_operators_run_the_status_page() {
        let reader = with_key(actor(AccountKind::Customer), &[Scope::SupportRead]);
        assert_eq!(check(&reader, Action::ReadTickets), Ok(()));
        assert_eq!(check(&reader, Action::WriteTickets), Err(Denied::InsufficientScope(Scope::SupportWrite)));
        let mut restricted = actor(AccountKind::Customer);
        restricted.restrictions = [RestrictableAction::SupportWrite].into();
        assert_eq!(
            check(&restricted, Action::WriteTickets),
            Err(Denied::ActionRestricted(RestrictableAction::SupportWrite))
        );
        assert_eq!(check(&restricted, Action::ReadTickets), Ok(()));
        assert_eq!(check(&restricted, Action::UpdateNotifications), Ok(()), "a preference, not support work");
        for kind in [AccountKind::Reseller, AccountKind::Customer] {
            assert_eq!(check(&actor(kind), Action::ManageStatus), Err(Denied::Forbidden));
            assert_eq!(check(&actor(kind), Action::ReadStatusComponents), Err(Denied::Forbidden));
        }
        let monitoring = with_key(actor(AccountKind::Operator), &[Scope::SupportWrite]);
        assert_eq!(check(&monitoring, Action::ManageStatus), Ok(()));
    }

    #[test]
    fn account_actions_have_no_object_rule() {
        let reseller = actor(AccountKind::Reseller);
        assert_eq!(
            reseller.authorize(Action::SuspendCustomer).unwrap().permits(&Relation::Above, None),
            Err(Denied::Forbidden)
        );
    }
}
