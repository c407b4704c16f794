//! Events as webhooks carry them. Every audited change is an event: its type is the
//! audit action, its `data` what the audit entry says about the change, minus anything
//! that must not leave the installation.
//!
//! Who hears of an event: whoever may read it in the audit log, that is the webhooks of
//! the account it is about (the audit entry's `account_id`), of every account above it,
//! and of operators; never a sibling, never a grantee. What only some of them may hear
//! of is filed under an account no one else reaches: a seller's internal ticket note is
//! `ticket.internal_note` filed under the seller ([`crate::audit::TICKET_INTERNAL_NOTE`]),
//! so the ticket's customer never hears of it, here or in its log.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::TEST_EVENT;

/// Which endpoints an event is fanned out to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The account the event is about, the accounts above it and operators.
    OwnerAndAbove,
    /// No fan-out: the test event reaches the one endpoint it was sent to.
    Addressed,
}

/// Decided by the type alone: an event's audit entry already names the account it is
/// about, and that is who may hear of it. (The details decide nothing: a rule keyed on
/// them would hold only for the callers that remember to set them.)
pub fn audience(event_type: &str) -> Audience {
    if event_type == TEST_EVENT {
        Audience::Addressed
    } else {
        Audience::OwnerAndAbove
    }
}

/// Parts of key names that mark a value no payload may carry, even if a caller put it in
/// an audit entry: credentials, their hashes, and free text such as message bodies and
/// notes (internal ticket notes among them).
const WITHHELD: &[&str] = &["password", "secret", "token", "private_key", "hash", "body", "note", "key_pem"];

fn withheld(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    WITHHELD.iter().any(|part| key.contains(part))
}

/// The audit details as a payload may carry them: the text under withheld keys removed
/// at any depth (a flag such as `password_changed: true` says nothing secret and stays).
pub fn payload_details(details: &Value) -> Value {
    let can_carry_text = |value: &Value| value.is_string() || value.is_array() || value.is_object();
    match details {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, value)| !(withheld(key) && can_carry_text(value)))
                .map(|(key, value)| (key.clone(), payload_details(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(payload_details).collect()),
        other => other.clone(),
    }
}

/// The body of a delivery: `{id, type, timestamp, data}`.
#[derive(Debug, Clone, Serialize)]
pub struct Payload {
    /// The event's id (also the `webhook-id` header): the same on every retry, so
    /// receivers can drop repeats.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the change happened.
    pub timestamp: DateTime<Utc>,
    pub data: EventData,
}

/// What changed, by whom.
#[derive(Debug, Clone, Serialize)]
pub struct EventData {
    /// What the change was made to (`service`, `mailbox`, `webhook`, ...) and its id.
    pub target_type: String,
    pub target_id: String,
    /// The account whose data changed.
    pub account_id: Option<String>,
    /// Who acted (the impersonator under an impersonation token); none for the system.
    pub actor_id: Option<String>,
    pub on_behalf_of: Option<String>,
    pub api_key_id: Option<String>,
    pub details: Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_reach_their_owner_and_above_and_the_test_event_is_addressed() {
        assert_eq!(audience("service.suspend"), Audience::OwnerAndAbove);
        // Owned by the seller, so its customer is below and never hears of it.
        assert_eq!(audience(crate::audit::TICKET_INTERNAL_NOTE), Audience::OwnerAndAbove);
        assert_eq!(audience("webhook.test"), Audience::Addressed);
    }

    #[test]
    fn secrets_and_free_text_never_reach_a_payload() {
        let details = json!({
            "service_id": "s", "password": "p", "password_hash": "h", "new_secret": "w",
            "token": "t", "private_key": "k", "body": "internal words", "internal_note": "n",
            "nested": [{"Password": "p", "address": "a@b.c"}], "generated": true, "password_changed": true,
            "note": {"text": "n"},
        });
        assert_eq!(
            payload_details(&details),
            json!({"service_id": "s", "nested": [{"address": "a@b.c"}], "generated": true, "password_changed": true})
        );
    }
}
