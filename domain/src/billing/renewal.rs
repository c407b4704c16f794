//! Recurring billing's rules, as pure functions of `now`: whether a service renews, when
//! its renewal is invoiced, what an unpaid renewal does to it, and what paying it does.
//! The worker and the payment use cases apply them (api/src/app/billing/renewals.rs).

use chrono::{Duration, NaiveDateTime};

use crate::services::ServiceStatus;

/// The suspension reason of an unpaid renewal: the one suspension payment lifts.
pub const OVERDUE: &str = "overdue";

/// The service's lifecycle fields the rules read and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTerms {
    pub status: ServiceStatus,
    pub suspension_reason: Option<String>,
    pub next_due_at: NaiveDateTime,
}

/// Whether a service is invoiced for its next period: active or suspended, renewing
/// automatically, not being cancelled.
pub fn renews(status: ServiceStatus, auto_renew: bool, pending_cancellation: bool) -> bool {
    matches!(status, ServiceStatus::Active | ServiceStatus::Suspended) && auto_renew && !pending_cancellation
}

/// Whether the renewal of a period starting at `next_due_at` is invoiced by `now`.
pub fn invoice_due(next_due_at: NaiveDateTime, renewal_invoice_days: u16, now: NaiveDateTime) -> bool {
    next_due_at - Duration::days(i64::from(renewal_invoice_days)) <= now
}

/// What an unpaid renewal does to its service by `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overdue {
    Suspend,
    Expire,
}

/// `overdue_expire_days` after due an active or suspended service expires;
/// `overdue_suspend_days` after due an active one is suspended (one suspended already,
/// by hand, keeps its own reason). `None` days: never.
pub fn overdue(
    status: ServiceStatus,
    due_at: NaiveDateTime,
    suspend_days: Option<u16>,
    expire_days: Option<u16>,
    now: NaiveDateTime,
) -> Option<Overdue> {
    let past = |days: Option<u16>| days.is_some_and(|days| due_at + Duration::days(i64::from(days)) <= now);
    match status {
        ServiceStatus::Active | ServiceStatus::Suspended if past(expire_days) => Some(Overdue::Expire),
        ServiceStatus::Active if past(suspend_days) => Some(Overdue::Suspend),
        _ => None,
    }
}

