//! A service's lifecycle: the states it passes through and the one function that
//! decides every move between them.
//!
//! Whether an end-of-period cancellation is pending is not a state of its own: the
//! contract keeps such a service `active` (with `cancellation` set) until `next_due_at`,
//! so it enters [`transition`] as a flag beside the status.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a service stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    /// Ordered; the provisioner has not answered yet.
    Pending,
    /// In use.
    Active,
    /// Kept but switched off, e.g. for an unpaid bill or abuse.
    Suspended,
    /// Ended at the owner's request.
    Cancelled,
    /// Ended by the provider.
    Terminated,
    /// Ended because it was not renewed; renewing brings it back.
    Expired,
}

impl ServiceStatus {
    pub const ALL: [ServiceStatus; 6] =
        [Self::Pending, Self::Active, Self::Suspended, Self::Cancelled, Self::Terminated, Self::Expired];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Cancelled => "cancelled",
            Self::Terminated => "terminated",
            Self::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

impl fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cancellation the owner or an account above asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Cancellation {
    #[serde(rename = "type")]
    pub kind: CancellationType,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
}

impl Cancellation {
    /// Whether it waits for the end of the paid period (the service is still `active`).
    pub fn is_pending(&self) -> bool {
        self.kind == CancellationType::EndOfPeriod
    }
}

/// When a cancellation takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancellationType {
    /// The service is `cancelled` at once.
    Immediate,
    /// The service stays `active`, with `cancellation` set, until `next_due_at`.
    EndOfPeriod,
}

impl CancellationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Immediate => "immediate",
            Self::EndOfPeriod => "end_of_period",
        }
    }
}

/// Something that happens to a service: a request through the API, the provisioner's
/// answer, or the passing of `next_due_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceAction {
    /// The provisioner has set the service up.
    Provisioned,
    Suspend,
    Unsuspend,
    Terminate,
    /// `POST .../cancel {"type": "immediate"}`.
    CancelImmediately,
    /// `POST .../cancel {"type": "end_of_period"}`.
    CancelAtPeriodEnd,
    /// `DELETE .../cancel`: withdraws a pending end-of-period cancellation.
    WithdrawCancellation,
    /// `next_due_at` has passed with a cancellation pending.
    PeriodEndedWithCancellation,
    /// `next_due_at` has passed, the service was not renewed, and the grace period is over.
    PeriodEndedUnrenewed,
    Renew,
}

impl ServiceAction {
    pub const ALL: [ServiceAction; 10] = [
        Self::Provisioned,
        Self::Suspend,
        Self::Unsuspend,
        Self::Terminate,
        Self::CancelImmediately,
        Self::CancelAtPeriodEnd,
        Self::WithdrawCancellation,
        Self::PeriodEndedWithCancellation,
        Self::PeriodEndedUnrenewed,
        Self::Renew,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioned => "provisioned",
            Self::Suspend => "suspend",
            Self::Unsuspend => "unsuspend",
            Self::Terminate => "terminate",
            Self::CancelImmediately => "cancel_immediately",
            Self::CancelAtPeriodEnd => "cancel_at_period_end",
            Self::WithdrawCancellation => "withdraw_cancellation",
            Self::PeriodEndedWithCancellation => "period_ended_with_cancellation",
            Self::PeriodEndedUnrenewed => "period_ended_unrenewed",
            Self::Renew => "renew",
        }
    }
}

