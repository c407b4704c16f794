//! Holds on an account: a suspension (read-only) or a block (no login at all), placed by
//! an account above. A hold covers the account and everything below it; an account's
//! effective status follows from the holds active on it and on its ancestors, so lifting
//! one hold undoes exactly that hold and nothing another hold still covers.

use crate::accounts::AccountStatus;

/// The two kinds of hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldKind {
    Suspension,
    Block,
}

impl HoldKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suspension => "suspension",
            Self::Block => "block",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "suspension" => Some(Self::Suspension),
            "block" => Some(Self::Block),
            _ => None,
        }
    }
}

/// The status an account has when `blocked` (an active block on it or an ancestor) and
/// `suspended` (likewise a suspension): a block outranks a suspension.
pub fn effective_status(blocked: bool, suspended: bool) -> AccountStatus {
    match (blocked, suspended) {
        (true, _) => AccountStatus::Blocked,
        (false, true) => AccountStatus::Suspended,
        (false, false) => AccountStatus::Active,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_outranks_a_suspension_and_no_hold_is_active() {
        assert_eq!(effective_status(false, false), AccountStatus::Active);
        assert_eq!(effective_status(false, true), AccountStatus::Suspended);
        assert_eq!(effective_status(true, false), AccountStatus::Blocked);
        assert_eq!(effective_status(true, true), AccountStatus::Blocked);
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in [HoldKind::Suspension, HoldKind::Block] {
            assert_eq!(HoldKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(HoldKind::parse("ban"), None);
    }
}