/// The service once the renewal of the period starting at `period_start` is paid:
/// `next_due_at` one cycle from the period's start (`period_end`), never earlier than
/// it was; the `overdue` suspension lifted and an expired service active again; a
/// service that ended meanwhile (`None`) stays as it is.
pub fn after_payment(terms: &ServiceTerms, period_end: NaiveDateTime) -> Option<ServiceTerms> {
    let status = match terms.status {
        ServiceStatus::Expired => ServiceStatus::Active,
        ServiceStatus::Suspended if terms.suspension_reason.as_deref() == Some(OVERDUE) => ServiceStatus::Active,
        ServiceStatus::Active | ServiceStatus::Suspended => terms.status,
        ServiceStatus::Pending | ServiceStatus::Cancelled | ServiceStatus::Terminated => return None,
    };
    let suspension_reason = if status == ServiceStatus::Active { None } else { terms.suspension_reason.clone() };
    Some(ServiceTerms { status, suspension_reason, next_due_at: terms.next_due_at.max(period_end) })
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;
    use crate::services::ServiceStatus::*;

    fn day(n: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2027, 3, 1).unwrap().and_hms_opt(0, 0, 0).unwrap() + Duration::days(n)
    }

    #[test]
    fn the_timeline_of_docs_billing_md() {
        let due = day(0);
        assert!(!invoice_due(due, 14, day(-15)));
        assert!(invoice_due(due, 14, day(-14)));
        assert_eq!(overdue(Active, due, Some(7), Some(30), day(6)), None);
        assert_eq!(overdue(Active, due, Some(7), Some(30), day(7)), Some(Overdue::Suspend));
        assert_eq!(overdue(Suspended, due, Some(7), Some(30), day(7)), None, "suspended by hand already");
        assert_eq!(overdue(Suspended, due, Some(7), Some(30), day(30)), Some(Overdue::Expire));
        assert_eq!(overdue(Active, due, None, None, day(400)), None, "null: never");
        assert_eq!(overdue(Expired, due, Some(7), Some(30), day(40)), None);
    }

    #[test]
    fn payment_lifts_only_the_overdue_suspension() {
        let terms = |status, reason: Option<&str>| ServiceTerms {
            status,
            suspension_reason: reason.map(str::to_owned),
            next_due_at: day(0),
        };
        let paid = after_payment(&terms(Suspended, Some(OVERDUE)), day(31)).unwrap();
        assert_eq!((paid.status, paid.suspension_reason, paid.next_due_at), (Active, None, day(31)));
        let by_hand = after_payment(&terms(Suspended, Some("abuse")), day(31)).unwrap();
        assert_eq!((by_hand.status, by_hand.suspension_reason.as_deref()), (Suspended, Some("abuse")));
        assert_eq!(after_payment(&terms(Expired, None), day(31)).unwrap().status, Active);
        assert_eq!(after_payment(&terms(Cancelled, None), day(31)), None);
        let ahead = ServiceTerms { next_due_at: day(60), ..terms(Active, None) };
        assert_eq!(after_payment(&ahead, day(31)).unwrap().next_due_at, day(60), "never earlier");
    }

    /// What can happen to one service and its renewal, in any order.
    #[derive(Debug, Clone)]
    enum Event {
        /// The worker's round, `days` after the last event.
        Round {
            days: i64,
        },
        Pay,
        SuspendByHand,
        CancelAtPeriodEnd,
        CancelNow,
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            4 => (0_i64..20).prop_map(|days| Event::Round { days }),
            2 => Just(Event::Pay),
            1 => Just(Event::SuspendByHand),
            1 => Just(Event::CancelAtPeriodEnd),
            1 => Just(Event::CancelNow),
        ]
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Invoice {
        Unpaid { period_start: i64 },
        Paid { period_start: i64 },
        Void,
    }

    /// A service with the default settings (14, 7, 30), monthly periods of 30 days,
    /// driven by the rules as the worker and the payment routes apply them.
    struct Model {
        now: i64,
        terms: ServiceTerms,
        pending_cancellation: bool,
        invoices: Vec<Invoice>,
    }

    impl Model {
        fn apply(&mut self, event: &Event) {
            match event {
                Event::Round { days } => {
                    self.now += days;
                    self.round();
                }
                Event::Pay => {
                    let Some(index) = self.invoices.iter().position(|i| matches!(i, Invoice::Unpaid { .. })) else {
                        return;
                    };
                    let Invoice::Unpaid { period_start } = self.invoices[index] else { return };
                    self.invoices[index] = Invoice::Paid { period_start };
                    if let Some(terms) = after_payment(&self.terms, day(period_start + 30)) {
                        self.terms = terms;
                    }
                }
                Event::SuspendByHand if self.terms.status == Active => {
                    self.terms.status = Suspended;
                    self.terms.suspension_reason = Some("abuse".into());
                }
                Event::CancelAtPeriodEnd if self.terms.status == Active => {
                    self.pending_cancellation = true;
                    self.void_unpaid();
                }
                Event::CancelNow if matches!(self.terms.status, Active | Suspended) => {
                    self.terms.status = Cancelled;
                    self.void_unpaid();
                }
                _ => {}
            }
        }

        fn void_unpaid(&mut self) {
            for invoice in &mut self.invoices {
                if matches!(invoice, Invoice::Unpaid { .. }) {
                    *invoice = Invoice::Void;
                }
            }
        }

        fn round(&mut self) {
            let now = day(self.now);
            let period_start = (self.terms.next_due_at - day(0)).num_days();
            let issued = self.invoices.iter().any(|i| {
                matches!(i, Invoice::Unpaid { period_start: p } | Invoice::Paid { period_start: p } if *p == period_start)
            });
            if renews(self.terms.status, true, self.pending_cancellation)
                && invoice_due(self.terms.next_due_at, 14, now)
                && !issued
            {
                self.invoices.push(Invoice::Unpaid { period_start });
            }
            let unpaid = self.invoices.iter().find_map(|i| match i {
                Invoice::Unpaid { period_start } => Some(*period_start),
                _ => None,
            });
            if let Some(start) = unpaid {
                match overdue(self.terms.status, day(start), Some(7), Some(30), now) {
                    Some(Overdue::Suspend) => {
                        self.terms.status = Suspended;
                        self.terms.suspension_reason = Some(OVERDUE.into());
                    }
                    Some(Overdue::Expire) => {
                        self.terms.status = Expired;
                        self.terms.suspension_reason = None;
                    }
                    None => {}
                }
            }
            if self.pending_cancellation && self.terms.status == Active && self.terms.next_due_at <= now {
                self.terms.status = Cancelled;
            }
        }
    }

    proptest! {
        /// After any sequence, the service and its invoices are in one of the states the
        /// table allows.
        #[test]
        fn any_interleaving_ends_in_an_allowed_state(events in prop::collection::vec(event(), 0..40)) {
            let mut model = Model {
                now: -20,
                terms: ServiceTerms { status: Active, suspension_reason: None, next_due_at: day(0) },
                pending_cancellation: false,
                invoices: Vec::new(),
            };
            for event in &events {
                model.apply(event);
                let unpaid = model.invoices.iter().filter(|i| matches!(i, Invoice::Unpaid { .. })).count();
                prop_assert!(unpaid <= 1, "at most one unpaid renewal: {:?}", model.invoices);
                let periods: Vec<i64> = model.invoices.iter().filter_map(|i| match i { Invoice::Unpaid { period_start } => Some(*period_start), _ => None }).collect();
                let mut distinct = periods.clone();
                distinct.dedup();
                prop_assert_eq!(periods.len(), distinct.len(), "never two invoices for one period");
                match model.terms.status {
                    // An overdue suspension always has an unpaid renewal behind it.
                    Suspended if model.terms.suspension_reason.as_deref() == Some(OVERDUE) => prop_assert_eq!(unpaid, 1),
                    // An ended service owes nothing.
                    Cancelled | Terminated => prop_assert_eq!(unpaid, 0, "{:?}", model.invoices),
                    _ => {}
                }
                if model.pending_cancellation {
                    prop_assert_eq!(unpaid, 0, "a cancelling service is not invoiced");
                }
                if model.terms.status == Active {
                    prop_assert!(model.terms.suspension_reason.is_none());
                }
            }
        }
    }
}