impl fmt::Display for ServiceAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A move the lifecycle does not allow (`409 invalid_transition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.detail())]
pub struct InvalidTransition {
    pub from: ServiceStatus,
    pub action: ServiceAction,
    /// Whether an end-of-period cancellation was pending, for the explanation.
    pub pending_cancellation: bool,
}

impl InvalidTransition {
    pub fn code(&self) -> &'static str {
        "invalid_transition"
    }

    /// A sentence for people; the two refusals that depend on the pending cancellation
    /// say so, since the status alone ("active") would not explain them.
    pub fn detail(&self) -> String {
        match (self.from, self.action, self.pending_cancellation) {
            (ServiceStatus::Active, ServiceAction::CancelAtPeriodEnd, true) => {
                "a cancellation at the end of the period is already pending".to_owned()
            }
            (ServiceStatus::Active, ServiceAction::WithdrawCancellation, false) => {
                "no cancellation is pending".to_owned()
            }
            (from, action, _) => format!("{action} is not possible for a service that is {from}"),
        }
    }
}

/// The status a service moves to when `action` happens in `status`; the contract's
/// lifecycle table, and nothing else:
///
/// | from | action | to |
/// |---|---|---|
/// | pending | provisioned | active |
/// | active | suspend | suspended |
/// | suspended | unsuspend | active |
/// | active, suspended | terminate | terminated |
/// | active, suspended | cancel immediately | cancelled |
/// | active without a pending cancellation | cancel at period end | active (cancellation pending) |
/// | active with a pending cancellation | withdraw cancellation | active (none pending) |
/// | active with a pending cancellation | period ended | cancelled |
/// | suspended; active without a pending cancellation | period ended unrenewed, grace over | expired |
/// | active, suspended | renew | unchanged |
/// | expired | renew | active |
///
/// `has_pending_cancellation` matters only where the table names it: a pending
/// cancellation decides how an active service's period ends, so such a service becomes
/// `cancelled`, never `expired`. Cancelled and terminated services are final.
pub fn transition(
    status: ServiceStatus,
    action: ServiceAction,
    has_pending_cancellation: bool,
) -> Result<ServiceStatus, InvalidTransition> {
    use ServiceAction as A;
    use ServiceStatus as S;

    let pending = has_pending_cancellation;
    let to = match (status, action) {
        (S::Pending, A::Provisioned) => S::Active,
        (S::Active, A::Suspend) => S::Suspended,
        (S::Suspended, A::Unsuspend) => S::Active,
        (S::Active | S::Suspended, A::Terminate) => S::Terminated,
        (S::Active | S::Suspended, A::CancelImmediately) => S::Cancelled,
        (S::Active, A::CancelAtPeriodEnd) if !pending => S::Active,
        (S::Active, A::WithdrawCancellation) if pending => S::Active,
        (S::Active, A::PeriodEndedWithCancellation) if pending => S::Cancelled,
        (S::Active, A::PeriodEndedUnrenewed) if !pending => S::Expired,
        (S::Suspended, A::PeriodEndedUnrenewed) => S::Expired,
        (S::Active | S::Suspended, A::Renew) => status,
        (S::Expired, A::Renew) => S::Active,
        _ => return Err(InvalidTransition { from: status, action, pending_cancellation: pending }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::ServiceAction::*;
    use super::ServiceStatus::*;
    use super::*;

    /// Every (status, action, pending cancellation) and its expected outcome, written out
    /// by hand from API.md's lifecycle table: `Some(to)` or `None` for `invalid_transition`.
    #[rustfmt::skip]
    const EXPECTED: [(ServiceStatus, ServiceAction, bool, Option<ServiceStatus>); 120] = [
        (Pending,    Provisioned,                 false, Some(Active)),
        (Pending,    Provisioned,                 true,  Some(Active)),
        (Pending,    Suspend,                     false, None),
        (Pending,    Suspend,                     true,  None),
        (Pending,    Unsuspend,                   false, None),
        (Pending,    Unsuspend,                   true,  None),
        (Pending,    Terminate,                   false, None),
        (Pending,    Terminate,                   true,  None),
        (Pending,    CancelImmediately,           false, None),
        (Pending,    CancelImmediately,           true,  None),
        (Pending,    CancelAtPeriodEnd,           false, None),
        (Pending,    CancelAtPeriodEnd,           true,  None),
        (Pending,    WithdrawCancellation,        false, None),
        (Pending,    WithdrawCancellation,        true,  None),
        (Pending,    PeriodEndedWithCancellation, false, None),
        (Pending,    PeriodEndedWithCancellation, true,  None),
        (Pending,    PeriodEndedUnrenewed,        false, None),
        (Pending,    PeriodEndedUnrenewed,        true,  None),
        (Pending,    Renew,                       false, None),
        (Pending,    Renew,                       true,  None),

        (Active,     Provisioned,                 false, None),
        (Active,     Provisioned,                 true,  None),
        (Active,     Suspend,                     false, Some(Suspended)),
        (Active,     Suspend,                     true,  Some(Suspended)),
        (Active,     Unsuspend,                   false, None),
        (Active,     Unsuspend,                   true,  None),
        (Active,     Terminate,                   false, Some(Terminated)),
        (Active,     Terminate,                   true,  Some(Terminated)),
        (Active,     CancelImmediately,           false, Some(Cancelled)),
        (Active,     CancelImmediately,           true,  Some(Cancelled)),
        (Active,     CancelAtPeriodEnd,           false, Some(Active)),
        (Active,     CancelAtPeriodEnd,           true,  None),
        (Active,     WithdrawCancellation,        false, None),
        (Active,     WithdrawCancellation,        true,  Some(Active)),
        (Active,     PeriodEndedWithCancellation, false, None),
        (Active,     PeriodEndedWithCancellation, true,  Some(Cancelled)),
        (Active,     PeriodEndedUnrenewed,        false, Some(Expired)),
        (Active,     PeriodEndedUnrenewed,        true,  None),
        (Active,     Renew,                       false, Some(Active)),
        (Active,     Renew,                       true,  Some(Active)),

        (Suspended,  Provisioned,                 false, None),
        (Suspended,  Provisioned,                 true,  None),
        (Suspended,  Suspend,                     false, None),
        (Suspended,  Suspend,                     true,  None),
        (Suspended,  Unsuspend,                   false, Some(Active)),
        (Suspended,  Unsuspend,                   true,  Some(Active)),
        (Suspended,  Terminate,                   false, Some(Terminated)),
        (Suspended,  Terminate,                   true,  Some(Terminated)),
        (Suspended,  CancelImmediately,           false, Some(Cancelled)),
        (Suspended,  CancelImmediately,           true,  Some(Cancelled)),
        (Suspended,  CancelAtPeriodEnd,           false, None),
        (Suspended,  CancelAtPeriodEnd,           true,  None),
        (Suspended,  WithdrawCancellation,        false, None),
        (Suspended,  WithdrawCancellation,        true,  None),
        (Suspended,  PeriodEndedWithCancellation, false, None),
        (Suspended,  PeriodEndedWithCancellation, true,  None),
        (Suspended,  PeriodEndedUnrenewed,        false, Some(Expired)),
        (Suspended,  PeriodEndedUnrenewed,        true,  Some(Expired)),
        (Suspended,  Renew,                       false, Some(Suspended)),
        (Suspended,  Renew,                       true,  Some(Suspended)),

        (Cancelled,  Provisioned,                 false, None),
        (Cancelled,  Provisioned,                 true,  None),
        (Cancelled,  Suspend,                     false, None),
        (Cancelled,  Suspend,                     true,  None),
        (Cancelled,  Unsuspend,                   false, None),
        (Cancelled,  Unsuspend,                   true,  None),
        (Cancelled,  Terminate,                   false, None),
        (Cancelled,  Terminate,                   true,  None),
        (Cancelled,  CancelImmediately,           false, None),
        (Cancelled,  CancelImmediately,           true,  None),
        (Cancelled,  CancelAtPeriodEnd,           false, None),
        (Cancelled,  CancelAtPeriodEnd,           true,  None),
        (Cancelled,  WithdrawCancellation,        false, None),
        (Cancelled,  WithdrawCancellation,        true,  None),
        (Cancelled,  PeriodEndedWithCancellation, false, None),
        (Cancelled,  PeriodEndedWithCancellation, true,  None),
        (Cancelled,  PeriodEndedUnrenewed,        false, None),
        (Cancelled,  PeriodEndedUnrenewed,        true,  None),
        (Cancelled,  Renew,                       false, None),
        (Cancelled,  Renew,                       true,  None),

        (Terminated, Provisioned,                 false, None),
        (Terminated, Provisioned,                 true,  None),
        (Terminated, Suspend,                     false, None),
        (Terminated, Suspend,                     true,  None),
        (Terminated, Unsuspend,                   false, None),
        (Terminated, Unsuspend,                   true,  None),
        (Terminated, Terminate,                   false, None),
        (Terminated, Terminate,                   true,  None),
        (Terminated, CancelImmediately,           false, None),
        (Terminated, CancelImmediately,           true,  None),
        (Terminated, CancelAtPeriodEnd,           false, None),
        (Terminated, CancelAtPeriodEnd,           true,  None),
        (Terminated, WithdrawCancellation,        false, None),
        (Terminated, WithdrawCancellation,        true,  None),
        (Terminated, PeriodEndedWithCancellation, false, None),
        (Terminated, PeriodEndedWithCancellation, true,  None),
        (Terminated, PeriodEndedUnrenewed,        false, None),
        (Terminated, PeriodEndedUnrenewed,        true,  None),
        (Terminated, Renew,                       false, None),
        (Terminated, Renew,                       true,  None),

        (Expired,    Provisioned,                 false, None),
        (Expired,    Provisioned,                 true,  None),
        (Expired,    Suspend,                     false, None),
        (Expired,    Suspend,                     true,  None),
        (Expired,    Unsuspend,                   false, None),
        (Expired,    Unsuspend,                   true,  None),
        (Expired,    Terminate,                   false, None),
        (Expired,    Terminate,                   true,  None),
        (Expired,    CancelImmediately,           false, None),
        (Expired,    CancelImmediately,           true,  None),
        (Expired,    CancelAtPeriodEnd,           false, None),
        (Expired,    CancelAtPeriodEnd,           true,  None),
        (Expired,    WithdrawCancellation,        false, None),
        (Expired,    WithdrawCancellation,        true,  None),
        (Expired,    PeriodEndedWithCancellation, false, None),
        (Expired,    PeriodEndedWithCancellation, true,  None),
        (Expired,    PeriodEndedUnrenewed,        false, None),
        (Expired,    PeriodEndedUnrenewed,        true,  None),
        (Expired,    Renew,                       false, Some(Active)),
        (Expired,    Renew,                       true,  Some(Active)),
    ];

    #[test]
    fn every_transition_matches_the_lifecycle_table() {
        for status in ServiceStatus::ALL {
            for action in ServiceAction::ALL {
                for pending in [false, true] {
                    let rows: Vec<_> =
                        EXPECTED.iter().filter(|(s, a, p, _)| (*s, *a, *p) == (status, action, pending)).collect();
                    assert_eq!(rows.len(), 1, "exactly one expected row for {status:?} {action:?} {pending}");
                    let expected = rows[0].3;
                    let outcome = transition(status, action, pending);
                    match expected {
                        Some(to) => assert_eq!(outcome, Ok(to), "{status:?} {action:?} pending={pending}"),
                        None => assert_eq!(
                            outcome,
                            Err(InvalidTransition { from: status, action, pending_cancellation: pending }),
                            "{status:?} {action:?} pending={pending}"
                        ),
                    }
                }
            }
        }
    }

    #[test]
    fn a_pending_service_only_becomes_active_when_provisioned() {
        assert_eq!(transition(Pending, Provisioned, false), Ok(Active));
        assert_eq!(transition(Pending, Suspend, false).map_err(|e| e.code()), Err("invalid_transition"));
    }

    #[test]
    fn cancelling_at_period_end_keeps_the_service_active_once() {
        assert_eq!(transition(Active, CancelAtPeriodEnd, false), Ok(Active));
        let twice = transition(Active, CancelAtPeriodEnd, true).unwrap_err();
        assert_eq!(twice.code(), "invalid_transition");
        assert_eq!(twice.to_string(), "a cancellation at the end of the period is already pending");
    }

    #[test]
    fn only_a_pending_cancellation_can_be_withdrawn() {
        assert_eq!(transition(Active, WithdrawCancellation, true), Ok(Active));
        assert_eq!(
            transition(Active, WithdrawCancellation, false).unwrap_err().to_string(),
            "no cancellation is pending"
        );
    }

    #[test]
    fn a_pending_cancellation_ends_the_period_as_cancelled_not_expired() {
        assert_eq!(transition(Active, PeriodEndedWithCancellation, true), Ok(Cancelled));
        assert!(transition(Active, PeriodEndedUnrenewed, true).is_err());
        assert!(transition(Active, PeriodEndedWithCancellation, false).is_err());
    }

    #[test]
    fn unrenewed_services_expire_after_grace_and_renewing_revives_them() {
        assert_eq!(transition(Active, PeriodEndedUnrenewed, false), Ok(Expired));
        assert_eq!(transition(Suspended, PeriodEndedUnrenewed, false), Ok(Expired));
        assert_eq!(transition(Expired, Renew, false), Ok(Active));
    }

    #[test]
    fn renewing_does_not_lift_a_suspension() {
        assert_eq!(transition(Suspended, Renew, false), Ok(Suspended));
        assert_eq!(transition(Active, Renew, false), Ok(Active));
    }

    #[test]
    fn cancelled_and_terminated_are_final() {
        for status in [Cancelled, Terminated] {
            for action in ServiceAction::ALL {
                for pending in [false, true] {
                    assert!(transition(status, action, pending).is_err(), "{status:?} {action:?}");
                }
            }
        }
    }

    #[test]
    fn refusals_name_the_state_and_the_action() {
        let refused = transition(Terminated, Unsuspend, false).unwrap_err();
        assert_eq!((refused.from, refused.action), (Terminated, Unsuspend));
        assert_eq!(refused.to_string(), "unsuspend is not possible for a service that is terminated");
    }

    #[test]
    fn statuses_are_snake_case() {
        for status in ServiceStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
            assert_eq!(ServiceStatus::parse(status.as_str()), Some(status));
        }
    }
}
